// Helpers behind LoadConfig (core/config.cc): reading toml++ tables key by key with
// every problem turned into a Diagnostic, "did you mean" suggestions, the checks on
// URLs, namespaces, labels, flatten counts and rate limits, Go durations, and reading
// small local files (also used by core/secret.cc).
#pragma once

#include <toml++/toml.h>

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "core/diagnostics.h"
#include "core/status.h"

namespace crossdock::core::config_check {

// The whole content of PATH; the error message is the system's reason alone
// ("No such file or directory").
Result<std::string> ReadTextFile(const std::string& path);

// " (did you mean \"x\"?)" for the candidate nearest WORD within Levenshtein
// distance 2 (the first one on a tie); "" when none is that near.
std::string DidYouMean(std::string_view word, const std::vector<std::string>& candidates);

// "\"text\"".
std::string Quoted(std::string_view text);

// [A-Za-z0-9_.-]+
bool IsEndpointName(std::string_view name);
// [A-Za-z_][A-Za-z0-9_]*
bool IsEnvironmentName(std::string_view name);
bool HasWhitespace(std::string_view text);

// Hands FOUND to DIAGS in file order (problems without a position last).
void AppendInFileOrder(const Diagnostics& found, Diagnostics* diags);

SourcePos PosOf(const std::string& file, const toml::source_region& region);

// The entries of TABLE in the order they appear in the file (toml++ sorts keys).
std::vector<std::pair<const toml::key*, const toml::node*>> InFileOrder(const toml::table& table);

// A string or an array of strings as written, each with its position.
struct StringItem {
  std::string value;
  SourcePos pos;
};

// Reads one table of the config. Problems go to the Diagnostics given at construction;
// a getter returns nullopt when the key is absent or its value has the wrong type (the
// latter reported as "\"KEY\"<context> must be ...").
class TableReader {
 public:
  // WHERE ends unknown-key messages ("in rule \"x\""); CONTEXT completes type errors
  // (" in rule \"x\"", or "" where the key alone is clear).
  TableReader(const toml::table& table, const toml::source_region& table_source,
              const std::string& file, std::string where, std::string context, Diagnostics* diags);

  // Reports each key not in ALLOWED: "unknown key \"K\" WHERE (did you mean ...?)".
  void RejectUnknownKeys(const std::vector<std::string>& allowed) const;

  const toml::node* Get(std::string_view key) const { return table_.get(key); }
  bool Has(std::string_view key) const { return Get(key) != nullptr; }
  // The position of KEY's value; the table's own position when KEY is absent.
  SourcePos ValuePos(std::string_view key) const;
  SourcePos TablePos() const { return PosOf(file_, table_source_); }

  std::optional<std::string> String(std::string_view key) const {
    return Typed<std::string>(key, "a string");
  }
  std::optional<bool> Bool(std::string_view key) const {
    return Typed<bool>(key, "a boolean (true or false)");
  }
  std::optional<int64_t> Integer(std::string_view key) const {
    return Typed<int64_t>(key, "an integer");
  }
  std::optional<std::vector<StringItem>> StringList(std::string_view key) const;

  // Reports "WHAT is missing required key \"KEY\"" at the table when KEY is absent.
  bool Require(std::string_view key, const std::string& what) const;

 private:
  void WrongType(std::string_view key, const char* expected) const;

  template <typename T>
  std::optional<T> Typed(std::string_view key, const char* expected) const {
    const toml::node* node = Get(key);
    if (node == nullptr) return std::nullopt;
    if (const auto* value = node->as<T>()) return value->get();
    WrongType(key, expected);
    return std::nullopt;
  }

  const toml::table& table_;
  toml::source_region table_source_;
  const std::string& file_;
  std::string where_;
  std::string context_;
  Diagnostics* diags_;
};

// Checks and normalises an endpoint URL in place (lower-case scheme, trailing '/'
// removed). Returns the problem, phrased to follow "url ... of endpoint \"x\"", or
// nullopt. Never repeats a URL that carries credentials. With ALLOW_PATH (a Helm chart
// repository lives at a path) a path may follow the authority.
std::optional<std::string> NormalizeEndpointUrl(std::string* url, const std::string& endpoint,
                                                bool allow_path = false);

// Checks a dest_namespace: '/'-separated components, each a repository path component
// as the distribution spec defines it. Returns the problem or nullopt.
std::optional<std::string> CheckNamespace(const std::string& ns);

// Checks a label filter, "key" or "key=value": the key (before the first '=') must be
// non-empty and contain no whitespace. Returns the problem, phrased to follow
// "label \"x\" in ...", or nullopt.
std::optional<std::string> CheckLabel(std::string_view label);

// Checks that FLATTEN (a count >= 1) can apply to the literal repository path
// REPOSITORY, as the planner names it (planner/naming.h): the last component is
// always kept, so the path needs FLATTEN components before it. Returns the problem,
// naming WHAT ("rule \"x\""), or nullopt.
std::optional<std::string> CheckFlattenDepth(std::string_view repository, int flatten,
                                             const std::string& what);

// Checks a rate_limit ("10/s", "600/m") and returns its requests a second, or the
// problem, naming WHAT ("endpoint \"hub\"").
Result<double> CheckRateLimit(std::string_view text, const std::string& what);

}  // namespace crossdock::core::config_check
