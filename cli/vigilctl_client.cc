#include "cli/vigilctl_client.h"

#include <rapidjson/stringbuffer.h>
#include <rapidjson/writer.h>

#include <cctype>
#include <cstdlib>
#include <iostream>

namespace vigil::cli::ctl {
namespace {

constexpr const char* kDefaultHub = "https://127.0.0.1:8443";

std::string FromEnv(const char* name) {
  const char* value = std::getenv(name);
  return value ? value : "";
}

std::string_view ReasonPhrase(int status) {
  switch (status) {
    case 400: return "bad request";
    case 401: return "unauthenticated";
    case 403: return "forbidden";
    case 404: return "not found";
    case 405: return "method not allowed";
    case 409: return "conflict";
    case 413: return "too large";
    case 422: return "invalid";
    case 429: return "rate limited";
    default: return status >= 500 ? "hub error" : "error";
  }
}

}  // namespace

void AddConnectionFlags(FlagSet& flags) {
  flags.Value("hub", "URL",
              std::string("The hub (default $VIGIL_HUB, else ") + kDefaultHub + "; http:// only "
              "to a loopback hub)");
  flags.Value("token", "TOKEN", "Bearer token (default $VIGIL_TOKEN)");
  flags.Value("ca-file", "FILE", "Trust the hub's certificate chain against this CA file");
  flags.Value("hub-fingerprint", "SHA256",
              "Trust exactly the hub certificate with this SHA-256 fingerprint (as vigil-hub "
              "serve prints it)");
  flags.Value("timeout", "DURATION", "Time limit for each network step", "10s");
}

Result<HubConnection> HubConnection::FromFlags(const FlagSet& flags) {
  HubConnection connection;
  agent::net::ClientOptions& options = connection.options_;
  options.url = flags.Get("hub").value_or(FromEnv("VIGIL_HUB"));
  if (options.url.empty()) options.url = kDefaultHub;
  while (!options.url.empty() && options.url.back() == '/') options.url.pop_back();
  options.tls.ca_file = flags.Get("ca-file").value_or("");
  options.tls.pinned_sha256 = flags.Get("hub-fingerprint").value_or("");
  if (!options.tls.ca_file.empty() && !options.tls.pinned_sha256.empty()) {
    return Status::InvalidArgument("--ca-file and --hub-fingerprint are two ways to trust the "
                                   "hub; give one");
  }
  auto timeout = ParseDuration(*flags.Get("timeout"));
  if (!timeout.ok()) return Status::InvalidArgument("--timeout: " + timeout.status().message());
  options.timeout = *timeout;
  connection.token_ = flags.Get("token").value_or(FromEnv("VIGIL_TOKEN"));
  if (connection.token_.empty()) {
    return Status::InvalidArgument(
        "no token: give --token or set VIGIL_TOKEN (on the hub host, `vigil-hub token create "
        "--role admin` makes the first one)");
  }
  return connection;
}

agent::net::Headers HubConnection::AuthHeaders() const {
  return {{"Authorization", "Bearer " + token_}};
}

Result<agent::net::HttpReply> HubConnection::Call(std::string_view method, std::string_view target,
                                                  std::string_view body) const {
  auto reply = agent::net::HttpCall(options_, method, target, AuthHeaders(), body);
  if (!reply.ok()) return reply.status();
  if (reply->status >= 400) {
    return Status::FailedPrecondition("HTTP " + std::to_string(reply->status) + " " +
                                      std::string(ReasonPhrase(reply->status)) + ": " +
                                      agent::net::ErrorMessageOf(reply->body));
  }
  return reply;
}

Result<rapidjson::Document> HubConnection::CallJson(std::string_view method,
                                                    std::string_view target,
                                                    std::string_view body) const {
  auto reply = Call(method, target, body);
  if (!reply.ok()) return reply.status();
  rapidjson::Document document;
  document.Parse(reply->body.data(), reply->body.size());
  if (document.HasParseError() || !(document.IsObject() || document.IsArray())) {
    return Status::Internal(std::string(method) + " " + std::string(target) +
                            ": the hub's reply is not JSON");
  }
  return document;
}

int Fail(const Status& status) {
  std::cerr << "vigilctl: " << status.message() << "\n";
  // A reply with an HTTP status is the hub refusing; anything else is usage or the network.
  return status.message().starts_with("HTTP ") ? kExitFailed : kExitUsage;
}

// Parses a command's flags (connection flags included) and makes the connection. Returns an
// exit status when the command should stop here (help or an error).
std::optional<int> Prepare(FlagSet& flags, const std::vector<std::string>& args,
                           std::optional<HubConnection>& connection) {
  AddConnectionFlags(flags);
  Status parsed = flags.Parse(args);
  if (!parsed.ok()) {
    std::cerr << "vigilctl: " << parsed.message() << "\n\n" << flags.Help();
    return kExitUsage;
  }
  if (flags.help_requested()) {
    std::cout << flags.Help();
    return kExitOk;
  }
  auto made = HubConnection::FromFlags(flags);
  if (!made.ok()) {
    std::cerr << "vigilctl: " << made.status().message() << "\n";
    return kExitUsage;
  }
  connection = std::move(*made);
  return std::nullopt;
}

std::string Compact(const rapidjson::Value& value) {
  rapidjson::StringBuffer buffer;
  rapidjson::Writer<rapidjson::StringBuffer> writer(buffer);
  value.Accept(writer);
  return std::string(buffer.GetString(), buffer.GetSize());
}

std::string PathSegment(std::string_view text) {
  static constexpr char kHex[] = "0123456789ABCDEF";
  std::string out;
  for (unsigned char c : text) {
    if (std::isalnum(c) || c == '-' || c == '_' || c == '.' || c == '~') {
      out += static_cast<char>(c);
    } else {
      out += '%';
      out += kHex[c >> 4];
      out += kHex[c & 15];
    }
  }
  return out;
}

std::string MemberText(const rapidjson::Value& object, const char* name) {
  if (!object.IsObject()) return "";
  auto it = object.FindMember(name);
  if (it == object.MemberEnd() || it->value.IsNull()) return "";
  const rapidjson::Value& v = it->value;
  if (v.IsString()) return std::string(v.GetString(), v.GetStringLength());
  if (v.IsBool()) return v.GetBool() ? "true" : "false";
  if (v.IsInt64()) return std::to_string(v.GetInt64());
  if (v.IsUint64()) return std::to_string(v.GetUint64());
  if (v.IsNumber()) return std::to_string(v.GetDouble());
  if (v.IsArray()) {
    std::string joined;
    for (const auto& item : v.GetArray()) {
      if (!item.IsString()) continue;
      if (!joined.empty()) joined += ",";
      joined += item.GetString();
    }
    return joined;
  }
  return "";
}

}  // namespace vigil::cli::ctl
