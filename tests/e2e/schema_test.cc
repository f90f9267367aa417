// `crossdock schema` against an independent validator: Debian's python3-jsonschema
// (Draft202012Validator) checks the schema itself against the draft 2020-12
// metaschema, validates every example config (converted to JSON by Python's tomllib)
// against it, and, for configs right and wrong in many ways, agrees with the loader
// (`crossdock validate`) on which are valid.
#include <gtest/gtest.h>

#include <cstdlib>
#include <filesystem>
#include <map>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "tests/support/harness.h"

namespace crossdock::testing {
namespace {

namespace fs = std::filesystem;

// The source tree: $CROSSDOCK_SRC, else the current folder.
fs::path SourceTree() {
  const char* src = std::getenv("CROSSDOCK_SRC");
  return src ? src : ".";
}

// Debian's interpreter, which sees the python3-jsonschema package (another python3
// earlier in PATH, a pyenv one, would not).
constexpr const char* kPython = "/usr/bin/python3";

// TOML to JSON, as a user would convert a config.
constexpr const char* kTomlToJson =
    "import tomllib, json, sys; json.dump(tomllib.load(open(sys.argv[1], 'rb')), sys.stdout)";

// argv: SCHEMA JSON... Checks SCHEMA against the metaschema, then prints a JSON object
// mapping each JSON file to the messages of the errors found in it ([] when valid).
constexpr const char* kValidator = R"(import json, sys
from jsonschema import Draft202012Validator, validators
with open(sys.argv[1]) as f:
    schema = json.load(f)
Draft202012Validator.check_schema(schema)
if validators.validator_for(schema) is not Draft202012Validator:
    sys.exit("the schema does not declare draft 2020-12")
validator = Draft202012Validator(schema)
found = {}
for path in sys.argv[2:]:
    with open(path) as f:
        instance = json.load(f)
    found[path] = sorted("/" + "/".join(map(str, e.absolute_path)) + ": " + e.message
                         for e in validator.iter_errors(instance))
json.dump(found, sys.stdout)
)";

class SchemaTest : public ::testing::Test {
 protected:
  void SetUp() override {
    RunResult schema = RunCrossdock({"schema"});
    ASSERT_EQ(schema.exit_code, 0) << schema.err;
    ASSERT_EQ(schema.err, "");
    schema_path_ = dir_.Sub("crossdock.schema.json");
    WriteFile(schema_path_, schema.out);
    WriteFile(dir_.Sub("validator.py"), kValidator);
    WriteFile(dir_.Sub("password.txt"), "s3cret\n");
    WriteFile(dir_.Sub("ca.pem"), "-----BEGIN CERTIFICATE-----\n");
    WriteFile(dir_.Sub("auth.json"), "{\"auths\": {}}\n");
  }

  // TOML_PATH converted to JSON beside it (in dir_); returns the JSON file's path.
  std::string ToJson(const std::string& toml_path, const std::string& name) {
    RunResult r = RunCommand({kPython, "-c", kTomlToJson, toml_path});
    EXPECT_EQ(r.exit_code, 0) << toml_path << ": " << r.err;
    const std::string json_path = dir_.Sub(name + ".json");
    WriteFile(json_path, r.out);
    return json_path;
  }

  // The schema's errors for each JSON file ([] when valid), by path.
  std::map<std::string, std::vector<std::string>> Validate(const std::vector<std::string>& files) {
    std::vector<std::string> argv = {kPython, dir_.Sub("validator.py"), schema_path_};
    argv.insert(argv.end(), files.begin(), files.end());
    RunResult r = RunCommand(argv);
    EXPECT_EQ(r.exit_code, 0) << r.err;
    if (r.exit_code != 0) return {};
    return nlohmann::json::parse(r.out).get<std::map<std::string, std::vector<std::string>>>();
  }

  TempDir dir_;
  std::string schema_path_;
};

TEST_F(SchemaTest, SchemaIsAValidDraft202012Schema) {
  // The validator script checks the schema against the metaschema before anything else.
  const std::string empty = dir_.Sub("empty.toml");
  WriteFile(empty, "");
  const auto found = Validate({ToJson(empty, "empty")});
  ASSERT_EQ(found.size(), 1u);
  EXPECT_EQ(found.begin()->second, std::vector<std::string>{});
  EXPECT_EQ(nlohmann::json::parse(ReadFile(schema_path_))["$schema"],
            "https://json-schema.org/draft/2020-12/schema");
}

TEST_F(SchemaTest, EveryExampleConfigValidates) {
  const fs::path examples = SourceTree() / "examples";
  ASSERT_TRUE(fs::is_directory(examples)) << examples << " (set CROSSDOCK_SRC to the source tree)";
  std::vector<std::string> files;
  std::map<std::string, std::string> example_of;
  for (const auto& entry : fs::recursive_directory_iterator(examples)) {
    if (entry.path().extension() != ".toml") continue;
    const std::string name = "example-" + std::to_string(files.size());
    files.push_back(ToJson(entry.path().string(), name));
    example_of[files.back()] = entry.path().lexically_relative(examples).string();
  }
  EXPECT_GE(files.size(), 10u);
  for (const auto& [file, errors] : Validate(files)) {
    EXPECT_EQ(errors, std::vector<std::string>{}) << example_of[file];
  }
}

TEST_F(SchemaTest, ConfigWrittenAsTheReadmeShowsValidatesWithCrossdock) {
  // README "Editor support": the schema beside the config, named on its first line.
  const std::string config = dir_.Sub("crossdock.toml");
  WriteFile(config,
            "#:schema ./crossdock.schema.json\n"
            "[endpoints.src]\nurl = \"http://127.0.0.1:5001\"\n"
            "[endpoints.dst]\nurl = \"http://127.0.0.1:5002\"\n"
            "[rules.mirror]\nsource = \"src\"\ndestination = \"dst\"\n");
  RunResult r = RunCrossdock({"validate"}, {}, dir_.path());
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(r.out, "The configuration is valid: 2 endpoints, 1 rule.\n");
  const auto found = Validate({ToJson(config, "crossdock")});
  ASSERT_EQ(found.size(), 1u);
  EXPECT_EQ(found.begin()->second, std::vector<std::string>{});
}

// The loader and the schema on one config: both accept it, or both refuse it.
struct Case {
  std::string name;
  std::string toml;
  // "" : valid; otherwise a part of the schema error expected (the only one).
  std::string schema_error;
};

constexpr const char* kEndpoints =
    "[endpoints.src]\nurl = \"http://127.0.0.1:5001\"\n"
    "[endpoints.dst]\nurl = \"http://127.0.0.1:5002\"\n";
constexpr const char* kRule = "[rules.r]\nsource = \"src\"\ndestination = \"dst\"\n";

// tests/data/every-key.toml: every key of every table, each with a value other than
// its default. The schema must give each key the type the loader reads it as.
std::string EveryKeyConfig() {
  return ReadFile((SourceTree() / "tests" / "data" / "every-key.toml").string());
}

std::vector<Case> Cases() {
  const std::string e = kEndpoints, r = kRule;
  const std::string home = "[settings]\nhome = \"src\"\n";
  return {
      {"required keys only", e + r, ""},
      {"every key", EveryKeyConfig(), ""},
      {"push rule relative to home", home + e + "[rules.r]\nmode = \"push\"\nremote = \"dst\"\n",
       ""},
      {"destinations as one string", e + "[rules.r]\nsource = \"src\"\ndestinations = \"dst\"\n",
       ""},
      {"flatten as a word", e + r + "dest_namespace = \"dr/mirror\"\nflatten = \"all\"\n", ""},
      {"docker hub without url, password from a file",
       e + "[endpoints.hub]\ntype = \"docker-hub\"\nusername = \"me\"\n"
           "password = \"file:password.txt\"\n" + r,
       ""},
      {"password written in the config (a warning)",
       "[endpoints.src]\nurl = \"http://127.0.0.1:5001\"\nusername = \"me\"\n"
       "password = \"hunter2\"\n[endpoints.dst]\nurl = \"http://127.0.0.1:5002\"\n" + r,
       ""},
      {"limits and labels",
       "[endpoints.src]\nurl = \"http://127.0.0.1:5001\"\nrate_limit = \"600/m\"\n"
       "max_connections = 256\n[endpoints.dst]\nurl = \"http://127.0.0.1:5002\"\n" + r +
           "labels = \"team=a b\"\nexclude_labels = [\"x\", \"y=\"]\nretries = 0\n",
       ""},
      {"wrong type", "[settings]\nparallelism = \"ten\"\n" + e + r,
       "/settings/parallelism: 'ten' is not of type 'integer'"},
      {"unknown key in a rule", e + r + "ovveride = true\n",
       "('ovveride' was unexpected)"},
      {"unknown top-level table", "[setings]\n" + e + r, "('setings' was unexpected)"},
      {"unknown key in [settings.webhook]", "[settings.webhook]\nsecret = \"env:X\"\n" + e + r,
       "('secret' was unexpected)"},
      {"integer above its range", e + r + "retries = 11\n", "11 is greater than the maximum of 10"},
      {"negative max_deletes", "[settings]\nmax_deletes = -1\n" + e + r,
       "-1 is less than the minimum of 0"},
      {"unknown resource", e + r + "resource = \"helm\"\n",
       "'helm' is not one of ['image', 'chart', 'artifact']"},
      {"unknown endpoint type", "[endpoints.src]\ntype = \"harbour\"\nurl = \"http://127.0.0.1:1\"\n"
       "[endpoints.dst]\nurl = \"http://127.0.0.1:5002\"\n" + r,
       "'harbour' is not one of"},
      {"mode without [settings] home", e + "[rules.r]\nmode = \"push\"\nremote = \"dst\"\n",
       "'settings' is a required property"},
      {"mode with source", home + e + "[rules.r]\nmode = \"push\"\nremote = \"dst\"\nsource = \"src\"\n",
       "should not be valid under"},
      {"remote without mode", e + r + "remote = \"dst\"\n", "should not be valid under"},
      {"source without destination", e + "[rules.r]\nsource = \"src\"\n",
       "is not valid under any of the given schemas"},
      {"destination and destinations", e + r + "destinations = [\"dst\"]\n", "is valid under each of"},
      {"empty destinations", e + "[rules.r]\nsource = \"src\"\ndestinations = []\n",
       "[] is too short"},
      {"a destination named twice", e + "[rules.r]\nsource = \"src\"\ndestinations = [\"dst\", \"dst\"]\n",
       "has non-unique elements"},
      {"registry without url", "[endpoints.src]\ntype = \"harbor\"\n[endpoints.dst]\n"
       "url = \"http://127.0.0.1:5002\"\n" + r,
       "'url' is a required property"},
      {"flatten out of range", e + r + "dest_namespace = \"mirror\"\nflatten = 4\n",
       "4 is not valid under any of the given schemas"},
      {"environment variable name that is not one",
       "[endpoints.src]\nurl = \"http://127.0.0.1:5001\"\nusername = \"me\"\n"
       "password = \"env:1PASSWORD\"\n[endpoints.dst]\nurl = \"http://127.0.0.1:5002\"\n" + r,
       "'env:1PASSWORD' is not valid under any of the given schemas"},
      {"file secret without a path", "[settings.webhook]\ntoken = \"file:\"\n" + e + r,
       "'file:' is not valid under any of the given schemas"},
      {"empty webhook token", "[settings.webhook]\ntoken = \"\"\n" + e + r, "'' is too short"},
      {"label without a key", e + r + "labels = [\"=x\"]\n", "'=x' does not match"},
      {"namespace in capitals", e + r + "dest_namespace = \"Mirror\"\n", "'Mirror' does not match"},
      {"endpoint name with a space", "[endpoints.\"a b\"]\nurl = \"http://127.0.0.1:5003\"\n" + e + r,
       "'a b' does not match"},
      {"rate limit of nothing",
       "[endpoints.src]\nurl = \"http://127.0.0.1:5001\"\nrate_limit = \"0/s\"\n"
       "[endpoints.dst]\nurl = \"http://127.0.0.1:5002\"\n" + r,
       "'0/s' does not match"},
      {"settings not a table", "settings = 5\n" + e + r, "5 is not of type 'object'"},
  };
}

TEST_F(SchemaTest, SchemaAndLoaderAgreeOnWhatIsValid) {
  const std::vector<Case> cases = Cases();
  std::vector<std::string> files;
  for (size_t i = 0; i < cases.size(); ++i) {
    const std::string toml = dir_.Sub("case-" + std::to_string(i) + ".toml");
    WriteFile(toml, cases[i].toml);
    files.push_back(ToJson(toml, "case-" + std::to_string(i)));
  }
  const auto found = Validate(files);
  ASSERT_EQ(found.size(), cases.size());
  for (size_t i = 0; i < cases.size(); ++i) {
    const Case& c = cases[i];
    SCOPED_TRACE(c.name + ":\n" + c.toml);
    RunResult loader = RunCrossdock({"validate", "-c", dir_.Sub("case-" + std::to_string(i) + ".toml")});
    const std::vector<std::string>& errors = found.at(files[i]);
    if (c.schema_error.empty()) {
      EXPECT_EQ(loader.exit_code, 0) << loader.err;
      EXPECT_EQ(errors, std::vector<std::string>{});
    } else {
      EXPECT_EQ(loader.exit_code, 1) << loader.err;
      ASSERT_EQ(errors.size(), 1u) << ::testing::PrintToString(errors);
      EXPECT_NE(errors[0].find(c.schema_error), std::string::npos) << errors[0];
    }
  }
}

TEST_F(SchemaTest, HelpIsPinned) {
  RunResult r = RunCrossdock({"schema", "--help"});
  EXPECT_EQ(r.exit_code, 0);
  EXPECT_EQ(r.out,
            "Usage: crossdock schema [options]\n"
            "\n"
            "Prints the JSON Schema (draft 2020-12) of crossdock.toml: every key with its type,\n"
            "allowed values, default and description. Editors that read a #:schema line\n"
            "(taplo, Even Better TOML) use it to complete and check the config:\n"
            "\n"
            "  crossdock schema > crossdock.schema.json\n"
            "  # first line of crossdock.toml:\n"
            "  #:schema ./crossdock.schema.json\n"
            "\n"
            "Options:\n"
            "  -h [ --help ]         Show this help\n");
  RunResult extra = RunCrossdock({"schema", "crossdock.toml"});
  EXPECT_EQ(extra.exit_code, 1);
  EXPECT_EQ(extra.out, "");
  EXPECT_NE(extra.err.find("Error: too many positional options"), std::string::npos) << extra.err;
}

}  // namespace
}  // namespace crossdock::testing
