#include "enforcers/applier.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <rapidjson/stringbuffer.h>
#include <rapidjson/writer.h>

#include <algorithm>
#include <cerrno>
#include <charconv>
#include <cstdlib>
#include <map>
#include <set>

#include "enforcers/diff.h"
#include "enforcers/overlay_host.h"
#include "engine/audit/chain.h"
#include "engine/digest.h"
#include "engine/store/store.h"

namespace vigil::enforcers {
namespace {

using packs::Change;
using packs::Param;
using packs::Params;
using packs::Remediation;

// ---- placeholders -------------------------------------------------------------------------

// Replaces every placeholder of one `with` item. A lone "{{vars.x}}" naming a list yields it.
Result<Param> FillItem(const std::string& item, const std::vector<std::string>& columns,
                       const Row& row, const Params& vars) {
  std::string out;
  size_t at = 0;
  while (true) {
    size_t open = item.find("{{", at);
    if (open == std::string::npos) break;
    size_t close = item.find("}}", open);
    if (close == std::string::npos) {
      return Status::InvalidArgument("unterminated placeholder in '" + item + "'");
    }
    out.append(item, at, open - at);
    std::string inner = item.substr(open + 2, close - open - 2);
    if (inner.starts_with("row.")) {
      std::string column = inner.substr(4);
      auto it = std::find(columns.begin(), columns.end(), column);
      if (it == columns.end()) {
        return Status::InvalidArgument("the check's rows have no column '" + column + "'");
      }
      const Value& value = row[static_cast<size_t>(it - columns.begin())];
      if (!value.is_null()) out += value.ToString();
    } else if (inner.starts_with("vars.")) {
      std::string name = inner.substr(5);
      auto it = vars.find(name);
      if (it == vars.end()) {
        return Status::InvalidArgument("variable '" + name + "' is not defined for this node");
      }
      if (it->second.is_list) {
        if (open == 0 && close + 2 == item.size()) return it->second;
        return Status::InvalidArgument("list variable '" + name +
                                       "' cannot be part of a longer value");
      }
      out += it->second.text();
    } else {
      return Status::InvalidArgument("placeholder '{{" + inner +
                                     "}}' must be {{row.COLUMN}} or {{vars.NAME}}");
    }
    at = close + 2;
  }
  out.append(item, at, std::string::npos);
  return Param::One(std::move(out));
}

// ---- the files of a plan, as they are on disk -------------------------------------------

// The real path of a plan's file. Plan paths come from the overlay with their folders already
// resolved inside the root, and a final symlink is the thing the edit is about (a removal or a
// new link acts on the link; content edits were keyed by their target), so it is not followed.
std::string EntryRealPath(const Host& host, const std::string& path) {
  return host.is_machine_root() ? path : host.root() + path;
}

Snapshot ReadState(const std::string& real, std::string_view path) {
  Snapshot s;
  s.path = std::string(path);
  struct stat st;
  if (::lstat(real.c_str(), &st) != 0) return s;
  s.mode = st.st_mode & 07777;
  s.uid = st.st_uid;
  s.gid = st.st_gid;
  if (S_ISDIR(st.st_mode)) {
    s.kind = Snapshot::Kind::kDirectory;
    return s;
  }
  if (S_ISLNK(st.st_mode)) {
    char target[PATH_MAX];
    ssize_t n = ::readlink(real.c_str(), target, sizeof(target) - 1);
    s.kind = Snapshot::Kind::kSymlink;
    if (n > 0) s.content.assign(target, static_cast<size_t>(n));
    return s;
  }
  s.kind = Snapshot::Kind::kFile;
  int fd = ::open(real.c_str(), O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
  if (fd < 0) return s;
  char buffer[64 * 1024];
  for (;;) {
    ssize_t n = ::read(fd, buffer, sizeof(buffer));
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break;
    s.content.append(buffer, static_cast<size_t>(n));
  }
  ::close(fd);
  return s;
}

Status SyncDirectory(const std::string& dir) {
  int fd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0) return Status::FromErrno(errno, "open " + dir);
  int rc = ::fsync(fd);
  int err = errno;
  ::close(fd);
  // Some file systems cannot sync a directory; the rename is still atomic there.
  if (rc != 0 && err != EINVAL && err != EROFS) return Status::FromErrno(err, "fsync " + dir);
  return Status::Ok();
}

std::string RealParent(const std::string& real) {
  size_t slash = real.rfind('/');
  return slash == 0 ? "/" : real.substr(0, slash);
}

// Creates the missing folders above `real` (0755), remembering them so a rollback can remove
// them again.
Status MakeParents(const std::string& real, std::vector<std::string>& created) {
  std::string dir = RealParent(real);
  std::vector<std::string> missing;
  struct stat st;
  while (dir != "/" && ::stat(dir.c_str(), &st) != 0) {
    missing.push_back(dir);
    dir = RealParent(dir);
  }
  for (auto it = missing.rbegin(); it != missing.rend(); ++it) {
    if (::mkdir(it->c_str(), 0755) != 0 && errno != EEXIST) {
      return Status::FromErrno(errno, "mkdir " + *it);
    }
    created.push_back(*it);
  }
  return Status::Ok();
}

// Writes `content` to `real` through a temporary file in the same folder.
Status WriteAtomically(const std::string& real, std::string_view content, mode_t mode, uid_t uid,
                       gid_t gid) {
  const std::string dir = RealParent(real);
  std::string temp = dir + "/.vigil-" + real.substr(dir.size() + 1) + ".XXXXXX";
  int fd = ::mkstemp(temp.data());
  if (fd < 0) return Status::FromErrno(errno, "create a temporary file in " + dir);
  auto fail = [&](std::string what) {
    Status s = Status::FromErrno(errno, what);
    ::close(fd);
    ::unlink(temp.c_str());
    return s;
  };
  size_t done = 0;
  while (done < content.size()) {
    ssize_t n = ::write(fd, content.data() + done, content.size() - done);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return fail("write " + temp);
    done += static_cast<size_t>(n);
  }
  if (::fchown(fd, uid, gid) != 0 && errno != EPERM) return fail("chown " + temp);
  if (::fchmod(fd, mode) != 0) return fail("chmod " + temp);
  if (::fsync(fd) != 0) return fail("fsync " + temp);
  if (::close(fd) != 0) {
    ::unlink(temp.c_str());
    return Status::FromErrno(errno, "close " + temp);
  }
  if (::rename(temp.c_str(), real.c_str()) != 0) {
    Status s = Status::FromErrno(errno, "rename to " + real);
    ::unlink(temp.c_str());
    return s;
  }
  return SyncDirectory(dir);
}

Status MakeSymlink(const std::string& real, const std::string& target) {
  const std::string dir = RealParent(real);
  std::string temp = dir + "/.vigil-link-" + std::to_string(::getpid());
  ::unlink(temp.c_str());
  if (::symlink(target.c_str(), temp.c_str()) != 0) return Status::FromErrno(errno, "symlink " + temp);
  if (::rename(temp.c_str(), real.c_str()) != 0) {
    Status s = Status::FromErrno(errno, "rename to " + real);
    ::unlink(temp.c_str());
    return s;
  }
  return SyncDirectory(dir);
}

Status RemovePath(const std::string& real) {
  if (::unlink(real.c_str()) != 0 && errno != ENOENT) return Status::FromErrno(errno, "unlink " + real);
  return SyncDirectory(RealParent(real));
}

// Sets mode and owner in place.
Status SetAttributes(const std::string& real, mode_t mode, uid_t uid, gid_t gid) {
  if (::lchown(real.c_str(), uid, gid) != 0) return Status::FromErrno(errno, "chown " + real);
  if (::chmod(real.c_str(), mode) != 0) return Status::FromErrno(errno, "chmod " + real);
  return Status::Ok();
}

// Makes `real` what `s` describes, starting from `now` (what is there): content is rewritten
// atomically, a mode or owner change alone is made in place (a directory only ever this way).
Status WriteState(const std::string& real, const Snapshot& s, const Snapshot& now) {
  switch (s.kind) {
    case Snapshot::Kind::kMissing:
      if (now.kind == Snapshot::Kind::kDirectory) {
        if (::rmdir(real.c_str()) != 0) return Status::FromErrno(errno, "rmdir " + real);
        return Status::Ok();
      }
      return RemovePath(real);
    case Snapshot::Kind::kSymlink: return MakeSymlink(real, s.content);
    case Snapshot::Kind::kDirectory:
      if (now.kind == Snapshot::Kind::kMissing && ::mkdir(real.c_str(), s.mode) != 0) {
        return Status::FromErrno(errno, "mkdir " + real);
      }
      if (now.kind != Snapshot::Kind::kMissing && now.kind != Snapshot::Kind::kDirectory) {
        return Status::FailedPrecondition(real + " is no longer a directory");
      }
      return SetAttributes(real, s.mode, s.uid, s.gid);
    case Snapshot::Kind::kFile:
      if (now.kind == Snapshot::Kind::kFile && now.content == s.content) {
        return SetAttributes(real, s.mode, s.uid, s.gid);
      }
      return WriteAtomically(real, s.content, s.mode, s.uid, s.gid);
  }
  return Status::Internal("unknown snapshot kind");
}

// The id of a user or group name in the host's /etc/passwd or /etc/group.
Result<unsigned> LookupId(const Host& host, std::string_view file, std::string_view name) {
  unsigned numeric = 0;
  auto [end, ec] = std::from_chars(name.data(), name.data() + name.size(), numeric);
  if (ec == std::errc() && end == name.data() + name.size()) return numeric;
  auto content = host.ReadFile(file);
  if (!content.ok()) return content.status();
  size_t start = 0;
  while (start < content->size()) {
    size_t eol = content->find('\n', start);
    if (eol == std::string::npos) eol = content->size();
    std::string_view line(content->data() + start, eol - start);
    start = eol + 1;
    size_t c1 = line.find(':');
    if (c1 == std::string_view::npos || line.substr(0, c1) != name) continue;
    size_t c2 = line.find(':', c1 + 1);
    size_t c3 = c2 == std::string_view::npos ? c2 : line.find(':', c2 + 1);
    if (c3 == std::string_view::npos) break;
    std::string_view id = line.substr(c2 + 1, c3 - c2 - 1);
    auto [e, err] = std::from_chars(id.data(), id.data() + id.size(), numeric);
    if (err == std::errc() && e == id.data() + id.size()) return numeric;
    break;
  }
  return Status::NotFound("no '" + std::string(name) + "' in the host's " + std::string(file));
}

// What the file becomes under `edit`, starting from `before`.
Result<Snapshot> AfterEdit(const Host& host, const FileEdit& edit, const Snapshot& before) {
  Snapshot after = before;
  if (edit.remove) {
    after.kind = Snapshot::Kind::kMissing;
    after.content.clear();
    return after;
  }
  if (before.kind == Snapshot::Kind::kMissing) {
    after.mode = edit.mode_if_new;
    after.uid = 0;
    after.gid = 0;
  }
  if (before.kind == Snapshot::Kind::kDirectory && (edit.symlink_to || edit.content)) {
    return Status::InvalidArgument(edit.path + " is a directory: only its mode and owner can change");
  }
  if (edit.symlink_to) {
    after.kind = Snapshot::Kind::kSymlink;
    after.content = *edit.symlink_to;
  } else if (edit.content) {
    if (before.kind == Snapshot::Kind::kSymlink) {
      after.mode = edit.mode_if_new;  // a link replaced by a file
    }
    after.kind = Snapshot::Kind::kFile;
    after.content = *edit.content;
  } else if (before.kind == Snapshot::Kind::kMissing) {
    return Status::InvalidArgument("cannot change the mode or owner of " + edit.path +
                                   ": it does not exist");
  }
  if (edit.mode) after.mode = *edit.mode & 07777;
  if (edit.owner) {
    VIGIL_ASSIGN_OR_RETURN(unsigned uid, LookupId(host, "/etc/passwd", *edit.owner));
    after.uid = uid;
  }
  if (edit.group) {
    VIGIL_ASSIGN_OR_RETURN(unsigned gid, LookupId(host, "/etc/group", *edit.group));
    after.gid = gid;
  }
  return after;
}

bool SameState(const Snapshot& a, const Snapshot& b) {
  if (a.kind != b.kind) return false;
  if (a.kind == Snapshot::Kind::kMissing) return true;
  if (a.content != b.content) return false;
  if (a.kind == Snapshot::Kind::kDirectory) return a.mode == b.mode && a.uid == b.uid && a.gid == b.gid;
  if (a.kind == Snapshot::Kind::kSymlink) return true;
  return a.mode == b.mode && a.uid == b.uid && a.gid == b.gid;
}

std::string Octal(mode_t mode) {
  char buf[8];
  std::snprintf(buf, sizeof(buf), "%04o", static_cast<unsigned>(mode & 07777));
  return buf;
}

// The diff people read: content as `diff -u`; links, removals, modes and owners as header lines.
std::string Describe(const Snapshot& before, const Snapshot& after) {
  std::string out;
  using K = Snapshot::Kind;
  auto body = [](const Snapshot& s) {
    return s.kind == K::kFile ? s.content : std::string();
  };
  if (before.kind == K::kSymlink) out += "old symlink -> " + before.content + "\n";
  if (after.kind == K::kSymlink && (before.kind != K::kSymlink || before.content != after.content)) {
    out += "new symlink -> " + after.content + "\n";
  }
  if (after.kind == K::kMissing) out += "deleted file\n";
  if (before.kind == K::kMissing && after.kind == K::kFile) {
    out += "new file mode " + Octal(after.mode) + "\n";
  } else if (before.kind == K::kFile && after.kind == K::kFile) {
    if (before.mode != after.mode) {
      out += "old mode " + Octal(before.mode) + "\nnew mode " + Octal(after.mode) + "\n";
    }
    if (before.uid != after.uid || before.gid != after.gid) {
      out += "old owner " + std::to_string(before.uid) + ":" + std::to_string(before.gid) +
             "\nnew owner " + std::to_string(after.uid) + ":" + std::to_string(after.gid) + "\n";
    }
  }
  return out + UnifiedDiff(before.path, body(before), body(after));
}

// ---- snapshots in the store -----------------------------------------------------------

std::string SnapshotPrefix(std::string_view path) {
  std::string key(path);
  key += '\0';
  return key;
}

// One line of header fields, then the raw content.
std::string EncodeSnapshot(const Snapshot& s) {
  const char* kind = s.kind == Snapshot::Kind::kFile        ? "file"
                     : s.kind == Snapshot::Kind::kSymlink   ? "symlink"
                     : s.kind == Snapshot::Kind::kDirectory ? "directory"
                                                            : "missing";
  return std::string(kind) + " " + Octal(s.mode) + " " + std::to_string(s.uid) + " " +
         std::to_string(s.gid) + " " + s.time + "\n" + s.content;
}

std::optional<Snapshot> DecodeSnapshot(std::string_view path, uint64_t seq, std::string_view v) {
  size_t eol = v.find('\n');
  if (eol == std::string_view::npos) return std::nullopt;
  std::string header(v.substr(0, eol));
  char kind[16], time[64];
  unsigned mode = 0, uid = 0, gid = 0;
  if (std::sscanf(header.c_str(), "%15s %o %u %u %63s", kind, &mode, &uid, &gid, time) != 5) {
    return std::nullopt;
  }
  Snapshot s;
  s.path = std::string(path);
  s.seq = seq;
  s.time = time;
  std::string_view k(kind);
  if (k == "file") {
    s.kind = Snapshot::Kind::kFile;
  } else if (k == "symlink") {
    s.kind = Snapshot::Kind::kSymlink;
  } else if (k == "directory") {
    s.kind = Snapshot::Kind::kDirectory;
  } else if (k == "missing") {
    s.kind = Snapshot::Kind::kMissing;
  } else {
    return std::nullopt;
  }
  s.mode = mode;
  s.uid = uid;
  s.gid = gid;
  s.content = std::string(v.substr(eol + 1));
  return s;
}

// Stores `s` as the newest snapshot of its path and drops all but the last kSnapshotsPerFile.
Status KeepSnapshot(store::Store& store, Snapshot& s) {
  const std::string prefix = SnapshotPrefix(s.path);
  std::vector<std::string> keys;
  VIGIL_RETURN_IF_ERROR(store.Scan(store::Family::kSnapshots, prefix,
                                   [&](std::string_view key, std::string_view) {
                                     if (!key.starts_with(prefix)) return false;
                                     keys.emplace_back(key);
                                     return true;
                                   }));
  uint64_t last = 0;
  if (!keys.empty()) last = store::DecodeSeq(keys.back().substr(prefix.size())).value_or(0);
  s.seq = last + 1;
  s.time = audit::FormatRfc3339(std::chrono::system_clock::now());
  std::vector<store::Mutation> mutations;
  mutations.push_back(store::Mutation::Put(store::Family::kSnapshots,
                                           prefix + store::EncodeSeq(s.seq), EncodeSnapshot(s)));
  const size_t keep = kSnapshotsPerFile - 1;  // plus the new one
  for (size_t i = 0; i + keep < keys.size(); ++i) {
    mutations.push_back(store::Mutation::Delete(store::Family::kSnapshots, keys[i]));
  }
  return store.Write(mutations);
}

// ---- the audit record -------------------------------------------------------------------

using JsonWriter = rapidjson::Writer<rapidjson::StringBuffer>;

void WriteString(JsonWriter& w, std::string_view s) {
  w.String(s.data(), static_cast<rapidjson::SizeType>(s.size()));
}

std::string AuditDetail(const packs::Check& check, const std::vector<Snapshot>& before,
                        const std::vector<Snapshot>& after, const Remediation& r) {
  rapidjson::StringBuffer buffer;
  JsonWriter w(buffer);
  w.StartObject();
  w.Key("action");
  WriteString(w, check.enforce ? check.enforce->action : "");
  w.Key("pack");
  WriteString(w, check.pack);
  w.Key("outcome");
  WriteString(w, r.outcome);
  w.Key("message");
  WriteString(w, r.message);
  w.Key("files");
  w.StartArray();
  for (size_t i = 0; i < before.size() && i < after.size(); ++i) {
    w.StartObject();
    w.Key("path");
    WriteString(w, before[i].path);
    w.Key("before_sha256");
    WriteString(w, before[i].kind == Snapshot::Kind::kMissing ? "" : Sha256Hex(before[i].content));
    w.Key("after_sha256");
    WriteString(w, after[i].kind == Snapshot::Kind::kMissing ? "" : Sha256Hex(after[i].content));
    w.Key("snapshot");
    w.Uint64(before[i].seq);
    w.EndObject();
  }
  w.EndArray();
  w.Key("commands");
  w.StartArray();
  for (const Change& c : r.changes) {
    if (c.kind != Change::Kind::kCommand) continue;
    w.StartObject();
    w.Key("argv");
    w.StartArray();
    for (const std::string& a : c.argv) WriteString(w, a);
    w.EndArray();
    w.Key("exit");
    if (c.exit_code) {
      w.Int(*c.exit_code);
    } else {
      w.Null();
    }
    w.EndObject();
  }
  w.EndArray();
  w.EndObject();
  return buffer.GetString();
}

void Record(const ApplyOptions& options, const packs::Check& check, const std::string& action,
            const std::vector<Snapshot>& before, const std::vector<Snapshot>& after,
            Remediation& r) {
  if (options.audit == nullptr) return;
  auto record = options.audit->Append(options.actor, action, check.id,
                                      AuditDetail(check, before, after, r));
  if (record.ok()) {
    r.audit_seq = record->seq;
  } else {
    r.message += (r.message.empty() ? "" : "; ") +
                 std::string("the audit record could not be written: ") +
                 record.status().message();
  }
}

// "{{file:/etc/x}}" -> the real path of /etc/x under the root.
Result<std::vector<std::string>> ExpandArgv(const Host& host, const std::vector<std::string>& argv) {
  std::vector<std::string> out;
  for (const std::string& arg : argv) {
    std::string expanded;
    size_t at = 0;
    while (true) {
      size_t open = arg.find("{{file:", at);
      if (open == std::string::npos) break;
      size_t close = arg.find("}}", open);
      if (close == std::string::npos) {
        return Status::InvalidArgument("unterminated {{file:...}} in '" + arg + "'");
      }
      expanded.append(arg, at, open - at);
      VIGIL_ASSIGN_OR_RETURN(std::string real, host.RealPath(arg.substr(open + 7, close - open - 7)));
      expanded += real;
      at = close + 2;
    }
    expanded.append(arg, at, std::string::npos);
    out.push_back(std::move(expanded));
  }
  return out;
}

std::string FirstLine(std::string_view text) {
  size_t start = text.find_first_not_of(" \n");
  if (start == std::string_view::npos) return "";
  text.remove_prefix(start);
  return std::string(text.substr(0, text.find('\n')));
}

}  // namespace

Result<Params> FillParams(const Params& with, const std::vector<std::string>& columns,
                          const Row& row, const Params& vars, const packs::ActionSpec& spec) {
  Params out;
  for (const auto& [key, value] : with) {
    const packs::ParamSpec* param = spec.Find(key);
    if (param == nullptr) {
      return Status::InvalidArgument(spec.name + " has no parameter '" + key + "'");
    }
    Param filled;
    filled.is_list = value.is_list;
    for (const std::string& item : value.items) {
      auto one = FillItem(item, columns, row, vars);
      if (!one.ok()) {
        return Status::InvalidArgument(spec.name + " parameter '" + key + "': " +
                                       one.status().message());
      }
      filled.items.insert(filled.items.end(), one->items.begin(), one->items.end());
      filled.is_list |= one->is_list;
    }
    if (filled.is_list && !param->list) {
      return Status::InvalidArgument(spec.name + " parameter '" + key +
                                     "' takes one value, not a list");
    }
    if (!filled.is_list && filled.items.empty()) filled.items.emplace_back();
    out.emplace(key, std::move(filled));
  }
  for (const packs::ParamSpec& p : spec.params) {
    if (p.required && !out.contains(p.name)) {
      return Status::InvalidArgument(spec.name + " needs parameter '" + p.name + "'");
    }
  }
  return out;
}

Result<Plan> PlanRepair(const Host& host, const Action& action, const packs::Enforcement& enforce,
                        const packs::Verdict& verdict, const Params& vars) {
  OverlayHost overlay(host);
  Plan combined;
  std::set<std::vector<std::string>> seen_commands;
  for (size_t i = 0; i < verdict.rows.size(); ++i) {
    auto where = [&](const Status& s) { return s.WithContext("row " + std::to_string(i + 1)); };
    auto args = FillParams(enforce.with, verdict.columns, verdict.rows[i], vars, action.spec());
    if (!args.ok()) return where(args.status());
    auto plan = action.PlanFix(overlay, *args);
    if (!plan.ok()) return where(plan.status());
    if (plan->refused) {
      combined.refused = *plan->refused;
      return combined;
    }
    for (const FileEdit& edit : plan->files) VIGIL_RETURN_IF_ERROR(overlay.Apply(edit));
    for (PlannedCommand& c : plan->commands) {
      if (seen_commands.insert(c.argv).second) combined.commands.push_back(std::move(c));
    }
    for (std::string& note : plan->notes) combined.notes.push_back(std::move(note));
  }
  for (const auto& [path, edit] : overlay.edits()) {
    Snapshot before = ReadState(EntryRealPath(host, path), path);
    VIGIL_ASSIGN_OR_RETURN(Snapshot after, AfterEdit(host, edit, before));
    if (!SameState(before, after)) combined.files.push_back(edit);
  }
  return combined;
}

Remediation Enforce(const Host& host, const ActionRegistry& actions, const packs::Check& check,
                    const packs::Verdict& verdict, const Params& vars,
                    const ApplyOptions& options) {
  Remediation r;
  auto failed = [&](std::string message) {
    r.outcome = "failed";
    r.message = std::move(message);
    return r;
  };
  if (!check.enforce) return failed("check " + check.id + " has no enforcer");
  const Action* action = actions.Find(check.enforce->action);
  if (action == nullptr) return failed("unknown enforcer '" + check.enforce->action + "'");
  if (!options.dry_run && (options.store == nullptr || options.audit == nullptr)) {
    return failed("enforcing needs a state directory for snapshots and the audit chain");
  }

  auto plan = PlanRepair(host, *action, *check.enforce, verdict, vars);
  if (!plan.ok()) return failed(check.enforce->action + ": " + plan.status().message());
  if (plan->refused) {
    r.outcome = "refused";
    r.message = *plan->refused;
    if (!options.dry_run) Record(options, check, "enforce.refused", {}, {}, r);
    return r;
  }

  // The changes, as they stand before anything is written.
  std::vector<std::string> reals;
  std::vector<Snapshot> before, after;
  for (const FileEdit& edit : plan->files) {
    const std::string real = EntryRealPath(host, edit.path);
    Snapshot b = ReadState(real, edit.path);
    auto a = AfterEdit(host, edit, b);
    if (!a.ok()) return failed(a.status().message());
    reals.push_back(real);
    r.changes.push_back({Change::Kind::kFile, edit.path, Describe(b, *a), {}, std::nullopt});
    before.push_back(std::move(b));
    after.push_back(std::move(*a));
  }
  std::vector<std::vector<std::string>> validators, commands;
  for (const PlannedCommand& c : plan->commands) {
    auto argv = ExpandArgv(host, c.argv);
    if (!argv.ok()) return failed(argv.status().message());
    (c.when == PlannedCommand::When::kValidate ? validators : commands).push_back(*argv);
  }
  for (const auto& argv : commands) {
    r.changes.push_back({Change::Kind::kCommand, "", "", argv, std::nullopt});
  }
  for (const std::string& note : plan->notes) {
    r.message += (r.message.empty() ? "" : "; ") + note;
  }
  if (plan->files.empty() && plan->commands.empty()) {
    return failed("the enforcer found nothing to change, yet the check fails: the check and " +
                  check.enforce->action + " disagree");
  }
  if (options.dry_run) {
    r.outcome = "planned";
    return r;
  }

  // Snapshots first: nothing is written that cannot be put back.
  for (Snapshot& b : before) {
    Status kept = KeepSnapshot(*options.store, b);
    if (!kept.ok()) return failed("snapshot of " + b.path + ": " + kept.message());
  }
  std::vector<std::string> created_dirs;
  size_t written = 0;
  auto roll_back = [&](std::string why) {
    std::string problems;
    for (size_t i = written; i-- > 0;) {
      Status s = WriteState(reals[i], before[i], ReadState(reals[i], before[i].path));
      if (!s.ok()) problems += "; restoring " + before[i].path + " failed: " + s.message();
    }
    for (auto it = created_dirs.rbegin(); it != created_dirs.rend(); ++it) ::rmdir(it->c_str());
    r.outcome = problems.empty() ? "rolled_back" : "failed";
    r.message = why + problems;
    Record(options, check, "enforce.rolled_back", before, after, r);
    return r;
  };
  for (; written < reals.size(); ++written) {
    Status s = MakeParents(reals[written], created_dirs);
    if (s.ok()) s = WriteState(reals[written], after[written], before[written]);
    if (!s.ok()) {
      ++written;  // it may be half there: restore it too
      return roll_back("writing " + after[written - 1].path + ": " + s.message());
    }
  }
  CommandOptions run;
  run.timeout = options.command_timeout;
  for (const auto& argv : validators) {
    auto result = host.Run(argv, run);
    if (!result.ok()) {
      return roll_back("validator `" + FormatCommand(argv) + "` could not run: " +
                       result.status().message());
    }
    if (result->exit_code != 0) {
      std::string why = FirstLine(result->err.empty() ? result->out : result->err);
      return roll_back("validator `" + FormatCommand(argv) + "` rejected the change (exit " +
                       std::to_string(result->exit_code) + (why.empty() ? "" : ": " + why) + ")");
    }
  }
  if (!commands.empty() && !host.is_machine_root()) {
    // Under another root the files are the change; the commands are listed for the machine
    // the tree belongs to. A plan of commands only has changed nothing: it stays a plan.
    r.outcome = reals.empty() ? "planned" : "applied";
    r.message += std::string(r.message.empty() ? "" : "; ") +
                 "commands are listed, not run: they run only on the machine itself (--root /)";
    if (!reals.empty()) Record(options, check, "enforce.applied", before, after, r);
    return r;
  }
  size_t k = r.changes.size() - commands.size();
  for (const auto& argv : commands) {
    auto result = host.Run(argv, run);
    if (result.ok()) r.changes[k].exit_code = result->exit_code;
    ++k;
    if (!result.ok() || result->exit_code != 0) {
      std::string why = result.ok() ? FirstLine(result->err.empty() ? result->out : result->err)
                                    : result.status().message();
      return roll_back("`" + FormatCommand(argv) + "` failed" + (why.empty() ? "" : ": " + why));
    }
  }
  r.outcome = "applied";
  Record(options, check, "enforce.applied", before, after, r);
  return r;
}

Result<std::vector<Snapshot>> ListSnapshots(const store::Store& store, std::string_view path) {
  const std::string prefix = SnapshotPrefix(path);
  std::vector<Snapshot> out;
  Status bad = Status::Ok();
  VIGIL_RETURN_IF_ERROR(store.Scan(store::Family::kSnapshots, prefix,
                                   [&](std::string_view key, std::string_view value) {
                                     if (!key.starts_with(prefix)) return false;
                                     auto seq = store::DecodeSeq(key.substr(prefix.size()));
                                     auto s = seq ? DecodeSnapshot(path, *seq, value) : std::nullopt;
                                     if (!s) {
                                       bad = Status::Corruption("unreadable snapshot of " +
                                                                std::string(path));
                                       return false;
                                     }
                                     out.push_back(std::move(*s));
                                     return true;
                                   }));
  VIGIL_RETURN_IF_ERROR(bad);
  return out;
}

Status RestoreSnapshot(const Host& host, const Snapshot& snapshot, audit::AuditChain* audit,
                       std::string_view actor) {
  const std::string real = EntryRealPath(host, snapshot.path);
  std::vector<std::string> created;
  VIGIL_RETURN_IF_ERROR(MakeParents(real, created));
  VIGIL_RETURN_IF_ERROR(WriteState(real, snapshot, ReadState(real, snapshot.path)));
  if (audit != nullptr) {
    std::string detail = "{\"snapshot\":" + std::to_string(snapshot.seq) + ",\"sha256\":\"" +
                         (snapshot.kind == Snapshot::Kind::kMissing ? ""
                                                                   : Sha256Hex(snapshot.content)) +
                         "\"}";
    VIGIL_RETURN_IF_ERROR(audit->Append(actor, "snapshot.restored", snapshot.path, detail).status());
  }
  return Status::Ok();
}

}  // namespace vigil::enforcers
