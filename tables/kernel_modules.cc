// kernel_modules: the modules loaded into the running kernel, from /proc/modules, in its order
// (most recently loaded first).
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
enum KernelModulesColumn : int {
  kName,
  kSize,
  kUsedBy,
  kStatus,
  kAddress,
  kRefcount,
  kTaint,
  kColumnCount
};

Schema KernelModulesSchema() {
  return Schema{
      "kernel_modules",
      "Kernel modules loaded in the running kernel, from /proc/modules (what lsmod shows), "
      "most recently loaded first. No rows when the kernel has no module support (the file "
      "is absent). Lines with fewer than six fields are skipped with a warning.",
      {
          {"name", ColumnType::kText, "Module name", kIndex},
          {"size", ColumnType::kInteger, "Memory the module occupies, in bytes"},
          {"used_by", ColumnType::kText,
           "Modules that depend on this one, comma-separated ('-' when none; "
           "'[permanent]' for a module that cannot be unloaded)"},
          {"status", ColumnType::kText, "Load state: Live, Loading or Unloading"},
          {"address", ColumnType::kText,
           "Load address in hex; zeros when kernel.kptr_restrict hides it from the reader"},
          {"refcount", ColumnType::kInteger,
           "Number of references that keep the module loaded; NULL when the kernel reports "
           "'-' (unloading not supported)"},
          {"taint", ColumnType::kText,
           "Taint flags the module sets, without parentheses (O out-of-tree, E unsigned, P "
           "proprietary, ...); NULL when none"},
      }};
}

constexpr std::string_view kProcModules = "/proc/modules";

class KernelModulesTable final : public Table {
 public:
  const Schema& schema() const override { return schema_; }

  Result<std::vector<Row>> generate(const QueryContext& ctx) const override {
    std::vector<Row> rows;
    std::optional<std::string> text = internal::ReadOptionalFile(ctx, kProcModules);
    if (!text) return rows;
    for (const internal::NumberedLine& line : internal::SplitLines(*text)) {
      if (internal::Trim(line.text).empty()) continue;
      // name size refcount used_by state address [(taint)]
      std::vector<std::string_view> f = internal::SplitWhitespace(line.text);
      std::optional<int64_t> size = f.size() >= 6 ? internal::ParseInt(f[1]) : std::nullopt;
      if (!size) {
        ctx.Warn(std::string(kProcModules) + ":" + std::to_string(line.number) +
                 ": expected 'name size refcount used_by state address'");
        continue;
      }
      if (!ctx.Matches(kName, Value(f[0]))) continue;
      std::string_view used_by = f[3];
      if (used_by.size() > 1 && used_by.back() == ',') used_by.remove_suffix(1);
      Row row(kColumnCount);
      row[kName] = f[0];
      row[kSize] = *size;
      row[kUsedBy] = used_by;
      row[kStatus] = f[4];
      row[kAddress] = f[5];
      if (std::optional<int64_t> refs = internal::ParseInt(f[2])) row[kRefcount] = *refs;
      if (f.size() >= 7) {
        std::string_view taint = f[6];
        if (taint.starts_with('(') && taint.ends_with(')')) {
          taint = taint.substr(1, taint.size() - 2);
        }
        row[kTaint] = taint;
      }
      rows.push_back(std::move(row));
    }
    return rows;
  }

 private:
  const Schema schema_ = KernelModulesSchema();
};

}  // namespace

std::unique_ptr<Table> MakeKernelModulesTable() { return std::make_unique<KernelModulesTable>(); }

}  // namespace vigil::tables
