// Result printers shared by `vigil sql` and `vigil shell`: pretty (a boxed table), list (cells
// joined by '|', like sqlite3), csv (RFC 4180), json (an array of objects with typed values)
// and line (one "column = value" per line, a blank line between rows).
#pragma once

#include <memory>
#include <optional>
#include <ostream>
#include <string>
#include <string_view>
#include <vector>

#include "engine/value.h"

namespace vigil::cli {

enum class OutputMode { kPretty, kList, kCsv, kJson, kLine };

std::optional<OutputMode> ParseOutputMode(std::string_view name);
std::string_view OutputModeName(OutputMode mode);

// Receives one statement's result. Pretty output is printed at End() (column widths need every
// row); the other modes print each row as it arrives.
class ResultWriter {
 public:
  virtual ~ResultWriter() = default;
  virtual void Begin(const std::vector<std::string>& columns) = 0;
  virtual void AddRow(const Row& row) = 0;
  virtual void End() = 0;
};

std::unique_ptr<ResultWriter> MakeWriter(OutputMode mode, bool headers, std::ostream& out);

// JSON string literal for `s`, with control characters and invalid UTF-8 bytes escaped.
std::string JsonQuote(std::string_view s);

}  // namespace vigil::cli
