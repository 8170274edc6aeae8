#include "engine/store/store.h"

#include <fcntl.h>
#include <rocksdb/cache.h>
#include <rocksdb/db.h>
#include <rocksdb/options.h>
#include <rocksdb/table.h>
#include <rocksdb/write_batch.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <filesystem>
#include <map>
#include <span>

namespace vigil::store {

namespace {

std::string InUseMessage(const std::string& dir, std::optional<pid_t> pid) {
  std::string message = "state directory " + dir + " is in use by another vigil process";
  if (pid) message += " (pid " + std::to_string(*pid) + ")";
  return message;
}

// RocksDB locks DIR/LOCK with a POSIX record lock; F_GETLK names the process holding it.
std::optional<pid_t> LockHolder(const std::string& dir) {
  int fd = ::open((dir + "/LOCK").c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return std::nullopt;
  struct flock probe = {};
  probe.l_type = F_WRLCK;
  probe.l_whence = SEEK_SET;
  std::optional<pid_t> holder;
  if (::fcntl(fd, F_GETLK, &probe) == 0 && probe.l_type != F_UNLCK && probe.l_pid > 0) {
    holder = probe.l_pid;
  }
  ::close(fd);
  return holder;
}

// A RocksDB status as a Vigil one, with the directory and what was being done in the message.
Status FromRocks(const rocksdb::Status& s, const std::string& dir, std::string_view what) {
  std::string message = "state directory " + dir + ": " + std::string(what) + ": " + s.ToString();
  if (s.IsCorruption()) return Status::Corruption(std::move(message));
  if (s.IsNoSpace()) return Status::ResourceExhausted(std::move(message));
  if (s.IsNotFound()) return Status::NotFound(std::move(message));
  if (s.IsInvalidArgument()) return Status::InvalidArgument(std::move(message));
  if (s.IsIOError()) return Status::IoError(std::move(message));
  return Status::Internal(std::move(message));
}

// Another holder of RocksDB's lock shows up as an I/O error on DIR/LOCK: "While lock file:
// DIR/LOCK: Resource temporarily unavailable" from another process, "lock hold by current
// process ..." from this one.
std::optional<Status> TranslateLockError(const rocksdb::Status& s, const std::string& dir) {
  if (!s.IsIOError()) return std::nullopt;
  const std::string text = s.ToString();
  if (text.find("lock hold by current process") != std::string::npos) {
    return Status::FailedPrecondition("state directory " + dir +
                                      " is already open in this process (pid " +
                                      std::to_string(::getpid()) + ")");
  }
  if (text.find("While lock file") != std::string::npos) {
    return Status::FailedPrecondition(InUseMessage(dir, LockHolder(dir)));
  }
  return std::nullopt;
}

// Creates `dir` with mode 0700 (parents with the default mode) unless it exists.
Status MakeStateDir(const std::string& dir) {
  if (::mkdir(dir.c_str(), 0700) == 0) return Status::Ok();
  int err = errno;
  if (err == ENOENT) {
    std::error_code ec;
    std::filesystem::create_directories(std::filesystem::path(dir).parent_path(), ec);
    if (ec) return Status::IoError("creating state directory " + dir + ": " + ec.message());
    if (::mkdir(dir.c_str(), 0700) == 0) return Status::Ok();
    err = errno;
  }
  if (err != EEXIST) return Status::FromErrno(err, "creating state directory " + dir);
  struct stat st;
  if (::stat(dir.c_str(), &st) != 0) return Status::FromErrno(errno, "state directory " + dir);
  if (!S_ISDIR(st.st_mode)) {
    return Status::FailedPrecondition("state directory " + dir + " is not a directory");
  }
  return Status::Ok();
}

}  // namespace

std::string_view FamilyName(Family family) {
  switch (family) {
    case Family::kConfig:
      return "config";
    case Family::kResults:
      return "results";
    case Family::kOutbox:
      return "outbox";
    case Family::kAudit:
      return "audit";
    case Family::kSnapshots:
      return "snapshots";
    case Family::kNodes:
      return "nodes";
    case Family::kTokens:
      return "tokens";
    case Family::kCampaigns:
      return "campaigns";
    case Family::kAnswers:
      return "answers";
    case Family::kEvidence:
      return "evidence";
    case Family::kMeta:
      return "meta";
  }
  return "unknown";
}

std::string_view LayoutName(Layout layout) {
  switch (layout) {
    case Layout::kAgent:
      return "agent";
    case Layout::kHub:
      return "hub";
  }
  return "unknown";
}

namespace {

std::span<const Family> LayoutFamilies(Layout layout) {
  if (layout == Layout::kHub) return kHubFamilies;
  return kAllFamilies;
}

bool InLayout(Layout layout, Family family) {
  for (Family f : LayoutFamilies(layout)) {
    if (f == family) return true;
  }
  return false;
}

// A store whose families on disk include one that only the other layout has is the other
// program's: refused before RocksDB would add this layout's families to it.
Status RefuseOtherLayout(const std::string& dir, Layout layout,
                         const std::vector<std::string>& names) {
  const Layout other = layout == Layout::kHub ? Layout::kAgent : Layout::kHub;
  for (Family family : LayoutFamilies(other)) {
    if (InLayout(layout, family)) continue;
    if (std::find(names.begin(), names.end(), FamilyName(family)) == names.end()) continue;
    return Status::FailedPrecondition("state directory " + dir + " holds a vigil " +
                                      std::string(LayoutName(other)) + "'s store (it has the \"" +
                                      std::string(FamilyName(family)) + "\" family), not a " +
                                      std::string(LayoutName(layout)) + "'s: give the " +
                                      std::string(LayoutName(layout)) + " a directory of its own");
  }
  return Status::Ok();
}

}  // namespace

std::string EncodeSeq(uint64_t seq) {
  std::string key(8, '\0');
  for (int i = 7; i >= 0; --i) {
    key[i] = static_cast<char>(seq & 0xff);
    seq >>= 8;
  }
  return key;
}

std::optional<uint64_t> DecodeSeq(std::string_view key) {
  if (key.size() != 8) return std::nullopt;
  uint64_t seq = 0;
  for (char c : key) seq = (seq << 8) | static_cast<unsigned char>(c);
  return seq;
}

struct Store::Impl {
  std::string dir;
  Layout layout = Layout::kAgent;
  std::unique_ptr<rocksdb::DB> db;
  // Every column family the database has, including ones this version does not know (they
  // must be opened too); `families` indexes the known ones by Family.
  std::vector<rocksdb::ColumnFamilyHandle*> handles;
  std::map<Family, rocksdb::ColumnFamilyHandle*> families;

  // nullptr for a family that is not in the layout.
  rocksdb::ColumnFamilyHandle* Handle(Family family) const {
    auto it = families.find(family);
    return it == families.end() ? nullptr : it->second;
  }

  Status NotInLayout(Family family) const {
    return Status::InvalidArgument("state directory " + dir + " is a vigil " +
                                   std::string(LayoutName(layout)) + "'s store, which has no \"" +
                                   std::string(FamilyName(family)) + "\" family");
  }

  ~Impl() {
    if (!db) return;
    for (rocksdb::ColumnFamilyHandle* handle : handles) {
      db->DestroyColumnFamilyHandle(handle).PermitUncheckedError();
    }
    db->Close().PermitUncheckedError();
  }
};

Store::Store(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
Store::~Store() = default;

const std::string& Store::dir() const { return impl_->dir; }
Layout Store::layout() const { return impl_->layout; }

namespace {

rocksdb::ColumnFamilyOptions FamilyOptions() {
  static const std::shared_ptr<rocksdb::Cache> cache = rocksdb::NewLRUCache(1u << 20);
  rocksdb::ColumnFamilyOptions family;
  family.write_buffer_size = 1u << 20;
  family.max_write_buffer_number = 2;
  family.arena_block_size = 64u << 10;
  rocksdb::BlockBasedTableOptions table;
  table.block_cache = cache;
  family.table_factory.reset(rocksdb::NewBlockBasedTableFactory(table));
  return family;
}

// A directory with table files, a write-ahead log or a later manifest but no CURRENT file is a
// damaged store (or another program's): RocksDB would start a new, empty store over it and then
// delete the old files as obsolete. What a first open killed before CURRENT existed leaves
// (IDENTITY, LOCK, LOG, OPTIONS-*, MANIFEST-000001, *.dbtmp) is not refused: that open had
// nothing to lose, and refusing it would keep the daemon from ever starting again.
Status RefuseHeadlessStore(const std::string& dir) {
  if (::access((dir + "/CURRENT").c_str(), F_OK) == 0) return Status::Ok();
  std::error_code ec;
  for (const auto& entry : std::filesystem::directory_iterator(dir, ec)) {
    const std::string name = entry.path().filename().string();
    if (name.ends_with(".sst") || name.ends_with(".log") ||
        (name.starts_with("MANIFEST-") && name != "MANIFEST-000001")) {
      return Status::FailedPrecondition(
          "state directory " + dir + " holds store files (" + name +
          ") but no CURRENT file: the store is damaged or not vigil's; restore CURRENT from a "
          "backup or move the directory aside");
    }
  }
  if (ec) return Status::IoError("cannot list state directory " + dir + ": " + ec.message());
  return Status::Ok();
}

}  // namespace

Result<std::unique_ptr<Store>> Store::Open(const std::string& dir, const OpenOptions& options) {
  if (dir.empty()) return Status::InvalidArgument("the state directory must not be empty");
  if (options.create) {
    VIGIL_RETURN_IF_ERROR(MakeStateDir(dir));
    VIGIL_RETURN_IF_ERROR(RefuseHeadlessStore(dir));
  } else {
    struct stat st;
    if (::stat(dir.c_str(), &st) != 0) {
      if (errno == ENOENT) return Status::NotFound("state directory " + dir + " does not exist");
      return Status::FromErrno(errno, "state directory " + dir);
    }
    if (::access((dir + "/CURRENT").c_str(), F_OK) != 0) {
      return Status::NotFound("state directory " + dir + " holds no vigil store");
    }
  }

  rocksdb::DBOptions db_options;
  db_options.create_if_missing = options.create;
  db_options.create_missing_column_families = true;
  // RocksDB's own diagnostic log in the directory: keep it small.
  db_options.max_log_file_size = 1 << 20;
  db_options.keep_log_file_num = 4;
  // A node's store is small (kilobytes to a few megabytes) and lives beside an agent that should
  // stay under 20 MB resident: small memtables, a small shared block cache, few open files.
  db_options.db_write_buffer_size = 4u << 20;
  // The hub's store is hundreds of MB in a few dozen tables, read by seeks (a report as of a
  // past time is one seek per node and check): keep its tables open. A table cache of 64 split
  // 64 ways reopened a table on nearly every seek.
  db_options.max_open_files = options.layout == Layout::kHub ? -1 : 64;

  // Open every family on disk (a newer version may have added some) plus the known ones.
  std::vector<std::string> names;
  rocksdb::Status listed = rocksdb::DB::ListColumnFamilies(db_options, dir, &names);
  if (!listed.ok()) names = {rocksdb::kDefaultColumnFamilyName};  // a new store
  VIGIL_RETURN_IF_ERROR(RefuseOtherLayout(dir, options.layout, names));
  for (Family family : LayoutFamilies(options.layout)) {
    std::string name(FamilyName(family));
    if (std::find(names.begin(), names.end(), name) == names.end()) names.push_back(name);
  }
  std::vector<rocksdb::ColumnFamilyDescriptor> descriptors;
  for (const std::string& name : names) {
    descriptors.emplace_back(name, FamilyOptions());
  }

  auto impl = std::make_unique<Impl>();
  impl->dir = dir;
  impl->layout = options.layout;
  rocksdb::DB* db = nullptr;
  rocksdb::Status opened = rocksdb::DB::Open(db_options, dir, descriptors, &impl->handles, &db);
  if (!opened.ok()) {
    if (auto in_use = TranslateLockError(opened, dir)) return *in_use;
    return FromRocks(opened, dir, "opening the store");
  }
  impl->db.reset(db);
  for (size_t i = 0; i < names.size(); ++i) {
    for (Family family : LayoutFamilies(options.layout)) {
      if (names[i] == FamilyName(family)) impl->families[family] = impl->handles[i];
    }
  }
  return std::unique_ptr<Store>(new Store(std::move(impl)));
}

Status Store::Put(Family family, std::string_view key, std::string_view value,
                  const WriteOptions& options) {
  rocksdb::ColumnFamilyHandle* handle = impl_->Handle(family);
  if (handle == nullptr) return impl_->NotInLayout(family);
  rocksdb::WriteOptions wo;
  wo.sync = options.sync;
  rocksdb::Status s = impl_->db->Put(wo, handle, key, value);
  if (!s.ok()) return FromRocks(s, impl_->dir, "writing to " + std::string(FamilyName(family)));
  return Status::Ok();
}

Status Store::Delete(Family family, std::string_view key, const WriteOptions& options) {
  rocksdb::ColumnFamilyHandle* handle = impl_->Handle(family);
  if (handle == nullptr) return impl_->NotInLayout(family);
  rocksdb::WriteOptions wo;
  wo.sync = options.sync;
  rocksdb::Status s = impl_->db->Delete(wo, handle, key);
  if (!s.ok()) return FromRocks(s, impl_->dir, "deleting from " + std::string(FamilyName(family)));
  return Status::Ok();
}

Status Store::Write(const std::vector<Mutation>& mutations, const WriteOptions& options) {
  rocksdb::WriteBatch batch;
  for (const Mutation& m : mutations) {
    rocksdb::ColumnFamilyHandle* handle = impl_->Handle(m.family);
    if (handle == nullptr) return impl_->NotInLayout(m.family);
    rocksdb::Status s = m.kind == Mutation::Kind::kPut ? batch.Put(handle, m.key, m.value)
                                                       : batch.Delete(handle, m.key);
    if (!s.ok()) return FromRocks(s, impl_->dir, "preparing a batch");
  }
  rocksdb::WriteOptions wo;
  wo.sync = options.sync;
  rocksdb::Status s = impl_->db->Write(wo, &batch);
  if (!s.ok()) return FromRocks(s, impl_->dir, "writing a batch");
  return Status::Ok();
}

Result<std::optional<std::string>> Store::Get(Family family, std::string_view key) const {
  rocksdb::ColumnFamilyHandle* handle = impl_->Handle(family);
  if (handle == nullptr) return impl_->NotInLayout(family);
  std::string value;
  rocksdb::Status s = impl_->db->Get(rocksdb::ReadOptions(), handle, key, &value);
  if (s.IsNotFound()) return std::optional<std::string>();
  if (!s.ok()) return FromRocks(s, impl_->dir, "reading " + std::string(FamilyName(family)));
  return std::optional<std::string>(std::move(value));
}

Status Store::Scan(Family family, std::string_view from_key, const Visitor& visit) const {
  rocksdb::ColumnFamilyHandle* handle = impl_->Handle(family);
  if (handle == nullptr) return impl_->NotInLayout(family);
  std::unique_ptr<rocksdb::Iterator> it(impl_->db->NewIterator(rocksdb::ReadOptions(), handle));
  for (it->Seek(from_key); it->Valid(); it->Next()) {
    if (!visit(it->key().ToStringView(), it->value().ToStringView())) break;
  }
  if (!it->status().ok()) {
    return FromRocks(it->status(), impl_->dir, "scanning " + std::string(FamilyName(family)));
  }
  return Status::Ok();
}

Status Store::ScanBackward(Family family, std::optional<std::string_view> from_key,
                           const Visitor& visit) const {
  rocksdb::ColumnFamilyHandle* handle = impl_->Handle(family);
  if (handle == nullptr) return impl_->NotInLayout(family);
  std::unique_ptr<rocksdb::Iterator> it(impl_->db->NewIterator(rocksdb::ReadOptions(), handle));
  if (from_key) {
    it->SeekForPrev(*from_key);
  } else {
    it->SeekToLast();
  }
  for (; it->Valid(); it->Prev()) {
    if (!visit(it->key().ToStringView(), it->value().ToStringView())) break;
  }
  if (!it->status().ok()) {
    return FromRocks(it->status(), impl_->dir, "scanning " + std::string(FamilyName(family)));
  }
  return Status::Ok();
}

Result<std::optional<Entry>> Store::Last(Family family) const {
  rocksdb::ColumnFamilyHandle* handle = impl_->Handle(family);
  if (handle == nullptr) return impl_->NotInLayout(family);
  std::unique_ptr<rocksdb::Iterator> it(impl_->db->NewIterator(rocksdb::ReadOptions(), handle));
  it->SeekToLast();
  if (!it->status().ok()) {
    return FromRocks(it->status(), impl_->dir, "reading " + std::string(FamilyName(family)));
  }
  if (!it->Valid()) return std::optional<Entry>();
  return std::optional<Entry>(Entry{it->key().ToString(), it->value().ToString()});
}

struct Store::Cursor::Impl {
  const Store::Impl& store;
  Family family;
  std::unique_ptr<rocksdb::Iterator> it;
};

Store::Cursor::Cursor(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
Store::Cursor::~Cursor() = default;

void Store::Cursor::Seek(std::string_view key) { impl_->it->Seek(key); }
void Store::Cursor::SeekForPrev(std::string_view key) { impl_->it->SeekForPrev(key); }
void Store::Cursor::SeekToFirst() { impl_->it->SeekToFirst(); }
void Store::Cursor::SeekToLast() { impl_->it->SeekToLast(); }
void Store::Cursor::Next() { impl_->it->Next(); }
void Store::Cursor::Prev() { impl_->it->Prev(); }
bool Store::Cursor::Valid() const { return impl_->it->Valid(); }
std::string_view Store::Cursor::key() const { return impl_->it->key().ToStringView(); }
std::string_view Store::Cursor::value() const { return impl_->it->value().ToStringView(); }

Status Store::Cursor::status() const {
  const rocksdb::Status s = impl_->it->status();
  if (s.ok()) return Status::Ok();
  return FromRocks(s, impl_->store.dir, "reading " + std::string(FamilyName(impl_->family)));
}

Result<std::unique_ptr<Store::Cursor>> Store::OpenCursor(Family family) const {
  rocksdb::ColumnFamilyHandle* handle = impl_->Handle(family);
  if (handle == nullptr) return impl_->NotInLayout(family);
  // An iterator reads the snapshot of its creation, whatever it seeks to later.
  std::unique_ptr<rocksdb::Iterator> it(impl_->db->NewIterator(rocksdb::ReadOptions(), handle));
  if (!it->status().ok()) {
    return FromRocks(it->status(), impl_->dir, "reading " + std::string(FamilyName(family)));
  }
  return std::unique_ptr<Cursor>(
      new Cursor(std::make_unique<Cursor::Impl>(Cursor::Impl{*impl_, family, std::move(it)})));
}

Result<std::vector<std::unique_ptr<Store::Cursor>>> Store::OpenCursors(
    const std::vector<Family>& families) const {
  std::vector<rocksdb::ColumnFamilyHandle*> handles;
  for (Family family : families) {
    rocksdb::ColumnFamilyHandle* handle = impl_->Handle(family);
    if (handle == nullptr) return impl_->NotInLayout(family);
    handles.push_back(handle);
  }
  // NewIterators() reads every family at one sequence number.
  std::vector<rocksdb::Iterator*> iterators;
  rocksdb::Status s = impl_->db->NewIterators(rocksdb::ReadOptions(), handles, &iterators);
  std::vector<std::unique_ptr<rocksdb::Iterator>> owned(iterators.begin(), iterators.end());
  if (!s.ok()) return FromRocks(s, impl_->dir, "opening cursors");
  std::vector<std::unique_ptr<Cursor>> cursors;
  for (size_t i = 0; i < families.size(); ++i) {
    cursors.push_back(std::unique_ptr<Cursor>(new Cursor(
        std::make_unique<Cursor::Impl>(Cursor::Impl{*impl_, families[i], std::move(owned[i])}))));
  }
  return cursors;
}

Result<uint64_t> Store::Count(Family family) const {
  uint64_t count = 0;
  VIGIL_RETURN_IF_ERROR(Scan(family, "", [&](std::string_view, std::string_view) {
    ++count;
    return true;
  }));
  return count;
}

uint64_t Store::ApproximateBytes() const {
  uint64_t bytes = 0;
  std::error_code ec;
  for (const auto& entry : std::filesystem::directory_iterator(impl_->dir, ec)) {
    std::error_code size_ec;
    if (!entry.is_regular_file(size_ec)) continue;
    const uintmax_t size = entry.file_size(size_ec);
    if (!size_ec) bytes += size;
  }
  return bytes;
}

}  // namespace vigil::store
