#include "server/hub.h"

#include <arpa/inet.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <charconv>
#include <cstring>

#include "server/http_routes.h"
#include "server/internal/transport.h"
#include "server/tls_identity.h"

namespace vigil::server {
namespace {

bool IsIpLiteral(const std::string& address) {
  unsigned char buffer[sizeof(struct in6_addr)];
  return inet_pton(AF_INET, address.c_str(), buffer) == 1 ||
         inet_pton(AF_INET6, address.c_str(), buffer) == 1;
}

std::string HostPort(const std::string& address, uint16_t port) {
  if (address.find(':') != std::string::npos) return "[" + address + "]:" + std::to_string(port);
  return address + ":" + std::to_string(port);
}

}  // namespace

Status MakeStateDirectory(const std::string& dir) {
  if (dir.empty()) return Status::InvalidArgument("the hub needs a state directory");
  // Parents as well: a fresh install has no /var/lib/vigil-hub.
  for (size_t slash = dir.find('/', 1);; slash = dir.find('/', slash + 1)) {
    std::string part = dir.substr(0, slash);
    if (::mkdir(part.c_str(), 0700) != 0 && errno != EEXIST) {
      return Status::FromErrno(errno, "create state directory " + part);
    }
    if (slash == std::string::npos) break;
  }
  struct stat st;
  if (::stat(dir.c_str(), &st) != 0) return Status::FromErrno(errno, "state directory " + dir);
  if (!S_ISDIR(st.st_mode)) {
    return Status::FailedPrecondition("state directory " + dir + " is not a directory");
  }
  return Status::Ok();
}

namespace {

std::string HostName() {
  char name[256] = {};
  if (::gethostname(name, sizeof(name) - 1) != 0 || name[0] == '\0') return "vigil-hub";
  return name;
}

}  // namespace

Result<std::pair<std::string, uint16_t>> ParseListenAddress(std::string_view text) {
  std::string address;
  std::string_view port_text;
  if (!text.empty() && text.front() == '[') {
    size_t close = text.find(']');
    if (close == std::string_view::npos || close + 1 >= text.size() || text[close + 1] != ':') {
      return Status::InvalidArgument("listen address '" + std::string(text) +
                                     "': expected [IPV6]:PORT");
    }
    address = std::string(text.substr(1, close - 1));
    port_text = text.substr(close + 2);
  } else {
    size_t colon = text.rfind(':');
    if (colon == std::string_view::npos || text.find(':') != colon) {
      return Status::InvalidArgument("listen address '" + std::string(text) +
                                     "': expected ADDR:PORT (an IPv6 address in brackets)");
    }
    address = std::string(text.substr(0, colon));
    port_text = text.substr(colon + 1);
  }
  unsigned port = 0;
  auto [end, ec] = std::from_chars(port_text.data(), port_text.data() + port_text.size(), port);
  if (port_text.empty() || ec != std::errc() || end != port_text.data() + port_text.size() ||
      port > 65535) {
    return Status::InvalidArgument("listen address '" + std::string(text) + "': port '" +
                                   std::string(port_text) + "' is not a number from 0 to 65535");
  }
  if (!IsIpLiteral(address)) {
    return Status::InvalidArgument("listen address '" + std::string(text) + "': '" + address +
                                   "' is not an IPv4 or IPv6 address");
  }
  return std::pair<std::string, uint16_t>(address, static_cast<uint16_t>(port));
}

bool IsLoopbackAddress(std::string_view address) {
  const std::string text(address);
  struct in_addr v4;
  if (inet_pton(AF_INET, text.c_str(), &v4) == 1) {
    return (ntohl(v4.s_addr) >> 24) == 127;
  }
  struct in6_addr v6;
  if (inet_pton(AF_INET6, text.c_str(), &v6) == 1) {
    if (IN6_IS_ADDR_LOOPBACK(&v6)) return true;
    return IN6_IS_ADDR_V4MAPPED(&v6) && v6.s6_addr[12] == 127;
  }
  return false;
}

Hub::Hub(HubOptions options) : options_(std::move(options)) {}

Hub::~Hub() { Stop(); }

Status Hub::Start() {
  if (transport_) return Status::FailedPrecondition("the hub is already started");
  const std::string where = HostPort(options_.address, options_.port);
  if (!IsIpLiteral(options_.address)) {
    return Status::InvalidArgument("listen address '" + options_.address +
                                   "' is not an IPv4 or IPv6 address");
  }
  if (options_.insecure && !IsLoopbackAddress(options_.address)) {
    return Status::InvalidArgument(
        "--insecure serves plain HTTP without TLS and is allowed only on a loopback address; " +
        where + " is not one (listen on 127.0.0.1 or [::1], or drop --insecure)");
  }
  if (options_.tls_cert.empty() != options_.tls_key.empty()) {
    return Status::InvalidArgument(
        "--tls-cert and --tls-key go together: give both, or neither for a self-signed "
        "certificate");
  }
  if (options_.insecure && !options_.tls_cert.empty()) {
    return Status::InvalidArgument("--insecure serves no TLS; it cannot take --tls-cert/--tls-key");
  }
  const HubLimits& limits = options_.limits;
  if (limits.max_frame_bytes == 0 || limits.max_body_bytes == 0 || limits.max_send_queue == 0 ||
      limits.max_stream_queue == 0 || limits.max_header_bytes == 0) {
    return Status::InvalidArgument("hub limits must be greater than 0");
  }
  if (options_.store != nullptr && options_.fleet == nullptr) {
    return Status::InvalidArgument("the hub's options give a store without a fleet");
  }
  if (options_.fleet != nullptr && options_.store == nullptr) {
    return Status::InvalidArgument("the hub's options give a fleet without a store");
  }
  VIGIL_RETURN_IF_ERROR(MakeStateDirectory(options_.state_dir));

  internal::TransportConfig config;
  if (!options_.insecure) {
    Result<TlsIdentity> identity = options_.tls_cert.empty()
                                       ? LoadOrCreateSelfSigned(options_.state_dir, HostName())
                                       : LoadTlsFiles(options_.tls_cert, options_.tls_key);
    if (!identity.ok()) return identity.status();
    fingerprint_ = identity->fingerprint;
    cert_file_ = identity->cert_file;
    cert_generated_ = identity->generated;
    config.cert_file = identity->cert_file;
    config.key_file = identity->key_file;
  }
  if (options_.store && options_.fleet) {
    api_ = std::make_unique<Api>(*options_.store, *options_.fleet, options_.api_limits,
                                 options_.api_services);
  }
  router_ =
      std::make_unique<HttpRouter>(metrics_, api_.get(), options_.store, options_.fleet_metrics);
  config.address = options_.address;
  config.port = options_.port;
  config.tls = !options_.insecure;
  config.threads = options_.threads;
  config.limits = options_.limits;
  config.agent_sessions = options_.agent_sessions;
  config.metrics = &metrics_;
  config.router = router_.get();
  auto transport = internal::StartTransport(std::move(config));
  if (!transport.ok()) return transport.status();
  transport_ = std::move(*transport);
  return Status::Ok();
}

void Hub::Stop() {
  if (transport_) transport_->Stop();
}

uint16_t Hub::port() const { return transport_ ? transport_->port() : 0; }

std::string Hub::url() const {
  return std::string(tls() ? "https://" : "http://") + HostPort(options_.address, port());
}

}  // namespace vigil::server
