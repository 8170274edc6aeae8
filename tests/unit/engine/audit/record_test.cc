// The canonical form of audit records, byte for byte, as record.h defines it.
#include "engine/audit/record.h"

#include <gtest/gtest.h>

#include <cmath>
#include <cstdio>
#include <cstring>
#include <random>

#include "engine/digest.h"

namespace vigil::audit {
namespace {

std::string Canonical(std::string_view json) {
  auto canonical = CanonicalDetail(json);
  EXPECT_TRUE(canonical.ok()) << json << ": " << canonical.status().ToString();
  return canonical.value_or("");
}

std::string DetailError(std::string_view json) {
  auto canonical = CanonicalDetail(json);
  EXPECT_FALSE(canonical.ok()) << json << " was accepted as " << canonical.value_or("");
  return canonical.status().message();
}

Record Sample() {
  Record r;
  r.seq = 1;
  r.time = "2026-11-25T17:02:00Z";
  r.actor = "enforcer";
  r.action = "sshd.set";
  r.subject = "/etc/ssh/sshd_config";
  r.detail = R"({"key":"PermitRootLogin","value":"no"})";
  r.prev_hash = std::string(kZeroHash);
  return r;
}

TEST(AuditRecordTest, DetailIsCompactWithSortedKeys) {
  EXPECT_EQ(Canonical(R"( { "b" : 1 , "a" : [ true , null , "x" , false ] ,
                            "c" : { "z" : {} , "y" : [] } } )"),
            R"({"a":[true,null,"x",false],"b":1,"c":{"y":[],"z":{}}})");
  EXPECT_EQ(Canonical("{}"), "{}");
  // Keys compare as UTF-8 bytes: upper case before lower case before non-ASCII.
  EXPECT_EQ(Canonical(R"({"é":1,"z":2,"A":3,"_":4,"aa":5,"a":6})"),
            R"({"A":3,"_":4,"a":6,"aa":5,"z":2,"é":1})");
}

TEST(AuditRecordTest, DetailNumbers) {
  EXPECT_EQ(Canonical(R"({"a":100,"b":-7,"c":0,"d":-0})"), R"({"a":100,"b":-7,"c":0,"d":0})");
  EXPECT_EQ(Canonical(R"({"max":18446744073709551615,"min":-9223372036854775808})"),
            R"({"max":18446744073709551615,"min":-9223372036854775808})");
  EXPECT_EQ(Canonical(R"({"a":0.42,"b":1.0,"c":1E21,"d":0.00000015,"e":-0.0,"f":2.50})"),
            R"({"a":0.42,"b":1,"c":1e+21,"d":1.5e-07,"e":0,"f":2.5})");
  EXPECT_EQ(Canonical(R"({"a":123456789.0,"b":0.1,"c":1e300})"),
            R"({"a":123456789,"b":0.1,"c":1e+300})");
}

TEST(AuditRecordTest, DetailStrings) {
  EXPECT_EQ(Canonical(R"({"s":"q\" b\\ s\/ \b\f\n\r\t \u0001\u001f \u00e9 \u007f"})"),
            "{\"s\":\"q\\\" b\\\\ s/ \\b\\f\\n\\r\\t \\u0001\\u001f \xc3\xa9 \x7f\"}");
  EXPECT_EQ(Canonical("{\"nul\":\"a\\u0000b\"}"), "{\"nul\":\"a\\u0000b\"}");
  EXPECT_EQ(Canonical(R"({"pair":"\ud83d\ude00"})"), "{\"pair\":\"\xf0\x9f\x98\x80\"}");
}

// Verification re-canonicalizes what it reads, so writing must be a fixed point; doubles only
// are if they are parsed exactly.
TEST(AuditRecordTest, CanonicalFormIsAFixedPoint) {
  std::mt19937_64 random(62443);
  for (int i = 0; i < 2000; ++i) {
    uint64_t bits = random();
    double value;
    std::memcpy(&value, &bits, sizeof(value));
    if (!std::isfinite(value)) continue;
    char text[64];
    std::snprintf(text, sizeof(text), "{\"v\":%.17g}", value);
    std::string once = Canonical(text);
    ASSERT_EQ(Canonical(once), once) << text;
  }
}

TEST(AuditRecordTest, BadDetailsAreRefused) {
  EXPECT_EQ(DetailError("{\"a\":"), "audit detail: Invalid value. at offset 5");
  EXPECT_EQ(DetailError("[1]"), "audit detail: not a JSON object");
  EXPECT_EQ(DetailError("\"text\""), "audit detail: not a JSON object");
  EXPECT_EQ(DetailError(R"({"a":1,"b":{"c":1,"c":2}})"), "audit detail: duplicate key \"c\" at /b");
  EXPECT_EQ(DetailError(R"({"a":1,"a":1})"), "audit detail: duplicate key \"a\" at /");
  EXPECT_EQ(DetailError("{\"a\":\"\xff\"}"),
            "audit detail: Invalid encoding in string. at offset 6");
  EXPECT_EQ(DetailError(R"({"a":"\udc00"})"),
            "audit detail: a string that is not valid UTF-8 at /a");
  // The object is level 1: 31 nested arrays inside it make 32 levels, 32 arrays one too many.
  auto nested = [](int arrays) {
    return "{\"a\":" + std::string(arrays, '[') + std::string(arrays, ']') + "}";
  };
  EXPECT_TRUE(CanonicalDetail(nested(kMaxDetailDepth - 1)).ok());
  std::string where = "/a";
  for (int i = 0; i < kMaxDetailDepth - 1; ++i) where += "/0";
  EXPECT_EQ(DetailError(nested(kMaxDetailDepth)),
            "audit detail: nested deeper than 32 levels at " + where);
  std::string big = "{\"a\":\"" + std::string(kMaxDetailBytes, 'x') + "\"}";
  auto too_big = CanonicalDetail(big);
  ASSERT_FALSE(too_big.ok());
  EXPECT_EQ(too_big.status().code(), StatusCode::kResourceExhausted);
}

TEST(AuditRecordTest, CanonicalJsonAndHash) {
  Record r = Sample();
  r.subject = "tab\there \"quoted\"";
  const std::string canonical =
      R"({"seq":1,"time":"2026-11-25T17:02:00Z","actor":"enforcer","action":"sshd.set",)"
      R"("subject":"tab\there \"quoted\"","detail":{"key":"PermitRootLogin","value":"no"}})";
  EXPECT_EQ(*CanonicalJson(r), canonical);
  EXPECT_EQ(*ComputeHash(r), Sha256Hex(std::string(kZeroHash) + canonical));

  r.actor = "bad \xc0\x80";  // an overlong NUL is not UTF-8
  auto bad = CanonicalJson(r);
  ASSERT_FALSE(bad.ok());
  EXPECT_EQ(bad.status().message(), "audit record actor is not valid UTF-8");
}

TEST(AuditRecordTest, StoredFormRoundTrips) {
  Record r = Sample();
  r.hash = *ComputeHash(r);
  const std::string stored = *SerializeRecord(r);
  EXPECT_EQ(stored, R"({"seq":1,"time":"2026-11-25T17:02:00Z","actor":"enforcer",)"
                    R"("action":"sshd.set","subject":"/etc/ssh/sshd_config",)"
                    R"("detail":{"key":"PermitRootLogin","value":"no"},"prev_hash":")" +
                        std::string(kZeroHash) + R"(","hash":")" + r.hash + R"("})");
  auto parsed = ParseRecord(stored);
  ASSERT_TRUE(parsed.ok()) << parsed.status().ToString();
  EXPECT_EQ(parsed->seq, 1u);
  EXPECT_EQ(parsed->time, r.time);
  EXPECT_EQ(parsed->actor, r.actor);
  EXPECT_EQ(parsed->action, r.action);
  EXPECT_EQ(parsed->subject, r.subject);
  EXPECT_EQ(parsed->detail, r.detail);
  EXPECT_EQ(parsed->prev_hash, r.prev_hash);
  EXPECT_EQ(parsed->hash, r.hash);
}

TEST(AuditRecordTest, MalformedStoredRecords) {
  Record r = Sample();
  r.hash = *ComputeHash(r);
  const std::string stored = *SerializeRecord(r);
  auto error = [](std::string_view text) {
    auto parsed = ParseRecord(text);
    EXPECT_FALSE(parsed.ok()) << text;
    EXPECT_EQ(parsed.status().code(), StatusCode::kCorruption);
    return parsed.status().message();
  };
  auto replace = [&](std::string_view from, std::string_view to) {
    std::string text = stored;
    size_t at = text.find(from);
    EXPECT_NE(at, std::string::npos) << from;
    return text.replace(at, from.size(), to);
  };
  EXPECT_EQ(error("seq 1"), "not JSON: Invalid value. at offset 0");
  EXPECT_EQ(error("[]"), "not a JSON object");
  EXPECT_EQ(error(replace("\"seq\":1,", "")), "field \"seq\" is missing");
  EXPECT_EQ(error(replace("\"seq\":1,", "\"seq\":1,\"extra\":2,")), "unexpected field \"extra\"");
  EXPECT_EQ(error(replace("\"seq\":1,", "\"seq\":1,\"seq\":1,")), "a field appears more than once");
  EXPECT_EQ(error(replace("\"seq\":1", "\"seq\":0")), "field \"seq\" is not a positive integer");
  EXPECT_EQ(error(replace("\"seq\":1", "\"seq\":1.5")), "field \"seq\" is not a positive integer");
  EXPECT_EQ(error(replace("\"actor\":\"enforcer\"", "\"actor\":7")),
            "field \"actor\" is not a string");
  EXPECT_EQ(error(replace(R"("detail":{"key":"PermitRootLogin","value":"no"})", R"("detail":[1])")),
            "field \"detail\": not a JSON object");
  EXPECT_EQ(error(replace(R"("value":"no")", R"("value":"no","value":"no")")),
            "field \"detail\": duplicate key \"value\" at /");
  EXPECT_EQ(error(replace("\"hash\":\"", "\"hash\":\"X")),
            "field \"hash\" is not 64 lowercase hex digits");
  EXPECT_EQ(error(replace("\"prev_hash\":\"0", "\"prev_hash\":\"A")),
            "field \"prev_hash\" is not 64 lowercase hex digits");
}

}  // namespace
}  // namespace vigil::audit
