#include "server/agent_errors.h"

#include <rapidjson/document.h>
#include <rapidjson/error/en.h>
#include <rapidjson/stringbuffer.h>
#include <rapidjson/writer.h>

#include <algorithm>

namespace vigil::server {
namespace {

void Key(rapidjson::Writer<rapidjson::StringBuffer>& w, std::string_view key) {
  w.Key(key.data(), static_cast<rapidjson::SizeType>(key.size()));
}
void Str(rapidjson::Writer<rapidjson::StringBuffer>& w, std::string_view value) {
  w.String(value.data(), static_cast<rapidjson::SizeType>(value.size()));
}

// A value quoted for a message, shortened: a hostile frame must not make the reply large.
std::string Quoted(std::string_view value) {
  constexpr size_t kMax = 64;
  if (value.size() <= kMax) return "'" + std::string(value) + "'";
  return "'" + std::string(value.substr(0, kMax)) + "...'";
}

}  // namespace

std::string AgentErrorFrame(std::string_view code, std::string_view message, std::string_view ref) {
  rapidjson::StringBuffer buffer;
  rapidjson::Writer<rapidjson::StringBuffer> w(buffer);
  w.StartObject();
  Key(w, "type");
  Str(w, "error");
  Key(w, "v");
  w.Int(1);
  Key(w, "code");
  Str(w, code);
  Key(w, "message");
  Str(w, message);
  if (!ref.empty()) {
    Key(w, "ref");
    Str(w, ref);
  }
  w.EndObject();
  return std::string(buffer.GetString(), buffer.GetSize());
}

std::string UnhandledMessageReply(std::string_view text) {
  rapidjson::Document doc;
  doc.Parse(text.data(), text.size());
  if (doc.HasParseError()) {
    return AgentErrorFrame(
        "malformed",
        "frame is not JSON: " + std::string(rapidjson::GetParseError_En(doc.GetParseError())) +
            " at offset " + std::to_string(doc.GetErrorOffset()));
  }
  if (!doc.IsObject()) return AgentErrorFrame("malformed", "frame is JSON but not an object");
  std::string ref;
  auto id = doc.FindMember("id");
  if (id != doc.MemberEnd() && id->value.IsString()) {
    ref.assign(id->value.GetString(), std::min<size_t>(id->value.GetStringLength(), 128));
  }
  auto type = doc.FindMember("type");
  if (type == doc.MemberEnd() || !type->value.IsString()) {
    return AgentErrorFrame("malformed", "message has no string \"type\"", ref);
  }
  std::string_view name(type->value.GetString(), type->value.GetStringLength());
  return AgentErrorFrame("unknown_type",
                         "message type " + Quoted(name) + " is not handled by this hub", ref);
}

void UnhandledMessageSession::OnMessage(std::string_view text) {
  channel_->Send(UnhandledMessageReply(text));
}

AgentSessionFactory UnhandledMessages() {
  return [](std::shared_ptr<AgentChannel> channel) -> std::unique_ptr<AgentSession> {
    return std::make_unique<UnhandledMessageSession>(std::move(channel));
  };
}

}  // namespace vigil::server
