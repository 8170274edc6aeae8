#include "engine/host.h"

#include <dirent.h>
#include <fcntl.h>
#include <fnmatch.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <deque>

namespace vigil {
namespace {

// More symlinks than this in one resolution is a loop (the kernel's limit is 40 too).
constexpr int kMaxSymlinkHops = 40;

// Splits "/a//b/./c" into {"a", "b", ".", "c"} (empty components dropped).
void SplitComponents(std::string_view path, std::deque<std::string>& out, bool at_front) {
  std::vector<std::string> parts;
  size_t i = 0;
  while (i < path.size()) {
    size_t j = path.find('/', i);
    if (j == std::string_view::npos) j = path.size();
    if (j > i) parts.emplace_back(path.substr(i, j - i));
    i = j + 1;
  }
  if (at_front) {
    out.insert(out.begin(), parts.begin(), parts.end());
  } else {
    out.insert(out.end(), parts.begin(), parts.end());
  }
}

class UniqueFd {
 public:
  explicit UniqueFd(int fd) : fd_(fd) {}
  ~UniqueFd() {
    if (fd_ >= 0) ::close(fd_);
  }
  UniqueFd(const UniqueFd&) = delete;
  UniqueFd& operator=(const UniqueFd&) = delete;
  int get() const { return fd_; }

 private:
  int fd_;
};

bool HasGlobMeta(std::string_view s) { return s.find_first_of("*?[") != std::string_view::npos; }

}  // namespace

std::string_view FileTypeName(FileType type) {
  switch (type) {
    case FileType::kRegular: return "regular";
    case FileType::kDirectory: return "directory";
    case FileType::kSymlink: return "symlink";
    case FileType::kCharDevice: return "character";
    case FileType::kBlockDevice: return "block";
    case FileType::kFifo: return "fifo";
    case FileType::kSocket: return "socket";
    case FileType::kUnknown: return "unknown";
  }
  return "unknown";
}

FileType FileTypeFromMode(mode_t mode) {
  if (S_ISREG(mode)) return FileType::kRegular;
  if (S_ISDIR(mode)) return FileType::kDirectory;
  if (S_ISLNK(mode)) return FileType::kSymlink;
  if (S_ISCHR(mode)) return FileType::kCharDevice;
  if (S_ISBLK(mode)) return FileType::kBlockDevice;
  if (S_ISFIFO(mode)) return FileType::kFifo;
  if (S_ISSOCK(mode)) return FileType::kSocket;
  return FileType::kUnknown;
}

std::string JoinPath(std::string_view dir, std::string_view name) {
  std::string out(dir);
  if (out.empty() || out.back() != '/') out += '/';
  out += name;
  return out;
}

std::string ParentPath(std::string_view path) {
  while (path.size() > 1 && path.back() == '/') path.remove_suffix(1);
  size_t slash = path.rfind('/');
  if (slash == std::string_view::npos) return ".";
  if (slash == 0) return "/";
  return std::string(path.substr(0, slash));
}

std::string BaseName(std::string_view path) {
  while (path.size() > 1 && path.back() == '/') path.remove_suffix(1);
  size_t slash = path.rfind('/');
  return std::string(slash == std::string_view::npos ? path : path.substr(slash + 1));
}

Result<std::unique_ptr<Host>> Host::Open(std::string_view root) {
  if (root.empty()) return Status::InvalidArgument("host root is empty");
  std::string absolute;
  if (root[0] == '/') {
    absolute = std::string(root);
  } else {
    char cwd[4096];
    if (::getcwd(cwd, sizeof(cwd)) == nullptr) return Status::FromErrno(errno, "getcwd");
    absolute = JoinPath(cwd, root);
  }
  char resolved[PATH_MAX];
  if (::realpath(absolute.c_str(), resolved) == nullptr) {
    return Status::FromErrno(errno, "host root " + std::string(root));
  }
  struct stat st;
  if (::stat(resolved, &st) != 0) return Status::FromErrno(errno, "host root " + std::string(root));
  if (!S_ISDIR(st.st_mode)) {
    return Status::InvalidArgument("host root " + std::string(root) + " is not a directory");
  }
  std::string clean(resolved);
  if (clean == "/") clean.clear();
  return std::unique_ptr<Host>(new Host(std::move(clean)));
}

Result<std::string> Host::Canonical(std::string_view path) const {
  if (path.empty() || path[0] != '/') {
    return Status::InvalidArgument("host path '" + std::string(path) + "' is not absolute");
  }
  std::deque<std::string> pending;
  SplitComponents(path, pending, false);
  std::vector<std::string> resolved;  // components below the root, all existing and not links
  int hops = 0;
  bool missing = false;  // once a component is missing, the rest is lexical
  while (!pending.empty()) {
    std::string part = std::move(pending.front());
    pending.pop_front();
    if (part == ".") continue;
    if (part == "..") {
      if (!resolved.empty()) resolved.pop_back();  // ".." at the root stays at the root
      continue;
    }
    resolved.push_back(std::move(part));
    if (missing) continue;
    std::string real = root_;
    for (const std::string& c : resolved) (real += '/') += c;
    struct stat st;
    if (::lstat(real.c_str(), &st) != 0) {
      missing = true;
      continue;
    }
    if (!S_ISLNK(st.st_mode)) continue;
    if (++hops > kMaxSymlinkHops) {
      return Status::InvalidArgument("too many levels of symbolic links in " + std::string(path));
    }
    char target[PATH_MAX];
    ssize_t n = ::readlink(real.c_str(), target, sizeof(target) - 1);
    if (n < 0) return Status::FromErrno(errno, "readlink " + std::string(path));
    std::string_view link(target, static_cast<size_t>(n));
    resolved.pop_back();
    if (!link.empty() && link[0] == '/') resolved.clear();  // absolute: from the root
    SplitComponents(link, pending, true);
  }
  std::string out;
  for (const std::string& c : resolved) (out += '/') += c;
  return out.empty() ? std::string("/") : out;
}

Result<std::string> Host::RealPath(std::string_view path) const {
  if (is_machine_root()) {
    // Nothing can escape "/": let the kernel resolve links, saving a stat per component.
    if (path.empty() || path[0] != '/') {
      return Status::InvalidArgument("host path '" + std::string(path) + "' is not absolute");
    }
    return std::string(path);
  }
  VIGIL_ASSIGN_OR_RETURN(std::string canonical, Canonical(path));
  return root_ + (canonical == "/" ? "" : canonical);
}

Status Host::ReadChunks(std::string_view path, size_t max_bytes,
                        const std::function<Status(std::string_view chunk)>& consume) const {
  VIGIL_ASSIGN_OR_RETURN(std::string real, RealPath(path));
  UniqueFd fd(::open(real.c_str(), O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK));
  if (fd.get() < 0) return Status::FromErrno(errno, "open " + std::string(path));
  struct stat st;
  if (::fstat(fd.get(), &st) != 0) return Status::FromErrno(errno, "stat " + std::string(path));
  if (S_ISDIR(st.st_mode)) return Status::InvalidArgument(std::string(path) + " is a directory");
  char buffer[64 * 1024];
  size_t total = 0;
  for (;;) {
    ssize_t n = ::read(fd.get(), buffer, sizeof(buffer));
    if (n < 0) {
      if (errno == EINTR) continue;
      return Status::FromErrno(errno, "read " + std::string(path));
    }
    if (n == 0) return Status::Ok();
    total += static_cast<size_t>(n);
    if (total > max_bytes) {
      return Status::ResourceExhausted(std::string(path) + " is larger than " +
                                       std::to_string(max_bytes) + " bytes");
    }
    VIGIL_RETURN_IF_ERROR(consume(std::string_view(buffer, static_cast<size_t>(n))));
  }
}

Result<std::string> Host::ReadFile(std::string_view path, size_t max_bytes) const {
  std::string content;
  VIGIL_RETURN_IF_ERROR(ReadChunks(path, max_bytes, [&content](std::string_view chunk) {
    content.append(chunk);
    return Status::Ok();
  }));
  return content;
}

Result<std::vector<DirEntry>> Host::ListDirectory(std::string_view path) const {
  VIGIL_ASSIGN_OR_RETURN(std::string real, RealPath(path));
  DIR* dir = ::opendir(real.c_str());
  if (dir == nullptr) return Status::FromErrno(errno, "opendir " + std::string(path));
  std::vector<DirEntry> entries;
  while (struct dirent* e = ::readdir(dir)) {
    std::string_view name(e->d_name);
    if (name == "." || name == "..") continue;
    DirEntry entry{std::string(name), FileType::kUnknown};
    switch (e->d_type) {
      case DT_REG: entry.type = FileType::kRegular; break;
      case DT_DIR: entry.type = FileType::kDirectory; break;
      case DT_LNK: entry.type = FileType::kSymlink; break;
      case DT_CHR: entry.type = FileType::kCharDevice; break;
      case DT_BLK: entry.type = FileType::kBlockDevice; break;
      case DT_FIFO: entry.type = FileType::kFifo; break;
      case DT_SOCK: entry.type = FileType::kSocket; break;
      default: {
        struct stat st;
        std::string child = real + "/" + entry.name;
        if (::lstat(child.c_str(), &st) == 0) entry.type = FileTypeFromMode(st.st_mode);
      }
    }
    entries.push_back(std::move(entry));
  }
  ::closedir(dir);
  std::sort(entries.begin(), entries.end(),
            [](const DirEntry& a, const DirEntry& b) { return a.name < b.name; });
  return entries;
}

Result<struct stat> Host::Stat(std::string_view path) const {
  VIGIL_ASSIGN_OR_RETURN(std::string real, RealPath(path));
  struct stat st;
  // Under another root every link is already resolved; on "/" the kernel follows them.
  if (::stat(real.c_str(), &st) != 0) return Status::FromErrno(errno, "stat " + std::string(path));
  return st;
}

Result<struct stat> Host::Lstat(std::string_view path) const {
  // Resolve every component but the last, which is examined as it is.
  std::string parent = ParentPath(path);
  std::string base = BaseName(path);
  if (base == "/" || base == "." || base == "..") return Stat(path);
  VIGIL_ASSIGN_OR_RETURN(std::string real_parent, RealPath(parent));
  std::string real = JoinPath(real_parent, base);
  struct stat st;
  if (::lstat(real.c_str(), &st) != 0) return Status::FromErrno(errno, "lstat " + std::string(path));
  return st;
}

Result<std::string> Host::ReadLink(std::string_view path) const {
  std::string parent = ParentPath(path);
  VIGIL_ASSIGN_OR_RETURN(std::string real_parent, RealPath(parent));
  std::string real = JoinPath(real_parent, BaseName(path));
  char target[PATH_MAX];
  ssize_t n = ::readlink(real.c_str(), target, sizeof(target) - 1);
  if (n < 0) return Status::FromErrno(errno, "readlink " + std::string(path));
  return std::string(target, static_cast<size_t>(n));
}

bool Host::IsDirectory(std::string_view path) const {
  auto st = Stat(path);
  return st.ok() && S_ISDIR(st->st_mode);
}

Result<CommandResult> Host::Run(const std::vector<std::string>& argv,
                                const CommandOptions& options) const {
  return RunCommand(argv, options);
}

Result<std::vector<std::string>> Host::Glob(std::string_view pattern) const {
  if (pattern.empty() || pattern[0] != '/') {
    return Status::InvalidArgument("glob pattern '" + std::string(pattern) + "' is not absolute");
  }
  std::deque<std::string> parts;
  SplitComponents(pattern, parts, false);
  std::vector<std::string> current = {"/"};
  for (const std::string& part : parts) {
    std::vector<std::string> next;
    for (const std::string& dir : current) {
      if (!HasGlobMeta(part)) {
        std::string candidate = JoinPath(dir, part);
        if (Exists(candidate)) next.push_back(std::move(candidate));
        continue;
      }
      auto entries = ListDirectory(dir);
      if (!entries.ok()) continue;  // not a directory or unreadable: nothing matches below it
      for (const DirEntry& e : *entries) {
        if (e.name[0] == '.' && part[0] != '.') continue;  // like the shell: dot files need a dot
        if (::fnmatch(part.c_str(), e.name.c_str(), FNM_PERIOD) == 0) {
          next.push_back(JoinPath(dir, e.name));
        }
      }
    }
    current = std::move(next);
    if (current.empty()) break;
  }
  if (parts.empty()) return current;
  std::sort(current.begin(), current.end());
  return current;
}

}  // namespace vigil
