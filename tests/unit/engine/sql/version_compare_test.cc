// Debian version ordering, on cases taken from real package versions, and checked against the
// system's own package manager where it is installed.
#include "engine/sql/version_compare.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <string>
#include <vector>

#include "tests/testing/process.h"
#include "tests/testing/sql_fixture.h"

namespace vigil {
namespace {

int Order(std::string_view a, std::string_view b) {
  const int order = CompareDebianVersions(a, b);
  return (order > 0) - (order < 0);
}

struct Case {
  const char* a;
  const char* b;
  int expected;  // -1: a is older, 0: same, 1: a is newer
};

// Every case is well-formed, so the package manager accepts it too.
const Case kCases[] = {
    {"1.0~rc1", "1.0", -1},  // ~ sorts before the end of the string
    {"1.0~rc1", "1.0~rc2", -1},
    {"1.0~~", "1.0~", -1},
    {"1.0~~a", "1.0~", -1},
    {"1:0.9", "2.0", 1},      // epoch first
    {"2:1.0", "10:0.1", -1},  // epochs compare as numbers
    {"0:2.0", "2.0", 0},      // a missing epoch is 0
    {"2.30-1", "2.30-1+deb12u1", -1},
    {"1.0a", "1.0+", -1},  // letters before non-letters
    {"1.0", "1.0a", -1},   // the end before a letter
    {"1.0", "1.0+dfsg", -1},
    {"1.0+dfsg-1", "1.0-1", 1},
    {"9", "10", -1},  // digit runs compare as numbers
    {"1.9", "1.10", -1},
    {"1.00", "1.0", 0},   // leading zeros do not count
    {"1.0", "1.0-0", 0},  // no revision is revision 0
    {"1.0-1", "1.0-0", 1},
    {"1-2-3", "1-10", 1},  // the revision follows the last hyphen
    {"7.6p1-4", "7.6-4", 1},
    {"1.0~rc1-1", "1.0-1", -1},
    {"3.0.11-1~deb12u2", "3.0.11-1", -1},
    {"1:9.2p1-2+deb12u3", "1:9.2p1-2+deb12u2", 1},
    {"252.22-1~deb12u1", "252.19-1~deb12u1", 1},
    {"2.36-9+deb12u7", "2.36-9+deb12u10", -1},
    {"6.1.0-18-amd64", "6.1.0-9-amd64", 1},
    {"1.2.3", "1.2.3", 0},
    {"1.123456789012345678901234567890", "1.123456789012345678901234567891", -1},
    {"99999999999999999999", "100000000000000000000", -1},
    {"00000000000000000000000001", "1", 0},
    {"1.0.0", "1.0", 1},
    {"1.0-1ubuntu1", "1.0-1", 1},
    {"1.0-1build1", "1.0-1.1", -1},
};

TEST(DebianVersionTest, KnownOrders) {
  for (const Case& c : kCases) {
    EXPECT_EQ(Order(c.a, c.b), c.expected) << c.a << " vs " << c.b;
    EXPECT_EQ(Order(c.b, c.a), -c.expected) << c.b << " vs " << c.a;
    EXPECT_EQ(Order(c.a, c.a), 0) << c.a;
  }
}

TEST(DebianVersionTest, OddInputStillHasAnOrder) {
  EXPECT_EQ(Order("", ""), 0);
  EXPECT_EQ(Order("", "0"), 0);
  EXPECT_EQ(Order("~", ""), -1);
  EXPECT_EQ(Order("a", "b"), -1);
  EXPECT_EQ(Order("1:", "0:"), 1);  // empty upstreams: the epoch decides
  // A colon after non-digits is not an epoch separator; the text compares as upstream.
  EXPECT_EQ(Order("a:2", "a:10"), -1);
  EXPECT_EQ(Order("1.0-", "1.0"), 0);  // an empty revision is revision 0
  // Epochs too large for any integer type still compare as numbers.
  EXPECT_EQ(Order("99999999999999999999:1", "1:2"), 1);
  EXPECT_EQ(Order("99999999999999999999:1", "100000000000000000000:0"), -1);
}

TEST(DebianVersionTest, SortsALikeThePackageManager) {
  std::vector<std::string> versions = {"1.0-1",   "1:0.1", "10",       "1.0~rc1", "1.0",
                                       "1.0+b1",  "9",     "1.0a",     "1.0~~",   "0:1.0-2",
                                       "2:0~1-1", "1.0.1", "1.0~rc1+1"};
  std::sort(versions.begin(), versions.end(),
            [](const std::string& a, const std::string& b) { return Order(a, b) < 0; });
  const std::vector<std::string> expected = {"1.0~~",   "1.0~rc1", "1.0~rc1+1", "1.0",   "1.0-1",
                                             "0:1.0-2", "1.0a",    "1.0+b1",    "1.0.1", "9",
                                             "10",      "1:0.1",   "2:0~1-1"};
  EXPECT_EQ(versions, expected);
}

// The same cases through `dpkg --compare-versions`, so that the table above is not only our
// own reading of the rules.
TEST(DebianVersionTest, AgreesWithDpkg) {
  if (!testing::HaveCommand("dpkg")) GTEST_SKIP() << "dpkg is not installed";
  auto holds = [](const char* a, const char* relation, const char* b) {
    const testing::ProcessResult r =
        testing::RunProcess({"dpkg", "--compare-versions", a, relation, b});
    EXPECT_TRUE(r.exit_code == 0 || r.exit_code == 1)
        << "dpkg --compare-versions " << a << " " << relation << " " << b << ": " << r.err;
    return r.exit_code == 0;
  };
  for (const Case& c : kCases) {
    const int dpkg_order = holds(c.a, "lt", c.b) ? -1 : holds(c.a, "eq", c.b) ? 0 : 1;
    EXPECT_EQ(dpkg_order, c.expected) << "dpkg disagrees with the table: " << c.a << " vs " << c.b;
    EXPECT_EQ(Order(c.a, c.b), dpkg_order) << c.a << " vs " << c.b;
  }
}

}  // namespace
}  // namespace vigil
