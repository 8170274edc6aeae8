// What every vigilctl command shares: where the hub is, how to trust it, the person's token, and
// JSON calls to the people's API (PROTOCOL.md) with the hub's errors turned into sentences.
#pragma once

#include <rapidjson/document.h>

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "agent/net/client.h"
#include "cli/flags.h"
#include "engine/status.h"

namespace vigil::cli::ctl {

// Exit statuses of every vigilctl command.
inline constexpr int kExitOk = 0;
inline constexpr int kExitFailed = 1;  // the hub refused, a node failed, the chain is broken
inline constexpr int kExitUsage = 2;   // bad arguments, or the hub could not be reached

// Declares --hub, --token, --ca-file, --hub-fingerprint and --timeout on a command's flags.
void AddConnectionFlags(FlagSet& flags);

class HubConnection {
 public:
  // From the flags, then $VIGIL_HUB and $VIGIL_TOKEN, then the defaults.
  static Result<HubConnection> FromFlags(const FlagSet& flags);

  const agent::net::ClientOptions& options() const { return options_; }
  agent::net::Headers AuthHeaders() const;

  // One API call. A network failure is an error; so is a reply with status >= 400, whose
  // message reads "HTTP 403 forbidden: this needs the analyst role".
  Result<agent::net::HttpReply> Call(std::string_view method, std::string_view target,
                                     std::string_view body = {}) const;
  // Call() whose reply body must be JSON (an object or an array).
  Result<rapidjson::Document> CallJson(std::string_view method, std::string_view target,
                                       std::string_view body = {}) const;

 private:
  agent::net::ClientOptions options_;
  std::string token_;
};

// Prints "vigilctl: MESSAGE" and returns the exit status for it: kExitFailed when the hub
// answered with an error status, kExitUsage otherwise (arguments, network).
int Fail(const Status& status);

// Adds the connection flags, parses `args` and makes the connection. Returns the exit status
// when the command should stop here (after --help, or a usage error it printed).
std::optional<int> Prepare(FlagSet& flags, const std::vector<std::string>& args,
                           std::optional<HubConnection>& connection);

// Compact JSON text of a value.
std::string Compact(const rapidjson::Value& value);

// A path segment with everything but unreserved characters percent-encoded.
std::string PathSegment(std::string_view text);
// Reads a member of a JSON object as text whatever its type ("" when absent or null).
std::string MemberText(const rapidjson::Value& object, const char* name);

}  // namespace vigil::cli::ctl
