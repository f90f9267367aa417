#include "core/postgres_url.h"

#include <gtest/gtest.h>

namespace crossdock::core {
namespace {

TEST(PostgresUrlTest, OnlyLibpqsTwoUriPrefixesMakeAUrl) {
  EXPECT_TRUE(IsPostgresUrl("postgres://db/x"));
  EXPECT_TRUE(IsPostgresUrl("postgresql://db/x"));
  EXPECT_FALSE(IsPostgresUrl("POSTGRES://db/x"));
  EXPECT_FALSE(IsPostgresUrl("postgres:db"));
  EXPECT_FALSE(IsPostgresUrl("state/postgres://x.json"));
}

TEST(PostgresUrlTest, SecretsAreFoundWhereLibpqReadsThem) {
  EXPECT_EQ(PostgresUrlSecret("postgres://u@db:5432/x?sslmode=verify-full"), "");
  EXPECT_EQ(PostgresUrlSecret("postgres://db:5432,db2:5433/x"), "");
  EXPECT_EQ(PostgresUrlSecret("postgres://u:pw@db/x"), "a password after the user name");
  EXPECT_EQ(PostgresUrlSecret("postgres://u:@db/x"), "a password after the user name");
  // The user part ends at the first '@' or '/': here "db:5432" is the host.
  EXPECT_EQ(PostgresUrlSecret("postgres://db:5432/x@y"), "");
  EXPECT_EQ(PostgresUrlSecret("postgres://db/x?password=pw"), "a password parameter");
  EXPECT_EQ(PostgresUrlSecret("postgres://db/x?a=b&sslpassword=pw"), "a password parameter");
  EXPECT_EQ(PostgresUrlSecret("postgres://db/x?pa%73sword=pw"), "a password parameter");
  EXPECT_EQ(PostgresUrlSecret("postgres://db/x?passfile=/run/pgpass"), "");
}

TEST(PostgresUrlTest, RedactionHidesEverySecretAndKeepsTheRest) {
  EXPECT_EQ(RedactPostgresUrl("postgres://u:hunter2@db:5432/x?sslmode=require"),
            "postgres://u:REDACTED@db:5432/x?sslmode=require");
  EXPECT_EQ(RedactPostgresUrl("postgres://db/x?password=a&sslmode=require&sslpassword=bb"),
            "postgres://db/x?password=REDACTED&sslmode=require&sslpassword=REDACTED");
  EXPECT_EQ(RedactPostgresUrl("postgres://u@db/x"), "postgres://u@db/x");
}

}  // namespace
}  // namespace crossdock::core
