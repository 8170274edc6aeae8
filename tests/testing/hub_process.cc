#include "tests/testing/hub_process.h"

#include <atomic>
#include <thread>

namespace vigil::testing {
namespace {

std::vector<std::string> ServeArgv(const std::string& hub_bin, std::vector<std::string> args) {
  args.insert(args.begin(), {hub_bin, "serve"});
  return args;
}

}  // namespace

std::string HubProcess::NextFile(const std::string& dir, const char* stream) {
  static std::atomic<int> serial{0};
  return dir + "/hub." + stream + "." + std::to_string(++serial);
}

HubProcess::HubProcess(const std::string& hub_bin, const std::string& dir,
                       std::vector<std::string> args)
    : out_file_(NextFile(dir, "out")),
      err_file_(NextFile(dir, "err")),
      process_(ServeArgv(hub_bin, std::move(args)), out_file_, err_file_) {}

bool HubProcess::WaitListening() {
  const auto end = std::chrono::steady_clock::now() + std::chrono::seconds(60);
  while (std::chrono::steady_clock::now() < end) {
    const std::string out = ReadFile(out_file_);
    url_ = LineValue(out, "listening");
    const bool plain = url_.rfind("http://", 0) == 0;
    if (!url_.empty() && (plain || !LineValue(out, "tls-cert").empty())) {
      fingerprint_ = LineValue(out, "tls-fingerprint");
      cert_ = LineValue(out, "tls-cert");
      secret_file_ = LineValue(out, "enroll-secret-file");
      port_ = static_cast<uint16_t>(std::stoi(url_.substr(url_.rfind(':') + 1)));
      return true;
    }
    if (process_.Wait(std::chrono::milliseconds(0)) >= 0) return false;
    std::this_thread::sleep_for(std::chrono::milliseconds(25));
  }
  return false;
}

}  // namespace vigil::testing
