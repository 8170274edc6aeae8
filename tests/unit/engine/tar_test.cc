// ustar archives: what Write() makes Read() gives back, and Read() refuses every malformed or
// unsafe member with a message naming it.
#include "engine/tar.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <cstring>
#include <map>
#include <string>

namespace vigil::tar {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::Pair;

// One header block written by hand, so that the reader can be shown headers Write() never makes.
struct RawMember {
  explicit RawMember(std::string n, std::string c = "", char t = '0')
      : name(std::move(n)), content(std::move(c)), type(t) {}
  RawMember& Prefix(std::string p) {
    prefix = std::move(p);
    return *this;
  }
  RawMember& Magic(std::string m, std::string v) {
    magic = std::move(m);
    version = std::move(v);
    return *this;
  }
  RawMember& BreakChecksum() {
    break_checksum = true;
    return *this;
  }
  std::string name;
  std::string content;
  char type = '0';
  std::string prefix;
  std::string magic = std::string("ustar\0", 6);
  std::string version = "00";
  bool break_checksum = false;
};

Limits WithLimit(size_t Limits::*member, size_t value) {
  Limits limits;
  limits.*member = value;
  return limits;
}

std::string Octal(uint64_t value, size_t digits) {
  std::string out(digits, '0');
  for (size_t i = digits; i-- > 0 && value > 0; value >>= 3)
    out[i] = static_cast<char>('0' + (value & 7));
  return out;
}

std::string RawBlock(const RawMember& m) {
  std::string h(512, '\0');
  std::memcpy(h.data(), m.name.data(), std::min<size_t>(m.name.size(), 100));
  std::memcpy(h.data() + 100, "0000644", 7);
  std::memcpy(h.data() + 108, "0000000", 7);
  std::memcpy(h.data() + 116, "0000000", 7);
  const std::string size = Octal(m.content.size(), 11);
  std::memcpy(h.data() + 124, size.data(), 11);
  std::memcpy(h.data() + 136, "00000000000", 11);
  h[156] = m.type;
  std::memcpy(h.data() + 257, m.magic.data(), 6);
  std::memcpy(h.data() + 263, m.version.data(), 2);
  std::memcpy(h.data() + 345, m.prefix.data(), std::min<size_t>(m.prefix.size(), 155));
  std::memset(h.data() + 148, ' ', 8);
  uint64_t sum = 0;
  for (char c : h) sum += static_cast<unsigned char>(c);
  if (m.break_checksum) ++sum;
  const std::string digits = Octal(sum, 6);
  std::memcpy(h.data() + 148, digits.data(), 6);
  h[154] = '\0';
  std::string out = h + m.content;
  out.append((512 - m.content.size() % 512) % 512, '\0');
  return out;
}

std::string RawArchive(const std::vector<RawMember>& members) {
  std::string out;
  for (const RawMember& m : members) out += RawBlock(m);
  return out + std::string(1024, '\0');
}

std::string ReadError(std::string_view archive, const Limits& limits = {}) {
  auto read = Read(archive, limits);
  EXPECT_FALSE(read.ok());
  if (read.ok()) return "";
  EXPECT_EQ(read.status().code(), StatusCode::kInvalidArgument);
  return read.status().message();
}

TEST(TarTest, WriteThenReadGivesTheSameFiles) {
  const std::map<std::string, std::string> files = {
      {"fleet.yaml", "nodes: []\n"},
      {"packs/baseline.json", std::string(1000, 'x')},
      {"empty", ""},
      {"exact", std::string(512, 'y')},
      {"bytes", std::string("\0\xff\n", 3)},
  };
  auto archive = Write(files);
  ASSERT_TRUE(archive.ok()) << archive.status().ToString();
  EXPECT_EQ(archive->size() % 512, 0u);
  auto read = Read(*archive);
  ASSERT_TRUE(read.ok()) << read.status().ToString();
  EXPECT_EQ(*read, files);
}

TEST(TarTest, WriteMakesUstarHeadersInPathOrder) {
  auto archive = Write({{"b", "2"}, {"a", "1"}});
  ASSERT_TRUE(archive.ok());
  // a, its content block, b, its content block, two zero blocks.
  ASSERT_EQ(archive->size(), 6u * 512);
  EXPECT_EQ(archive->substr(0, 2), std::string("a\0", 2));
  EXPECT_EQ(archive->substr(257, 8), std::string("ustar\0"
                                                 "00",
                                                 8));
  EXPECT_EQ(archive->substr(124, 12), std::string("00000000001\0", 12));
  EXPECT_EQ(archive->substr(1024, 2), std::string("b\0", 2));
}

TEST(TarTest, LongPathsUseThePrefixField) {
  const std::string dir(120, 'd');
  const std::string path = dir + "/" + std::string(90, 'f') + ".json";
  auto archive = Write({{path, "{}"}});
  ASSERT_TRUE(archive.ok()) << archive.status().ToString();
  EXPECT_EQ(archive->substr(345, 120), dir);
  auto read = Read(*archive);
  ASSERT_TRUE(read.ok()) << read.status().ToString();
  EXPECT_THAT(*read, ElementsAre(Pair(path, "{}")));
}

TEST(TarTest, WriteRefusesPathsThatDoNotFitOrEscape) {
  EXPECT_THAT(Write({{std::string(101, 'a'), ""}}).status().message(),
              HasSubstr("does not fit a tar header"));
  EXPECT_THAT(Write({{"/etc/passwd", ""}}).status().message(), HasSubstr("is absolute"));
  EXPECT_THAT(Write({{"a/../b", ""}}).status().message(), HasSubstr("'..' component"));
  EXPECT_THAT(Write({{"", ""}}).status().message(), HasSubstr("empty file name"));
}

TEST(TarTest, ReadSkipsDirectoriesAndLeadingDotSlash) {
  auto read =
      Read(RawArchive({RawMember("./", "", '5'), RawMember("./packs/", "", '5'),
                       RawMember("./packs/x.json", "{}"), RawMember("fleet.yaml", "a", '\0')}));
  ASSERT_TRUE(read.ok()) << read.status().ToString();
  EXPECT_THAT(*read, ElementsAre(Pair("fleet.yaml", "a"), Pair("packs/x.json", "{}")));
}

TEST(TarTest, ReadTakesTheOldGnuMagic) {
  auto read =
      Read(RawArchive({RawMember("fleet.yaml", "x").Magic("ustar ", std::string(" \0", 2))}));
  ASSERT_TRUE(read.ok()) << read.status().ToString();
  EXPECT_THAT(*read, ElementsAre(Pair("fleet.yaml", "x")));
}

TEST(TarTest, ReadRefusesUnsafeNames) {
  EXPECT_THAT(ReadError(RawArchive({RawMember("ok", "1"), RawMember("/etc/shadow")})),
              HasSubstr("tar member 2 ('/etc/shadow'): file name '/etc/shadow' is absolute"));
  EXPECT_THAT(ReadError(RawArchive({RawMember("packs/../../x")})),
              HasSubstr("tar member 1 ('packs/../../x'): file name 'packs/../../x' has a '..'"));
  EXPECT_THAT(ReadError(RawArchive({RawMember("a//b")})), HasSubstr("empty component"));
  EXPECT_THAT(ReadError(RawArchive({RawMember("../", "", '5')})), HasSubstr("'..' component"));
  EXPECT_THAT(ReadError(RawArchive({RawMember("x").Prefix("..")})),
              HasSubstr("tar member 1 ('../x')"));
}

TEST(TarTest, ReadRefusesLinksDevicesAndExtensionHeaders) {
  EXPECT_THAT(ReadError(RawArchive({RawMember("l", "", '2')})),
              HasSubstr("tar member 1 ('l'): is a link; only regular files"));
  EXPECT_THAT(ReadError(RawArchive({RawMember("h", "", '1')})), HasSubstr("is a link"));
  EXPECT_THAT(ReadError(RawArchive({RawMember("d", "", '3')})), HasSubstr("is a device"));
  EXPECT_THAT(ReadError(RawArchive({RawMember("f", "", '6')})), HasSubstr("is a FIFO"));
  EXPECT_THAT(ReadError(RawArchive({RawMember("p", "30 path=x\n", 'x')})),
              HasSubstr("pax extended header"));
  EXPECT_THAT(ReadError(RawArchive({RawMember("././@LongLink", "", 'L')})),
              HasSubstr("GNU long-name header"));
}

TEST(TarTest, ReadRefusesBadHeaders) {
  EXPECT_THAT(ReadError(RawArchive({RawMember("a").BreakChecksum()})),
              HasSubstr("tar member 1 ('a'): bad header checksum"));
  EXPECT_THAT(ReadError(RawArchive({RawMember("a").Magic(std::string("xxxxx\0", 6), "00")})),
              HasSubstr("tar member 1 ('a'): not a ustar header"));
  std::string archive = RawArchive({RawMember("a", "1")});
  archive[124] = '9';  // size field; the checksum is fixed below so that only the size is bad
  archive.replace(148, 8, "        ");
  uint64_t sum = 0;
  for (size_t i = 0; i < 512; ++i) sum += static_cast<unsigned char>(archive[i]);
  archive.replace(148, 7, Octal(sum, 6) + std::string(1, '\0'));
  EXPECT_THAT(ReadError(archive), HasSubstr("size field is not an octal number"));
}

TEST(TarTest, ReadRefusesTruncatedArchives) {
  std::string archive = RawArchive({RawMember("a", std::string(2000, 'x'))});
  EXPECT_THAT(ReadError(archive.substr(0, 1024)),
              HasSubstr("tar member 1 ('a'): its 2000 bytes of content run past the end"));
  EXPECT_THAT(ReadError(archive.substr(0, 1000)), HasSubstr("not a multiple of 512"));
  EXPECT_THAT(ReadError(archive.substr(0, 512 * 5)), HasSubstr("no end-of-archive block"));
  EXPECT_THAT(ReadError(""), HasSubstr("no end-of-archive block"));
}

TEST(TarTest, ReadRefusesDataAfterTheEnd) {
  std::string archive = RawArchive({RawMember("a")}) + RawBlock(RawMember("hidden"));
  EXPECT_THAT(ReadError(archive), HasSubstr("data after the end-of-archive block"));
  // Zero padding after the end (a 10 KiB record) is fine.
  auto read = Read(RawArchive({RawMember("a")}) + std::string(8192, '\0'));
  EXPECT_TRUE(read.ok()) << read.status().ToString();
}

TEST(TarTest, ReadRefusesDuplicatesAndEnforcesLimits) {
  EXPECT_THAT(ReadError(RawArchive({RawMember("a"), RawMember("./a")})),
              HasSubstr("tar member 2 ('a'): is in the archive twice"));
  EXPECT_THAT(ReadError(RawArchive({RawMember("a"), RawMember("b"), RawMember("c")}),
                        WithLimit(&Limits::max_members, 2)),
              HasSubstr("tar member 3 ('c'): more than 2 members"));
  EXPECT_THAT(ReadError(RawArchive({RawMember("big", std::string(600, 'x'))}),
                        WithLimit(&Limits::max_member_bytes, 512)),
              HasSubstr("tar member 1 ('big'): is 600 bytes, more than the limit of 512"));
  EXPECT_THAT(ReadError(RawArchive({RawMember("a", std::string(400, 'x')),
                                    RawMember("b", std::string(400, 'x'))}),
                        WithLimit(&Limits::max_total_bytes, 700)),
              HasSubstr("tar member 2 ('b'): takes the files past the limit of 700 bytes"));
}

}  // namespace
}  // namespace vigil::tar
