// core/toml_text.h: every string and key written reads back as it was given.
#include "core/toml_text.h"

#include <gtest/gtest.h>
#include <toml++/toml.h>

#include <string>

namespace crossdock::core {
namespace {

// KEY = VALUE parsed by toml++, and the value of KEY read back.
std::string RoundTrip(const std::string& key, const std::string& value) {
  const std::string text = TomlKey(key) + " = " + TomlString(value) + "\n";
  toml::table t = toml::parse(text);
  return t[key].value<std::string>().value_or("<missing>");
}

TEST(TomlTextTest, StringsReadBackAsGiven) {
  for (const std::string& s : {std::string(""), std::string("plain"), std::string("a \"quoted\" \\ path"),
                              std::string("tab\tnew\nline\rcr\bb\ff"), std::string("\x01\x1f\x7f", 3),
                              std::string("ünïcode ✓"), std::string("# not a comment"),
                              std::string("'single' and ''' triple")}) {
    EXPECT_EQ(RoundTrip("k", s), s) << TomlString(s);
  }
  EXPECT_EQ(TomlString("a\"b\\c\n\x01"), "\"a\\\"b\\\\c\\n\\u0001\"");
}

TEST(TomlTextTest, KeysAreBareOnlyWhenTomlAllowsIt) {
  EXPECT_EQ(TomlKey("mirror-lib_2"), "mirror-lib_2");
  EXPECT_EQ(TomlKey("dr.registry"), "\"dr.registry\"");
  EXPECT_EQ(TomlKey("push \"all\""), "\"push \\\"all\\\"\"");
  EXPECT_EQ(TomlKey(""), "\"\"");
  for (const char* key : {"dr.registry", "push \"all\"", "ünï", "a=b", "#x", "[t]"})
    EXPECT_EQ(RoundTrip(key, "v"), "v") << key;
}

TEST(TomlTextTest, StringArrays) {
  EXPECT_EQ(TomlStringArray({}), "[]");
  EXPECT_EQ(TomlStringArray({"a", "b\"c"}), "[\"a\", \"b\\\"c\"]");
}

}  // namespace
}  // namespace crossdock::core
