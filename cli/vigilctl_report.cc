// vigilctl report iec62443: the fleet IEC 62443 report from the hub
// (GET /api/v1/reports/iec62443), printed or written to a file.
#include <cstdio>
#include <fstream>
#include <iostream>

#include "agent/net/client.h"
#include "cli/vigilctl_client.h"
#include "cli/vigilctl_commands.h"

namespace vigil::cli::ctl {
namespace {

constexpr size_t kMaxReportBytes = size_t{1} << 30;

// Writes `content` to `path` through a temporary file in the same directory, so that a reader
// never sees half a report.
Status WriteReport(const std::string& path, const std::string& content) {
  const std::string temp = path + ".tmp";
  {
    std::ofstream out(temp, std::ios::binary | std::ios::trunc);
    if (!out) return Status::IoError("cannot write " + temp);
    out.write(content.data(), static_cast<std::streamsize>(content.size()));
    out.close();
    if (!out) {
      std::remove(temp.c_str());
      return Status::IoError("cannot write " + temp);
    }
  }
  if (std::rename(temp.c_str(), path.c_str()) != 0) {
    std::remove(temp.c_str());
    return Status::IoError("cannot rename " + temp + " to " + path);
  }
  return Status::Ok();
}

}  // namespace

int RunReport(const std::vector<std::string>& args) {
  FlagSet flags("vigilctl report iec62443 [OPTIONS]",
                "The fleet's IEC 62443 report: per node, FR, SR and SL, worst first; stale nodes; "
                "the pass rate per day; the SRs not covered and why; crosswalk columns (viewer).");
  flags.Value("format", "FORMAT", "text, json, csv or html", "text");
  flags.Value("output", "FILE", "Write the report to FILE instead of standard output");
  flags.Value("at", "TIME", "The fleet as it was at TIME (RFC 3339 or unix seconds)");
  std::optional<HubConnection> hub;
  if (auto stop = Prepare(flags, args, hub)) return *stop;
  if (flags.positionals().size() != 1 || flags.positionals()[0] != "iec62443") {
    std::cerr << "vigilctl: report takes one report name: iec62443\n";
    return kExitUsage;
  }
  const std::string format = flags.Get("format").value_or("text");
  if (format != "text" && format != "json" && format != "csv" && format != "html") {
    std::cerr << "vigilctl: --format must be text, json, csv or html, not '" << format << "'\n";
    return kExitUsage;
  }
  std::string target = "/api/v1/reports/iec62443?format=" + format;
  if (auto at = flags.Get("at")) target += "&at=" + PathSegment(*at);
  // A large fleet's report is bigger than the usual reply limit (10,000 nodes: about 15 MB of
  // JSON).
  agent::net::ClientOptions options = hub->options();
  options.max_frame_bytes = kMaxReportBytes;
  auto reply = agent::net::HttpCall(options, "GET", target, hub->AuthHeaders(), "");
  if (!reply.ok()) return Fail(reply.status());
  if (reply->status >= 400) {
    return Fail(Status::FailedPrecondition("HTTP " + std::to_string(reply->status) + ": " +
                                           agent::net::ErrorMessageOf(reply->body)));
  }
  if (auto output = flags.Get("output")) {
    Status written = WriteReport(*output, reply->body);
    if (!written.ok()) return Fail(written);
    std::cerr << "vigilctl: wrote the " << format << " report to " << *output << "\n";
    return kExitOk;
  }
  std::cout << reply->body;
  if (!reply->body.empty() && reply->body.back() != '\n') std::cout << "\n";
  return kExitOk;
}

}  // namespace vigil::cli::ctl
