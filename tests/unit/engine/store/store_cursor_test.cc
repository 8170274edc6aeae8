// Store::Cursor on the real RocksDB in a temporary directory: many seeks on one iterator, in
// both directions, at the edges of a key prefix, on an empty family, and reading the store as
// it was when the cursor was opened.
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "engine/store/store.h"
#include "tests/testing/sql_fixture.h"

namespace vigil::store {
namespace {

using testing::TempDir;

std::unique_ptr<Store> OpenOrDie(const std::string& dir) {
  auto store = Store::Open(dir);
  EXPECT_TRUE(store.ok()) << store.status().ToString();
  return store.ok() ? std::move(*store) : nullptr;
}

std::unique_ptr<Store::Cursor> CursorOrDie(const Store& store, Family family) {
  auto cursor = store.OpenCursor(family);
  EXPECT_TRUE(cursor.ok()) << cursor.status().ToString();
  return cursor.ok() ? std::move(*cursor) : nullptr;
}

// The key the cursor is on, or "(end)".
std::string At(const Store::Cursor& cursor) {
  return cursor.Valid() ? std::string(cursor.key()) : "(end)";
}

class StoreCursorTest : public ::testing::Test {
 protected:
  void SetUp() override {
    store_ = OpenOrDie(dir_.path() + "/state");
    ASSERT_NE(store_, nullptr);
    for (const char* key : {"b", "d", "f", "h"}) {
      ASSERT_TRUE(store_->Put(Family::kResults, key, std::string("value of ") + key).ok());
    }
    // Another family's keys fall between them and must not show.
    ASSERT_TRUE(store_->Put(Family::kConfig, "c", "config").ok());
    ASSERT_TRUE(store_->Put(Family::kConfig, "e", "config").ok());
  }

  TempDir dir_;
  std::unique_ptr<Store> store_;
};

TEST_F(StoreCursorTest, SeeksForwardAndBackOnOneCursor) {
  auto cursor = CursorOrDie(*store_, Family::kResults);
  ASSERT_NE(cursor, nullptr);
  cursor->Seek("d");  // exact
  EXPECT_EQ(At(*cursor), "d");
  EXPECT_EQ(cursor->value(), "value of d");
  cursor->Seek("e");  // between: the next key
  EXPECT_EQ(At(*cursor), "f");
  cursor->Seek("a");  // back before the first
  EXPECT_EQ(At(*cursor), "b");
  cursor->Seek("i");  // past the last
  EXPECT_EQ(At(*cursor), "(end)");
  cursor->Seek("c");  // a seek from the end works again
  EXPECT_EQ(At(*cursor), "d");

  cursor->SeekForPrev("e");  // between: the previous key
  EXPECT_EQ(At(*cursor), "d");
  cursor->SeekForPrev("f");  // exact
  EXPECT_EQ(At(*cursor), "f");
  EXPECT_EQ(cursor->value(), "value of f");
  cursor->SeekForPrev("z");  // past the last: the last
  EXPECT_EQ(At(*cursor), "h");
  cursor->SeekForPrev("a");  // before the first
  EXPECT_EQ(At(*cursor), "(end)");
  EXPECT_TRUE(cursor->status().ok()) << cursor->status().ToString();
}

TEST_F(StoreCursorTest, NextAndPrevWalkTheFamilyInOrder) {
  auto cursor = CursorOrDie(*store_, Family::kResults);
  ASSERT_NE(cursor, nullptr);
  std::vector<std::string> forward, backward;
  for (cursor->SeekToFirst(); cursor->Valid(); cursor->Next()) forward.emplace_back(cursor->key());
  for (cursor->SeekToLast(); cursor->Valid(); cursor->Prev()) backward.emplace_back(cursor->key());
  EXPECT_EQ(forward, (std::vector<std::string>{"b", "d", "f", "h"}));
  EXPECT_EQ(backward, (std::vector<std::string>{"h", "f", "d", "b"}));
  // A turn in the middle.
  cursor->Seek("e");
  cursor->Prev();
  EXPECT_EQ(At(*cursor), "d");
  cursor->Next();
  cursor->Next();
  EXPECT_EQ(At(*cursor), "h");
  EXPECT_TRUE(cursor->status().ok());
}

// Keys as the hub's index has them: a prefix ending in NUL, binary parts with NUL and 0xff. A
// seek to the prefix lands on its first key; a reverse seek from the prefix followed by 0xff
// bytes on its last; neither strays into the neighbouring prefixes.
TEST_F(StoreCursorTest, PrefixEdges) {
  const std::string p("\0P\0n1\0", 6);
  const std::vector<std::string> keys = {
      std::string("\0P\0n0\0\xff", 7),  // the prefix before
      p + std::string("\0\0\0\0", 4),   // the first of the prefix
      p + "a",
      p + std::string("a\0\xff", 3),
      p + std::string("\xff\xff\xff", 3),  // the last of the prefix
      std::string("\0P\0n10\0", 7),        // a longer host: after the prefix
      std::string("\0P\0n2\0", 6),         // the prefix after
  };
  for (const std::string& key : keys) {
    ASSERT_TRUE(store_->Put(Family::kSnapshots, key, "v").ok());
  }
  auto cursor = CursorOrDie(*store_, Family::kSnapshots);
  ASSERT_NE(cursor, nullptr);
  cursor->Seek(p);
  EXPECT_EQ(At(*cursor), keys[1]);
  cursor->SeekForPrev(p + std::string(8, '\xff'));
  EXPECT_EQ(At(*cursor), keys[4]);
  cursor->Next();
  EXPECT_EQ(At(*cursor), keys[5]);
  cursor->SeekForPrev(p);  // just before the prefix: the previous one's last key
  EXPECT_EQ(At(*cursor), keys[0]);
  cursor->Seek(p + std::string("a\0", 2));
  EXPECT_EQ(At(*cursor), keys[3]);
  cursor->SeekForPrev(p + std::string("a\0", 2));
  EXPECT_EQ(At(*cursor), keys[2]);
  cursor->Seek(std::string("\0P\0n2\0\0", 7));  // past the last key
  EXPECT_EQ(At(*cursor), "(end)");
}

TEST_F(StoreCursorTest, AnEmptyFamilyHasNoEntries) {
  auto cursor = CursorOrDie(*store_, Family::kAudit);
  ASSERT_NE(cursor, nullptr);
  cursor->SeekToFirst();
  EXPECT_FALSE(cursor->Valid());
  cursor->SeekToLast();
  EXPECT_FALSE(cursor->Valid());
  cursor->Seek("");
  EXPECT_FALSE(cursor->Valid());
  cursor->SeekForPrev(std::string(8, '\xff'));
  EXPECT_FALSE(cursor->Valid());
  EXPECT_TRUE(cursor->status().ok()) << cursor->status().ToString();
}

// What a cursor reads is the store when it was opened: a put, an overwrite and a delete after
// that do not show, however it seeks; a cursor opened after them sees them.
TEST_F(StoreCursorTest, ReadsTheStoreAsItWasWhenOpened) {
  auto before = CursorOrDie(*store_, Family::kResults);
  ASSERT_NE(before, nullptr);
  before->Seek("b");  // positioned before the writes, and moved after them
  ASSERT_TRUE(store_
                  ->Write({Mutation::Put(Family::kResults, "e", "new"),
                           Mutation::Put(Family::kResults, "d", "changed"),
                           Mutation::Delete(Family::kResults, "f")})
                  .ok());
  ASSERT_TRUE(store_->Put(Family::kResults, "a", "new").ok());

  std::vector<std::string> seen;
  for (before->SeekToFirst(); before->Valid(); before->Next()) {
    seen.push_back(std::string(before->key()) + "=" + std::string(before->value()));
  }
  EXPECT_EQ(seen, (std::vector<std::string>{"b=value of b", "d=value of d", "f=value of f",
                                            "h=value of h"}));
  before->Seek("e");
  EXPECT_EQ(At(*before), "f");
  before->SeekForPrev("e");
  EXPECT_EQ(At(*before), "d");
  EXPECT_EQ(before->value(), "value of d");

  auto after = CursorOrDie(*store_, Family::kResults);
  ASSERT_NE(after, nullptr);
  seen.clear();
  for (after->SeekToFirst(); after->Valid(); after->Next()) {
    seen.push_back(std::string(after->key()) + "=" + std::string(after->value()));
  }
  EXPECT_EQ(seen, (std::vector<std::string>{"a=new", "b=value of b", "d=changed", "e=new",
                                            "h=value of h"}));
}

// OpenCursors: two positions in one family and a cursor of another family, all reading one
// moment of the store; a family of the other layout is refused.
TEST_F(StoreCursorTest, CursorsOpenedTogetherReadOneMoment) {
  auto cursors = store_->OpenCursors({Family::kResults, Family::kResults, Family::kConfig});
  ASSERT_TRUE(cursors.ok()) << cursors.status().ToString();
  ASSERT_EQ(cursors->size(), 3u);
  Store::Cursor& first = *(*cursors)[0];
  Store::Cursor& second = *(*cursors)[1];
  Store::Cursor& config = *(*cursors)[2];
  ASSERT_TRUE(store_
                  ->Write({Mutation::Put(Family::kResults, "c", "new"),
                           Mutation::Delete(Family::kConfig, "c")})
                  .ok());
  first.Seek("b");
  second.SeekForPrev("g");  // each keeps its own position
  EXPECT_EQ(At(first), "b");
  EXPECT_EQ(At(second), "f");
  first.Next();
  EXPECT_EQ(At(first), "d");  // not the "c" written after
  EXPECT_EQ(At(second), "f");
  config.SeekToFirst();
  EXPECT_EQ(At(config), "c");  // not deleted for it
  EXPECT_TRUE(first.status().ok() && second.status().ok() && config.status().ok());

  auto refused = store_->OpenCursors({Family::kResults, Family::kNodes});
  EXPECT_EQ(refused.status().code(), StatusCode::kInvalidArgument) << refused.status().ToString();
}

}  // namespace
}  // namespace vigil::store
