// systemd unit files as systemctl sees them without a running manager: the search path, the
// file that defines a unit (with its drop-ins), and the unit file state (enabled, masked,
// static, ...). Shared by the systemd_units / systemd_timers tables and the tables that ask
// whether a service is enabled; reads only through a Host, so enforcers can use it too.
//
// What is and is not modelled:
//   - Search path (highest priority first): /run/systemd/transient, /run/systemd/generator.early,
//     /etc/systemd/system, /run/systemd/system, /run/systemd/generator,
//     /usr/local/lib/systemd/system, /usr/lib/systemd/system, /lib/systemd/system,
//     /run/systemd/generator.late. A name in an earlier directory hides it in later ones; a
//     directory that resolves to one already listed (/lib -> /usr/lib) is skipped.
//   - Drop-ins: <dir>/<unit>.d/*.conf in every search directory, one file name per priority,
//     applied in file-name order after the unit file. Type-wide ("service.d") and prefix
//     ("foo-.service.d") drop-ins are not read.
//   - States: masked[-runtime] (a link to /dev/null or an empty file), alias (the name links to
//     a unit of another name), generated, transient, enabled[-runtime] (see
//     EnablementLinks::StateOf), indirect (only links under other names, such as another
//     instance of a template, or [Install] with only Also=), linked[-runtime]
//     (the unit file is a link from /etc or /run to a file outside the search path), disabled
//     ([Install] has WantedBy=, RequiredBy=, UpheldBy= or Alias=), static (none of these), bad
//     (the unit file cannot be read, has a malformed section header, or its link cannot be
//     followed). [Install] settings count from the unit file and its drop-ins.
#pragma once

#include <functional>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "engine/host.h"

namespace vigil::tables::internal {

// Receives "PATH:LINE: what is wrong" for files that could not be used.
using WarnFn = std::function<void(std::string message)>;

enum class UnitDirKind { kTransient, kGenerator, kConfig, kRuntime, kVendor };

struct UnitDir {
  std::string_view path;
  UnitDirKind kind;
};

// The system unit search path, highest priority first.
const std::vector<UnitDir>& SystemUnitDirs();

// "ssh.service", "getty@.service", "getty@tty1.service": a name with a known unit type suffix.
bool IsUnitName(std::string_view name);
// "getty@.service"
bool IsUnitTemplate(std::string_view name);
// "getty@tty1.service" -> "getty@.service"; "" when the name is not an instance.
std::string TemplateOf(std::string_view name);
// "x.timer" -> "x.service"
std::string WithSuffix(std::string_view name, std::string_view suffix);

// One entry of a unit directory that defines (or masks, or aliases) a unit.
struct UnitFileEntry {
  std::string name;
  std::string path;  // host path of the entry, which may be a symlink
  UnitDirKind kind = UnitDirKind::kVendor;
};

// Every unit name in the search path with the entry that wins, sorted by name.
std::map<std::string, UnitFileEntry> ListUnitFiles(const Host& host);
// The winning entry for one name, or nullopt when no unit directory has it.
std::optional<UnitFileEntry> FindUnitFile(const Host& host, std::string_view name);

// One "Key=Value" assignment of a unit file or drop-in.
struct UnitSetting {
  std::string section;  // "Unit", "Service", "Install", ...
  std::string key;
  std::string value;
  std::string file;
  int line = 0;
};

// The assignments of a unit file in file order: '#' and ';' comment lines skipped, lines ending
// in '\' joined with the next, "Key = Value" trimmed. A line that is neither a [Section] nor an
// assignment is reported through `warn` and skipped; a malformed section header also sets
// `*invalid` (systemd refuses such a file).
std::vector<UnitSetting> ParseUnitFile(std::string_view content, const std::string& file,
                                       const WarnFn& warn, bool* invalid = nullptr);
// The last value assigned to section.key, or nullopt.
std::optional<std::string> LastValue(const std::vector<UnitSetting>& settings,
                                     std::string_view section, std::string_view key);
// Every value assigned to a list setting in order; an empty assignment clears the list. With
// `split_words`, each assignment may hold several space-separated values.
std::vector<std::string> ListValues(const std::vector<UnitSetting>& settings,
                                    std::string_view section, std::string_view key,
                                    bool split_words);

// The enablement symlinks of /etc/systemd/system and /run/systemd/system, read once and asked
// about many units.
class EnablementLinks {
 public:
  static EnablementLinks Scan(const Host& host);

  // "enabled" / "enabled-runtime" when a link of /etc/systemd/system (/run/systemd/system)
  // enables the unit under a name it is known by: a *.wants/, *.requires/ or *.upholds/ link
  // named after the unit (for a template: its DefaultInstance= instance), or a link directly in
  // the directory named in its Alias= and pointing to it. "indirect" when only other instances
  // of a template, or alias links not named in Alias=, lead to it. "" otherwise.
  std::string_view StateOf(std::string_view name, const std::vector<std::string>& aliases,
                           std::string_view default_instance) const;

 private:
  struct Link {
    std::string name;         // the link's own name
    std::string target_name;  // the last component of its target
    bool runtime = false;     // under /run
    bool top_level = false;   // directly in the unit directory, not in a *.wants/ directory
  };
  std::vector<Link> links_;
};

struct UnitFile {
  std::string name;
  std::string path;           // the entry in the search path
  std::string fragment_path;  // the file the unit is read from, links followed; "" if masked
  std::string state;          // the unit file state, see above
  bool masked = false;
  // The unit file's assignments followed by those of its drop-ins, in the order applied;
  // empty when masked or unreadable.
  std::vector<UnitSetting> settings;
  std::vector<std::string> dropins;  // the drop-in files applied, in order
};

// Reads the unit an entry defines and works out its state. `links` comes from
// EnablementLinks::Scan on the same host.
UnitFile LoadUnitFile(const Host& host, const UnitFileEntry& entry, const EnablementLinks& links,
                      const WarnFn& warn);

// The unit file state of one unit by name ("enabled", "masked", ...), or nullopt when no unit
// file has the name. Scans the enablement links itself: for single look-ups.
std::optional<std::string> UnitFileState(const Host& host, std::string_view name,
                                         const WarnFn& warn);

// Whether live manager state may be asked for: the host is this machine and systemd runs
// (/run/systemd/system exists).
bool SystemdIsRunning(const Host& host);

// "yes", "true", "on", "1" -> true; "no", "false", "off", "0" -> false (any case).
std::optional<bool> ParseSystemdBool(std::string_view text);

}  // namespace vigil::tables::internal
