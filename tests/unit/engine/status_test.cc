#include "engine/status.h"

#include <gtest/gtest.h>

#include <cerrno>

namespace vigil {
namespace {

Result<int> Half(int x) {
  if (x % 2 != 0) return Status::InvalidArgument(std::to_string(x) + " is odd");
  return x / 2;
}

Result<int> Quarter(int x) {
  VIGIL_ASSIGN_OR_RETURN(int half, Half(x));
  VIGIL_ASSIGN_OR_RETURN(int quarter, Half(half));
  return quarter;
}

Status CheckEven(int x) {
  VIGIL_RETURN_IF_ERROR(Half(x));
  return Status::Ok();
}

TEST(StatusTest, PropagatesTheFirstError) {
  EXPECT_EQ(*Quarter(8), 2);
  Result<int> r = Quarter(6);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(r.status().message(), "3 is odd");
  EXPECT_TRUE(CheckEven(4).ok());
  EXPECT_EQ(CheckEven(5).message(), "5 is odd");
}

TEST(StatusTest, ContextAndErrno) {
  Status s = Status::FromErrno(ENOENT, "open /etc/x");
  EXPECT_EQ(s.code(), StatusCode::kNotFound);
  EXPECT_EQ(s.WithContext("table users").message(),
            "table users: open /etc/x: No such file or directory");
  EXPECT_EQ(Status::FromErrno(EACCES, "x").code(), StatusCode::kPermissionDenied);
  EXPECT_EQ(Status::FromErrno(EIO, "x").code(), StatusCode::kIoError);
  EXPECT_EQ(Status::Ok().WithContext("ignored"), Status::Ok());
}

TEST(StatusTest, ResultFromOkStatusIsAnInternalError) {
  Result<int> r = Status::Ok();
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), StatusCode::kInternal);
}

}  // namespace
}  // namespace vigil
