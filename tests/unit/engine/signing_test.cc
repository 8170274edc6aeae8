// Ed25519 keys, signatures and the config message's signature over its canonical form.
#include "engine/signing.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <string>

namespace vigil {
namespace {

using ::testing::HasSubstr;
using ::testing::MatchesRegex;

SigningKey NewKey() {
  auto key = GenerateSigningKey();
  EXPECT_TRUE(key.ok()) << key.status().ToString();
  return key.ok() ? *key : SigningKey{};
}

// RFC 8032, section 7.1, TEST 2: a fixed key, a one-byte message and its signature.
constexpr char kRfcPrivatePem[] =
    "-----BEGIN PRIVATE KEY-----\n"
    "MC4CAQAwBQYDK2VwBCIEIEzNCJso/5banbbDRuwRTg9bijGfNaumJNqM9u1PuKb7\n"
    "-----END PRIVATE KEY-----\n";
constexpr char kRfcPublicKey[] = "PUAXw+hDiVqStwqnTRt+vJyYLM8uxJaMwM1V8Sr0Zgw=";
constexpr char kRfcSignature[] =
    "kqAJqfDUyrhyDoILX2QlQKKye1QWUD+Ps3YiI+vbadoIWsHkPhWZbkWPNhPQ8R2M"
    "OHsurrQwKu6wDSkWErsMAA==";

TEST(Base64Test, RoundTripsAndIsStrict) {
  EXPECT_EQ(Base64Encode(""), "");
  EXPECT_EQ(Base64Encode("f"), "Zg==");
  EXPECT_EQ(Base64Encode("fo"), "Zm8=");
  EXPECT_EQ(Base64Encode("foo"), "Zm9v");
  EXPECT_EQ(Base64Encode("foob"), "Zm9vYg==");
  const std::string bytes("\x00\xff\x10\x80\x7f", 5);
  auto back = Base64Decode(Base64Encode(bytes));
  ASSERT_TRUE(back.ok()) << back.status().ToString();
  EXPECT_EQ(*back, bytes);
  for (const char* bad :
       {"Zg=", "Zg==\n", "Z g=", "Zh==", "Zm9=", "==Zg", "Zm-v", "Z===", "Zg=a"}) {
    auto decoded = Base64Decode(bad);
    EXPECT_FALSE(decoded.ok()) << "'" << bad << "' decoded";
    EXPECT_EQ(decoded.status().code(), StatusCode::kInvalidArgument) << bad;
  }
}

TEST(SigningTest, GeneratedKeyIsPemWithBase64RawPublicKey) {
  const SigningKey key = NewKey();
  EXPECT_THAT(key.private_pem, HasSubstr("-----BEGIN PRIVATE KEY-----"));
  EXPECT_THAT(key.public_key, MatchesRegex("[A-Za-z0-9+/]{43}="));
  auto raw = Base64Decode(key.public_key);
  ASSERT_TRUE(raw.ok());
  EXPECT_EQ(raw->size(), 32u);
  EXPECT_NE(NewKey().public_key, key.public_key);
  auto loaded = LoadSigningKey(key.private_pem);
  ASSERT_TRUE(loaded.ok()) << loaded.status().ToString();
  EXPECT_EQ(loaded->public_key, key.public_key);
}

TEST(SigningTest, MatchesTheRfc8032TestVector) {
  auto key = LoadSigningKey(kRfcPrivatePem);
  ASSERT_TRUE(key.ok()) << key.status().ToString();
  EXPECT_EQ(key->public_key, kRfcPublicKey);
  auto signature = Sign(*key, "\x72");
  ASSERT_TRUE(signature.ok()) << signature.status().ToString();
  EXPECT_EQ(*signature, kRfcSignature);
  EXPECT_EQ(Verify(kRfcPublicKey, "\x72", kRfcSignature).value_or(false), true);
}

TEST(SigningTest, RoundTripTamperedMessageAndWrongKey) {
  const SigningKey key = NewKey();
  const SigningKey other = NewKey();
  auto signature = Sign(key, "config version 3");
  ASSERT_TRUE(signature.ok()) << signature.status().ToString();
  EXPECT_THAT(*signature, MatchesRegex("[A-Za-z0-9+/]{86}=="));

  auto good = Verify(key.public_key, "config version 3", *signature);
  ASSERT_TRUE(good.ok()) << good.status().ToString();
  EXPECT_TRUE(*good);

  auto tampered = Verify(key.public_key, "config version 4", *signature);
  ASSERT_TRUE(tampered.ok()) << tampered.status().ToString();
  EXPECT_FALSE(*tampered);

  auto wrong_key = Verify(other.public_key, "config version 3", *signature);
  ASSERT_TRUE(wrong_key.ok()) << wrong_key.status().ToString();
  EXPECT_FALSE(*wrong_key);

  // A flipped bit in the signature: well-formed, does not verify.
  auto raw = Base64Decode(*signature);
  ASSERT_TRUE(raw.ok());
  (*raw)[10] = static_cast<char>((*raw)[10] ^ 1);
  auto flipped = Verify(key.public_key, "config version 3", Base64Encode(*raw));
  ASSERT_TRUE(flipped.ok()) << flipped.status().ToString();
  EXPECT_FALSE(*flipped);
}

TEST(SigningTest, MalformedInputsAreInvalidArgument) {
  const SigningKey key = NewKey();
  auto signature = Sign(key, "m");
  ASSERT_TRUE(signature.ok());

  auto not_base64 = Verify("not base64!", "m", *signature);
  EXPECT_EQ(not_base64.status().code(), StatusCode::kInvalidArgument);
  EXPECT_THAT(not_base64.status().message(), HasSubstr("public key"));

  auto short_key = Verify(Base64Encode(std::string(31, 'k')), "m", *signature);
  EXPECT_EQ(short_key.status().code(), StatusCode::kInvalidArgument);
  EXPECT_THAT(short_key.status().message(), HasSubstr("31 bytes"));

  auto short_signature = Verify(key.public_key, "m", Base64Encode(std::string(63, 's')));
  EXPECT_EQ(short_signature.status().code(), StatusCode::kInvalidArgument);
  EXPECT_THAT(short_signature.status().message(), HasSubstr("signature"));

  auto empty_signature = Verify(key.public_key, "m", "");
  EXPECT_EQ(empty_signature.status().code(), StatusCode::kInvalidArgument);

  auto bad_pem = LoadSigningKey("-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n");
  EXPECT_EQ(bad_pem.status().code(), StatusCode::kInvalidArgument);
  EXPECT_THAT(bad_pem.status().message(), HasSubstr("signing key"));
  EXPECT_EQ(LoadSigningKey("").status().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(Sign(SigningKey{"garbage", ""}, "m").status().code(), StatusCode::kInvalidArgument);
}

TEST(SigningTest, RefusesAKeyOfAnotherAlgorithm) {
  // An EC P-256 private key in PKCS #8 PEM.
  constexpr char kEcPem[] =
      "-----BEGIN PRIVATE KEY-----\n"
      "MIGHAgEAMBMGByqGSM49AgEGCCqGSM49AwEHBG0wawIBAQQguwYH3tx3UvMaXi65\n"
      "JoF1edJu1YW+2ENRf75BjheSkqWhRANCAARYyi+fBRyRkyDNd1faD2xRfENJy2mY\n"
      "nsPIn1yL+ORmuiwfEZEI6dV2MgBTE9XqboPcQKd2k4Tjv4ZAaRrvdVcO\n"
      "-----END PRIVATE KEY-----\n";
  auto loaded = LoadSigningKey(kEcPem);
  EXPECT_EQ(loaded.status().code(), StatusCode::kInvalidArgument);
  EXPECT_THAT(loaded.status().message(), HasSubstr("not an Ed25519"));
}

TEST(SignConfigTest, SignatureSurvivesKeyOrderAndWhitespace) {
  const SigningKey key = NewKey();
  const std::string config =
      R"({"type":"config","v":1,"version":3,"roles":["historian"],"vars":{"b":"2","a":["1"]},)"
      R"("enforce":"off","target_sl":2,"packs":[]})";
  auto signature = SignConfig(key, config);
  ASSERT_TRUE(signature.ok()) << signature.status().ToString();

  const std::string signed_config =
      config.substr(0, config.size() - 1) + R"(,"signature":")" + *signature + R"("})";
  auto verified = VerifyConfig(key.public_key, signed_config);
  ASSERT_TRUE(verified.ok()) << verified.status().ToString();
  EXPECT_TRUE(*verified);

  // The same content re-serialised: signature first, keys reordered, whitespace added.
  const std::string reordered =
      "{\n  \"signature\": \"" + *signature +
      "\",\n  \"packs\": [ ],\n  \"vars\": {\"a\": [\"1\"], \"b\": \"2\"},\n"
      "  \"target_sl\": 2, \"enforce\": \"off\", \"roles\": [\"historian\"],\n"
      "  \"version\": 3, \"v\": 1, \"type\": \"config\"\n}\n";
  auto reverified = VerifyConfig(key.public_key, reordered);
  ASSERT_TRUE(reverified.ok()) << reverified.status().ToString();
  EXPECT_TRUE(*reverified);

  // Any change of content breaks it.
  std::string tampered = signed_config;
  tampered.replace(tampered.find("\"off\""), 5, "\"auto\"");
  auto refused = VerifyConfig(key.public_key, tampered);
  ASSERT_TRUE(refused.ok()) << refused.status().ToString();
  EXPECT_FALSE(*refused);

  auto other = VerifyConfig(NewKey().public_key, signed_config);
  ASSERT_TRUE(other.ok());
  EXPECT_FALSE(*other);
}

TEST(SignConfigTest, UnsignedOrMalformedConfigIsInvalidArgument) {
  const SigningKey key = NewKey();
  auto unsigned_config = VerifyConfig(key.public_key, R"({"type":"config","version":1})");
  EXPECT_EQ(unsigned_config.status().code(), StatusCode::kInvalidArgument);
  EXPECT_THAT(unsigned_config.status().message(), HasSubstr("unsigned"));

  auto numeric = VerifyConfig(key.public_key, R"({"type":"config","signature":7})");
  EXPECT_EQ(numeric.status().code(), StatusCode::kInvalidArgument);
  EXPECT_THAT(numeric.status().message(), HasSubstr("/signature"));

  auto twice = VerifyConfig(key.public_key, R"({"signature":"AA==","signature":"AA=="})");
  EXPECT_EQ(twice.status().code(), StatusCode::kInvalidArgument);

  EXPECT_EQ(SignConfig(key, "[1,2]").status().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(SignConfig(key, "{not json").status().code(), StatusCode::kInvalidArgument);

  // An existing signature is not part of what is signed: signing twice gives the same text.
  auto first = SignConfig(key, R"({"version":1})");
  auto again = SignConfig(key, R"({"version":1,"signature":"old"})");
  ASSERT_TRUE(first.ok() && again.ok());
  EXPECT_EQ(*first, *again);
}

TEST(SignConfigTest, SignedConfigMessageAddsTheSignatureLast) {
  const SigningKey key = NewKey();
  const std::string config = R"({"type":"config","v":1,"version":2,"packs":[]})";
  auto message = SignedConfigMessage(key, config);
  ASSERT_TRUE(message.ok()) << message.status().ToString();
  auto signature = SignConfig(key, config);
  ASSERT_TRUE(signature.ok());
  EXPECT_EQ(*message,
            config.substr(0, config.size() - 1) + R"(,"signature":")" + *signature + R"("})");
  EXPECT_EQ(VerifyConfig(key.public_key, *message).value_or(false), true);

  auto empty = SignedConfigMessage(key, " { } \n");
  ASSERT_TRUE(empty.ok()) << empty.status().ToString();
  EXPECT_EQ(VerifyConfig(key.public_key, *empty).value_or(false), true);

  auto twice = SignedConfigMessage(key, *message);
  EXPECT_EQ(twice.status().code(), StatusCode::kInvalidArgument);
  EXPECT_THAT(twice.status().message(), HasSubstr("already signed"));
  EXPECT_EQ(SignedConfigMessage(key, "[]").status().code(), StatusCode::kInvalidArgument);
}

}  // namespace
}  // namespace vigil
