// Loading crossdock.toml. toml++ is called (and its exceptions caught) only here;
// everything after parsing walks the document once and records every problem as a
// Diagnostic at the position of the offending key or value, so `validate` shows them
// all in one run. Diagnostics are handed back in file order.
#include "core/config.h"

#include <toml++/toml.h>

#include <algorithm>
#include <cctype>
#include <exception>
#include <filesystem>
#include <optional>
#include <set>

#include "core/config_check.h"
#include "core/config_keys.h"
#include "core/endpoint_types.h"
#include "core/naming.h"
#include "core/duration.h"
#include "core/cron.h"
#include "core/pattern.h"
#include "core/postgres_url.h"
#include "core/semver.h"

namespace crossdock::core {

namespace {

namespace fs = std::filesystem;
using config_check::AppendInFileOrder;
using config_check::DidYouMean;
using config_check::PosOf;
using config_check::Quoted;
using config_check::StringItem;
using config_check::TableReader;

// Which keys each table may hold, and the words and ranges the loader accepts for
// them, come from core/config_keys.h, which `crossdock schema` describes too.
bool InRange(const ConfigKey& key, int64_t value) {
  return (!key.minimum || value >= *key.minimum) && (!key.maximum || value <= *key.maximum);
}

bool IsOneOf(const ConfigKey& key, const std::string& word) {
  return std::find(key.words.begin(), key.words.end(), word) != key.words.end();
}

// Walks a parsed document into a Config.
class Loader {
 public:
  Loader(const std::string& file, Config* config, Diagnostics* diags)
      : file_(file), config_(config), diags_(diags) {
    std::error_code ec;
    const fs::path absolute = fs::absolute(file.empty() ? fs::path(".") : fs::path(file), ec);
    dir_ = (ec ? fs::path(file) : absolute).parent_path();
    config_->settings.state_path = Resolve("crossdock.state.json");
  }

  void Read(const toml::table& root);

 private:
  void ReadSettings(const toml::table& table);
  void ReadWebhook(const toml::table& settings);
  void ReadEndpoint(const toml::key& key, const toml::node& node);
  void ReadPassword(const TableReader& reader, const EndpointType* type, Endpoint* endpoint);
  void ReadApiUrl(const TableReader& reader, const EndpointType* type, Endpoint* endpoint);
  void ReadRegion(const TableReader& reader, const EndpointType* type, Endpoint* endpoint);
  void ReadAuthFile(const TableReader& reader, Endpoint* endpoint);
  // KEY's path, resolved against the config's folder; reports an empty one, a missing
  // file or a directory at its position. "" when KEY is absent or empty.
  std::string ReadFilePath(const TableReader& reader, const char* key, const std::string& what);
  void ReadCaCert(const TableReader& reader, Endpoint* endpoint);
  void ReadEndpointLimits(const TableReader& reader, Endpoint* endpoint);
  void ReadRule(const toml::key& key, const toml::node& node);
  // Fills RULE's source and destinations, from source and destination(s) or from mode
  // and remote. Returns each destination as written, for checks at its position
  // (none for a mode rule).
  std::vector<StringItem> ReadRuleEndpoints(const TableReader& reader, const std::string& what,
                                            Rule* rule);
  std::vector<StringItem> ReadDestinations(const TableReader& reader, const std::string& what);
  void ReadMode(const TableReader& reader, const std::string& what, Rule* rule);
  std::string ReadEndpointRef(const TableReader& reader, const char* key, const std::string& what);
  // Reports NAME, written at POS by WHO, unless it is a defined endpoint.
  void CheckEndpointDefined(const SourcePos& pos, const std::string& name, const std::string& who);
  // OFFICIAL_IMAGES (a Docker Hub source's repositories): a one-component pattern
  // not starting with '*' ("nginx", "ngin*") becomes "library/PATTERN".
  std::vector<std::string> ReadPatterns(const TableReader& reader, const char* key,
                                        const std::string& what, bool official_images = false,
                                        bool chart_names = false);
  std::vector<std::string> ReadLabels(const TableReader& reader, const char* key,
                                      const std::string& what);
  void ReadTagSelection(const TableReader& reader, const std::string& what, Rule* rule);
  void ReadFlatten(const TableReader& reader, Rule* rule);
  void ReadTriggers(const TableReader& reader, const std::string& what, Rule* rule);
  void ReadRetriesAndTimeout(const TableReader& reader, const std::string& what, Rule* rule);
  void CheckFlattenApplies(const TableReader& reader, const std::string& what, const Rule& rule);
  // Sources without a catalog (Docker Hub, GHCR) need their repositories named: by a
  // namespace each pattern starts with, or literally (GHCR without a token).
  void CheckSourceCanList(const TableReader& reader, const std::string& what, const Rule& rule);
  // Literal repositories against each destination's path rule (core/endpoint_types.h).
  void CheckPathRules(const TableReader& reader, const std::string& what, const Rule& rule);
  void WarnAboutLoops();

  // PATH made absolute against the config file's folder.
  std::string Resolve(const std::string& path) const {
    const fs::path p(path);
    return (p.is_absolute() ? p : dir_ / p).lexically_normal().string();
  }
  // The table under KEY of ROOT, or null (reported) when KEY holds something else.
  const toml::table* SubTable(const toml::table& root, const char* key, const char* expected);
  // A reader for NODE, the table of WHAT ("rule \"x\""), with its keys outside ALLOWED
  // reported; nullopt (reported) when NODE is not a table.
  std::optional<TableReader> OpenNamedTable(const toml::node& node, const std::string& what,
                                            const std::vector<std::string>& allowed);

  const std::string& file_;
  fs::path dir_;
  Config* config_;
  Diagnostics* diags_;
  std::optional<SourcePos> home_pos_;  // where [settings] home is written, if it is
};

const toml::table* Loader::SubTable(const toml::table& root, const char* key,
                                    const char* expected) {
  const toml::node* node = root.get(key);
  if (node == nullptr) return nullptr;
  if (const toml::table* table = node->as_table()) return table;
  diags_->Error(PosOf(file_, node->source()), Quoted(key) + " must be " + expected);
  return nullptr;
}

std::optional<TableReader> Loader::OpenNamedTable(const toml::node& node, const std::string& what,
                                                  const std::vector<std::string>& allowed) {
  const toml::table* table = node.as_table();
  if (table == nullptr) {
    diags_->Error(PosOf(file_, node.source()), what + " must be a table");
    return std::nullopt;
  }
  TableReader reader(*table, table->source(), file_, "in " + what, " in " + what, diags_);
  reader.RejectUnknownKeys(allowed);
  return reader;
}

void Loader::Read(const toml::table& root) {
  TableReader top(root, root.source(), file_, "at the top level", "", diags_);
  top.RejectUnknownKeys(TopLevelKeys().Names());
  if (const toml::table* settings = SubTable(root, "settings", "a table ([settings])")) {
    ReadSettings(*settings);
  }
  if (const toml::table* endpoints =
          SubTable(root, "endpoints", "a table of named endpoints ([endpoints.NAME])")) {
    for (const auto& [key, node] : config_check::InFileOrder(*endpoints)) ReadEndpoint(*key, *node);
  }
  if (home_pos_ && !config_->settings.home.empty()) {
    CheckEndpointDefined(*home_pos_, config_->settings.home, "[settings] home");
  }
  const toml::table* rules = SubTable(root, "rules", "a table of named rules ([rules.NAME])");
  if (rules != nullptr) {
    for (const auto& [key, node] : config_check::InFileOrder(*rules)) ReadRule(*key, *node);
    WarnAboutLoops();
  }
  if (rules == nullptr || rules->empty()) {
    diags_->Warning({file_, 0, 0}, "no rules defined; nothing will be replicated");
  }
}

void Loader::ReadSettings(const toml::table& table) {
  TableReader reader(table, table.source(), file_, "in [settings]", "", diags_);
  reader.RejectUnknownKeys(SettingsKeys().Names());
  if (auto state = reader.String("state")) {
    if (state->empty()) {
      diags_->Error(reader.ValuePos("state"), "\"state\" must not be empty");
    } else if (IsPostgresUrl(*state)) {
      if (std::string secret = PostgresUrlSecret(*state); !secret.empty()) {
        // The URL itself is not repeated: it holds the secret.
        diags_->Error(reader.ValuePos("state"),
                      "the PostgreSQL URL in \"state\" holds " + secret +
                          "; secrets never go in the config: remove it and set PGPASSWORD, or "
                          "put it in a password file (~/.pgpass, or the file PGPASSFILE names)");
      } else {
        config_->settings.state_path = *state;  // a URL, not a path to resolve
      }
    } else {
      config_->settings.state_path = Resolve(*state);
    }
  }
  if (auto parallelism = reader.Integer("parallelism")) {
    if (const ConfigKey& key = SettingsKeys().Key("parallelism"); !InRange(key, *parallelism)) {
      diags_->Error(reader.ValuePos("parallelism"), "\"parallelism\" must be between " +
                                                        std::to_string(*key.minimum) + " and " +
                                                        std::to_string(*key.maximum));
    } else {
      config_->settings.parallelism = static_cast<int>(*parallelism);
    }
  }
  if (auto max = reader.Integer("max_deletes")) {
    if (const ConfigKey& key = SettingsKeys().Key("max_deletes"); !InRange(key, *max))
      diags_->Error(reader.ValuePos("max_deletes"),
                    "\"max_deletes\" must be " + std::to_string(*key.minimum) + " or more");
    else
      config_->settings.max_deletes = static_cast<long>(*max);
  }
  // Checked against the endpoints once they are read.
  if (reader.Has("home")) home_pos_ = reader.ValuePos("home");
  if (auto home = reader.String("home")) {
    if (home->empty()) {
      diags_->Error(reader.ValuePos("home"), "\"home\" must not be empty");
    } else {
      config_->settings.home = *home;
    }
  }
  ReadWebhook(table);
}

void Loader::ReadWebhook(const toml::table& settings) {
  const toml::table* table = SubTable(settings, "webhook", "a table ([settings.webhook])");
  if (table == nullptr) return;
  TableReader reader(*table, table->source(), file_, "in [settings.webhook]", "", diags_);
  reader.RejectUnknownKeys(WebhookKeys().Names());
  auto token = reader.String("token");
  if (!token) return;
  const SourcePos pos = reader.ValuePos("token");
  std::string spec = *token;
  if (spec.empty()) {
    diags_->Error(pos, "\"token\" in [settings.webhook] must not be empty; remove it to accept "
                       "unauthenticated webhooks");
    return;
  }
  if (spec.starts_with("env:")) {
    if (!config_check::IsEnvironmentName(spec.substr(4))) {
      diags_->Error(pos, "webhook token must name an environment variable after \"env:\" "
                         "(letters, digits and '_')");
    }
  } else if (spec.starts_with("file:")) {
    if (spec.size() == 5) {
      diags_->Error(pos, "webhook token must name a file after \"file:\"");
    } else {
      spec = "file:" + Resolve(spec.substr(5));
    }
  } else {
    diags_->Warning(pos, "the webhook token is written in the config; use env:NAME or file:PATH");
  }
  config_->settings.webhook_token = {spec, pos};
}

void Loader::ReadEndpoint(const toml::key& key, const toml::node& node) {
  const std::string name(key.str());
  const std::string what = "endpoint " + Quoted(name);
  if (!config_check::IsEndpointName(name)) {
    diags_->Error(
        PosOf(file_, key.source()),
        "endpoint name " + Quoted(name) + " may contain only letters, digits, '.', '_' and '-'");
  }
  std::optional<TableReader> opened = OpenNamedTable(node, what, EndpointKeys().Names());
  if (!opened) return;
  const TableReader& reader = *opened;
  Endpoint endpoint;
  endpoint.name = name;
  endpoint.pos = reader.TablePos();

  const EndpointType* type = FindEndpointType(endpoint.type);
  if (auto written = reader.String("type")) {
    endpoint.type = *written;
    type = FindEndpointType(*written);
    if (!type) {
      const std::string suggestion = DidYouMean(*written, EndpointKeys().Key("type").words);
      diags_->Error(reader.ValuePos("type"),
                    "unknown endpoint type " + Quoted(*written) +
                        (suggestion.empty() ? "; use \"docker-registry\" for any registry "
                                              "speaking the OCI distribution API"
                                            : suggestion));
    }
  }
  if (auto url = reader.String("url")) {
    endpoint.url = *url;
    if (auto problem = config_check::NormalizeEndpointUrl(&endpoint.url, name,
                                                          type && type->name == "helm-repo")) {
      diags_->Error(reader.ValuePos("url"), *problem);
    }
  } else if (type && !type->default_url.empty()) {
    endpoint.url = type->default_url;
  } else {
    (void)reader.Require("url", what);
  }
  ReadApiUrl(reader, type, &endpoint);
  ReadRegion(reader, type, &endpoint);
  endpoint.description = reader.String("description").value_or("");
  endpoint.username = reader.String("username").value_or("");
  // SWR logs in as REGION@AK (providers/huawei/huawei.h).
  if (type && type->name == "huawei-SWR" && !endpoint.username.empty() &&
      !IsSwrUsername(endpoint.username))
    diags_->Error(reader.ValuePos("username"),
                  "username of " + what + " must have the form REGION@AK (e.g. "
                  "\"cn-north-4@AKIAEXAMPLE\"), as SWR's login command has it");
  // Alibaba Cloud ACR logs in with a RAM AccessKey pair (providers/ali/ali.h).
  if (type && type->name == "ali-acr" && !endpoint.username.empty() &&
      !std::all_of(endpoint.username.begin(), endpoint.username.end(),
                   [](unsigned char c) { return std::isalnum(c) != 0; }))
    diags_->Error(reader.ValuePos("username"),
                  "username of " + what + " must be a RAM AccessKey ID (letters and digits, e.g. "
                  "\"LTAI5tExample\"): an ali-acr endpoint logs in through Alibaba Cloud's "
                  "OpenAPI with an AccessKey pair, not with the registry's own login");
  ReadPassword(reader, type, &endpoint);
  ReadAuthFile(reader, &endpoint);
  ReadCaCert(reader, &endpoint);
  ReadEndpointLimits(reader, &endpoint);
  if (auto insecure = reader.Bool("insecure")) {
    endpoint.insecure = *insecure;
    if (*insecure && endpoint.url.starts_with("http://")) {
      diags_->Warning(reader.ValuePos("insecure"),
                      "insecure = true has no effect on " + what + ": its url uses http://");
    } else if (*insecure) {
      diags_->Warning(reader.ValuePos("insecure"), "TLS verification is off for " + what);
    }
  }
  config_->endpoints[name] = std::move(endpoint);
}

// api_url: the vendor's control plane. Defaults per type (core/endpoint_types.cc);
// a path is kept (an API under a prefix, as Artifactory's /artifactory).
void Loader::ReadApiUrl(const TableReader& reader, const EndpointType* type, Endpoint* endpoint) {
  const std::string what = "endpoint " + Quoted(endpoint->name);
  auto written = reader.String("api_url");
  if (!written) {
    if (type && type->api_url_from_url) endpoint->api_url = endpoint->url + type->api_path;
    else if (type) endpoint->api_url = type->default_api_url;
    return;
  }
  if (type && !type->uses_api_url) {
    diags_->Warning(reader.ValuePos("api_url"),
                    "api_url has no effect on " + what + " of type " + Quoted(type->name) +
                        ", which has no API besides the registry's");
    return;
  }
  std::string origin = *written, path;
  const size_t scheme_end = origin.find("://");
  const size_t slash = scheme_end == std::string::npos ? std::string::npos
                                                       : origin.find('/', scheme_end + 3);
  if (slash != std::string::npos) {
    path = origin.substr(slash);
    origin.resize(slash);
    while (!path.empty() && path.back() == '/') path.pop_back();
  }
  if (auto problem = config_check::NormalizeEndpointUrl(&origin, endpoint->name)) {
    std::string message = *problem;
    if (message.starts_with("url ")) message = "api_url " + message.substr(4);
    diags_->Error(reader.ValuePos("api_url"), message);
    return;
  }
  if (path.find_first_of("?#") != std::string::npos) {
    diags_->Error(reader.ValuePos("api_url"),
                  "api_url " + Quoted(*written) + " of " + what + " must not have a query or fragment");
    return;
  }
  endpoint->api_url = origin + path;
}

// region: what an aws-ecr endpoint signs its API requests for, written or read from its
// url (Harbor's awsecr adapter reads it from the url only); its API's default address
// follows from it. Any other type warns that it has no effect.
void Loader::ReadRegion(const TableReader& reader, const EndpointType* type, Endpoint* endpoint) {
  const std::string what = "endpoint " + Quoted(endpoint->name);
  auto written = reader.String("region");
  if (!type || type->name != "aws-ecr") {
    if (written && type)
      diags_->Warning(reader.ValuePos("region"), "region has no effect on " + what + " of type " +
                                                     Quoted(type->name) +
                                                     "; only aws-ecr endpoints take one");
    return;
  }
  const std::optional<EcrAddress> address = ParseEcrUrl(endpoint->url);
  if (written) {
    if (!IsAwsRegionName(*written)) {
      diags_->Error(reader.ValuePos("region"),
                    "region " + Quoted(*written) + " of " + what +
                        " is not an AWS region name (lowercase letters, digits and '-', like "
                        "\"us-east-1\")");
      return;
    }
    endpoint->region = *written;
  } else if (address) {
    endpoint->region = address->region;
  } else {
    if (endpoint->url.empty()) return;  // reported already
    diags_->Error(reader.ValuePos("url"),
                  what + " of type \"aws-ecr\" needs an AWS region, and its url " +
                      Quoted(endpoint->url) +
                      " is not an ECR registry address (https://ACCOUNT.dkr.ecr.REGION."
                      "amazonaws.com); add region = \"…\" to the endpoint");
    return;
  }
  if (!reader.String("api_url")) endpoint->api_url = EcrApiUrl(endpoint->region);
}

// auth_file: one Docker config.json or containers auth.json to take credentials
// from, instead of the files `docker login` and `podman login` write.
void Loader::ReadAuthFile(const TableReader& reader, Endpoint* endpoint) {
  if (!reader.String("auth_file")) return;
  if (!endpoint->username.empty() || !endpoint->password.empty()) {
    diags_->Error(reader.ValuePos("auth_file"), "endpoint " + Quoted(endpoint->name) +
                                                    " sets both auth_file and username/password; "
                                                    "keep one of them");
    return;
  }
  endpoint->auth_file = ReadFilePath(reader, "auth_file", "endpoint " + Quoted(endpoint->name));
}

void Loader::ReadPassword(const TableReader& reader, const EndpointType* type, Endpoint* endpoint) {
  if (type && !type->uses_username && reader.String("username")) {
    diags_->Warning(reader.ValuePos("username"),
                    "username has no effect on endpoint " + Quoted(endpoint->name) + " of type " +
                        Quoted(type->name) + ": its password holds " + type->password_is);
    endpoint->username.clear();
  }
  auto password = reader.String("password");
  if (!password || password->empty()) return;
  const SourcePos pos = reader.ValuePos("password");
  const std::string what = "endpoint " + Quoted(endpoint->name);
  std::string spec = *password;
  if (spec.starts_with("env:")) {
    if (!config_check::IsEnvironmentName(spec.substr(4))) {
      diags_->Error(
          pos, "password of " + what +
                   " must name an environment variable after \"env:\" (letters, digits and '_')");
    }
  } else if (spec.starts_with("file:")) {
    if (spec.size() == 5) {
      diags_->Error(pos, "password of " + what + " must name a file after \"file:\"");
    } else {
      spec = "file:" + Resolve(spec.substr(5));
    }
  } else {
    // Never quote the value itself.
    diags_->Warning(
        pos, "password for " + what + " is written in the config; use env:NAME or file:PATH");
  }
  endpoint->password = {spec, pos};
  if (endpoint->username.empty() && (!type || type->uses_username))
    diags_->Error(pos, what + " has a password but no username");
}

void Loader::ReadCaCert(const TableReader& reader, Endpoint* endpoint) {
  endpoint->ca_cert = ReadFilePath(reader, "ca_cert", "endpoint " + Quoted(endpoint->name));
}

std::string Loader::ReadFilePath(const TableReader& reader, const char* key,
                                 const std::string& what) {
  auto written = reader.String(key);
  if (!written) return "";
  const SourcePos pos = reader.ValuePos(key);
  if (written->empty()) {
    diags_->Error(pos, "\"" + std::string(key) + "\" in " + what + " must not be empty");
    return "";
  }
  const std::string path = Resolve(*written);
  std::error_code ec;
  const fs::file_status status = fs::status(path, ec);
  if (!fs::exists(status)) {
    diags_->Error(pos, std::string(key) + " " + Quoted(*written) + " of " + what +
                           " not found (looked for " + path + ")");
  } else if (!fs::is_regular_file(status)) {
    diags_->Error(pos, std::string(key) + " " + Quoted(*written) + " of " + what +
                           " is not a file (" + path + ")");
  }
  return path;
}

void Loader::ReadEndpointLimits(const TableReader& reader, Endpoint* endpoint) {
  const std::string what = "endpoint " + Quoted(endpoint->name);
  if (auto rate_limit = reader.String("rate_limit")) {
    if (Result<double> per_second = config_check::CheckRateLimit(*rate_limit, what);
        per_second.ok()) {
      endpoint->rate_limit_per_second = *per_second;
    } else {
      diags_->Error(reader.ValuePos("rate_limit"), per_second.status().message());
    }
  }
  if (auto connections = reader.Integer("max_connections")) {
    if (const ConfigKey& key = EndpointKeys().Key("max_connections");
        !InRange(key, *connections)) {
      diags_->Error(reader.ValuePos("max_connections"),
                    "\"max_connections\" in " + what + " must be between " +
                        std::to_string(*key.minimum) + " and " + std::to_string(*key.maximum));
    } else {
      endpoint->max_connections = static_cast<int>(*connections);
    }
  }
}

void Loader::ReadRule(const toml::key& key, const toml::node& node) {
  const std::string name(key.str());
  const std::string what = "rule " + Quoted(name);
  if (name.empty()) {
    diags_->Error(PosOf(file_, key.source()), "rule name must not be empty");
  } else if (config_check::HasWhitespace(name)) {
    diags_->Error(PosOf(file_, key.source()),
                  "rule name " + Quoted(name) + " must not contain whitespace");
  }
  std::optional<TableReader> opened = OpenNamedTable(node, what, RuleKeys().Names());
  if (!opened) return;
  const TableReader& reader = *opened;
  Rule rule;
  rule.name = name;
  rule.pos = reader.TablePos();

  rule.description = reader.String("description").value_or("");
  const std::vector<StringItem> destinations = ReadRuleEndpoints(reader, what, &rule);
  // On a Docker Hub source a one-component name is an official image: "nginx" is
  // "library/nginx", as `docker pull nginx` has it; plans and state show the full name
  // ("*" and "**" stay: they ask for every namespace, which Docker Hub cannot list).
  const Endpoint* source = config_->FindEndpoint(rule.source);
  const bool hub_source = source && source->type == "docker-hub";
  // A chart repository's repositories are chart names: one component each.
  const bool chart_source = source && source->type == "helm-repo";
  rule.repositories = ReadPatterns(reader, "repositories", what, hub_source, chart_source);
  rule.exclude_repositories = ReadPatterns(reader, "exclude_repositories", what, hub_source);
  rule.tags = ReadPatterns(reader, "tags", what);
  rule.exclude_tags = ReadPatterns(reader, "exclude_tags", what);
  rule.immutable_tags = ReadPatterns(reader, "immutable_tags", what);
  rule.labels = ReadLabels(reader, "labels", what);
  rule.exclude_labels = ReadLabels(reader, "exclude_labels", what);
  if (auto resource = reader.String("resource")) {
    rule.resource = *resource;
    if (const ConfigKey& key = RuleKeys().Key("resource"); !IsOneOf(key, *resource)) {
      diags_->Error(reader.ValuePos("resource"), "unknown resource " + Quoted(*resource) +
                                                     DidYouMean(*resource, key.words) +
                                                     "; use \"image\", \"chart\" or \"artifact\"");
    }
  }
  ReadTagSelection(reader, what, &rule);
  rule.include_referrers = reader.Bool("include_referrers").value_or(true);
  rule.adopt = reader.Bool("adopt").value_or(false);
  if (auto ns = reader.String("dest_namespace")) {
    rule.dest_namespace = *ns;
    if (auto problem = config_check::CheckNamespace(*ns)) {
      diags_->Error(reader.ValuePos("dest_namespace"), *problem);
    }
  }
  ReadFlatten(reader, &rule);
  rule.override_tags = reader.Bool("override").value_or(true);
  rule.delete_missing = reader.Bool("delete").value_or(false);
  rule.enabled = reader.Bool("enabled").value_or(true);
  ReadTriggers(reader, what, &rule);
  ReadRetriesAndTimeout(reader, what, &rule);

  // With no namespace Harbor keeps the source path whatever the flatten count
  // (src/controller/replication/flow/stage.go replaceNamespace).
  bool onto_itself = false;
  for (const StringItem& destination : destinations) {
    if (rule.dest_namespace.empty() && !rule.source.empty() && rule.source == destination.value) {
      diags_->Error(destination.pos,
                    what + " copies onto itself: source and destination are both endpoint " +
                        Quoted(rule.source) + " and dest_namespace is empty");
      onto_itself = true;
    }
  }
  if (!onto_itself && rule.dest_namespace.empty() && rule.flatten != 0) {
    diags_->Warning(reader.ValuePos("flatten"),
                    "flatten has no effect in " + what + " because dest_namespace is empty");
  }
  CheckFlattenApplies(reader, what, rule);
  CheckPathRules(reader, what, rule);
  CheckSourceCanList(reader, what, rule);
  config_->rules.push_back(std::move(rule));
}

std::vector<StringItem> Loader::ReadRuleEndpoints(const TableReader& reader,
                                                  const std::string& what, Rule* rule) {
  std::vector<StringItem> destinations;
  if (reader.Has("mode")) {
    ReadMode(reader, what, rule);
    return destinations;
  }
  if (reader.Has("remote")) {
    diags_->Error(reader.ValuePos("remote"),
                  what +
                      " sets \"remote\" without \"mode\"; add mode = \"push\" or "
                      "mode = \"pull\" (with [settings] home), or use source and destination");
  }
  rule->source = ReadEndpointRef(reader, "source", what);
  if (reader.Has("destinations")) {
    if (reader.Has("destination")) {
      diags_->Error(reader.ValuePos("destinations"),
                    what + " sets both \"destination\" and \"destinations\"; keep one of them");
    }
    destinations = ReadDestinations(reader, what);
  } else if (std::string name = ReadEndpointRef(reader, "destination", what); !name.empty()) {
    destinations.push_back({name, reader.ValuePos("destination")});
  }
  for (const StringItem& destination : destinations) {
    rule->destinations.push_back(destination.value);
  }
  if (!rule->destinations.empty()) rule->destination = rule->destinations.front();
  return destinations;
}

std::vector<StringItem> Loader::ReadDestinations(const TableReader& reader,
                                                 const std::string& what) {
  std::vector<StringItem> destinations;
  auto items = reader.StringList("destinations");
  if (!items) return destinations;
  if (items->empty()) {
    diags_->Error(reader.ValuePos("destinations"),
                  "\"destinations\" in " + what + " must name at least one endpoint");
  }
  for (const StringItem& item : *items) {
    const bool repeated =
        std::any_of(destinations.begin(), destinations.end(),
                    [&](const StringItem& seen) { return seen.value == item.value; });
    if (repeated) {
      diags_->Error(item.pos,
                    what + " names endpoint " + Quoted(item.value) + " twice in \"destinations\"");
      continue;
    }
    CheckEndpointDefined(item.pos, item.value, what);
    destinations.push_back(item);
  }
  return destinations;
}

// Harbor's push and pull (src/pkg/reg/model/policy.go): a policy names one remote
// registry, and the local Harbor is the source (push) or the destination (pull).
void Loader::ReadMode(const TableReader& reader, const std::string& what, Rule* rule) {
  for (const char* key : {"source", "destination", "destinations"}) {
    if (!reader.Has(key)) continue;
    diags_->Error(reader.ValuePos(key),
                  what + " sets both \"mode\" and " + Quoted(key) +
                      "; with mode, [settings] home and remote name the endpoints");
  }
  rule->remote = ReadEndpointRef(reader, "remote", what);
  auto mode = reader.String("mode");
  if (!mode) return;
  rule->mode = *mode;
  if (const ConfigKey& key = RuleKeys().Key("mode"); !IsOneOf(key, *mode)) {
    diags_->Error(
        reader.ValuePos("mode"),
        "unknown mode " + Quoted(*mode) + DidYouMean(*mode, key.words) + "; use \"push\" or \"pull\"");
    return;
  }
  const std::string& home = config_->settings.home;
  if (!home_pos_) {
    diags_->Error(reader.ValuePos("mode"),
                  "mode = " + Quoted(*mode) +
                      " needs [settings] home, the endpoint push and pull are relative to");
  } else if (!home.empty() && rule->remote == home) {
    diags_->Error(reader.ValuePos("remote"),
                  what + " has remote = " + Quoted(home) +
                      ", which is [settings] home; remote must name the other endpoint");
  }
  const bool push = *mode == "push";
  rule->source = push ? home : rule->remote;
  rule->destination = push ? rule->remote : home;
  rule->destinations = {rule->destination};
}

std::string Loader::ReadEndpointRef(const TableReader& reader, const char* key,
                                    const std::string& what) {
  if (!reader.Require(key, what)) return "";
  auto name = reader.String(key);
  if (!name) return "";
  CheckEndpointDefined(reader.ValuePos(key), *name, what);
  return *name;
}

void Loader::CheckEndpointDefined(const SourcePos& pos, const std::string& name,
                                  const std::string& who) {
  if (config_->endpoints.contains(name)) return;
  std::vector<std::string> defined;
  for (const auto& [defined_name, endpoint] : config_->endpoints) defined.push_back(defined_name);
  diags_->Error(pos, who + " names endpoint " + Quoted(name) + ", which is not defined" +
                         DidYouMean(name, defined));
}

std::vector<std::string> Loader::ReadPatterns(const TableReader& reader, const char* key,
                                              const std::string& what, bool official_images,
                                              bool chart_names) {
  std::vector<std::string> patterns;
  auto items = reader.StringList(key);
  if (!items) return patterns;
  const bool repositories = std::string_view(key) == "repositories";
  for (const config_check::StringItem& item : *items) {
    auto pattern = Pattern::Compile(item.value);
    if (!pattern.ok()) {
      // A long pattern (one refused for its size) is shown by its start only, cut
      // between UTF-8 characters.
      constexpr size_t kShown = 80;
      size_t cut = std::min(item.value.size(), kShown);
      while (cut < item.value.size() && cut > 0 && (item.value[cut] & 0xC0) == 0x80) --cut;
      const std::string shown =
          Quoted(item.value.substr(0, cut)) + (cut < item.value.size() ? "…" : "");
      diags_->Error(item.pos, "invalid pattern " + shown + " in " + Quoted(key) +
                                  " of " + what + ": " + pattern.status().message());
    } else if (official_images && item.value.find('/') == std::string::npos &&
               !item.value.starts_with('*')) {
      patterns.push_back("library/" + item.value);
      continue;
    } else if (repositories && !chart_names && pattern->IsLiteral() &&
               item.value.find('/') == std::string::npos) {
      // Harbor users write a project name and expect its repositories.
      diags_->Warning(item.pos, "repositories = [" + Quoted(item.value) +
                                    "] selects only a repository named exactly " +
                                    Quoted(item.value) + " (did you mean " +
                                    Quoted(item.value + "/**") + "?)");
    }
    patterns.push_back(item.value);
  }
  return patterns;
}

std::vector<std::string> Loader::ReadLabels(const TableReader& reader, const char* key,
                                            const std::string& what) {
  std::vector<std::string> labels;
  auto items = reader.StringList(key);
  if (!items) return labels;
  for (const StringItem& item : *items) {
    if (auto problem = config_check::CheckLabel(item.value)) {
      diags_->Error(item.pos, "label " + Quoted(item.value) + " in " + Quoted(key) + " of " + what +
                                  " " + *problem);
    }
    labels.push_back(item.value);
  }
  return labels;
}

void Loader::ReadTagSelection(const TableReader& reader, const std::string& what, Rule* rule) {
  if (auto semver = reader.String("semver")) {
    rule->semver = *semver;
    if (semver->empty()) {
      diags_->Error(reader.ValuePos("semver"), "\"semver\" in " + what +
                                                   " must not be empty; leave it out to "
                                                   "select every tag");
    } else if (auto range = VersionRange::Parse(*semver); !range.ok()) {
      diags_->Error(reader.ValuePos("semver"),
                    "invalid semver range in " + what + ": " + range.status().message());
    }
  }
  if (auto keep = reader.Integer("keep_latest")) {
    const ConfigKey& key = RuleKeys().Key("keep_latest");
    if (*keep < *key.minimum) {
      diags_->Error(reader.ValuePos("keep_latest"),
                    "\"keep_latest\" in " + what + " must be at least " +
                        std::to_string(*key.minimum) + "; leave it out to keep every version");
    } else if (*keep > *key.maximum) {
      diags_->Error(reader.ValuePos("keep_latest"), "\"keep_latest\" in " + what + " is too large");
    } else {
      rule->keep_latest = static_cast<int>(*keep);
    }
  }
}

void Loader::ReadTriggers(const TableReader& reader, const std::string& what, Rule* rule) {
  rule->events = reader.Bool("events").value_or(false);
  bool zone_ok = true;
  if (auto tz = reader.String("timezone")) {
    rule->timezone = *tz;
    if (core::Status st = ValidateTimeZone(*tz); !st.ok()) {
      diags_->Error(reader.ValuePos("timezone"), st.message() + " in " + what +
                                                     "; use an IANA name such as \"Europe/Berlin\"");
      zone_ok = false;
    }
  }
  if (auto schedule = reader.String("schedule")) {
    rule->schedule = *schedule;
    {  // with a bad zone, the expression is still checked (in UTC)
      if (auto parsed = Schedule::Parse(*schedule, zone_ok ? rule->timezone : "");
          !parsed.ok()) {
        diags_->Error(reader.ValuePos("schedule"),
                      "invalid schedule in " + what + ": " + parsed.status().message());
      }
    }
  } else if (!rule->timezone.empty()) {
    diags_->Warning(reader.ValuePos("timezone"),
                    "\"timezone\" has no effect in " + what + " without \"schedule\"");
  }
}

void Loader::ReadRetriesAndTimeout(const TableReader& reader, const std::string& what,
                                   Rule* rule) {
  if (auto retries = reader.Integer("retries")) {
    if (const ConfigKey& key = RuleKeys().Key("retries"); !InRange(key, *retries)) {
      diags_->Error(reader.ValuePos("retries"), "\"retries\" in " + what + " must be between " +
                                                    std::to_string(*key.minimum) + " and " +
                                                    std::to_string(*key.maximum));
    } else {
      rule->retries = static_cast<int>(*retries);
    }
  }
  if (auto timeout = reader.String("timeout")) {
    const auto parsed = ParseGoDuration(*timeout);
    if (!parsed) {
      diags_->Error(reader.ValuePos("timeout"),
                    "timeout " + Quoted(*timeout) + " in " + what +
                        ": use a duration such as \"90s\", \"30m\" or \"1h30m\"");
    } else if (*parsed < std::chrono::seconds(1)) {
      diags_->Error(reader.ValuePos("timeout"), "timeout " + Quoted(*timeout) + " in " + what +
                                                    " must be at least 1s; leave it out for "
                                                    "no limit");
    } else {
      rule->timeout = std::chrono::duration_cast<std::chrono::milliseconds>(*parsed);
    }
  }
}

void Loader::ReadFlatten(const TableReader& reader, Rule* rule) {
  const toml::node* node = reader.Get("flatten");
  if (node == nullptr) return;
  const ConfigKey& key = RuleKeys().Key("flatten");
  if (const auto* count = node->as_integer(); count != nullptr && InRange(key, count->get())) {
    rule->flatten = static_cast<int>(count->get());
    return;
  }
  // "all" is -1, "none" 0.
  if (const auto* word = node->as_string(); word != nullptr && IsOneOf(key, word->get())) {
    rule->flatten = word->get() == "all" ? -1 : 0;
    return;
  }
  diags_->Error(reader.ValuePos("flatten"),
                "flatten must be -1 or \"all\", 0 or \"none\", 1, 2 or 3");
}

// Only when the rule names its repositories outright (every pattern a literal path
// or a brace list of them) is a flatten count known not to apply before planning.
void Loader::CheckFlattenApplies(const TableReader& reader, const std::string& what,
                                 const Rule& rule) {
  if (rule.dest_namespace.empty() || rule.flatten <= 0 || rule.repositories.empty()) return;
  std::vector<std::string> paths;
  for (const std::string& text : rule.repositories) {
    auto pattern = Pattern::Compile(text);
    if (!pattern.ok()) return;
    const std::vector<std::string> named = pattern->SpecificPaths();
    if (named.empty()) return;
    paths.insert(paths.end(), named.begin(), named.end());
  }
  std::vector<Pattern> excluded;
  for (const std::string& text : rule.exclude_repositories) {
    if (auto pattern = Pattern::Compile(text); pattern.ok()) excluded.push_back(*pattern);
  }
  std::set<std::string> reported;
  for (const std::string& path : paths) {
    const bool is_excluded = std::any_of(excluded.begin(), excluded.end(),
                                         [&](const Pattern& p) { return p.Matches(path); });
    if (is_excluded || !reported.insert(path).second) continue;
    if (auto problem = config_check::CheckFlattenDepth(path, rule.flatten, what)) {
      diags_->Error(reader.ValuePos("flatten"), *problem);
    }
  }
}

void Loader::CheckSourceCanList(const TableReader& reader, const std::string& what,
                                const Rule& rule) {
  const Endpoint* source = config_->FindEndpoint(rule.source);
  if (!source || (source->type != "docker-hub" && source->type != "github-ghcr")) return;
  bool literal = !rule.repositories.empty(), namespaced = !rule.repositories.empty();
  for (const std::string& text : rule.repositories) {
    auto pattern = Pattern::Compile(text);
    if (!pattern.ok()) return;
    literal = literal && !pattern->SpecificPaths().empty();
    const size_t slash = text.find('/');
    namespaced = namespaced && slash != std::string::npos && slash > 0 &&
                 text.substr(0, slash).find_first_of("*?[]{},\\!") == std::string::npos;
  }
  const SourcePos pos = rule.repositories.empty() ? reader.TablePos() : reader.ValuePos("repositories");
  if (source->type == "docker-hub" && !literal && !namespaced) {
    diags_->Error(pos, what + " copies from Docker Hub (endpoint " + Quoted(rule.source) +
                           "), which cannot list all of its repositories: start each repositories "
                           "pattern with a namespace (\"library/*\", \"myorg/**\") or name them");
  } else if (source->type == "github-ghcr" && !literal && source->username.empty() &&
             source->password.empty() && source->auth_file.empty()) {
    diags_->Warning(pos, what + " lists packages of GHCR (endpoint " + Quoted(rule.source) +
                             "), which needs a token for that; without username and password "
                             "(or an auth file entry for ghcr.io) only literal repository names "
                             "work");
  }
}

// As CheckFlattenApplies: only literal repositories are known before planning; the
// planner checks the others per repository.
void Loader::CheckPathRules(const TableReader& reader, const std::string& what, const Rule& rule) {
  std::vector<std::string> paths;
  for (const std::string& text : rule.repositories) {
    auto pattern = Pattern::Compile(text);
    if (!pattern.ok()) return;
    const std::vector<std::string> named = pattern->SpecificPaths();
    if (named.empty()) return;
    paths.insert(paths.end(), named.begin(), named.end());
  }
  for (const std::string& endpoint_name : rule.destinations) {
    const Endpoint* endpoint = config_->FindEndpoint(endpoint_name);
    const EndpointType* type = endpoint ? FindEndpointType(endpoint->type) : nullptr;
    if (!type || (type->min_components <= 1 && type->max_components == 0)) continue;
    for (const std::string& path : paths) {
      auto dest = DestinationRepository(path, rule.dest_namespace, rule.flatten);
      if (!dest.ok()) continue;  // CheckFlattenApplies reports it
      const int n = static_cast<int>(std::count(dest->begin(), dest->end(), '/')) + 1;
      if (n >= type->min_components && (type->max_components == 0 || n <= type->max_components))
        continue;
      const std::string bound =
          type->max_components == type->min_components
              ? "exactly " + std::to_string(type->min_components)
          : n < type->min_components ? "at least " + std::to_string(type->min_components)
                                     : "at most " + std::to_string(type->max_components);
      diags_->Error(reader.ValuePos("repositories"),
                    what + " copies " + Quoted(path) + " to " + Quoted(*dest) + " at endpoint " +
                        Quoted(endpoint_name) + ", which takes repository names of " + bound +
                        " path components (" + type->path_rule +
                        "); set the rule's dest_namespace or flatten");
    }
  }
}

// Harbor users' complaint #17754: two rules copying each other's output forever.
void Loader::WarnAboutLoops() {
  const std::vector<Rule>& rules = config_->rules;
  auto copies = [](const Rule& rule, const std::string& from, const std::string& to) {
    return rule.enabled && rule.source == from &&
           std::find(rule.destinations.begin(), rule.destinations.end(), to) !=
               rule.destinations.end();
  };
  for (size_t b = 0; b < rules.size(); ++b) {
    for (size_t a = 0; a < b; ++a) {
      const std::string& x = rules[a].source;
      const std::string& y = rules[b].source;
      if (x.empty() || y.empty() || x == y) continue;
      if (!copies(rules[a], x, y) || !copies(rules[b], y, x)) continue;
      diags_->Warning(rules[b].pos,
                      "rules " + Quoted(rules[a].name) + " and " + Quoted(rules[b].name) +
                          " replicate in opposite directions between endpoints " + Quoted(x) +
                          " and " + Quoted(y) +
                          "; where their repositories overlap, tags will bounce back and forth "
                          "(a loop)");
    }
  }
}

}  // namespace

std::string Endpoint::host() const {
  const size_t scheme_end = url.find("://");
  return scheme_end == std::string::npos ? url : url.substr(scheme_end + 3);
}

const Endpoint* Config::FindEndpoint(const std::string& name) const {
  auto it = endpoints.find(name);
  return it == endpoints.end() ? nullptr : &it->second;
}

const Rule* Config::FindRule(const std::string& name) const {
  auto it = std::find_if(rules.begin(), rules.end(), [&](const Rule& r) { return r.name == name; });
  return it == rules.end() ? nullptr : &*it;
}

Config ParseConfig(const std::string& text, const std::string& file, Diagnostics* diags) {
  Config config;
  config.path = file;
  Diagnostics found;
  try {
    Loader loader(file, &config, &found);
    loader.Read(toml::parse(std::string_view(text), std::string_view(file)));
  } catch (const toml::parse_error& e) {
    found.Error(PosOf(file, e.source()), std::string(e.description()));
  } catch (const std::exception& e) {
    found.Error({file, 0, 0}, std::string("cannot load config: ") + e.what());
  }
  AppendInFileOrder(found, diags);
  return config;
}

Config LoadConfig(const std::string& file, Diagnostics* diags) {
  auto text = config_check::ReadTextFile(file);
  if (!text.ok()) {
    diags->Error({file, 0, 0}, "cannot read config: " + text.status().message());
    Config config;
    config.path = file;
    return config;
  }
  return ParseConfig(*text, file, diags);
}

}  // namespace crossdock::core
