// The people's API: remediation and tasks dispatched to nodes.
#include "server/api.h"

namespace vigil::server {
namespace {

HttpResponse NotYet() { return ErrorResponse(501, "not_implemented", "not implemented yet"); }

}  // namespace

HttpResponse Api::StartRemediation(const TokenRecord&, const HttpRequest&) { return NotYet(); }
HttpResponse Api::StartTask(const TokenRecord&, const HttpRequest&) { return NotYet(); }
HttpResponse Api::ListTasks(std::string_view) { return NotYet(); }
HttpResponse Api::GetTask(const std::string&) { return NotYet(); }

}  // namespace vigil::server
