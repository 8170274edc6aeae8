// kernel_info: the running kernel's release and the command line it was booted with.
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "engine/host.h"
#include "engine/table.h"
#include "tables/internal/text.h"

namespace vigil::tables {
namespace {

// Column positions, in the order of the column list below.
enum KernelInfoColumn : int { kVersion, kArguments, kPath, kDevice, kColumnCount };

Schema KernelInfoSchema() {
  return Schema{
      "kernel_info",
      "The running kernel: its release and its boot command line, read from /proc (so from "
      "the host root's /proc when --root is given). One row, or none when the root has "
      "neither /proc/cmdline nor a kernel release file.",
      {
          {"version", ColumnType::kText,
           "Kernel release (\"6.1.0-18-amd64\"), from /proc/sys/kernel/osrelease, else the "
           "third word of /proc/version; NULL when neither can be read"},
          {"arguments", ColumnType::kText,
           "The boot command line from /proc/cmdline without its BOOT_IMAGE= and root= "
           "parameters, words separated by one space; NULL when /proc/cmdline cannot be read"},
          {"path", ColumnType::kText,
           "The kernel image the boot loader loaded: the value of BOOT_IMAGE= on the command "
           "line (the last one wins); NULL when absent"},
          {"device", ColumnType::kText,
           "The root device: the value of root= on the command line (the last one wins, as "
           "for the kernel); NULL when absent"},
      }};
}

constexpr size_t kMaxProcBytes = 64u << 10;

// The words of a kernel command line. As the kernel parses it, a double-quoted stretch
// ("x=\"a b\"") does not split; the quotes stay in the word.
std::vector<std::string_view> CommandLineWords(std::string_view line) {
  std::vector<std::string_view> words;
  size_t i = 0;
  auto is_space = [](char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\0'; };
  while (i < line.size()) {
    while (i < line.size() && is_space(line[i])) ++i;
    if (i == line.size()) break;
    size_t start = i;
    bool quoted = false;
    while (i < line.size() && (quoted || !is_space(line[i]))) {
      if (line[i] == '"') quoted = !quoted;
      ++i;
    }
    words.push_back(line.substr(start, i - start));
  }
  return words;
}

// "root=\"/dev/sda1\"" -> "/dev/sda1": the kernel drops the quotes around a value.
std::string ParameterValue(std::string_view word, size_t name_length) {
  std::string value;
  for (char c : word.substr(name_length)) {
    if (c != '"') value += c;
  }
  return value;
}

std::optional<std::string> KernelRelease(const QueryContext& ctx) {
  if (auto release = internal::ReadOptionalFile(ctx, "/proc/sys/kernel/osrelease", kMaxProcBytes)) {
    std::string_view text = internal::Trim(*release);
    if (!text.empty()) return std::string(text);
  }
  // "Linux version 6.1.0-18-amd64 (debian-kernel@lists.debian.org) ..."
  if (auto version = internal::ReadOptionalFile(ctx, "/proc/version", kMaxProcBytes)) {
    std::vector<std::string_view> words = internal::SplitWhitespace(internal::Trim(*version));
    if (words.size() > 2 && words[1] == "version") return std::string(words[2]);
    ctx.Warn("/proc/version: no release in \"Linux version RELEASE ...\" form");
  }
  return std::nullopt;
}

class KernelInfoTable final : public Table {
 public:
  const Schema& schema() const override { return schema_; }

  Result<std::vector<Row>> generate(const QueryContext& ctx) const override {
    Row row(kColumnCount);
    bool found = false;
    if (std::optional<std::string> release = KernelRelease(ctx)) {
      row[kVersion] = std::move(*release);
      found = true;
    }
    if (auto cmdline = internal::ReadOptionalFile(ctx, "/proc/cmdline", kMaxProcBytes)) {
      found = true;
      std::string arguments;
      bool kernel_parameters = true;  // words after "--" belong to init, not to the kernel
      for (std::string_view word : CommandLineWords(*cmdline)) {
        if (word == "--") kernel_parameters = false;
        if (kernel_parameters && internal::StartsWith(word, "BOOT_IMAGE=")) {
          row[kPath] = ParameterValue(word, 11);
          continue;
        }
        if (kernel_parameters && internal::StartsWith(word, "root=")) {
          row[kDevice] = ParameterValue(word, 5);
          continue;
        }
        if (!arguments.empty()) arguments += ' ';
        arguments.append(word);
      }
      row[kArguments] = std::move(arguments);
    }
    std::vector<Row> rows;
    if (found) rows.push_back(std::move(row));
    return rows;
  }

 private:
  const Schema schema_ = KernelInfoSchema();
};

}  // namespace

std::unique_ptr<Table> MakeKernelInfoTable() { return std::make_unique<KernelInfoTable>(); }

}  // namespace vigil::tables
