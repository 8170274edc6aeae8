// The one way Vigil reads the host. Every file, directory, /proc and /sys access by a table
// goes through a Host, which maps host paths ("/etc/passwd") into its root directory
// ("--root DIR"). Symlinks, absolute or relative, and ".." are resolved inside the root: no
// host path can name a file outside it.
//
// Tests point a Host at a fixture tree, or subclass it to inject failures. A Host holds no
// mutable state and is safe to share between threads.
#pragma once

#include <sys/stat.h>

#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "engine/process.h"
#include "engine/status.h"

namespace vigil {

enum class FileType : uint8_t {
  kRegular, kDirectory, kSymlink, kCharDevice, kBlockDevice, kFifo, kSocket, kUnknown
};

std::string_view FileTypeName(FileType type);  // "regular", "directory", ...
FileType FileTypeFromMode(mode_t mode);

struct DirEntry {
  std::string name;
  FileType type = FileType::kUnknown;  // of the entry itself (a symlink is kSymlink)
};

class Host {
 public:
  static constexpr size_t kDefaultMaxRead = 16u << 20;

  // `root` must be an existing directory; "/" is the machine itself.
  static Result<std::unique_ptr<Host>> Open(std::string_view root);
  virtual ~Host() = default;

  // The root as an absolute path without a trailing slash ("" stands for "/").
  const std::string& root() const { return root_; }
  bool is_machine_root() const { return root_.empty(); }

  // The host path with "." and ".." removed and every symlink resolved inside the root
  // ("/etc/alternatives/x/../y" -> "/etc/y"). Components that do not exist are kept as
  // written. Host paths must be absolute.
  virtual Result<std::string> Canonical(std::string_view path) const;
  // The path on this machine that the host path names: root() + Canonical(path).
  Result<std::string> RealPath(std::string_view path) const;

  // The whole file; ResourceExhausted when it is longer than max_bytes. Works for /proc files,
  // whose size stat() reports as 0.
  virtual Result<std::string> ReadFile(std::string_view path,
                                       size_t max_bytes = kDefaultMaxRead) const;
  // Reads the file in chunks, handing each to `consume`; stops at the first error `consume`
  // returns. ResourceExhausted once more than max_bytes have been read.
  virtual Status ReadChunks(std::string_view path, size_t max_bytes,
                            const std::function<Status(std::string_view chunk)>& consume) const;
  // Entries other than "." and "..", sorted by name.
  virtual Result<std::vector<DirEntry>> ListDirectory(std::string_view path) const;
  // stat() follows a final symlink (inside the root); lstat() does not.
  virtual Result<struct stat> Stat(std::string_view path) const;
  virtual Result<struct stat> Lstat(std::string_view path) const;
  // The target of a symlink, as written in the link.
  virtual Result<std::string> ReadLink(std::string_view path) const;

  bool Exists(std::string_view path) const { return Lstat(path).ok(); }
  bool IsDirectory(std::string_view path) const;

  // Runs a program of this machine (never one inside the root). Collectors use it only when
  // is_machine_root() (live kernel state: `nft -j list ruleset`); validators (`sshd -t -f`)
  // use it with real paths from RealPath(). Tests subclass Host to make it fail.
  virtual Result<CommandResult> Run(const std::vector<std::string>& argv,
                                    const CommandOptions& options = {}) const;

  // Host paths matching a shell glob ("/etc/sysctl.d/*.conf"), sorted. `*`, `?` and `[...]`
  // match within one path component; a pattern without them yields itself when it exists.
  Result<std::vector<std::string>> Glob(std::string_view pattern) const;

 protected:
  explicit Host(std::string root) : root_(std::move(root)) {}

 private:
  const std::string root_;
};

// Joins a directory host path and a name: ("/etc", "passwd") -> "/etc/passwd".
std::string JoinPath(std::string_view dir, std::string_view name);
// "/etc/ssh/sshd_config" -> "/etc/ssh"; "/x" -> "/".
std::string ParentPath(std::string_view path);
// "/etc/ssh/sshd_config" -> "sshd_config".
std::string BaseName(std::string_view path);

}  // namespace vigil
