#include "cli/output.h"

#include <algorithm>
#include <cmath>
#include <cstdio>

namespace vigil::cli {
namespace {

// Display width of UTF-8 text: one column per code point (good enough for names and paths).
size_t DisplayWidth(std::string_view s) {
  size_t width = 0;
  for (unsigned char c : s) {
    if ((c & 0xC0) != 0x80) ++width;
  }
  return width;
}

std::string Cell(const Value& v) { return v.is_null() ? "" : v.ToString(); }

class PrettyWriter final : public ResultWriter {
 public:
  PrettyWriter(bool headers, std::ostream& out) : headers_(headers), out_(out) {}

  void Begin(const std::vector<std::string>& columns) override { columns_ = columns; }
  void AddRow(const Row& row) override {
    std::vector<std::string> cells;
    cells.reserve(row.size());
    for (const Value& v : row) cells.push_back(Cell(v));
    rows_.push_back(std::move(cells));
  }
  void End() override {
    if (columns_.empty()) return;
    std::vector<size_t> widths(columns_.size(), 0);
    for (size_t i = 0; i < columns_.size(); ++i) {
      if (headers_) widths[i] = DisplayWidth(columns_[i]);
      for (const auto& row : rows_) widths[i] = std::max(widths[i], DisplayWidth(row[i]));
    }
    Rule(widths);
    if (headers_) {
      Line(columns_, widths);
      Rule(widths);
    }
    for (const auto& row : rows_) Line(row, widths);
    if (!rows_.empty() || headers_) Rule(widths);
  }

 private:
  void Rule(const std::vector<size_t>& widths) {
    out_ << '+';
    for (size_t w : widths) out_ << std::string(w + 2, '-') << '+';
    out_ << '\n';
  }
  void Line(const std::vector<std::string>& cells, const std::vector<size_t>& widths) {
    out_ << '|';
    for (size_t i = 0; i < cells.size(); ++i) {
      out_ << ' ' << cells[i] << std::string(widths[i] - DisplayWidth(cells[i]), ' ') << " |";
    }
    out_ << '\n';
  }

  const bool headers_;
  std::ostream& out_;
  std::vector<std::string> columns_;
  std::vector<std::vector<std::string>> rows_;
};

class ListWriter final : public ResultWriter {
 public:
  ListWriter(bool headers, std::ostream& out) : headers_(headers), out_(out) {}
  void Begin(const std::vector<std::string>& columns) override {
    if (headers_) Line(columns);
  }
  void AddRow(const Row& row) override {
    std::vector<std::string> cells;
    for (const Value& v : row) cells.push_back(Cell(v));
    Line(cells);
  }
  void End() override { out_.flush(); }

 private:
  void Line(const std::vector<std::string>& cells) {
    for (size_t i = 0; i < cells.size(); ++i) out_ << (i > 0 ? "|" : "") << cells[i];
    out_ << '\n';
  }
  const bool headers_;
  std::ostream& out_;
};

class CsvWriter final : public ResultWriter {
 public:
  CsvWriter(bool headers, std::ostream& out) : headers_(headers), out_(out) {}
  void Begin(const std::vector<std::string>& columns) override {
    if (headers_) Line(columns);
  }
  void AddRow(const Row& row) override {
    std::vector<std::string> cells;
    for (const Value& v : row) cells.push_back(Cell(v));
    Line(cells);
  }
  void End() override { out_.flush(); }

 private:
  void Line(const std::vector<std::string>& cells) {
    for (size_t i = 0; i < cells.size(); ++i) {
      if (i > 0) out_ << ',';
      const std::string& c = cells[i];
      if (c.find_first_of(",\"\r\n") == std::string::npos) {
        out_ << c;
        continue;
      }
      out_ << '"';
      for (char ch : c) out_ << (ch == '"' ? "\"\"" : std::string(1, ch));
      out_ << '"';
    }
    out_ << "\r\n";
  }
  const bool headers_;
  std::ostream& out_;
};

class JsonWriter final : public ResultWriter {
 public:
  explicit JsonWriter(std::ostream& out) : out_(out) {}
  void Begin(const std::vector<std::string>& columns) override {
    keys_.clear();
    for (const std::string& c : columns) keys_.push_back(JsonQuote(c));
    out_ << '[';
    rows_ = 0;
  }
  void AddRow(const Row& row) override {
    out_ << (rows_++ == 0 ? "\n  {" : ",\n  {");
    for (size_t i = 0; i < row.size() && i < keys_.size(); ++i) {
      if (i > 0) out_ << ", ";
      out_ << keys_[i] << ": ";
      const Value& v = row[i];
      switch (v.type()) {
        case Value::Type::kNull: out_ << "null"; break;
        case Value::Type::kInteger: out_ << v.integer(); break;
        case Value::Type::kReal:
          if (std::isfinite(v.real())) {
            out_ << v.ToString();
          } else {
            out_ << "null";  // JSON has no NaN or infinity
          }
          break;
        case Value::Type::kText: out_ << JsonQuote(v.text()); break;
      }
    }
    out_ << '}';
  }
  void End() override { out_ << (rows_ == 0 ? "]\n" : "\n]\n") << std::flush; }

 private:
  std::ostream& out_;
  std::vector<std::string> keys_;
  size_t rows_ = 0;
};

class LineWriter final : public ResultWriter {
 public:
  explicit LineWriter(std::ostream& out) : out_(out) {}
  void Begin(const std::vector<std::string>& columns) override {
    columns_ = columns;
    width_ = 0;
    for (const std::string& c : columns) width_ = std::max(width_, DisplayWidth(c));
    rows_ = 0;
  }
  void AddRow(const Row& row) override {
    if (rows_++ > 0) out_ << '\n';
    for (size_t i = 0; i < row.size() && i < columns_.size(); ++i) {
      out_ << std::string(width_ - DisplayWidth(columns_[i]), ' ') << columns_[i] << " = "
           << Cell(row[i]) << '\n';
    }
  }
  void End() override { out_.flush(); }

 private:
  std::ostream& out_;
  std::vector<std::string> columns_;
  size_t width_ = 0;
  size_t rows_ = 0;
};

// Length of the valid UTF-8 sequence starting at s[i], or 0 if it is not valid.
size_t Utf8Length(std::string_view s, size_t i) {
  unsigned char c = static_cast<unsigned char>(s[i]);
  size_t n = c < 0x80 ? 1 : (c >> 5) == 0x6 ? 2 : (c >> 4) == 0xE ? 3 : (c >> 3) == 0x1E ? 4 : 0;
  if (n == 0 || i + n > s.size()) return 0;
  for (size_t k = 1; k < n; ++k) {
    if ((static_cast<unsigned char>(s[i + k]) & 0xC0) != 0x80) return 0;
  }
  return n;
}

}  // namespace

std::optional<OutputMode> ParseOutputMode(std::string_view name) {
  if (name == "pretty") return OutputMode::kPretty;
  if (name == "list") return OutputMode::kList;
  if (name == "csv") return OutputMode::kCsv;
  if (name == "json") return OutputMode::kJson;
  if (name == "line") return OutputMode::kLine;
  return std::nullopt;
}

std::string_view OutputModeName(OutputMode mode) {
  switch (mode) {
    case OutputMode::kPretty: return "pretty";
    case OutputMode::kList: return "list";
    case OutputMode::kCsv: return "csv";
    case OutputMode::kJson: return "json";
    case OutputMode::kLine: return "line";
  }
  return "pretty";
}

std::unique_ptr<ResultWriter> MakeWriter(OutputMode mode, bool headers, std::ostream& out) {
  switch (mode) {
    case OutputMode::kPretty: return std::make_unique<PrettyWriter>(headers, out);
    case OutputMode::kList: return std::make_unique<ListWriter>(headers, out);
    case OutputMode::kCsv: return std::make_unique<CsvWriter>(headers, out);
    case OutputMode::kJson: return std::make_unique<JsonWriter>(out);
    case OutputMode::kLine: return std::make_unique<LineWriter>(out);
  }
  return std::make_unique<PrettyWriter>(headers, out);
}

std::string JsonQuote(std::string_view s) {
  std::string out = "\"";
  for (size_t i = 0; i < s.size();) {
    unsigned char c = static_cast<unsigned char>(s[i]);
    size_t n = Utf8Length(s, i);
    if (n == 0) {  // not UTF-8: keep the byte visible as U+FFFD rather than emit broken JSON
      out += "\\ufffd";
      ++i;
      continue;
    }
    if (n > 1) {
      out.append(s.substr(i, n));
      i += n;
      continue;
    }
    ++i;
    switch (c) {
      case '"': out += "\\\""; break;
      case '\\': out += "\\\\"; break;
      case '\n': out += "\\n"; break;
      case '\r': out += "\\r"; break;
      case '\t': out += "\\t"; break;
      default:
        if (c < 0x20) {
          char buf[8];
          std::snprintf(buf, sizeof(buf), "\\u%04x", c);
          out += buf;
        } else {
          out += static_cast<char>(c);
        }
    }
  }
  return out + "\"";
}

}  // namespace vigil::cli
