// Crash safety of the node store (issue 5, "Crash"): tests/tools/outbox_writer writes outbox
// items, acks and audit records to a state dir and is killed with SIGKILL at random moments;
// after each kill the store must open, the audit chain must verify, every item whose append
// returned must be there with its exact bytes, no acknowledged item may come back, and no
// sequence number may be given twice. Randomness is only in the timing; the seed is printed
// with any failure and can be fixed with VIGIL_CRASH_SEED=N.
#include <fcntl.h>
#include <gtest/gtest.h>
#include <poll.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <charconv>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <limits>
#include <map>
#include <optional>
#include <random>
#include <sstream>
#include <string>
#include <vector>

#include "agent/outbox.h"
#include "engine/audit/chain.h"
#include "engine/digest.h"
#include "engine/store/store.h"
#include "tests/testing/sql_fixture.h"

namespace vigil {
namespace {

using Clock = std::chrono::steady_clock;
using std::chrono::milliseconds;
using testing::TempDir;

// Rounds of start-write-kill-check (~0.45 s each on a loaded 2-core machine);
// VIGIL_CRASH_ROUNDS=N runs more, for a soak.
constexpr int kDefaultRounds = 25;
constexpr uint64_t kNoBound = std::numeric_limits<uint64_t>::max();

struct WriterRun {
  std::string out;
  std::string err;
  bool killed = false;  // ended by the SIGKILL this test sent
  int exit_code = -1;   // when it ended by itself
};

// When a kill's delay starts: at the start, or once the writer has opened the store (opening
// takes ~200 ms here, and a delay counted from the start would mostly kill recoveries).
enum class KillTimer { kFromStart, kFromOpen };

// Runs the writer with `args`. With `kill_after`, sends it SIGKILL that long after `timer`
// (if it is still running); without, waits up to 30 s for it to exit. Collects all it printed.
WriterRun RunWriter(const std::vector<std::string>& args,
                    std::optional<milliseconds> kill_after = std::nullopt,
                    KillTimer timer = KillTimer::kFromStart) {
  WriterRun run;
  std::vector<std::string> argv = {OUTBOX_WRITER_BIN};
  argv.insert(argv.end(), args.begin(), args.end());
  std::vector<char*> c_argv;
  for (std::string& arg : argv) c_argv.push_back(arg.data());
  c_argv.push_back(nullptr);

  int out_pipe[2], err_pipe[2];
  if (::pipe2(out_pipe, O_CLOEXEC) != 0 || ::pipe2(err_pipe, O_CLOEXEC) != 0) {
    ADD_FAILURE() << "pipe2: " << std::strerror(errno);
    return run;
  }
  const pid_t pid = ::fork();
  if (pid == 0) {
    ::dup2(out_pipe[1], STDOUT_FILENO);
    ::dup2(err_pipe[1], STDERR_FILENO);
    ::execv(c_argv[0], c_argv.data());
    ::_exit(127);
  }
  ::close(out_pipe[1]);
  ::close(err_pipe[1]);
  if (pid < 0) {
    ADD_FAILURE() << "fork: " << std::strerror(errno);
    ::close(out_pipe[0]);
    ::close(err_pipe[0]);
    return run;
  }

  constexpr milliseconds kLimit(30'000);
  bool wait_for_open = kill_after && timer == KillTimer::kFromOpen;
  Clock::time_point deadline =
      Clock::now() + (wait_for_open ? kLimit : kill_after.value_or(kLimit));
  struct pollfd fds[2] = {{out_pipe[0], POLLIN, 0}, {err_pipe[0], POLLIN, 0}};
  std::string* sinks[2] = {&run.out, &run.err};
  int open_streams = 2;
  bool sent_kill = false;
  while (open_streams > 0) {
    int wait_ms = -1;
    if (!sent_kill) {
      auto left = std::chrono::duration_cast<milliseconds>(deadline - Clock::now()).count();
      if (left <= 0) {
        ::kill(pid, SIGKILL);
        sent_kill = true;
      } else {
        wait_ms = static_cast<int>(left);
      }
    }
    int ready = ::poll(fds, 2, wait_ms);
    if (ready < 0 && errno == EINTR) continue;
    if (ready < 0) {
      ADD_FAILURE() << "poll: " << std::strerror(errno);
      break;
    }
    for (int i = 0; i < 2; ++i) {
      if (fds[i].fd < 0 || fds[i].revents == 0) continue;
      char buffer[65536];
      ssize_t n = ::read(fds[i].fd, buffer, sizeof(buffer));
      if (n < 0 && errno == EINTR) continue;
      if (n <= 0) {
        ::close(fds[i].fd);
        fds[i].fd = -1;
        --open_streams;
      } else {
        sinks[i]->append(buffer, static_cast<size_t>(n));
        if (wait_for_open && i == 0 && run.out.find('\n') != std::string::npos) {
          deadline = Clock::now() + *kill_after;  // the first line is "open N"
          wait_for_open = false;
        }
      }
    }
  }
  for (const pollfd& fd : fds) {
    if (fd.fd >= 0) ::close(fd.fd);
  }
  if (!sent_kill) ::kill(pid, SIGKILL);  // the streams closed early: make sure it is gone
  int status = 0;
  while (::waitpid(pid, &status, 0) < 0 && errno == EINTR) {
  }
  if (WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL) {
    run.killed = sent_kill && kill_after.has_value();
  } else if (WIFEXITED(status)) {
    run.exit_code = WEXITSTATUS(status);
  }
  return run;
}

// The complete lines of `out`; a last line without its newline was cut by the kill.
std::vector<std::string> CompleteLines(const std::string& out) {
  std::vector<std::string> lines;
  size_t start = 0;
  for (size_t end; (end = out.find('\n', start)) != std::string::npos; start = end + 1) {
    lines.push_back(out.substr(start, end - start));
  }
  return lines;
}

uint64_t Number(const std::string& text) {
  uint64_t n = 0;
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), n);
  EXPECT_TRUE(ec == std::errc() && end == text.data() + text.size()) << "not a number: " << text;
  return n;
}

// What the writer said it stored, and what must therefore be in the store.
class StoreModel {
 public:
  struct Counts {
    uint64_t appends = 0, acks = 0, audits = 0;
    uint64_t appends_in_flight_kept = 0, appends_in_flight_lost = 0;
    uint64_t acks_in_flight_applied = 0, acks_in_flight_not_applied = 0;
  };

  // Takes in one run's lines. Fails the test on a line that breaks the writer's protocol
  // (see outbox_writer.cc) or reuses a sequence number.
  void Apply(const std::vector<std::string>& lines) {
    for (const std::string& line : lines) {
      std::istringstream in(line);
      std::string word, a, b, c, d;
      in >> word >> a >> b >> c >> d;
      if (word == "open") {
        opened_ = true;
        ASSERT_GT(Number(a), max_seq_) << "the reopened outbox would reuse a number: " << line;
      } else if (word == "append") {
        ASSERT_FALSE(appending_) << "an append that never returned, then: " << line;
        const uint64_t seq = Number(a);
        ASSERT_GT(seq, max_seq_) << "sequence number reused: " << line;
        ASSERT_EQ(b.size(), 1u) << line;
        appending_ = {seq, {b[0], Number(c), d}};
      } else if (word == "outbox") {
        ASSERT_TRUE(appending_ && appending_->first == Number(a)) << "unannounced: " << line;
        live_[appending_->first] = appending_->second;
        max_seq_ = appending_->first;
        appending_.reset();
        ++counts_.appends;
      } else if (word == "ack") {
        ASSERT_FALSE(acking_) << "an ack that never returned, then: " << line;
        ASSERT_GT(Number(a), acked_) << "an acknowledged item came back: " << line;
        acking_ = Number(a);
      } else if (word == "acked") {
        ASSERT_TRUE(acking_ && *acking_ == Number(a)) << "unannounced: " << line;
        Acknowledge(*acking_);
        acking_.reset();
        ++counts_.acks;
      } else if (word == "audit") {
        ASSERT_EQ(Number(a), audit_head_.seq + 1) << "the chain skipped a number: " << line;
        audit_head_ = {Number(a), b};
        audit_hashes_[audit_head_.seq] = b;
        ++counts_.audits;
      } else {
        FAIL() << "the writer printed an unknown line: " << line;
      }
    }
  }

  // Opens the store in `dir` after a run and checks it against the model. An append or ack
  // that was under way at the kill may have happened or not, but wholly: it is settled here.
  void Check(const std::string& dir) {
    auto store = store::Store::Open(dir, {.create = false});
    if (!opened_ && !store.ok() && store.status().code() == StatusCode::kNotFound) return;
    ASSERT_TRUE(store.ok()) << "the store does not open after a kill: "
                            << store.status().ToString();
    CheckAudit(**store);
    if (::testing::Test::HasFatalFailure()) return;
    CheckOutbox(**store);
  }

  const Counts& counts() const { return counts_; }

 private:
  struct Announced {
    char kind;
    uint64_t bytes;
    std::string sha256;
  };

  void Acknowledge(uint64_t seq) {
    live_.erase(live_.begin(), live_.upper_bound(seq));
    acked_ = std::max(acked_, seq);
  }

  void CheckAudit(store::Store& store) {
    audit::AuditChain chain(store);
    auto verified = chain.Verify(audit_head_);
    ASSERT_TRUE(verified.ok()) << verified.status().ToString();
    ASSERT_TRUE(verified->intact())
        << "audit chain broken at record " << *verified->broken_at << ": " << verified->problem;
    // Verify(expected) has checked that the reported head is still there; at most the one
    // append under way at the kill can have landed after it.
    ASSERT_LE(verified->records, audit_head_.seq + 1)
        << "the chain holds records the writer never started";
    Status read = chain.Read(0, [&](const audit::Record& record) {
      auto reported = audit_hashes_.find(record.seq);
      if (reported != audit_hashes_.end()) {
        EXPECT_EQ(record.hash, reported->second) << "audit record " << record.seq;
      }
      return true;
    });
    ASSERT_TRUE(read.ok()) << read.ToString();
    audit_head_ = verified->head;
  }

  void CheckOutbox(store::Store& store) {
    auto box = agent::Outbox::Open(store, {.max_bytes = kNoBound});
    ASSERT_TRUE(box.ok()) << "the outbox does not open after a kill: " << box.status().ToString();
    auto items =
        (*box)->Peek(0, std::numeric_limits<size_t>::max(), std::numeric_limits<size_t>::max());
    ASSERT_TRUE(items.ok()) << items.status().ToString();
    std::map<uint64_t, const agent::OutboxItem*> present;
    for (const agent::OutboxItem& item : *items) present[item.seq] = &item;

    if (acking_) {  // all of the acknowledged items are gone, or none
      size_t before = 0, still = 0;
      for (auto it = live_.begin(); it != live_.upper_bound(*acking_); ++it) {
        ++before;
        still += present.count(it->first);
      }
      ASSERT_TRUE(still == 0 || still == before)
          << "the ack of " << *acking_ << " was half applied: " << still << " of " << before
          << " items are still there";
      if (still == 0) {
        Acknowledge(*acking_);
        ++counts_.acks_in_flight_applied;
      } else {
        ++counts_.acks_in_flight_not_applied;
      }
      acking_.reset();
    }
    if (appending_) {  // the item is there with its bytes, or not at all
      if (present.count(appending_->first) != 0) {
        live_[appending_->first] = appending_->second;
        max_seq_ = appending_->first;
        ++counts_.appends_in_flight_kept;
      } else {
        ++counts_.appends_in_flight_lost;
      }
      appending_.reset();
    }

    for (const auto& [seq, item] : present) {
      auto expected = live_.find(seq);
      if (expected == live_.end()) {
        ADD_FAILURE() << "outbox item " << seq << " is there, but "
                      << (seq <= acked_ ? "it was acknowledged" : "its append never began");
        continue;
      }
      EXPECT_EQ(static_cast<char>(item->kind), expected->second.kind) << "outbox item " << seq;
      EXPECT_EQ(item->json.size(), expected->second.bytes) << "outbox item " << seq;
      EXPECT_EQ(Sha256Hex(item->json), expected->second.sha256) << "outbox item " << seq;
    }
    for (const auto& [seq, announced] : live_) {
      EXPECT_EQ(present.count(seq), 1u)
          << "outbox item " << seq << " was stored (its append returned) but is missing";
    }
    const agent::OutboxStats stats = (*box)->stats();
    EXPECT_GT(stats.next_seq, max_seq_) << "the next item would reuse a number";
    EXPECT_EQ(stats.depth, live_.size());
    EXPECT_EQ(stats.dropped, 0u);
  }

  bool opened_ = false;                 // a run has opened (so created) the store
  std::map<uint64_t, Announced> live_;  // appended and not acknowledged
  std::optional<std::pair<uint64_t, Announced>> appending_;
  std::optional<uint64_t> acking_;
  uint64_t acked_ = 0;           // every item <= this was acknowledged
  uint64_t max_seq_ = 0;         // the greatest number an append returned or that was found stored
  audit::ChainHead audit_head_;  // the last record known to exist
  std::map<uint64_t, std::string> audit_hashes_;  // every reported record's hash
  Counts counts_;
};

uint64_t TestSeed() {
  if (const char* fixed = std::getenv("VIGIL_CRASH_SEED")) return std::strtoull(fixed, nullptr, 10);
  return std::random_device()();
}

int Rounds() {
  const char* rounds = std::getenv("VIGIL_CRASH_ROUNDS");
  return rounds ? std::atoi(rounds) : kDefaultRounds;
}

// With VIGIL_CRASH_KEEP=DIR, each round's state dir as the kill left it (before the test opens
// it) and the writer's output are copied to DIR/round-N, for a person to look at a failure.
void KeepEvidence(int round, const std::string& state, const WriterRun& writer) {
  const char* keep = std::getenv("VIGIL_CRASH_KEEP");
  if (keep == nullptr || !std::filesystem::exists(state)) return;
  const std::filesystem::path to = std::filesystem::path(keep) / ("round-" + std::to_string(round));
  std::error_code ec;
  std::filesystem::remove_all(to, ec);
  std::filesystem::create_directories(to, ec);
  std::filesystem::copy(state, to / "state", std::filesystem::copy_options::recursive, ec);
  EXPECT_FALSE(ec) << "copying " << state << " to " << to << ": " << ec.message();
  std::ofstream(to / "stdout") << writer.out;
  std::ofstream(to / "stderr") << writer.err;
}

TEST(StoreCrashTest, WriterReportMatchesTheStoreAfterCleanExits) {
  TempDir dir;
  const std::string state = dir.path() + "/state";
  StoreModel model;
  for (int run = 0; run < 2; ++run) {
    SCOPED_TRACE("run " + std::to_string(run));
    WriterRun writer = RunWriter({state, "--seed", std::to_string(run + 1), "--max-ops", "100"});
    ASSERT_EQ(writer.exit_code, 0) << writer.err;
    model.Apply(CompleteLines(writer.out));
    if (HasFailure()) return;
    model.Check(state);
    if (HasFailure()) return;
  }
  // The writer did each kind of work, so the checks above had something to check.
  EXPECT_GT(model.counts().appends, 50u);
  EXPECT_GT(model.counts().acks, 5u);
  EXPECT_GT(model.counts().audits, 20u);
}

TEST(StoreCrashTest, KillNineAtRandomMomentsLosesNothing) {
  const uint64_t seed = TestSeed();
  SCOPED_TRACE("seed " + std::to_string(seed) +
               " (rerun with VIGIL_CRASH_SEED=" + std::to_string(seed) + ")");
  std::mt19937_64 random(seed);
  TempDir dir;
  const std::string state = dir.path() + "/state";
  StoreModel model;
  for (int round = 0, rounds = Rounds(); round < rounds; ++round) {
    const milliseconds run_for(20 + random() % 281);
    // Most kills land while items are written; every fifth while the store is being opened
    // and recovered from the kill before.
    const KillTimer timer = round % 5 == 4 ? KillTimer::kFromStart : KillTimer::kFromOpen;
    SCOPED_TRACE("round " + std::to_string(round) + ", killed " + std::to_string(run_for.count()) +
                 " ms after " + (timer == KillTimer::kFromStart ? "start" : "open"));
    WriterRun writer = RunWriter({state, "--seed", std::to_string(seed + round)}, run_for, timer);
    ASSERT_TRUE(writer.killed) << "the writer ended by itself (exit " << writer.exit_code
                               << "): " << writer.err;
    KeepEvidence(round, state, writer);
    model.Apply(CompleteLines(writer.out));
    if (HasFailure()) return;
    model.Check(state);
    if (HasFailure()) return;
  }
  const StoreModel::Counts& counts = model.counts();
  EXPECT_GT(counts.appends, 0u);
  EXPECT_GT(counts.audits, 0u);
  std::printf(
      "[ stats    ] %llu appends, %llu acks, %llu audit records; in flight at a kill: "
      "appends kept %llu, lost %llu; acks applied %llu, not applied %llu\n",
      static_cast<unsigned long long>(counts.appends), static_cast<unsigned long long>(counts.acks),
      static_cast<unsigned long long>(counts.audits),
      static_cast<unsigned long long>(counts.appends_in_flight_kept),
      static_cast<unsigned long long>(counts.appends_in_flight_lost),
      static_cast<unsigned long long>(counts.acks_in_flight_applied),
      static_cast<unsigned long long>(counts.acks_in_flight_not_applied));
}

// Every file in `dir` but RocksDB's own diagnostic log (which each open rotates), with its
// bytes.
std::map<std::string, std::string> FilesIn(const std::string& dir) {
  std::map<std::string, std::string> files;
  for (const auto& entry : std::filesystem::directory_iterator(dir)) {
    const std::string name = entry.path().filename().string();
    if (!entry.is_regular_file() || name.starts_with("LOG")) continue;
    std::ifstream in(entry.path(), std::ios::binary);
    std::ostringstream bytes;
    bytes << in.rdbuf();
    files[name] = bytes.str();
  }
  return files;
}

// Junk in the state dir: the writer (so Store::Open) refuses it with an error naming the
// directory, and the junk is left exactly as it was for a person to look at.
void ExpectRefusedAndKept(const std::string& state, std::string_view detail) {
  const std::map<std::string, std::string> before = FilesIn(state);
  WriterRun writer = RunWriter({state});
  EXPECT_EQ(writer.exit_code, 1) << writer.err;
  EXPECT_EQ(writer.out, "");
  EXPECT_NE(writer.err.find("state directory " + state), std::string::npos) << writer.err;
  EXPECT_NE(writer.err.find(detail), std::string::npos) << writer.err;
  for (bool create : {true, false}) {
    auto store = store::Store::Open(state, {.create = create});
    EXPECT_FALSE(store.ok()) << "Store::Open with create=" << create << " succeeded";
    if (store.ok()) continue;  // closes it; the files are checked below
    EXPECT_NE(store.status().message().find("state directory " + state), std::string::npos)
        << store.status().ToString();
  }
  const std::map<std::string, std::string> after = FilesIn(state);
  for (const auto& [name, bytes] : before) {
    auto kept = after.find(name);
    if (kept == after.end()) {
      ADD_FAILURE() << name << " was deleted";
    } else {
      EXPECT_TRUE(kept->second == bytes) << name << " was changed";
    }
  }
}

TEST(StoreCrashTest, TruncatedCurrentAndForeignFileAreRefusedAndKept) {
  TempDir dir;
  const std::string state = dir.path() + "/state";
  WriterRun setup = RunWriter({state, "--max-ops", "40"});
  ASSERT_EQ(setup.exit_code, 0) << setup.err;
  std::string current;
  {
    std::ifstream in(state + "/CURRENT");
    std::getline(in, current);
  }
  ASSERT_TRUE(current.starts_with("MANIFEST-")) << current;
  dir.WriteFile("state/CURRENT", current.substr(0, 11));  // "MANIFEST-00", no newline
  dir.WriteFile("state/000999.sst", "not a table file, but named like one");
  ExpectRefusedAndKept(state, "CURRENT");
}

// A store that lost its CURRENT file. Left to itself, RocksDB would write a new CURRENT for an
// empty database, so the next open (a restarted daemon) would succeed on an empty store: outbox
// numbers and the audit chain starting again at 1, the old files deleted as obsolete.
TEST(StoreCrashTest, MissingCurrentIsRefusedAndNeverBecomesAnEmptyStore) {
  TempDir dir;
  const std::string state = dir.path() + "/state";
  WriterRun setup = RunWriter({state, "--max-ops", "40"});
  ASSERT_EQ(setup.exit_code, 0) << setup.err;
  ASSERT_TRUE(std::filesystem::remove(state + "/CURRENT"));
  ExpectRefusedAndKept(state, "CURRENT");
  EXPECT_FALSE(std::filesystem::exists(state + "/CURRENT"))
      << "a refused open left a new, empty store behind";
}

// Files named like a store's in a directory without CURRENT: left to itself, RocksDB would
// overwrite the foreign MANIFEST-000001, and a second open would delete 000007.sst.
TEST(StoreCrashTest, ForeignStoreFilesWithoutCurrentAreRefusedAndKept) {
  TempDir dir;
  const std::string state = dir.path() + "/state";
  dir.WriteFile("state/000003.log", "not a write-ahead log, but named like one");
  dir.WriteFile("state/000007.sst", "not a table file, but named like one");
  dir.WriteFile("state/MANIFEST-000001", "not a manifest, but named like one");
  ExpectRefusedAndKept(state, "state directory");
  EXPECT_FALSE(std::filesystem::exists(state + "/CURRENT"))
      << "a refused open left a new, empty store behind";
}

}  // namespace
}  // namespace vigil
