// The SQL functions on a bare SQLite connection: each on typical, edge and NULL input, and the
// exact error a malformed argument produces.
#include "engine/sql/functions.h"

#include <gtest/gtest.h>
#include <sqlite3.h>

#include <string>
#include <vector>

namespace vigil {
namespace {

constexpr char kNull[] = "<NULL>";

class SqlFunctionsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_EQ(sqlite3_open(":memory:", &db_), SQLITE_OK);
    const Status status = RegisterFunctions(db_);
    ASSERT_TRUE(status.ok()) << status.ToString();
  }
  void TearDown() override { sqlite3_close(db_); }

  struct Outcome {
    std::vector<std::string> values;  // the first column of every row; kNull for NULL
    std::string error;                // empty when the statement succeeded
  };

  Outcome Run(const std::string& sql) {
    Outcome outcome;
    sqlite3_stmt* stmt = nullptr;
    if (sqlite3_prepare_v2(db_, sql.c_str(), -1, &stmt, nullptr) != SQLITE_OK) {
      outcome.error = sqlite3_errmsg(db_);
      return outcome;
    }
    int rc;
    while ((rc = sqlite3_step(stmt)) == SQLITE_ROW) {
      const auto* text = reinterpret_cast<const char*>(sqlite3_column_text(stmt, 0));
      outcome.values.emplace_back(text == nullptr ? kNull : text);
    }
    if (rc != SQLITE_DONE) outcome.error = sqlite3_errmsg(db_);
    sqlite3_finalize(stmt);
    return outcome;
  }

  // The one value `sql` returns, as text (kNull for NULL).
  std::string Eval(const std::string& sql) {
    Outcome outcome = Run(sql);
    EXPECT_EQ(outcome.error, "") << sql;
    EXPECT_EQ(outcome.values.size(), 1u) << sql;
    return outcome.values.empty() ? "<no row>" : outcome.values.front();
  }

  // The first column of every row `sql` returns.
  std::vector<std::string> Column(const std::string& sql) {
    Outcome outcome = Run(sql);
    EXPECT_EQ(outcome.error, "") << sql;
    return outcome.values;
  }

  // The message `sql` fails with.
  std::string ErrorOf(const std::string& sql) {
    Outcome outcome = Run(sql);
    EXPECT_NE(outcome.error, "") << sql << " should have failed";
    return outcome.error;
  }

  sqlite3* db_ = nullptr;
};

// A string of `n` letters 'a', built in SQL.
std::string LettersSql(int n) {
  return "replace(hex(zeroblob(" + std::to_string(n / 2) + ")), '0', 'a')";
}

TEST_F(SqlFunctionsTest, RegexMatchReturnsTheRequestedGroup) {
  const std::string text = "'OpenSSH_9.2p1 Debian-2+deb12u3'";
  const std::string pattern = "'OpenSSH_(\\d+)\\.(\\d+)'";
  EXPECT_EQ(Eval("SELECT regex_match(" + text + ", " + pattern + ", 0)"), "OpenSSH_9.2");
  EXPECT_EQ(Eval("SELECT regex_match(" + text + ", " + pattern + ", 1)"), "9");
  EXPECT_EQ(Eval("SELECT regex_match(" + text + ", " + pattern + ", 2)"), "2");
  EXPECT_EQ(Eval("SELECT regex_match(" + text + ", " + pattern + ", 3)"), kNull);
  EXPECT_EQ(Eval("SELECT regex_match(" + text + ", " + pattern + ", -1)"), kNull);
}

TEST_F(SqlFunctionsTest, RegexMatchEdgeCases) {
  EXPECT_EQ(Eval("SELECT regex_match('abc', 'x', 0)"), kNull);
  // A group that took no part in the match is absent, not empty.
  EXPECT_EQ(Eval("SELECT regex_match('ab', 'a(x)?b', 1)"), kNull);
  // An empty match is a match.
  EXPECT_EQ(Eval("SELECT typeof(regex_match('abc', 'x*', 0))"), "text");
  EXPECT_EQ(Eval("SELECT length(regex_match('abc', 'x*', 0))"), "0");
  // The first match wins, leftmost then ECMAScript alternation order.
  EXPECT_EQ(Eval("SELECT regex_match('k=1 k=22', 'k=(\\d+)', 1)"), "1");
  EXPECT_EQ(Eval("SELECT regex_match('abcd', 'ab|abcd', 0)"), "ab");
}

TEST_F(SqlFunctionsTest, RegexMatchNullArgumentsGiveNull) {
  EXPECT_EQ(Eval("SELECT regex_match(NULL, 'a', 0)"), kNull);
  EXPECT_EQ(Eval("SELECT regex_match('a', NULL, 0)"), kNull);
  EXPECT_EQ(Eval("SELECT regex_match('a', 'a', NULL)"), kNull);
}

TEST_F(SqlFunctionsTest, RegexMatchOverRowsWithConstantAndVaryingPatterns) {
  EXPECT_EQ(Column("SELECT regex_match(column1, '^(\\w+)=', 1) "
                   "FROM (VALUES ('a=1'), ('b=2'), ('c'), ('d=4'))"),
            (std::vector<std::string>{"a", "b", kNull, "d"}));
  EXPECT_EQ(Column("SELECT regex_match(column1, column2, 0) "
                   "FROM (VALUES ('abc', 'b'), ('abc', 'c$'), ('abc', '^b'))"),
            (std::vector<std::string>{"b", "c", kNull}));
}

TEST_F(SqlFunctionsTest, InvalidPatternIsAnErrorNamingThePattern) {
  EXPECT_EQ(ErrorOf("SELECT regex_match('abc', '(abc', 0)")
                .rfind("regex_match: invalid regular expression '(abc': ", 0),
            0u);
  EXPECT_EQ(ErrorOf("SELECT regex_split('abc', 'a[', 0)")
                .rfind("regex_split: invalid regular expression 'a[': ", 0),
            0u);
  // The error also stops a statement over many rows, not only a constant one.
  EXPECT_EQ(ErrorOf("SELECT regex_match('x', column1, 0) FROM (VALUES ('x'), ('*'))")
                .rfind("regex_match: invalid regular expression '*': ", 0),
            0u);
}

// Matching must never take the process down: long subjects work (no recursion per character),
// runaway backtracking stops at the match limit with an error, and patterns have a size cap.
TEST_F(SqlFunctionsTest, RegexIsBoundedNotCrashed) {
  EXPECT_EQ(Eval("SELECT length(regex_match(" + LettersSql(200000) + ", '.*', 0))"), "200000");
  EXPECT_EQ(Eval("SELECT length(regex_match(" + LettersSql(100000) + ", '(a|b|[c-z])*', 0))"),
            "100000");
  EXPECT_EQ(Eval("SELECT regex_split(" + LettersSql(100000) + ", ',', 1)"), kNull);
  std::string runaway = "SELECT regex_match('" + std::string(40, 'a') + "b', '^(a+)+$', 0)";
  EXPECT_EQ(ErrorOf(runaway).rfind("regex_match: cannot match: ", 0), 0u) << ErrorOf(runaway);
  EXPECT_EQ(ErrorOf("SELECT regex_match('a', " + LettersSql(4098) + ", 0)"),
            "regex_match: pattern of 4098 bytes is longer than the limit of 4096");
}

TEST_F(SqlFunctionsTest, RegexSplitReturnsThePiece) {
  EXPECT_EQ(Eval("SELECT regex_split('a1b22c', '\\d+', 0)"), "a");
  EXPECT_EQ(Eval("SELECT regex_split('a1b22c', '\\d+', 1)"), "b");
  EXPECT_EQ(Eval("SELECT regex_split('a1b22c', '\\d+', 2)"), "c");
  EXPECT_EQ(Eval("SELECT regex_split('a1b22c', '\\d+', 3)"), kNull);
  EXPECT_EQ(Eval("SELECT regex_split('a1b22c', '\\d+', -1)"), kNull);
  EXPECT_EQ(Eval("SELECT regex_split('no separator', ',', 0)"), "no separator");
  EXPECT_EQ(Eval("SELECT regex_split('no separator', ',', 1)"), kNull);
}

TEST_F(SqlFunctionsTest, RegexSplitKeepsEmptyPiecesAndIgnoresEmptyMatches) {
  EXPECT_EQ(Column("SELECT regex_split(',a,,b,', ',', column1) "
                   "FROM (VALUES (0), (1), (2), (3), (4), (5))"),
            (std::vector<std::string>{"", "a", "", "b", "", kNull}));
  EXPECT_EQ(Eval("SELECT regex_split('abc', 'x*', 0)"), "abc");
  EXPECT_EQ(Eval("SELECT regex_split('abc', 'x*', 1)"), kNull);
  EXPECT_EQ(Eval("SELECT regex_split('', ',', 0)"), "");
  EXPECT_EQ(Eval("SELECT regex_split(NULL, ',', 0)"), kNull);
  EXPECT_EQ(Eval("SELECT regex_split('a', NULL, 0)"), kNull);
  EXPECT_EQ(Eval("SELECT regex_split('a', ',', NULL)"), kNull);
}

TEST_F(SqlFunctionsTest, SplitOnAnyTokenSkippingEmptyPieces) {
  EXPECT_EQ(Eval("SELECT split('root:x:0:0:root:/root:/bin/bash', ':', 5)"), "/root");
  EXPECT_EQ(Eval("SELECT split('/usr/bin/ssh', '/', 2)"), "ssh");
  EXPECT_EQ(Column("SELECT split('::a, b;;c::', ':, ;', column1) "
                   "FROM (VALUES (0), (1), (2), (3))"),
            (std::vector<std::string>{"a", "b", "c", kNull}));
  EXPECT_EQ(Eval("SELECT split('abc', '', 0)"), "abc");
  EXPECT_EQ(Eval("SELECT split('abc', '', 1)"), kNull);
  EXPECT_EQ(Eval("SELECT split('', ':', 0)"), kNull);
  EXPECT_EQ(Eval("SELECT split(':::', ':', 0)"), kNull);
  EXPECT_EQ(Eval("SELECT split('a:b', ':', -1)"), kNull);
  EXPECT_EQ(Eval("SELECT split(NULL, ':', 0)"), kNull);
  EXPECT_EQ(Eval("SELECT split('a', NULL, 0)"), kNull);
  EXPECT_EQ(Eval("SELECT split('a', ':', NULL)"), kNull);
}

TEST_F(SqlFunctionsTest, ConcatJoinsNonNullArgumentsAsText) {
  EXPECT_EQ(Eval("SELECT concat('a', NULL, 1, 2.5, x'41')"), "a12.5A");
  EXPECT_EQ(Eval("SELECT concat('only')"), "only");
  EXPECT_EQ(Eval("SELECT typeof(concat(NULL, NULL))"), "text");
  EXPECT_EQ(Eval("SELECT length(concat(NULL))"), "0");
  EXPECT_EQ(ErrorOf("SELECT concat()"), "concat: expects at least one argument");
}

TEST_F(SqlFunctionsTest, ConcatWsJoinsWithTheSeparator) {
  EXPECT_EQ(Eval("SELECT concat_ws('-', 'a', NULL, 'b', 3)"), "a-b-3");
  EXPECT_EQ(Eval("SELECT concat_ws(', ', 'x')"), "x");
  EXPECT_EQ(Eval("SELECT concat_ws('', 'x', 'y')"), "xy");
  EXPECT_EQ(Eval("SELECT length(concat_ws('-', NULL, NULL))"), "0");
  EXPECT_EQ(Eval("SELECT concat_ws(NULL, 'a', 'b')"), kNull);
  EXPECT_EQ(ErrorOf("SELECT concat_ws('-')"),
            "concat_ws: expects a separator and at least one value");
}

TEST_F(SqlFunctionsTest, Sha256OfTextAndBlobs) {
  const std::string abc = "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad";
  const std::string empty = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855";
  EXPECT_EQ(Eval("SELECT sha256('abc')"), abc);
  EXPECT_EQ(Eval("SELECT sha256(x'616263')"), abc);
  EXPECT_EQ(Eval("SELECT sha256('')"), empty);
  EXPECT_EQ(Eval("SELECT sha256(zeroblob(0))"), empty);
  // Bytes after a NUL count: the blob is hashed whole.
  EXPECT_NE(Eval("SELECT sha256(x'61626300')"), abc);
  EXPECT_EQ(Eval("SELECT sha256(NULL)"), kNull);
}

TEST_F(SqlFunctionsTest, InCidrBlockIPv4) {
  EXPECT_EQ(Eval("SELECT in_cidr_block('10.0.0.0/8', '10.255.1.2')"), "1");
  EXPECT_EQ(Eval("SELECT in_cidr_block('10.0.0.0/8', '11.0.0.1')"), "0");
  EXPECT_EQ(Eval("SELECT in_cidr_block('192.168.1.0/24', '192.168.1.255')"), "1");
  EXPECT_EQ(Eval("SELECT in_cidr_block('192.168.1.0/24', '192.168.2.0')"), "0");
  EXPECT_EQ(Eval("SELECT in_cidr_block('10.0.0.0/9', '10.127.255.255')"), "1");
  EXPECT_EQ(Eval("SELECT in_cidr_block('10.0.0.0/9', '10.128.0.0')"), "0");
  EXPECT_EQ(Eval("SELECT in_cidr_block('0.0.0.0/0', '203.0.113.7')"), "1");
  EXPECT_EQ(Eval("SELECT in_cidr_block('10.1.2.3/32', '10.1.2.3')"), "1");
  EXPECT_EQ(Eval("SELECT in_cidr_block('10.1.2.3/32', '10.1.2.4')"), "0");
  // Host bits set in the block do not matter.
  EXPECT_EQ(Eval("SELECT in_cidr_block('10.1.2.3/8', '10.9.9.9')"), "1");
}

TEST_F(SqlFunctionsTest, InCidrBlockIPv6) {
  EXPECT_EQ(Eval("SELECT in_cidr_block('2001:db8::/32', '2001:db8:1::5')"), "1");
  EXPECT_EQ(Eval("SELECT in_cidr_block('2001:db8::/32', '2001:db9::1')"), "0");
  EXPECT_EQ(Eval("SELECT in_cidr_block('2001:db8::/33', '2001:db8:7fff::1')"), "1");
  EXPECT_EQ(Eval("SELECT in_cidr_block('2001:db8::/33', '2001:db8:8000::')"), "0");
  EXPECT_EQ(Eval("SELECT in_cidr_block('::/0', '2001:db8::1')"), "1");
  EXPECT_EQ(Eval("SELECT in_cidr_block('2001:db8::1/128', '2001:db8::1')"), "1");
  EXPECT_EQ(Eval("SELECT in_cidr_block('2001:db8::1/128', '2001:db8::2')"), "0");
  // A scope, as interface tables print link-local addresses, is ignored.
  EXPECT_EQ(Eval("SELECT in_cidr_block('fe80::/10', 'fe80::1%eth0')"), "1");
}

TEST_F(SqlFunctionsTest, InCidrBlockFamilyMismatchIsFalse) {
  EXPECT_EQ(Eval("SELECT in_cidr_block('10.0.0.0/8', '::ffff:10.0.0.1')"), "0");
  EXPECT_EQ(Eval("SELECT in_cidr_block('::/0', '10.0.0.1')"), "0");
  EXPECT_EQ(Eval("SELECT in_cidr_block('0.0.0.0/0', '::1')"), "0");
}

TEST_F(SqlFunctionsTest, CidrContainsIsAnAlias) {
  EXPECT_EQ(Eval("SELECT cidr_contains('172.16.0.0/12', '172.31.255.255')"), "1");
  EXPECT_EQ(Eval("SELECT cidr_contains('172.16.0.0/12', '172.32.0.0')"), "0");
  EXPECT_EQ(Eval("SELECT cidr_contains(NULL, '10.0.0.1')"), kNull);
  EXPECT_EQ(ErrorOf("SELECT cidr_contains('10.0.0.0/8', '10.0.0.256')"),
            "cidr_contains: invalid IP address '10.0.0.256'");
}

TEST_F(SqlFunctionsTest, InCidrBlockNullArgumentsGiveNull) {
  EXPECT_EQ(Eval("SELECT in_cidr_block(NULL, '10.0.0.1')"), kNull);
  EXPECT_EQ(Eval("SELECT in_cidr_block('10.0.0.0/8', NULL)"), kNull);
}

TEST_F(SqlFunctionsTest, MalformedCidrOrAddressIsAnErrorNamingIt) {
  EXPECT_EQ(ErrorOf("SELECT in_cidr_block('10.0.0.0', '10.0.0.1')"),
            "in_cidr_block: invalid CIDR block '10.0.0.0': expected ADDRESS/PREFIX");
  EXPECT_EQ(ErrorOf("SELECT in_cidr_block('10.0.0/8', '10.0.0.1')"),
            "in_cidr_block: invalid CIDR block '10.0.0/8': bad address");
  EXPECT_EQ(ErrorOf("SELECT in_cidr_block('10.0.0.0/33', '10.0.0.1')"),
            "in_cidr_block: invalid CIDR block '10.0.0.0/33': prefix length must be 0 to 32");
  EXPECT_EQ(ErrorOf("SELECT in_cidr_block('::/129', '::1')"),
            "in_cidr_block: invalid CIDR block '::/129': prefix length must be 0 to 128");
  EXPECT_EQ(ErrorOf("SELECT in_cidr_block('10.0.0.0/', '10.0.0.1')"),
            "in_cidr_block: invalid CIDR block '10.0.0.0/': prefix length must be 0 to 32");
  EXPECT_EQ(ErrorOf("SELECT in_cidr_block('10.0.0.0/-1', '10.0.0.1')"),
            "in_cidr_block: invalid CIDR block '10.0.0.0/-1': prefix length must be 0 to 32");
  EXPECT_EQ(ErrorOf("SELECT in_cidr_block('10.0.0.0/8', 'not-an-ip')"),
            "in_cidr_block: invalid IP address 'not-an-ip'");
  EXPECT_EQ(ErrorOf("SELECT in_cidr_block('10.0.0.0/8', '')"),
            "in_cidr_block: invalid IP address ''");
  EXPECT_EQ(ErrorOf("SELECT in_cidr_block('10.0.0.0/8', '10.0.0.1/32')"),
            "in_cidr_block: invalid IP address '10.0.0.1/32'");
}

TEST_F(SqlFunctionsTest, VersionCompareGivesMinusOneZeroOne) {
  EXPECT_EQ(Eval("SELECT version_compare('1.0~rc1', '1.0')"), "-1");
  EXPECT_EQ(Eval("SELECT version_compare('1:0.9', '2.0')"), "1");
  EXPECT_EQ(Eval("SELECT version_compare('2.30-1', '2.30-1+deb12u1')"), "-1");
  EXPECT_EQ(Eval("SELECT version_compare('0:1.0', '1.0-0')"), "0");
  EXPECT_EQ(Eval("SELECT typeof(version_compare('1', '2'))"), "integer");
  EXPECT_EQ(Eval("SELECT version_compare(NULL, '1.0')"), kNull);
  EXPECT_EQ(Eval("SELECT version_compare('1.0', NULL)"), kNull);
}

TEST_F(SqlFunctionsTest, OrderByVersionCollation) {
  EXPECT_EQ(Column("SELECT column1 FROM (VALUES ('10'), ('1:0.1'), ('9'), ('1.0-1'), ('1.0'), "
                   "('1.0~rc1'), ('1.0+dfsg-1'), ('1.0a')) ORDER BY column1 COLLATE VERSION_DPKG"),
            (std::vector<std::string>{"1.0~rc1", "1.0", "1.0-1", "1.0a", "1.0+dfsg-1", "9", "10",
                                      "1:0.1"}));
  EXPECT_EQ(Column("SELECT column1 FROM (VALUES ('2.0'), ('10.0')) "
                   "ORDER BY column1 COLLATE version_dpkg DESC"),
            (std::vector<std::string>{"10.0", "2.0"}));
}

TEST_F(SqlFunctionsTest, ComparisonsUnderVersionCollation) {
  EXPECT_EQ(Eval("SELECT '1.0~rc1' < '1.0' COLLATE VERSION_DPKG"), "1");
  EXPECT_EQ(Eval("SELECT '9' < '10' COLLATE VERSION_DPKG"), "1");
  EXPECT_EQ(Eval("SELECT '9' < '10'"), "0");  // without the collation: text order
  EXPECT_EQ(Eval("SELECT '1.0' = '1.0-0' COLLATE VERSION_DPKG"), "1");
  EXPECT_EQ(Column("SELECT column1 FROM (VALUES ('2.36-9+deb12u4'), ('2.36-9+deb12u10'), "
                   "('2.36-9')) WHERE column1 < '2.36-9+deb12u7' COLLATE VERSION_DPKG"),
            (std::vector<std::string>{"2.36-9+deb12u4", "2.36-9"}));
}

TEST_F(SqlFunctionsTest, FunctionNamesListEveryRegisteredFunction) {
  const std::vector<std::string_view> expected = {
      "regex_match", "regex_split",   "split",         "concat",         "concat_ws",
      "sha256",      "in_cidr_block", "cidr_contains", "version_compare"};
  EXPECT_EQ(VigilFunctionNames(), expected);
  for (std::string_view name : VigilFunctionNames()) {
    EXPECT_EQ(Eval("SELECT count(*) FROM pragma_function_list WHERE name = '" + std::string(name) +
                   "' AND builtin = 0"),
              "1")
        << name;
  }
}

TEST_F(SqlFunctionsTest, WrongArgumentCountIsRefused) {
  EXPECT_NE(ErrorOf("SELECT regex_match('a', 'a')").find("wrong number of arguments"),
            std::string::npos);
  EXPECT_NE(ErrorOf("SELECT sha256('a', 'b')").find("wrong number of arguments"),
            std::string::npos);
  EXPECT_NE(ErrorOf("SELECT in_cidr_block('10.0.0.0/8')").find("wrong number of arguments"),
            std::string::npos);
}

}  // namespace
}  // namespace vigil
