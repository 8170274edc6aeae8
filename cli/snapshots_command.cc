// `vigil snapshots list PATH` and `vigil snapshots restore PATH [--seq N]`: the file contents
// enforcers kept before changing a file (the last 5 per file, in the node's state directory),
// and putting one back. A restore is recorded in the audit chain.
#include <iostream>
#include <string>

#include "cli/commands.h"
#include "cli/flags.h"
#include "enforcers/applier.h"
#include "engine/audit/chain.h"
#include "engine/digest.h"
#include "engine/host.h"
#include "engine/store/store.h"

namespace vigil::cli {
namespace {

const char* KindName(enforcers::Snapshot::Kind kind) {
  switch (kind) {
    case enforcers::Snapshot::Kind::kFile: return "file";
    case enforcers::Snapshot::Kind::kSymlink: return "symlink";
    case enforcers::Snapshot::Kind::kDirectory: return "directory";
    case enforcers::Snapshot::Kind::kMissing: return "missing";
  }
  return "missing";
}

}  // namespace

int RunSnapshots(const std::vector<std::string>& args) {
  FlagSet flags("vigil snapshots list|restore [OPTIONS] PATH",
                "The contents enforcers kept before they changed a file (the last 5 per file).\n"
                "  list PATH      One line per snapshot: seq, time, kind, mode, owner, size, sha256\n"
                "  restore PATH   Put the newest snapshot (or --seq N) back: content, mode and\n"
                "                 owner; recorded in the audit chain. PATH is a host path under\n"
                "                 --root, as the enforcer saw it.");
  flags.Value("state-dir", "DIR", "The node's state directory", kDefaultStateDir);
  flags.Value("root", "DIR", "The host tree the snapshots were taken from", "/");
  flags.Value("seq", "N", "With restore: the snapshot to put back (default: the newest)");
  auto usage = [](const std::string& message) {
    std::cerr << "vigil snapshots: " << message << "\n(see vigil snapshots --help)\n";
    return 2;
  };
  if (Status s = flags.Parse(args); !s.ok()) return usage(s.message());
  if (flags.help_requested()) {
    std::cout << flags.Help();
    return 0;
  }
  const auto& words = flags.positionals();
  if (words.size() != 2 || (words[0] != "list" && words[0] != "restore")) {
    return usage("expected 'list PATH' or 'restore PATH'");
  }
  const std::string& path = words[1];
  if (path.empty() || path[0] != '/') return usage("PATH must be an absolute host path");
  auto fail = [](const std::string& message) {
    std::cerr << "vigil snapshots: " << message << "\n";
    return 1;
  };
  const bool restore = words[0] == "restore";
  auto store = store::Store::Open(*flags.Get("state-dir"), {.create = false});
  if (!store.ok()) return fail(store.status().message());
  auto host = Host::Open(*flags.Get("root"));
  if (!host.ok()) return fail(host.status().message());
  // Snapshots are kept under the path with its folders resolved, as the enforcer named it.
  std::string key = path;
  if (auto parent = (*host)->Canonical(ParentPath(path)); parent.ok()) {
    key = JoinPath(*parent, BaseName(path));
  }
  auto snapshots = enforcers::ListSnapshots(**store, key);
  if (!snapshots.ok()) return fail(snapshots.status().message());
  if (snapshots->empty()) return fail("no snapshots of " + path);

  if (!restore) {
    for (const enforcers::Snapshot& s : *snapshots) {
      char mode[8];
      std::snprintf(mode, sizeof(mode), "%04o", static_cast<unsigned>(s.mode));
      std::cout << s.seq << "\t" << s.time << "\t" << KindName(s.kind) << "\t" << mode << "\t"
                << s.uid << ":" << s.gid << "\t" << s.content.size() << "\t"
                << (s.kind == enforcers::Snapshot::Kind::kFile ? Sha256Hex(s.content) : "-")
                << "\n";
    }
    return 0;
  }
  const enforcers::Snapshot* chosen = &snapshots->back();
  if (auto seq = flags.Get("seq")) {
    auto n = ParseCount(*seq, "--seq");
    if (!n.ok()) return usage(n.status().message());
    chosen = nullptr;
    for (const enforcers::Snapshot& s : *snapshots) {
      if (s.seq == static_cast<uint64_t>(*n)) chosen = &s;
    }
    if (chosen == nullptr) return fail("no snapshot " + *seq + " of " + path);
  }
  audit::AuditChain chain(**store);
  Status restored = enforcers::RestoreSnapshot(**host, *chosen, &chain, "vigil snapshots");
  if (!restored.ok()) return fail(restored.message());
  std::cout << "restored " << path << " from snapshot " << chosen->seq << " (" << chosen->time
            << ")\n";
  return 0;
}

}  // namespace vigil::cli
