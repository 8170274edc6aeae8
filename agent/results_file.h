// The agent's JSON-lines results file (osquery's `filesystem` logger, so log shippers that tail
// osqueryd.results.log tail this too): one line per result log entry, rotated by size.
// `results.log` is the current file; on rotation it becomes `results.log.1`, the older ones
// shift up, and `results.log.<keep>` is removed.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "engine/status.h"

namespace vigil::agent {

struct ResultsFileOptions {
  std::string path;                // ".../results.log"
  uint64_t max_bytes = 25u << 20;  // rotate before a write would pass this
  int keep = 5;                    // rotated files kept
};

class ResultsFile {
 public:
  explicit ResultsFile(ResultsFileOptions options) : options_(std::move(options)) {}

  // Appends the lines (each without its newline) with one write, rotating first when the file
  // would grow past max_bytes. The file is created with mode 0600: results can be sensitive.
  Status Append(const std::vector<std::string>& lines);

 private:
  Status Rotate();

  ResultsFileOptions options_;
};

}  // namespace vigil::agent
