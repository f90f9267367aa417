#include "core/config_keys.h"

#include <cstdlib>
#include <limits>

#include "core/endpoint_types.h"
#include "core/postgres_url.h"

namespace crossdock::core {

namespace {

// config_check::IsEndpointName.
constexpr const char* kEndpointNamePattern = "^[A-Za-z0-9_.-]+$";
// Not empty, and no character isspace() finds in the C locale (config_check::HasWhitespace).
constexpr const char* kRuleNamePattern = "^[^\\t\\n\\v\\f\\r ]+$";
// '/'-separated repository path components as the distribution spec has them
// (config_check::CheckNamespace), or "".
constexpr const char* kComponent = "[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*";
// "key" or "key=value", the key not empty and without whitespace (config_check::CheckLabel).
constexpr const char* kLabelPattern = "^[^=\\t\\n\\v\\f\\r ]+(?:=[\\s\\S]*)?$";

// ParseRateLimit (core/retry.cc) takes 1 to 9 digits, '/' and s or m; CheckRateLimit
// (core/config_check.cc) then 1 to 1,000,000 requests. Leading zeros count towards
// the nine digits, hence one alternative per number of significant digits.
std::string RateLimitPattern() {
  std::string alternatives;
  for (int digits = 1; digits <= 6; ++digits) {
    alternatives += "0{0," + std::to_string(9 - digits) + "}[1-9]";
    if (digits > 1) alternatives += "[0-9]{" + std::to_string(digits - 1) + "}";
    alternatives += "|";
  }
  return "^(?:" + alternatives + "0{0,2}1000000)/[sm]$";
}

std::vector<std::string> EndpointTypeNames() {
  std::vector<std::string> names;
  for (const EndpointType& type : EndpointTypes()) names.push_back(type.name);
  return names;
}

// "a", "a and b", "a, b and c": the endpoint types for which WHICH holds.
template <typename Predicate>
std::string TypesWhere(Predicate which) {
  std::vector<std::string> names;
  for (const EndpointType& type : EndpointTypes())
    if (which(type)) names.push_back(type.name);
  std::string text;
  for (size_t i = 0; i < names.size(); ++i)
    text += (i == 0 ? "" : i + 1 == names.size() ? " and " : ", ") + names[i];
  return text;
}

}  // namespace

std::vector<std::string> ConfigTable::Names() const {
  std::vector<std::string> names;
  for (const ConfigKey& key : keys) names.push_back(key.name);
  return names;
}

const ConfigKey& ConfigTable::Key(std::string_view name) const {
  for (const ConfigKey& key : keys)
    if (key.name == name) return key;
  std::abort();
}

const ConfigTable& TopLevelKeys() {
  static const ConfigTable table{
      "crossdock.toml",
      "The configuration of crossdock, which keeps container registries in sync: endpoints "
      "(registries), rules (what to copy from where to where) and settings.",
      {
          {.name = "settings",
           .kind = ValueKind::kTable,
           .description = "Settings for every rule: the state file, parallelism, the home "
                          "endpoint of push/pull rules, webhooks, the deletion guard.",
           .table = SettingsKeys},
          {.name = "endpoints",
           .kind = ValueKind::kNamedTables,
           .description = "The registries, one table each: [endpoints.NAME]. NAME holds "
                          "letters, digits, '.', '_' and '-'.",
           .table = EndpointKeys,
           .name_pattern = kEndpointNamePattern},
          {.name = "rules",
           .kind = ValueKind::kNamedTables,
           .description = "What to replicate, one table per rule: [rules.NAME]. NAME has no "
                          "whitespace. Without rules nothing is replicated (a warning).",
           .table = RuleKeys,
           .name_pattern = kRuleNamePattern},
      }};
  return table;
}

const ConfigTable& SettingsKeys() {
  static const ConfigTable table{
      "[settings]",
      "Settings for every rule.",
      {
          {.name = "state",
           .kind = ValueKind::kString,
           .description = "Where the state lives: what crossdock copied, so it deletes only "
                          "that. A file, relative to the config file's folder, or a PostgreSQL "
                          "URL (postgres://HOST:PORT/DATABASE?sslmode=verify-full) without a "
                          "password: libpq takes it from PGPASSWORD or a password file.",
           .default_json = "\"crossdock.state.json\"",
           .not_empty = true,
           .pattern = StateLocationPattern()},
          {.name = "parallelism",
           .kind = ValueKind::kInteger,
           .description = "Concurrent requests and transfers.",
           .default_json = "10",
           .minimum = 1,
           .maximum = 256},
          {.name = "home",
           .kind = ValueKind::kString,
           .description = "The endpoint that rules with mode = \"push\" or \"pull\" are "
                          "relative to (Harbor style): push copies home to remote, pull remote "
                          "to home. Must name an endpoint.",
           .not_empty = true},
          {.name = "webhook",
           .kind = ValueKind::kTable,
           .description = "What `crossdock serve` requires of webhook requests.",
           .table = WebhookKeys},
          {.name = "max_deletes",
           .kind = ValueKind::kInteger,
           .description = "The most tags one plan may delete: a plan deleting more is shown "
                          "with an error, and apply refuses it unless --allow-deletes is given. "
                          "Default: no limit.",
           .minimum = 0},
      }};
  return table;
}

const ConfigTable& WebhookKeys() {
  static const ConfigTable table{
      "[settings.webhook]",
      "What `crossdock serve` requires of webhook requests.",
      {
          {.name = "token",
           .kind = ValueKind::kSecret,
           .description = "The bearer token webhook requests must carry: \"env:NAME\" (an "
                          "environment variable), \"file:PATH\" (relative to the config file) "
                          "or the token itself (a warning). Default: none is required.",
           .not_empty = true},
      }};
  return table;
}

const ConfigTable& EndpointKeys() {
  static const ConfigTable table{
      "[endpoints.NAME]",
      "A registry crossdock reads from or writes to.",
      {
          {.name = "type",
           .kind = ValueKind::kString,
           .description = "docker-registry: any registry speaking the OCI distribution API; "
                          "or a vendor, whose API crossdock also uses (listing, namespaces, "
                          "login).",
           .default_json = "\"docker-registry\"",
           .words = EndpointTypeNames()},
          {.name = "url",
           .kind = ValueKind::kString,
           .description = "The registry: http:// or https://, host[:port], no path (helm-repo: "
                          "the chart repository's URL, path included). Required, except for "
                          "vendors with one fixed address (" +
                          TypesWhere([](const EndpointType& t) { return !t.default_url.empty(); }) +
                          "), whose address is the default."},
          {.name = "api_url",
           .kind = ValueKind::kString,
           .description = "The vendor's control plane, scheme://host[:port][/path]. Default "
                          "per type; no effect on " +
                          TypesWhere([](const EndpointType& t) { return !t.uses_api_url; }) +
                          " (a warning)."},
          {.name = "region",
           .kind = ValueKind::kString,
           .description = "aws-ecr only: the AWS region (\"us-east-1\"). Default: from the url "
                          "(ACCOUNT.dkr.ecr.REGION.amazonaws.com)."},
          {.name = "description", .kind = ValueKind::kString, .description = "Free text."},
          {.name = "username",
           .kind = ValueKind::kString,
           .description = "Who to log in as. huawei-SWR: REGION@AK; ali-acr: the AccessKey ID."},
          {.name = "password",
           .kind = ValueKind::kSecret,
           .description = "\"env:NAME\" (an environment variable), \"file:PATH\" (relative to "
                          "the config file), or the password itself (a warning). Needs a "
                          "username, except for " +
                          TypesWhere([](const EndpointType& t) { return !t.uses_username; }) +
                          "."},
          {.name = "auth_file",
           .kind = ValueKind::kString,
           .description = "Instead of username and password: a Docker config.json or "
                          "containers auth.json to take credentials from, relative to the "
                          "config file. Without either, crossdock looks the host up where "
                          "`docker login` and `podman login` keep it.",
           .not_empty = true},
          {.name = "ca_cert",
           .kind = ValueKind::kString,
           .description = "An extra trusted CA certificate (PEM file), relative to the config "
                          "file.",
           .not_empty = true},
          {.name = "insecure",
           .kind = ValueKind::kBoolean,
           .description = "true skips TLS verification (a warning).",
           .default_json = "false"},
          {.name = "rate_limit",
           .kind = ValueKind::kString,
           .description = "At most N requests a second (\"10/s\") or a minute (\"600/m\") to "
                          "this endpoint, token requests included, from every worker; 1 to "
                          "1000000. Default: unlimited.",
           .pattern = RateLimitPattern()},
          {.name = "max_connections",
           .kind = ValueKind::kInteger,
           .description = "Requests in flight to this endpoint at once. Default: unlimited.",
           .minimum = 1,
           .maximum = 256},
      }};
  return table;
}

const ConfigTable& RuleKeys() {
  constexpr const char* kPatterns =
      " Doublestar patterns (*, **, ?, [a-z], {a,b}), a string or an array of them.";
  static const ConfigTable table{
      "[rules.NAME]",
      "What to replicate: from a source endpoint to one or more destinations, filtered.",
      {
          {.name = "description", .kind = ValueKind::kString, .description = "Free text."},
          {.name = "source",
           .kind = ValueKind::kString,
           .description = "The endpoint to copy from. Required unless mode is set."},
          {.name = "destination",
           .kind = ValueKind::kString,
           .description = "The endpoint to copy to. Required unless destinations or mode is set."},
          {.name = "destinations",
           .kind = ValueKind::kStringList,
           .description = "Several endpoints to copy to, each planned and recorded on its own; "
                          "instead of destination.",
           .not_empty = true,
           .unique = true},
          {.name = "mode",
           .kind = ValueKind::kString,
           .description = "Harbor style, instead of source and destination(s): push copies "
                          "[settings] home to remote, pull copies remote to home.",
           .words = {"push", "pull"}},
          {.name = "remote",
           .kind = ValueKind::kString,
           .description = "With mode: the endpoint other than [settings] home."},
          {.name = "repositories",
           .kind = ValueKind::kStringList,
           .description = std::string("The repositories to copy. Default: all.") + kPatterns},
          {.name = "exclude_repositories",
           .kind = ValueKind::kStringList,
           .description = std::string("Repositories left out.") + kPatterns},
          {.name = "tags",
           .kind = ValueKind::kStringList,
           .description = std::string("The tags to copy. Default: all.") + kPatterns},
          {.name = "exclude_tags",
           .kind = ValueKind::kStringList,
           .description = std::string("Tags left out.") + kPatterns},
          {.name = "immutable_tags",
           .kind = ValueKind::kStringList,
           .description = std::string("Tags that never move: once copied, plan spends no "
                                      "request on them (--refresh checks them).") +
                          kPatterns},
          {.name = "labels",
           .kind = ValueKind::kStringList,
           .description = "\"key\" or \"key=value\": an artifact is copied only when its "
                          "manifest annotations or image config labels have every one.",
           .pattern = kLabelPattern},
          {.name = "exclude_labels",
           .kind = ValueKind::kStringList,
           .description = "\"key\" or \"key=value\": an artifact that has every one is left "
                          "out.",
           .pattern = kLabelPattern},
          {.name = "resource",
           .kind = ValueKind::kString,
           .description = "Only artifacts of this kind, by config media type: image, chart "
                          "(Helm charts pushed as OCI artifacts) or artifact (anything else). "
                          "Default: all.",
           .words = {"image", "chart", "artifact"}},
          {.name = "semver",
           .kind = ValueKind::kString,
           .description = "Only tags that are versions in this range (\">=1.20 <2\", \"^1.2\", "
                          "\"1.2.x\", \"1.2 - 1.4\", \"|| \" for or), as Masterminds/semver. "
                          "Default: every tag.",
           .not_empty = true},
          {.name = "keep_latest",
           .kind = ValueKind::kInteger,
           .description = "Only the N highest versions of each repository (tags that are not "
                          "versions are left alone). Default: all.",
           .minimum = 1,
           .maximum = std::numeric_limits<int>::max()},
          {.name = "include_referrers",
           .kind = ValueKind::kBoolean,
           .description = "Copy signatures, attestations and SBOMs with their subject.",
           .default_json = "true"},
          {.name = "adopt",
           .kind = ValueKind::kBoolean,
           .description = "Take over destination tags that already hold the source digest.",
           .default_json = "false"},
          {.name = "dest_namespace",
           .kind = ValueKind::kString,
           .description = "Put the copies under this namespace (\"mirror\", \"dr/mirror\"): "
                          "lowercase path components. Empty keeps the source path.",
           .pattern = std::string("^(?:") + kComponent + "(?:/" + kComponent + ")*)?$"},
          {.name = "flatten",
           .kind = ValueKind::kFlatten,
           .description = "With dest_namespace: how many leading path components of the "
                          "source repository to drop: -1 or \"all\" (all but the name), 0 or "
                          "\"none\", 1, 2, 3.",
           .default_json = "0",
           .words = {"all", "none"},
           .minimum = -1,
           .maximum = 3},
          {.name = "override",
           .kind = ValueKind::kBoolean,
           .description = "Replace a destination tag holding another digest.",
           .default_json = "true"},
          {.name = "delete",
           .kind = ValueKind::kBoolean,
           .description = "Delete what crossdock copied once it is gone from the source.",
           .default_json = "false"},
          {.name = "enabled",
           .kind = ValueKind::kBoolean,
           .description = "false: shown as disabled, never run.",
           .default_json = "true"},
          {.name = "schedule",
           .kind = ValueKind::kString,
           .description = "Scheduled trigger: Harbor's 6-field cron (seconds first, "
                          "\"0 0 3 * * *\"), 5-field cron, @hourly, @daily, @weekly, @monthly, "
                          "@yearly or \"@every 30m\"."},
          {.name = "timezone",
           .kind = ValueKind::kString,
           .description = "The schedule's time zone, an IANA name (\"Europe/Berlin\"). "
                          "Default: UTC."},
          {.name = "events",
           .kind = ValueKind::kBoolean,
           .description = "Event trigger: `crossdock serve` replicates pushes and deletes as "
                          "they happen.",
           .default_json = "false"},
          {.name = "retries",
           .kind = ValueKind::kInteger,
           .description = "How often a copy that failed transiently is tried again.",
           .default_json = "3",
           .minimum = 0,
           .maximum = 10},
          {.name = "timeout",
           .kind = ValueKind::kString,
           .description = "A copy running longer is abandoned: a Go duration of at least 1s "
                          "(\"90s\", \"30m\", \"1h30m\"). Default: no limit."},
      }};
  return table;
}

}  // namespace crossdock::core
