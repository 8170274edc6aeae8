// `vigil-hub serve ARGS` in the background for integration tests, with what it prints on start
// (URL, TLS fingerprint, certificate file, enroll secret file) read back once it listens.
#pragma once

#include <chrono>
#include <cstdint>
#include <string>
#include <vector>

#include "tests/testing/background.h"

namespace vigil::testing {

class HubProcess {
 public:
  // Runs `hub_bin serve ARGS`; its output goes to numbered files in `dir`.
  HubProcess(const std::string& hub_bin, const std::string& dir, std::vector<std::string> args);

  // Waits for the start lines (the URL, and the certificate's with TLS); false when the hub
  // exits first or takes over 60 s.
  bool WaitListening();
  // SIGTERM, then the exit status (-1 when it does not exit within 10 s).
  int Terminate() { return process_.Terminate(); }
  // The exit status, or -1 when it has not exited within `limit`.
  int Wait(std::chrono::milliseconds limit) { return process_.Wait(limit); }

  std::string out() const { return ReadFile(out_file_); }
  std::string err() const { return ReadFile(err_file_); }
  const std::string& url() const { return url_; }
  uint16_t port() const { return port_; }
  const std::string& fingerprint() const { return fingerprint_; }
  const std::string& cert() const { return cert_; }
  const std::string& enroll_secret_file() const { return secret_file_; }

 private:
  static std::string NextFile(const std::string& dir, const char* stream);

  const std::string out_file_;
  const std::string err_file_;
  BackgroundProcess process_;
  std::string url_;
  uint16_t port_ = 0;
  std::string fingerprint_;
  std::string cert_;
  std::string secret_file_;
};

}  // namespace vigil::testing
