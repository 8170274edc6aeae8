// The node's store on the real RocksDB in a temporary directory.
#include "engine/store/store.h"

#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <climits>
#include <cstdlib>
#include <thread>

#include "engine/process.h"
#include "tests/testing/sql_fixture.h"

namespace vigil::store {
namespace {

using testing::TempDir;

std::unique_ptr<Store> OpenOrDie(const std::string& dir, const OpenOptions& options = {}) {
  auto store = Store::Open(dir, options);
  EXPECT_TRUE(store.ok()) << store.status().ToString();
  return store.ok() ? std::move(*store) : nullptr;
}

std::vector<std::string> Keys(const Store& store, Family family, std::string_view from = "") {
  std::vector<std::string> keys;
  Status s = store.Scan(family, from, [&](std::string_view key, std::string_view) {
    keys.emplace_back(key);
    return true;
  });
  EXPECT_TRUE(s.ok()) << s.ToString();
  return keys;
}

TEST(StoreTest, PutGetDeleteInEachFamily) {
  TempDir dir;
  auto store = OpenOrDie(dir.path() + "/state");
  ASSERT_NE(store, nullptr);
  for (Family family : kAllFamilies) {
    ASSERT_TRUE(store->Put(family, "key", "value of " + std::string(FamilyName(family))).ok());
  }
  for (Family family : kAllFamilies) {
    auto got = store->Get(family, "key");
    ASSERT_TRUE(got.ok()) << got.status().ToString();
    EXPECT_EQ(*got, "value of " + std::string(FamilyName(family)));
  }
  ASSERT_TRUE(store->Delete(Family::kOutbox, "key").ok());
  EXPECT_EQ(*store->Get(Family::kOutbox, "key"), std::nullopt);
  EXPECT_EQ(*store->Get(Family::kAudit, "key"), "value of audit");  // families are separate
  EXPECT_EQ(*store->Get(Family::kConfig, "absent"), std::nullopt);
  EXPECT_TRUE(store->Delete(Family::kConfig, "absent").ok());
  // Binary keys and values, with NUL bytes, round-trip unchanged.
  const std::string binary("a\0b\xff", 4);
  ASSERT_TRUE(store->Put(Family::kSnapshots, binary, binary, {.sync = false}).ok());
  EXPECT_EQ(*store->Get(Family::kSnapshots, binary), binary);
}

TEST(StoreTest, FamilyNames) {
  std::vector<std::string> names;
  for (Family family : kAllFamilies) names.emplace_back(FamilyName(family));
  EXPECT_EQ(names, (std::vector<std::string>{"config", "results", "outbox", "audit", "snapshots"}));
}

TEST(StoreTest, SeqKeysAreBigEndian) {
  EXPECT_EQ(EncodeSeq(0), std::string(8, '\0'));
  EXPECT_EQ(EncodeSeq(256), std::string("\0\0\0\0\0\0\x01\x00", 8));
  EXPECT_EQ(EncodeSeq(0x0102030405060708), "\x01\x02\x03\x04\x05\x06\x07\x08");
  for (uint64_t seq : {0ull, 1ull, 255ull, 256ull, 65535ull, 65536ull, 1ull << 32, ULLONG_MAX}) {
    EXPECT_EQ(DecodeSeq(EncodeSeq(seq)), seq) << seq;
  }
  EXPECT_EQ(DecodeSeq("1234567"), std::nullopt);
  EXPECT_EQ(DecodeSeq("123456789"), std::nullopt);
}

TEST(StoreTest, SeqKeysScanInNumberOrder) {
  TempDir dir;
  auto store = OpenOrDie(dir.path());
  ASSERT_NE(store, nullptr);
  // Written out of order, across the byte boundaries where little-endian or decimal text keys
  // would sort wrongly.
  std::vector<uint64_t> seqs = {65536, 1, 256, 255, 65535, 2, 70000, 1ull << 40, 300, 0};
  for (uint64_t seq : seqs) {
    ASSERT_TRUE(store->Put(Family::kOutbox, EncodeSeq(seq), std::to_string(seq)).ok());
  }
  std::vector<uint64_t> scanned;
  ASSERT_TRUE(store
                  ->Scan(Family::kOutbox, "",
                         [&](std::string_view key, std::string_view value) {
                           scanned.push_back(*DecodeSeq(key));
                           EXPECT_EQ(value, std::to_string(scanned.back()));
                           return true;
                         })
                  .ok());
  std::sort(seqs.begin(), seqs.end());
  EXPECT_EQ(scanned, seqs);

  // From a key, stopping when the visitor says so.
  std::vector<uint64_t> from_255;
  ASSERT_TRUE(store
                  ->Scan(Family::kOutbox, EncodeSeq(255),
                         [&](std::string_view key, std::string_view) {
                           from_255.push_back(*DecodeSeq(key));
                           return from_255.size() < 3;
                         })
                  .ok());
  EXPECT_EQ(from_255, (std::vector<uint64_t>{255, 256, 300}));

  auto last = store->Last(Family::kOutbox);
  ASSERT_TRUE(last.ok());
  ASSERT_TRUE(last->has_value());
  EXPECT_EQ(DecodeSeq((*last)->key), 1ull << 40);
  EXPECT_EQ((*last)->value, std::to_string(1ull << 40));
  EXPECT_EQ(*store->Count(Family::kOutbox), seqs.size());
}

TEST(StoreTest, EmptyFamilyHasNoLast) {
  TempDir dir;
  auto store = OpenOrDie(dir.path());
  ASSERT_NE(store, nullptr);
  auto last = store->Last(Family::kAudit);
  ASSERT_TRUE(last.ok());
  EXPECT_FALSE(last->has_value());
  EXPECT_EQ(*store->Count(Family::kAudit), 0u);
  EXPECT_TRUE(Keys(*store, Family::kAudit).empty());
}

TEST(StoreTest, ReopenKeepsData) {
  TempDir dir;
  const std::string path = dir.path() + "/state";
  {
    auto store = OpenOrDie(path);
    ASSERT_NE(store, nullptr);
    ASSERT_TRUE(store->Put(Family::kConfig, "version", "7").ok());
    ASSERT_TRUE(store->Put(Family::kResults, "q", "rows", {.sync = false}).ok());
    for (uint64_t seq = 1; seq <= 300; ++seq) {
      ASSERT_TRUE(store->Put(Family::kOutbox, EncodeSeq(seq), "m", {.sync = false}).ok());
    }
  }
  auto store = OpenOrDie(path, {.create = false});
  ASSERT_NE(store, nullptr);
  EXPECT_EQ(store->dir(), path);
  EXPECT_EQ(*store->Get(Family::kConfig, "version"), "7");
  EXPECT_EQ(*store->Get(Family::kResults, "q"), "rows");
  EXPECT_EQ(*store->Count(Family::kOutbox), 300u);
  EXPECT_EQ(DecodeSeq((*store->Last(Family::kOutbox))->key), 300u);
}

TEST(StoreTest, WriteAppliesABatchInOrder) {
  TempDir dir;
  auto store = OpenOrDie(dir.path());
  ASSERT_NE(store, nullptr);
  ASSERT_TRUE(store->Put(Family::kOutbox, EncodeSeq(1), "sent").ok());
  ASSERT_TRUE(store
                  ->Write({Mutation::Put(Family::kAudit, EncodeSeq(1), "record"),
                           Mutation::Put(Family::kSnapshots, "/etc/x", "old"),
                           Mutation::Delete(Family::kOutbox, EncodeSeq(1)),
                           Mutation::Put(Family::kConfig, "k", "first"),
                           Mutation::Put(Family::kConfig, "k", "second"),
                           Mutation::Put(Family::kConfig, "gone", "x"),
                           Mutation::Delete(Family::kConfig, "gone")})
                  .ok());
  EXPECT_EQ(*store->Get(Family::kAudit, EncodeSeq(1)), "record");
  EXPECT_EQ(*store->Get(Family::kSnapshots, "/etc/x"), "old");
  EXPECT_EQ(*store->Get(Family::kOutbox, EncodeSeq(1)), std::nullopt);
  EXPECT_EQ(*store->Get(Family::kConfig, "k"), "second");
  EXPECT_EQ(*store->Get(Family::kConfig, "gone"), std::nullopt);
}

// A reader scanning while batches land sees each batch whole: "a" and "b" are always written
// together, so every snapshot holds equal values.
TEST(StoreTest, ReadersNeverSeeHalfABatch) {
  TempDir dir;
  auto store = OpenOrDie(dir.path());
  ASSERT_NE(store, nullptr);
  ASSERT_TRUE(store
                  ->Write({Mutation::Put(Family::kResults, "a", "0"),
                           Mutation::Put(Family::kResults, "b", "0")})
                  .ok());
  std::atomic<bool> done{false};
  std::atomic<int> torn{0};
  std::atomic<int> scans{0};
  std::thread reader([&] {
    while (!done) {
      std::vector<std::string> values;
      Status s = store->Scan(Family::kResults, "", [&](std::string_view, std::string_view v) {
        values.emplace_back(v);
        return true;
      });
      if (!s.ok() || values.size() != 2 || values[0] != values[1]) ++torn;
      ++scans;
    }
  });
  for (int i = 1; i <= 300; ++i) {
    ASSERT_TRUE(store
                    ->Write({Mutation::Put(Family::kResults, "a", std::to_string(i)),
                             Mutation::Put(Family::kResults, "b", std::to_string(i))},
                            {.sync = false})
                    .ok());
  }
  done = true;
  reader.join();
  EXPECT_EQ(torn, 0) << "of " << scans << " scans";
  EXPECT_EQ(*store->Get(Family::kResults, "b"), "300");
}

TEST(StoreTest, OpenCreatesThePrivateDirectory) {
  TempDir dir;
  const std::string path = dir.path() + "/var/lib/vigil";
  auto store = OpenOrDie(path);
  ASSERT_NE(store, nullptr);
  struct stat st;
  ASSERT_EQ(::stat(path.c_str(), &st), 0);
  EXPECT_TRUE(S_ISDIR(st.st_mode));
  EXPECT_EQ(st.st_mode & 0777, 0700u);
}

TEST(StoreTest, OpenWithoutCreateFindsNothingAndCreatesNothing) {
  TempDir dir;
  const std::string missing = dir.path() + "/missing";
  auto store = Store::Open(missing, {.create = false});
  ASSERT_FALSE(store.ok());
  EXPECT_EQ(store.status().code(), StatusCode::kNotFound);
  EXPECT_EQ(store.status().message(), "state directory " + missing + " does not exist");
  EXPECT_NE(::access(missing.c_str(), F_OK), 0);

  dir.MakeDir("/empty");
  auto empty = Store::Open(dir.path() + "/empty", {.create = false});
  ASSERT_FALSE(empty.ok());
  EXPECT_EQ(empty.status().message(),
            "state directory " + dir.path() + "/empty holds no vigil store");
  EXPECT_NE(::access((dir.path() + "/empty/CURRENT").c_str(), F_OK), 0);
}

TEST(StoreTest, OpenRefusesAFile) {
  TempDir dir;
  dir.WriteFile("/state", "not a directory");
  auto store = Store::Open(dir.path() + "/state");
  ASSERT_FALSE(store.ok());
  EXPECT_EQ(store.status().message(),
            "state directory " + dir.path() + "/state is not a directory");
}

TEST(StoreTest, SecondOpenInThisProcessIsRefused) {
  TempDir dir;
  auto first = OpenOrDie(dir.path());
  ASSERT_NE(first, nullptr);
  auto second = Store::Open(dir.path());
  ASSERT_FALSE(second.ok());
  EXPECT_EQ(second.status().code(), StatusCode::kFailedPrecondition);
  EXPECT_EQ(second.status().message(), "state directory " + dir.path() +
                                           " is already open in this process (pid " +
                                           std::to_string(::getpid()) + ")");
  first.reset();  // closing releases the directory
  EXPECT_NE(OpenOrDie(dir.path()), nullptr);
}

// The second process of SecondProcessIsRefused: this same test program, started with
// VIGIL_STORE_TEST_OPEN=DIR, tries to open DIR and prints what happened.
TEST(StoreSecondProcess, TriesToOpen) {
  const char* dir = std::getenv("VIGIL_STORE_TEST_OPEN");
  if (dir == nullptr) GTEST_SKIP() << "runs only inside StoreTest.SecondProcessIsRefused";
  auto store = Store::Open(dir);
  std::cout << "open result: " << (store.ok() ? "ok" : store.status().ToString()) << "\n";
}

TEST(StoreTest, SecondProcessIsRefused) {
  TempDir dir;
  auto store = OpenOrDie(dir.path());
  ASSERT_NE(store, nullptr);
  char self[PATH_MAX];
  ssize_t n = ::readlink("/proc/self/exe", self, sizeof(self) - 1);
  ASSERT_GT(n, 0);
  self[n] = '\0';
  CommandOptions options;
  options.timeout = std::chrono::seconds(60);
  auto child = RunCommand({"env", "VIGIL_STORE_TEST_OPEN=" + dir.path(), self,
                           "--gtest_filter=StoreSecondProcess.TriesToOpen"},
                          options);
  ASSERT_TRUE(child.ok()) << child.status().ToString();
  ASSERT_EQ(child->exit_code, 0) << child->out << child->err;
  const std::string want = "open result: failed precondition: state directory " + dir.path() +
                           " is in use by another vigil process (pid " +
                           std::to_string(::getpid()) + ")\n";
  EXPECT_NE(child->out.find(want), std::string::npos) << child->out;
}

}  // namespace
}  // namespace vigil::store
