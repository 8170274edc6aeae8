// The hub's Ed25519 signing key file: made once, private, reused, and refused when exposed.
#include "server/signing_key.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <sys/stat.h>

#include <filesystem>
#include <fstream>

#include "tests/testing/sql_fixture.h"

namespace vigil::server {
namespace {

using ::testing::HasSubstr;
using testing::TempDir;

unsigned ModeOf(const std::string& path) {
  struct stat st;
  EXPECT_EQ(::stat(path.c_str(), &st), 0) << path;
  return st.st_mode & 07777;
}

std::string ReadAll(const std::string& path) {
  std::ifstream in(path);
  return std::string(std::istreambuf_iterator<char>(in), {});
}

TEST(HubSigningKeyTest, MadeOnFirstCallPrivateAndReused) {
  TempDir dir;
  const std::string state = dir.path() + "/hub/state";
  auto first = LoadOrCreateHubSigningKey(state);
  ASSERT_TRUE(first.ok()) << first.status().ToString();
  const std::string file = state + "/signing/ed25519.pem";
  EXPECT_EQ(ModeOf(file), 0600u);
  EXPECT_EQ(ModeOf(state + "/signing"), 0700u);
  EXPECT_EQ(ReadAll(file), first->private_pem);
  EXPECT_THAT(first->private_pem, HasSubstr("BEGIN PRIVATE KEY"));

  auto second = LoadOrCreateHubSigningKey(state);
  ASSERT_TRUE(second.ok()) << second.status().ToString();
  EXPECT_EQ(second->public_key, first->public_key);
  EXPECT_EQ(second->private_pem, first->private_pem);

  // The key signs what its public key verifies.
  auto signature = Sign(*second, "hello");
  ASSERT_TRUE(signature.ok());
  EXPECT_EQ(Verify(first->public_key, "hello", *signature).value_or(false), true);

  // Nothing but the key is left in the directory (no temporary file).
  int entries = 0;
  for ([[maybe_unused]] const auto& e : std::filesystem::directory_iterator(state + "/signing")) {
    ++entries;
  }
  EXPECT_EQ(entries, 1);
}

TEST(HubSigningKeyTest, RefusesAKeyGroupOrOthersMayRead) {
  TempDir dir;
  ASSERT_TRUE(LoadOrCreateHubSigningKey(dir.path()).ok());
  const std::string file = dir.path() + "/signing/ed25519.pem";
  const std::string before = ReadAll(file);
  ASSERT_EQ(::chmod(file.c_str(), 0640), 0);
  auto refused = LoadOrCreateHubSigningKey(dir.path());
  EXPECT_EQ(refused.status().code(), StatusCode::kFailedPrecondition);
  EXPECT_THAT(refused.status().message(), HasSubstr(file));
  EXPECT_THAT(refused.status().message(), HasSubstr("0640"));
  // Refused, not replaced.
  EXPECT_EQ(ReadAll(file), before);
  ASSERT_EQ(::chmod(file.c_str(), 0604), 0);
  EXPECT_EQ(LoadOrCreateHubSigningKey(dir.path()).status().code(), StatusCode::kFailedPrecondition);
}

TEST(HubSigningKeyTest, AnOperatorsKeyIsUsedAndGarbageIsNamed) {
  TempDir dir;
  auto made = GenerateSigningKey();
  ASSERT_TRUE(made.ok());
  dir.WriteFile("/signing/ed25519.pem", made->private_pem);
  const std::string file = dir.path() + "/signing/ed25519.pem";
  ASSERT_EQ(::chmod(file.c_str(), 0600), 0);
  auto loaded = LoadOrCreateHubSigningKey(dir.path());
  ASSERT_TRUE(loaded.ok()) << loaded.status().ToString();
  EXPECT_EQ(loaded->public_key, made->public_key);

  dir.WriteFile("/signing/ed25519.pem", "not a key\n");
  ASSERT_EQ(::chmod(file.c_str(), 0600), 0);
  auto garbage = LoadOrCreateHubSigningKey(dir.path());
  EXPECT_EQ(garbage.status().code(), StatusCode::kInvalidArgument);
  EXPECT_THAT(garbage.status().message(), HasSubstr(file));
  // Not replaced by a new key either.
  EXPECT_EQ(ReadAll(file), "not a key\n");
}

TEST(HubSigningKeyTest, RefusesALinkInPlaceOfTheKey) {
  TempDir dir;
  auto made = GenerateSigningKey();
  ASSERT_TRUE(made.ok());
  dir.WriteFile("/elsewhere.pem", made->private_pem);
  ASSERT_EQ(::chmod((dir.path() + "/elsewhere.pem").c_str(), 0600), 0);
  dir.MakeDir("/signing");
  dir.Symlink(dir.path() + "/elsewhere.pem", "/signing/ed25519.pem");
  auto refused = LoadOrCreateHubSigningKey(dir.path());
  EXPECT_FALSE(refused.ok());
  EXPECT_THAT(refused.status().message(), HasSubstr("ed25519.pem"));
}

TEST(HubSigningKeyTest, EmptyStateDirIsInvalid) {
  EXPECT_EQ(LoadOrCreateHubSigningKey("").status().code(), StatusCode::kInvalidArgument);
}

}  // namespace
}  // namespace vigil::server
