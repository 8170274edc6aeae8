#include "engine/value.h"

#include <cstdio>

namespace vigil {

std::string Value::ToString() const {
  switch (type()) {
    case Type::kNull: return "";
    case Type::kInteger: return std::to_string(integer());
    case Type::kReal: {
      // SQLite prints REAL with 15 significant digits and keeps a ".0" on integral values.
      char buf[64];
      std::snprintf(buf, sizeof(buf), "%.15g", real());
      std::string out(buf);
      if (out.find_first_of(".eEn") == std::string::npos) out += ".0";
      return out;
    }
    case Type::kText: return text();
  }
  return "";
}

}  // namespace vigil
