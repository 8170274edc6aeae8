// The people's API: the published fleet config (publish, history, diff, rollback).
#include "server/api.h"

namespace vigil::server {
namespace {

HttpResponse NotYet() { return ErrorResponse(501, "not_implemented", "not implemented yet"); }

}  // namespace

HttpResponse Api::PublishConfig(const TokenRecord&, const HttpRequest&) { return NotYet(); }
HttpResponse Api::ConfigHistory() { return NotYet(); }
HttpResponse Api::ConfigDiff(std::string_view) { return NotYet(); }
HttpResponse Api::RollbackConfig(const TokenRecord&, const HttpRequest&) { return NotYet(); }
HttpResponse Api::ConfigVersion(const std::string&) { return NotYet(); }

}  // namespace vigil::server
