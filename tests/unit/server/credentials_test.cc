// Secrets, the enroll secret file, and people's tokens over a real embedded hub store.
#include "server/credentials.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <sys/stat.h>

#include <filesystem>
#include <fstream>
#include <set>

#include "engine/digest.h"
#include "tests/testing/sql_fixture.h"

namespace vigil::server {
namespace {

using ::testing::HasSubstr;
using ::testing::MatchesRegex;
using ::testing::Not;
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

TEST(NewSecretTest, IsPrefixedRandomHex) {
  const std::string token = NewSecret("vgt_");
  EXPECT_THAT(token, MatchesRegex("vgt_[0-9a-f]{64}"));
  EXPECT_THAT(NewSecret("vgn_"), MatchesRegex("vgn_[0-9a-f]{64}"));
  std::set<std::string> seen;
  for (int i = 0; i < 100; ++i) seen.insert(NewSecret("x"));
  EXPECT_EQ(seen.size(), 100u);
  EXPECT_EQ(SecretHash(token), Sha256Hex(token));
  EXPECT_THAT(SecretHash(token), MatchesRegex("[0-9a-f]{64}"));
}

TEST(EnrollSecretTest, CreatedPrivateOnceAndReused) {
  TempDir dir;
  const std::string state = dir.path() + "/hub";
  auto first = LoadOrCreateEnrollSecret(state);
  ASSERT_TRUE(first.ok()) << first.status().ToString();
  EXPECT_THAT(*first, MatchesRegex("vge_[0-9a-f]{64}"));
  const std::string file = state + "/enroll_secret";
  EXPECT_EQ(ModeOf(file), 0600u);
  EXPECT_EQ(ReadAll(file), *first + "\n");  // one line
  auto second = LoadOrCreateEnrollSecret(state);
  ASSERT_TRUE(second.ok()) << second.status().ToString();
  EXPECT_EQ(*second, *first);
  // No temporary file is left behind.
  int entries = 0;
  for ([[maybe_unused]] const auto& e : std::filesystem::directory_iterator(state)) ++entries;
  EXPECT_EQ(entries, 1);
}

TEST(EnrollSecretTest, AnOperatorsOwnSecretIsReadTrimmed) {
  TempDir dir;
  dir.WriteFile("enroll_secret", "  plant-7-secret \r\nignored second line\n");
  ASSERT_EQ(::chmod((dir.path() + "/enroll_secret").c_str(), 0600), 0);
  auto secret = LoadOrCreateEnrollSecret(dir.path());
  ASSERT_TRUE(secret.ok()) << secret.status().ToString();
  EXPECT_EQ(*secret, "plant-7-secret");
}

TEST(EnrollSecretTest, AFileOthersCanReadIsRefused) {
  TempDir dir;
  dir.WriteFile("enroll_secret", "s3cret\n");
  const std::string file = dir.path() + "/enroll_secret";
  for (unsigned mode : {0644u, 0640u, 0604u, 0620u}) {
    ASSERT_EQ(::chmod(file.c_str(), mode), 0);
    auto secret = LoadOrCreateEnrollSecret(dir.path());
    ASSERT_FALSE(secret.ok()) << std::oct << mode;
    EXPECT_EQ(secret.status().code(), StatusCode::kFailedPrecondition);
    EXPECT_THAT(secret.status().message(), HasSubstr("enroll secret file " + file));
    EXPECT_THAT(secret.status().message(), HasSubstr("chmod 600"));
    EXPECT_THAT(secret.status().message(), Not(HasSubstr("s3cret")));
  }
  ASSERT_EQ(::chmod(file.c_str(), 0400), 0);
  EXPECT_EQ(*LoadOrCreateEnrollSecret(dir.path()), "s3cret");
}

TEST(EnrollSecretTest, AnEmptyFileIsRefusedByName) {
  TempDir dir;
  dir.WriteFile("enroll_secret", "\n");
  ASSERT_EQ(::chmod((dir.path() + "/enroll_secret").c_str(), 0600), 0);
  auto secret = LoadOrCreateEnrollSecret(dir.path());
  ASSERT_FALSE(secret.ok());
  EXPECT_EQ(secret.status().code(), StatusCode::kInvalidArgument);
  EXPECT_THAT(secret.status().message(), HasSubstr(dir.path() + "/enroll_secret is empty"));
}

TEST(EnrollSecretTest, ADirectoryInItsPlaceIsRefused) {
  TempDir dir;
  dir.MakeDir("enroll_secret");
  auto secret = LoadOrCreateEnrollSecret(dir.path());
  ASSERT_FALSE(secret.ok());
  EXPECT_THAT(secret.status().message(), HasSubstr(dir.path() + "/enroll_secret"));
}

TEST(EnrollSecretTest, MatchesOnlyTheSameSecret) {
  EXPECT_TRUE(EnrollSecretMatches("vge_abc", "vge_abc"));
  EXPECT_FALSE(EnrollSecretMatches("vge_abc", "vge_abd"));
  EXPECT_FALSE(EnrollSecretMatches("vge_abc", "vge_ab"));
  EXPECT_FALSE(EnrollSecretMatches("vge_abc", "vge_abcd"));
  EXPECT_FALSE(EnrollSecretMatches("vge_abc", ""));
  EXPECT_FALSE(EnrollSecretMatches("", ""));  // a hub without a secret enrolls nobody
}

TEST(RoleAllowsTest, EachRoleIncludesTheOnesBefore) {
  const Role order[] = {Role::kViewer, Role::kAnalyst, Role::kOperator, Role::kAdmin};
  for (size_t have = 0; have < 4; ++have) {
    for (size_t need = 0; need < 4; ++need) {
      EXPECT_EQ(RoleAllows(order[have], order[need]), have >= need)
          << RoleName(order[have]) << " for " << RoleName(order[need]);
    }
  }
}

class TokenTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto store = OpenEmbeddedHubStore(dir_.path() + "/store");
    ASSERT_TRUE(store.ok()) << store.status().ToString();
    store_ = std::move(*store);
  }

  TempDir dir_;
  std::unique_ptr<HubStore> store_;
};

TEST_F(TokenTest, CreateAuthenticateRevoke) {
  auto created = CreateToken(*store_, Role::kAnalyst, "alice's laptop", "local");
  ASSERT_TRUE(created.ok()) << created.status().ToString();
  EXPECT_THAT(created->secret, MatchesRegex("vgt_[0-9a-f]{64}"));
  EXPECT_THAT(created->record.id, MatchesRegex("tok_[0-9a-f]{12}"));
  EXPECT_EQ(created->record.role, Role::kAnalyst);
  EXPECT_EQ(created->record.name, "alice's laptop");
  EXPECT_EQ(created->record.created_by, "local");
  EXPECT_GT(created->record.created_at, 1700000000);
  EXPECT_FALSE(created->record.revoked);
  // Only the hash is kept.
  EXPECT_EQ(created->record.hash, Sha256Hex(created->secret));
  EXPECT_EQ(*store_->GetToken(created->record.id), created->record);

  for (const std::string& header :
       {"Bearer " + created->secret, created->secret, "bearer  " + created->secret + " ",
        "BEARER " + created->secret}) {
    auto who = Authenticate(*store_, header);
    ASSERT_TRUE(who.ok()) << header << ": " << who.status().ToString();
    EXPECT_EQ(*who, created->record);
  }

  ASSERT_TRUE(RevokeToken(*store_, created->record.id).ok());
  auto refused = Authenticate(*store_, "Bearer " + created->secret);
  ASSERT_FALSE(refused.ok());
  EXPECT_EQ(refused.status().code(), StatusCode::kUnauthenticated);
  EXPECT_THAT(refused.status().message(), HasSubstr(created->record.id + " was revoked"));
  auto record = *store_->GetToken(created->record.id);
  ASSERT_TRUE(record.has_value());
  EXPECT_TRUE(record->revoked);
  EXPECT_GT(record->revoked_at, 0);
  // Revoking again keeps the first time.
  ASSERT_TRUE(RevokeToken(*store_, created->record.id).ok());
  EXPECT_EQ(*store_->GetToken(created->record.id), record);
}

TEST_F(TokenTest, WrongOrAbsentTokensAreUnauthenticated) {
  auto created = CreateToken(*store_, Role::kAdmin, "bootstrap", "local");
  ASSERT_TRUE(created.ok()) << created.status().ToString();
  std::string wrong = created->secret;
  wrong.back() = wrong.back() == '0' ? '1' : '0';
  for (const std::string& header :
       {std::string(), std::string("Bearer "), std::string("   "), "Bearer " + wrong, wrong,
        "Basic " + created->secret, "Bearer " + created->record.hash,
        "Bearer " + created->record.id}) {
    auto who = Authenticate(*store_, header);
    ASSERT_FALSE(who.ok()) << "accepted: " << header;
    EXPECT_EQ(who.status().code(), StatusCode::kUnauthenticated) << header;
    EXPECT_THAT(who.status().message(), Not(HasSubstr(created->secret)));
  }
}

TEST_F(TokenTest, TokensSurviveAReopenAndAreListedInOrder) {
  auto a = CreateToken(*store_, Role::kAdmin, "first", "local");
  ASSERT_TRUE(a.ok());
  auto b = CreateToken(*store_, Role::kViewer, "second", a->record.id);
  ASSERT_TRUE(b.ok());
  store_.reset();
  auto reopened = OpenEmbeddedHubStore(dir_.path() + "/store");
  ASSERT_TRUE(reopened.ok()) << reopened.status().ToString();
  store_ = std::move(*reopened);
  EXPECT_EQ(*Authenticate(*store_, "Bearer " + b->secret), b->record);
  auto tokens = store_->ListTokens();
  ASSERT_TRUE(tokens.ok());
  ASSERT_EQ(tokens->size(), 2u);
  EXPECT_EQ((*tokens)[0], a->record);
  EXPECT_EQ((*tokens)[1], b->record);
}

TEST_F(TokenTest, BadRequestsAreNamed) {
  EXPECT_EQ(CreateToken(*store_, Role::kViewer, " ", "local").status().code(),
            StatusCode::kInvalidArgument);
  EXPECT_EQ(CreateToken(*store_, Role::kViewer, "x", "").status().code(),
            StatusCode::kInvalidArgument);
  Status unknown = RevokeToken(*store_, "tok_000000000000");
  EXPECT_EQ(unknown.code(), StatusCode::kNotFound);
  EXPECT_THAT(unknown.message(), HasSubstr("tok_000000000000"));
  EXPECT_TRUE(store_->ListTokens()->empty());
}

}  // namespace
}  // namespace vigil::server
