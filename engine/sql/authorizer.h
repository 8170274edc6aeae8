// The read-only surface: an SQLite authorizer that allows reads and a listed set of functions
// and denies everything else (ATTACH, DETACH, writes, schema changes, load_extension, PRAGMA
// other than read-only introspection), remembering why so the caller can say it clearly.
//
// Not thread-safe: one per connection.
#pragma once

#include <string>

struct sqlite3;

namespace vigil {

class Authorizer {
 public:
  // Installs the authorizer on `db`; the Authorizer must outlive the connection.
  void Install(sqlite3* db);

  // Clears the remembered denial before a new statement.
  void Reset() { denial_.clear(); }
  // Why the last statement was denied ("ATTACH is not allowed: ..."), or empty.
  const std::string& denial() const { return denial_; }

  // For the SQLite callback only.
  int Decide(int action, const char* arg1, const char* arg2);

 private:
  int DecidePragma(const std::string& name);

  std::string denial_;
};

}  // namespace vigil
