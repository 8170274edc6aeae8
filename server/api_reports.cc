// The people's API: the fleet IEC 62443 report.
#include "server/api.h"

namespace vigil::server {

HttpResponse Api::Report(std::string_view) {
  return ErrorResponse(501, "not_implemented", "not implemented yet");
}

}  // namespace vigil::server
