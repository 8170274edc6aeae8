// file_lines: the lines of text files a statement names, numbered from 1.
#include <sys/stat.h>

#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "engine/host.h"
#include "engine/table.h"
#include "tables/internal/path_pattern.h"
#include "tables/internal/text.h"

namespace vigil::tables {
namespace {

// Column positions, in the order of the column list below.
enum FileLinesColumn : int { kPath, kLine, kText, kDirectory, kColumnCount };

// How much of one file is read. Past it, the lines that fit are listed with a warning, so a
// check that looks for a line still sees the start of a runaway log, and says it saw no more.
constexpr size_t kMaxFileBytes = 8u << 20;
constexpr int kDeadlineCheckLines = 4096;

Schema FileLinesSchema() {
  constexpr uint32_t kInput = kRequired | kIndex;
  return Schema{
      "file_lines",
      "Every line of the regular files a statement names, numbered from 1, without the line "
      "end ('\\n', '\\r\\n'). Needs a constraint on path ('=', IN, LIKE or GLOB, expanded as in "
      "the file table) or on the hidden directory column (every file directly inside it). "
      "Directories and other non-regular files give no rows. Files containing NUL bytes are "
      "skipped with a warning. Only the first 8 MiB of a file are read: the complete lines "
      "in them are listed, with a warning that the rest was left out.",
      {
          {"path", ColumnType::kText, "Absolute path of the file, as named or expanded", kInput},
          {"line", ColumnType::kInteger, "Line number, from 1"},
          {"text", ColumnType::kText, "The line without its line end"},
          {"directory", ColumnType::kText,
           "Directory to list (input only): every file directly inside it is read",
           kInput | kHidden},
      }};
}

class FileLinesTable final : public Table {
 public:
  const Schema& schema() const override { return schema_; }

  Result<std::vector<Row>> generate(const QueryContext& ctx) const override {
    VIGIL_ASSIGN_OR_RETURN(auto candidates,
                           internal::ExpandPathConstraints(ctx, kPath, kDirectory));
    std::vector<Row> rows;
    for (internal::PathCandidate& candidate : candidates) {
      VIGIL_RETURN_IF_ERROR(ctx.CheckDeadline());
      auto st = ctx.host().Stat(candidate.path);
      if (!st.ok()) {
        if (st.status().code() != StatusCode::kNotFound) ctx.Warn(st.status().message());
        continue;
      }
      if (!S_ISREG(st->st_mode)) continue;
      VIGIL_RETURN_IF_ERROR(AddLines(ctx, candidate, rows));
    }
    return rows;
  }

 private:
  Status AddLines(const QueryContext& ctx, const internal::PathCandidate& candidate,
                  std::vector<Row>& rows) const {
    std::string content;
    Status read =
        ctx.host().ReadChunks(candidate.path, kMaxFileBytes, [&content](std::string_view chunk) {
          content.append(chunk);
          return Status::Ok();
        });
    if (read.code() == StatusCode::kResourceExhausted) {
      content.erase(content.rfind('\n') == std::string::npos ? 0 : content.rfind('\n') + 1);
      ctx.Warn(candidate.path + ": larger than " + std::to_string(kMaxFileBytes) +
               " bytes; only the lines in the first " + std::to_string(content.size()) +
               " bytes are listed");
    } else if (!read.ok()) {
      ctx.Warn(read.message());
      return Status::Ok();
    }
    if (content.find('\0') != std::string::npos) {
      ctx.Warn(candidate.path + ": binary file (contains NUL bytes), skipped");
      return Status::Ok();
    }
    for (const internal::NumberedLine& line : internal::SplitLines(content)) {
      if (line.number % kDeadlineCheckLines == 0) VIGIL_RETURN_IF_ERROR(ctx.CheckDeadline());
      Row row(kColumnCount);
      row[kPath] = candidate.path;
      row[kLine] = line.number;
      row[kText] = line.text;
      row[kDirectory] = candidate.directory;
      rows.push_back(std::move(row));
    }
    return Status::Ok();
  }

  const Schema schema_ = FileLinesSchema();
};

}  // namespace

std::unique_ptr<Table> MakeFileLinesTable() { return std::make_unique<FileLinesTable>(); }

}  // namespace vigil::tables
