#include "planner/naming.h"

#include <gtest/gtest.h>

namespace crossdock::planner {
namespace {

struct FlattenCase {
  const char* source;
  const char* dest_namespace;
  int flatten;
  const char* expected;  // nullptr: an error
};

// Every row of Harbor's replaceNamespace comment (src/controller/replication/flow/stage.go)
// and of ../shared/reference/harbor-replication.md, then multi-level namespaces and
// single-component repositories.
TEST(FlattenTest, NamesDestinationsAsHarbor) {
  const FlattenCase cases[] = {
      {"a/b/c/d", "ns", -1, "ns/d"},
      {"a/b/c/d", "ns", 0, "ns/a/b/c/d"},
      {"a/b/c/d", "ns", 1, "ns/b/c/d"},
      {"a/b/c/d", "ns", 2, "ns/c/d"},
      {"a/b/c/d", "ns", 3, "ns/d"},
      {"a/b/c/d", "ns", 4, nullptr},
      {"a/b/c/d", "x/y", 1, "x/y/b/c/d"},
      {"a/b/c/d", "x/y", -1, "x/y/d"},
      {"library/nginx", "mirror", 0, "mirror/library/nginx"},
      {"library/nginx", "mirror", 1, "mirror/nginx"},
      {"library/nginx", "mirror", 2, nullptr},
      {"nginx", "mirror", -1, "mirror/nginx"},
      {"nginx", "mirror", 0, "mirror/nginx"},
      {"nginx", "mirror", 1, nullptr},
      {"a/b/c/d", "", -1, "a/b/c/d"},
      {"a/b/c/d", "", 3, "a/b/c/d"},
      {"a/b/c/d", "", 4, "a/b/c/d"},
      {"nginx", "", 1, "nginx"},
  };
  for (const FlattenCase& c : cases) {
    auto got = DestinationRepository(c.source, c.dest_namespace, c.flatten);
    if (c.expected == nullptr) {
      EXPECT_FALSE(got.ok()) << c.source << " into " << c.dest_namespace << " flatten "
                             << c.flatten;
    } else {
      ASSERT_TRUE(got.ok()) << got.status().message();
      EXPECT_EQ(*got, c.expected) << c.source << " into " << c.dest_namespace << " flatten "
                                  << c.flatten;
    }
  }
}

TEST(FlattenTest, TooDeepNamesTheRepositoryAndItsDepth) {
  auto got = DestinationRepository("a/b/c/d", "ns", 4);
  ASSERT_FALSE(got.ok());
  EXPECT_EQ(got.status().code(), core::Code::kInvalidArgument);
  EXPECT_EQ(
      got.status().message(),
      "cannot flatten 4 levels of \"a/b/c/d\": it has only 3 path components before its name");
}

TEST(FlattenTest, TooDeepForASingleComponentRepository) {
  auto got = DestinationRepository("nginx", "mirror", 1);
  ASSERT_FALSE(got.ok());
  EXPECT_EQ(got.status().message(),
            "cannot flatten 1 level of \"nginx\": it has only 0 path components before its name");
}

TEST(NamingTest, EmptyNamespaceKeepsTheSourcePath) {
  auto got = DestinationRepository("team/app/api", "", 0);
  ASSERT_TRUE(got.ok());
  EXPECT_EQ(*got, "team/app/api");
}

}  // namespace
}  // namespace crossdock::planner
