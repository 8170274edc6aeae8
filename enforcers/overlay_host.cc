#include "enforcers/overlay_host.h"

#include <algorithm>
#include <cerrno>
#include <set>

namespace vigil::enforcers {

OverlayHost::OverlayHost(const Host& base) : Host(base.root()), base_(base) {}

std::string OverlayHost::LinkKey(std::string_view path) const {
  if (path == "/") return "/";
  auto parent = base_.Canonical(ParentPath(path));
  return parent.ok() ? JoinPath(*parent, BaseName(path)) : std::string(path);
}

std::string OverlayHost::TargetKey(std::string_view path) const {
  auto canonical = base_.Canonical(path);
  return canonical.ok() ? *canonical : std::string(path);
}

const FileEdit* OverlayHost::FindEntry(std::string_view path) const {
  if (edits_.empty()) return nullptr;
  auto it = edits_.find(LinkKey(path));
  return it == edits_.end() ? nullptr : &it->second;
}

const FileEdit* OverlayHost::Find(std::string_view path) const {
  if (edits_.empty()) return nullptr;
  if (const FileEdit* entry = FindEntry(path); entry != nullptr) return entry;
  auto it = edits_.find(TargetKey(path));
  return it == edits_.end() ? nullptr : &it->second;
}

Status OverlayHost::Apply(const FileEdit& edit) {
  if (edit.path.empty() || edit.path[0] != '/') {
    return Status::InvalidArgument("planned file '" + edit.path + "' is not an absolute path");
  }
  // Removing or linking acts on the path itself; content, mode and owner on what it names, as
  // open() and chmod() would.
  const bool on_entry = edit.remove || edit.symlink_to.has_value();
  const FileEdit* pending = FindEntry(edit.path);
  const bool pending_link = pending != nullptr && (pending->symlink_to || pending->remove);
  const std::string key = on_entry || pending_link ? LinkKey(edit.path) : TargetKey(edit.path);
  auto [it, inserted] = edits_.try_emplace(key);
  FileEdit& combined = it->second;
  if (inserted) {
    combined.path = key;
    combined.mode_if_new = edit.mode_if_new;
  }
  if (edit.remove) {
    combined = FileEdit();
    combined.path = key;
    combined.remove = true;
    return Status::Ok();
  }
  if (combined.remove) {
    // Removed earlier in this plan, now written again: a new file as far as the plan goes.
    combined.remove = false;
    combined.mode_if_new = edit.mode_if_new;
  }
  if (edit.symlink_to) {
    combined.symlink_to = edit.symlink_to;
    combined.content.reset();
  }
  if (edit.content) {
    combined.content = edit.content;
    combined.symlink_to.reset();
  }
  if (edit.mode) combined.mode = edit.mode;
  if (edit.owner) combined.owner = edit.owner;
  if (edit.group) combined.group = edit.group;
  return Status::Ok();
}

Result<std::string> OverlayHost::Canonical(std::string_view path) const {
  return base_.Canonical(path);
}

Result<std::string> OverlayHost::ReadFile(std::string_view path, size_t max_bytes) const {
  const FileEdit* edit = Find(path);
  if (edit != nullptr && edit->symlink_to && !edit->remove) {
    const std::string& target = *edit->symlink_to;
    std::string next = target.starts_with('/') ? target : JoinPath(ParentPath(edit->path), target);
    if (LinkKey(next) == edit->path) return Status::FromErrno(ELOOP, "open " + std::string(path));
    return ReadFile(next, max_bytes);
  }
  if (edit == nullptr || (!edit->remove && !edit->content)) return base_.ReadFile(path, max_bytes);
  if (edit->remove) return Status::FromErrno(ENOENT, "open " + std::string(path));
  if (edit->content->size() > max_bytes) {
    return Status::ResourceExhausted(std::string(path) + " is larger than " +
                                     std::to_string(max_bytes) + " bytes");
  }
  return *edit->content;
}

Status OverlayHost::ReadChunks(std::string_view path, size_t max_bytes,
                               const std::function<Status(std::string_view chunk)>& consume) const {
  const FileEdit* edit = Find(path);
  if (edit == nullptr || (!edit->remove && !edit->content)) {
    return base_.ReadChunks(path, max_bytes, consume);
  }
  VIGIL_ASSIGN_OR_RETURN(std::string content, ReadFile(path, max_bytes));
  return consume(content);
}

Result<std::vector<DirEntry>> OverlayHost::ListDirectory(std::string_view path) const {
  const std::string dir = TargetKey(path);
  std::vector<DirEntry> entries;
  auto listed = base_.ListDirectory(path);
  bool planned_child = false;
  for (const auto& [key, edit] : edits_) {
    if (ParentPath(key) == dir && !edit.remove) planned_child = true;
  }
  if (listed.ok()) {
    entries = std::move(*listed);
  } else if (!planned_child) {
    return listed.status();
  }
  std::set<std::string> removed;
  for (const auto& [key, edit] : edits_) {
    if (ParentPath(key) != dir) continue;
    const std::string name = BaseName(key);
    if (edit.remove) {
      removed.insert(name);
      continue;
    }
    FileType type = edit.symlink_to ? FileType::kSymlink : FileType::kRegular;
    bool found = false;
    for (DirEntry& e : entries) {
      if (e.name == name) {
        if (edit.symlink_to || edit.content) e.type = type;
        found = true;
      }
    }
    if (!found) entries.push_back({name, type});
  }
  std::erase_if(entries, [&](const DirEntry& e) { return removed.count(e.name) > 0; });
  std::sort(entries.begin(), entries.end(),
            [](const DirEntry& a, const DirEntry& b) { return a.name < b.name; });
  return entries;
}

namespace {

// The stat of a planned file: the base's when it existed, adjusted by the edit.
Result<struct stat> Adjust(const FileEdit& edit, Result<struct stat> base, std::string_view path,
                           bool follow) {
  if (edit.remove) return Status::FromErrno(ENOENT, "stat " + std::string(path));
  struct stat st {};
  const bool existed = base.ok();
  if (existed) {
    st = *base;
  } else {
    st.st_mode = S_IFREG | edit.mode_if_new;
    st.st_nlink = 1;
  }
  if (edit.symlink_to && !follow) {
    st.st_mode = S_IFLNK | 0777;
    st.st_size = static_cast<off_t>(edit.symlink_to->size());
  } else if (edit.content) {
    if (!existed || !S_ISREG(st.st_mode)) st.st_mode = S_IFREG | edit.mode_if_new;
    st.st_size = static_cast<off_t>(edit.content->size());
  }
  if (edit.mode) st.st_mode = (st.st_mode & S_IFMT) | (*edit.mode & 07777);
  return st;
}

}  // namespace

Result<struct stat> OverlayHost::Stat(std::string_view path) const {
  const FileEdit* edit = Find(path);
  if (edit == nullptr) return base_.Stat(path);
  if (edit->symlink_to && !edit->remove) {
    // Follow the planned link (one hop; a relative target is taken from the link's folder).
    const std::string& target = *edit->symlink_to;
    std::string next = target.starts_with('/') ? target : JoinPath(ParentPath(edit->path), target);
    if (LinkKey(next) == edit->path) return Status::FromErrno(ELOOP, "stat " + std::string(path));
    return Stat(next);
  }
  return Adjust(*edit, base_.Stat(path), path, true);
}

Result<struct stat> OverlayHost::Lstat(std::string_view path) const {
  const FileEdit* edit = FindEntry(path);
  if (edit == nullptr) return base_.Lstat(path);
  return Adjust(*edit, base_.Lstat(path), path, false);
}

Result<std::string> OverlayHost::ReadLink(std::string_view path) const {
  const FileEdit* edit = FindEntry(path);
  if (edit == nullptr) return base_.ReadLink(path);
  if (edit->remove) return Status::FromErrno(ENOENT, "readlink " + std::string(path));
  if (edit->symlink_to) return *edit->symlink_to;
  if (edit->content) return Status::FromErrno(EINVAL, "readlink " + std::string(path));
  return base_.ReadLink(path);
}

Result<CommandResult> OverlayHost::Run(const std::vector<std::string>& argv,
                                       const CommandOptions& options) const {
  return base_.Run(argv, options);
}

}  // namespace vigil::enforcers
