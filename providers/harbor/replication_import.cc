// Harbor's replication setup -> crossdock.toml. Each registry becomes an endpoint,
// Harbor itself the endpoint "harbor" and [settings] home, each policy a rule written
// Harbor's way (mode push/pull, remote). The mapping of each policy field, checked
// against goharbor/harbor (../shared/reference/harbor-replication.md):
// - filters (src/pkg/reg/filter): Harbor ANDs every filter and skips one with an empty
//   value. name -> repositories; tag matches -> tags, excludes -> exclude_tags (several
//   excludes drop what any of them matches, as one exclude_tags list); label matches ->
//   labels (every one required, so several such filters are one list), excludes ->
//   exclude_labels. Two name or two tag "matches" filters, or two label "excludes"
//   filters, have no equivalent (a crossdock list is any-of): the rule is written
//   disabled, with a note. The resource filter is not applied by Harbor 2.8 and later
//   (filter.BuildArtifactFilters ignores it), so it becomes a note, not `resource`.
// - dest_namespace and dest_namespace_replace_count (flow/stage.go replaceNamespace)
//   are crossdock's dest_namespace and flatten, count for count (-1..3); the API's
//   default for a missing count is -1 (handler/replication.go). Counts above 3 have no
//   equivalent (disabled, with a note).
// - replicate_deletion (or the older "deletion") -> delete; override, enabled as is;
//   trigger manual (or none) -> no schedule, scheduled -> schedule (Harbor's 6-field
//   cron, read by crossdock as it is, in UTC as Harbor's scheduler does),
//   event_based -> events = true.
// - speed, copy_by_chunk: no equivalent (a note and a warning).
// Credentials are never copied: Harbor masks them ("*****") and crossdock reads each
// from an environment variable named after the endpoint. Finally the text is loaded
// with the config loader; a rule it refuses (e.g. a literal repository that breaks the
// destination's path rule, which would fail Harbor's runs too) is written commented
// out, with the loader's message, so the file always passes `crossdock validate`.
#include "providers/harbor/replication_import.h"

#include <algorithm>
#include <cctype>
#include <cstdint>
#include <optional>
#include <set>
#include <utility>

#include "core/config.h"
#include "core/config_check.h"
#include "core/cron.h"
#include "core/endpoint_types.h"
#include "core/pattern.h"
#include "core/toml_text.h"
#include "providers/vendor.h"

namespace crossdock::providers {

namespace {

using nlohmann::json;
using core::TomlKey;
using core::TomlString;
using core::TomlStringArray;

constexpr const char* kHarborName = "harbor";
constexpr size_t kCommentWidth = 88;

std::string Str(const json& obj, const char* key) {
  const json& v = Field(obj, key);
  return v.is_string() ? v.get<std::string>() : "";
}

std::optional<std::int64_t> Int(const json& obj, const char* key) {
  const json& v = Field(obj, key);
  if (v.is_number_integer()) return v.get<std::int64_t>();
  return std::nullopt;
}

// Go's zero value when KEY is absent, as Harbor's models read it.
bool Bool(const json& obj, const char* key) {
  const json& v = Field(obj, key);
  return v.is_boolean() && v.get<bool>();
}

std::string Lower(std::string s) {
  std::transform(s.begin(), s.end(), s.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return s;
}

// TEXT as "# …" lines of at most kCommentWidth columns (a longer word stays whole);
// control characters become spaces, so a comment never ends early.
std::vector<std::string> CommentLines(const std::string& text) {
  std::string clean = text;
  for (char& c : clean)
    if (static_cast<unsigned char>(c) < 0x20 || c == 0x7f) c = ' ';
  std::vector<std::string> lines;
  std::string line = "#";
  size_t start = 0;
  while (start < clean.size()) {
    size_t end = clean.find(' ', start);
    if (end == std::string::npos) end = clean.size();
    const std::string word = clean.substr(start, end - start);
    start = end + 1;
    if (word.empty()) continue;
    if (line.size() > 1 && line.size() + 1 + word.size() > kCommentWidth) {
      lines.push_back(line);
      line = "#  ";  // continuation
    }
    line += " " + word;
  }
  lines.push_back(line);
  return lines;
}

// A line of a table: "key = value" or a comment. NEEDS_FILE: it names a file the
// import writes beside the config (left out when the text is checked before then).
struct Line {
  std::string text;
  bool needs_file = false;
};

// One [endpoints.NAME] or [rules.NAME] table as it will be written.
struct Table {
  std::string header;
  std::vector<Line> lines;
  bool commented_out = false;  // a rule the loader refused: every line behind "# "
  std::string subject;         // "endpoint \"hub\" (Harbor registry 2)", for warnings

  void Set(const std::string& key, const std::string& value, const std::string& comment = "",
           bool needs_file = false) {
    std::string text = key + " = " + value;
    if (!comment.empty()) text += "  # " + comment;
    lines.push_back({text, needs_file});
  }
  void Comment(const std::string& text) {
    for (std::string& l : CommentLines(text)) lines.push_back({std::move(l)});
  }
};

// Endpoint names: letters, digits, '.', '_' and '-' (core/config.cc).
std::string EndpointNameFor(const std::string& harbor_name) {
  std::string out;
  for (char c : harbor_name) {
    const bool ok = std::isalnum(static_cast<unsigned char>(c)) || c == '.' || c == '_' || c == '-';
    if (ok) out += c;
    else if (!out.empty() && out.back() != '-') out += '-';
  }
  while (!out.empty() && out.back() == '-') out.pop_back();
  return out;
}

// Rule names: anything without whitespace.
std::string RuleNameFor(const std::string& policy_name) {
  std::string out;
  for (char c : policy_name) {
    const bool space = std::isspace(static_cast<unsigned char>(c)) || static_cast<unsigned char>(c) < 0x20;
    if (!space) out += c;
    else if (!out.empty() && out.back() != '-') out += '-';
  }
  while (!out.empty() && out.back() == '-') out.pop_back();
  return out;
}

// "CROSSDOCK_<NAME>_PASSWORD" with NAME upper-cased and every other character '_'.
std::string PasswordVariableFor(const std::string& endpoint) {
  std::string out = "CROSSDOCK_";
  for (char c : endpoint) {
    out += std::isalnum(static_cast<unsigned char>(c))
               ? static_cast<char>(std::toupper(static_cast<unsigned char>(c)))
               : '_';
  }
  return out + "_PASSWORD";
}

// What the filters of one policy say, in crossdock's keys.
struct Selection {
  std::vector<std::string> repositories, tags, exclude_tags, labels, exclude_labels;
};

class Importer {
 public:
  Importer(const HarborReplicationSetup& setup, const HarborImportOptions& options)
      : setup_(setup), options_(options) {}

  core::Result<ImportedConfig> Run();

 private:
  core::Status ReadHarbor();
  core::Status ReadRegistry(const json& registry);
  void ReadCredential(const json& registry, const std::string& name,
                      const core::EndpointType* type, Table* t);
  core::Status ReadPolicy(const json& policy);
  // WHAT names the policy; SOURCE_TYPE is the type of the endpoint it copies from.
  core::Status ReadFilters(const json& policy, const std::string& what,
                           const std::string& source_type, Table* t);
  void ReadDestination(const json& policy, Table* t);
  void ReadTrigger(const json& policy, Table* t);
  void ReadTransferOptions(const json& policy, Table* t);

  // A comment at T, and a warning naming T's subject.
  void Warn(Table* t, const std::string& text) {
    t->Comment(text);
    result_.warnings.push_back(t->subject + ": " + text);
  }
  // As Warn, and the rule is written disabled: what it would select is not what
  // Harbor's policy selected.
  void Disable(Table* t, const std::string& text) {
    Warn(t, text + "; the rule is disabled until you have looked at it");
    disabled_ = true;
  }
  std::string UniqueEndpointName(std::string name, const std::string& fallback);
  // The endpoint of the registry a policy names on one side, or nullopt for Harbor
  // itself; InvalidArgument when the id is not among the registries.
  core::Result<std::optional<std::string>> SideOf(const json& policy, const char* key,
                                                  const std::string& what);
  // The whole text; with CHECKING, lines naming files not written yet are left out,
  // and RULE_LINES gets each rule's first and last line.
  std::string Render(bool checking, std::vector<std::pair<int, int>>* rule_lines) const;
  // Loads the text as `crossdock validate` would and comments out each rule it
  // refuses. Internal when something else is refused (a defect of the mapping).
  core::Status CommentOutRefusedRules();

  const HarborReplicationSetup& setup_;
  const HarborImportOptions& options_;
  ImportedConfig result_;
  std::vector<Table> endpoints_;
  std::vector<Table> rules_;
  std::map<std::int64_t, std::string> endpoint_of_registry_;  // Harbor id -> endpoint name
  std::map<std::string, std::string> type_of_endpoint_;       // as written
  std::set<std::string> names_, rule_names_, variables_;
  std::vector<std::string> event_rules_;
  bool disabled_ = false;  // the policy being read cannot be mapped faithfully
};

std::string Importer::UniqueEndpointName(std::string name, const std::string& fallback) {
  if (name.empty()) name = fallback;
  std::string unique = name;
  for (int n = 2; names_.contains(unique); ++n) unique = name + "-" + std::to_string(n);
  names_.insert(unique);
  return unique;
}

core::Status Importer::ReadHarbor() {
  Table t;
  t.subject = "endpoint \"" + std::string(kHarborName) + "\" (this Harbor)";
  t.header = "[endpoints." + TomlKey(kHarborName) + "]";
  t.Comment("This Harbor: the local side of every policy ([settings] home).");
  t.Set("type", TomlString("harbor"));
  std::string url = options_.harbor_url;
  if (url.empty()) {
    // Offline: the address Harbor gives its local registry (id 0) in the policies,
    // which is Harbor's internal one (src/pkg/reg/manager.go getLocalRegistry).
    for (const json& p : setup_.policies) {
      for (const char* side : {"src_registry", "dest_registry"}) {
        const json& r = Field(p, side);
        if (url.empty() && r.is_object() && Int(r, "id").value_or(0) == 0) url = Str(r, "url");
      }
    }
    if (url.empty())
      return core::Status::InvalidArgument(
          "the policies do not say where this Harbor is: give its address with --url");
    Warn(&t, "the policies give only Harbor's internal address " + TomlString(url) +
                 "; replace it with Harbor's own (give --url to the import)");
  }
  std::string normalized = url;
  if (auto problem = core::config_check::NormalizeEndpointUrl(&normalized, kHarborName))
    return core::Status::InvalidArgument("Harbor's address: " + *problem);
  t.Set("url", TomlString(normalized));
  if (options_.username.empty()) {
    Warn(&t, "add username and password (a Harbor user or robot account that can read and push "
             "the projects the rules name), e.g. password = \"env:" +
                 PasswordVariableFor(kHarborName) + "\"");
  } else {
    t.Set("username", TomlString(options_.username));
    const std::string variable = PasswordVariableFor(kHarborName);
    variables_.insert(variable);
    result_.password_variables.push_back(variable);
    t.Set("password", TomlString("env:" + variable));
  }
  if (!options_.harbor_ca_cert.empty()) t.Set("ca_cert", TomlString(options_.harbor_ca_cert));
  if (options_.harbor_insecure && normalized.starts_with("https://")) {
    Warn(&t, "TLS verification is off, as for the import (--insecure)");
    t.Set("insecure", "true");
  }
  names_.insert(kHarborName);
  type_of_endpoint_[kHarborName] = "harbor";
  endpoints_.push_back(std::move(t));
  return core::Status::Ok();
}

core::Status Importer::ReadRegistry(const json& registry) {
  const std::optional<std::int64_t> id = Int(registry, "id");
  const std::string harbor_name = Str(registry, "name");
  if (!id || *id <= 0)
    return core::Status::InvalidArgument("registry " + TomlString(harbor_name) +
                                         " has no id: expected the body of GET "
                                         "/api/v2.0/registries");
  if (endpoint_of_registry_.contains(*id))
    return core::Status::InvalidArgument("registry id " + std::to_string(*id) +
                                         " is listed twice among Harbor's registries");
  const std::string name =
      UniqueEndpointName(EndpointNameFor(harbor_name), "registry-" + std::to_string(*id));
  endpoint_of_registry_[*id] = name;

  Table t;
  t.subject = "endpoint \"" + name + "\" (Harbor registry " + std::to_string(*id) + ")";
  t.header = "[endpoints." + TomlKey(name) + "]";
  t.Comment("Harbor registry " + std::to_string(*id) + " " + TomlString(harbor_name) + ".");
  const std::string harbor_type = Str(registry, "type");
  const core::EndpointType* type = core::FindEndpointType(harbor_type);
  std::string written_type = harbor_type;
  if (!type) {
    written_type = "docker-registry";
    Warn(&t, "Harbor's type " + TomlString(harbor_type) +
                 " is not one crossdock knows; as \"docker-registry\" crossdock lists and copies through the registry API "
                 "alone, which may need other credentials");
    type = core::FindEndpointType("docker-registry");
  }
  t.Set("type", TomlString(written_type));
  type_of_endpoint_[name] = written_type;
  const std::string url = Str(registry, "url");
  if (written_type == "docker-hub") {
    // Harbor's adapter ignores the URL too: registry-1.docker.io and hub.docker.com
    // (src/pkg/reg/adapter/dockerhub/consts.go), crossdock's defaults for the type.
  } else {
    std::string normalized = url;
    if (const size_t scheme = normalized.find("://"); scheme != std::string::npos) {
      const size_t path = normalized.find_first_of("/?#", scheme + 3);
      if (path != std::string::npos && normalized.find_first_not_of('/', path) != std::string::npos) {
        Warn(&t, "Harbor's URL " + TomlString(url) +
                     " has a path; crossdock's url is scheme://host[:port] and each type finds "
                     "its API from there (or from api_url)");
        normalized.resize(path);
      }
    }
    if (auto problem = core::config_check::NormalizeEndpointUrl(&normalized, name))
      return core::Status::InvalidArgument("Harbor registry " + std::to_string(*id) + " " +
                                           TomlString(harbor_name) + ": " + *problem);
    t.Set("url", TomlString(normalized));
  }
  if (const std::string d = Str(registry, "description"); !d.empty())
    t.Set("description", TomlString(d));
  ReadCredential(registry, name, type, &t);
  if (Bool(registry, "insecure") && !url.starts_with("http://")) {
    Warn(&t, "TLS verification is off, as it is in Harbor for this registry");
    t.Set("insecure", "true");
  }
  if (const std::string pem = Str(registry, "ca_certificate"); !pem.empty()) {
    const std::string file = name + "-ca.pem";
    if (options_.can_write_files) {
      result_.files[file] = pem.back() == '\n' ? pem : pem + "\n";
      t.Set("ca_cert", TomlString(file), "Harbor's CA certificate for this registry", true);
    } else {
      Warn(&t, "Harbor trusts a CA certificate of its own for this registry: put it in a file "
               "and name it with ca_cert (an import with --out writes " + file + ")");
    }
  }
  endpoints_.push_back(std::move(t));
  return core::Status::Ok();
}

// Harbor shows the access key (a user name, access key id…) and masks the secret.
void Importer::ReadCredential(const json& registry, const std::string& name,
                              const core::EndpointType* type, Table* t) {
  const json& credential = Field(registry, "credential");
  const std::string key = Str(credential, "access_key");
  const bool secret = !Str(credential, "access_secret").empty();
  if (key.empty() && !secret) {
    t->Comment("Anonymous in Harbor.");
    return;
  }
  const bool uses_username = type == nullptr || type->uses_username;
  if (uses_username && key.empty()) {
    Warn(t, "Harbor holds a secret for this registry but no user name: add username and "
            "password");
    return;
  }
  if (uses_username) t->Set("username", TomlString(key));
  if (!secret) return;
  std::string variable = PasswordVariableFor(name);
  for (int n = 2; variables_.contains(variable); ++n)
    variable = PasswordVariableFor(name + "_" + std::to_string(n));
  variables_.insert(variable);
  result_.password_variables.push_back(variable);
  t->Set("password", TomlString("env:" + variable), type ? type->password_is : "");
}

core::Result<std::optional<std::string>> Importer::SideOf(const json& policy, const char* key,
                                                          const std::string& what) {
  const json& side = Field(policy, key);
  // Absent or null in what Harbor's UI sends, id 0 in what its API answers
  // (controller/replication/policy.go populateRegistry): Harbor itself.
  if (!side.is_object()) return std::optional<std::string>();
  const std::int64_t id = Int(side, "id").value_or(0);
  if (id == 0) return std::optional<std::string>();
  auto it = endpoint_of_registry_.find(id);
  if (it == endpoint_of_registry_.end()) {
    const std::string name = Str(side, "name");
    return core::Status::InvalidArgument(
        what + " names registry id " + std::to_string(id) +
        (name.empty() ? "" : " (" + TomlString(name) + ")") + " as its " +
        (std::string(key) == "src_registry" ? "source" : "destination") +
        ", which is not among Harbor's " + std::to_string(endpoint_of_registry_.size()) +
        " registries: export both lists from the same Harbor");
  }
  return std::optional<std::string>(it->second);
}

core::Status Importer::ReadPolicy(const json& policy) {
  const std::string harbor_name = Str(policy, "name");
  const std::int64_t id = Int(policy, "id").value_or(0);
  const std::string what = "replication policy " + TomlString(harbor_name) +
                           (id > 0 ? " (id " + std::to_string(id) + ")" : "");
  auto source = SideOf(policy, "src_registry", what);
  if (!source.ok()) return source.status();
  auto destination = SideOf(policy, "dest_registry", what);
  if (!destination.ok()) return destination.status();
  if (source->has_value() == destination->has_value())
    return core::Status::InvalidArgument(
        what + (source->has_value() ? " names two other registries"
                                    : " names no registry besides Harbor itself") +
        ": Harbor replicates between itself and one registry (src_registry or dest_registry "
        "is Harbor)");

  std::string base = RuleNameFor(harbor_name);
  if (base.empty()) base = "policy-" + std::to_string(id);
  std::string name = base;
  for (int n = 2; rule_names_.contains(name); ++n) name = base + "-" + std::to_string(n);
  rule_names_.insert(name);

  const bool push = source->has_value() == false;
  const std::string remote = push ? **destination : **source;
  Table t;
  t.subject = "rule \"" + name + "\" (Harbor replication policy " +
              (id > 0 ? std::to_string(id) : TomlString(harbor_name)) + ")";
  t.header = "[rules." + TomlKey(name) + "]";
  t.Comment("Harbor " + what + ": " + (push ? "push to " : "pull from ") + "registry " +
            TomlString(remote) + ".");
  disabled_ = false;
  if (const std::string d = Str(policy, "description"); !d.empty())
    t.Set("description", TomlString(d));
  t.Set("mode", TomlString(push ? "push" : "pull"),
        push ? "harbor (home) -> " + remote : remote + " -> harbor (home)");
  t.Set("remote", TomlString(remote));
  CROSSDOCK_RETURN_IF_ERROR(
      ReadFilters(policy, what, type_of_endpoint_.at(push ? kHarborName : remote), &t));
  ReadDestination(policy, &t);
  t.Set("override", Bool(policy, "override") ? "true" : "false");
  const json& replicate = Field(policy, "replicate_deletion");
  t.Set("delete", (replicate.is_boolean() ? replicate.get<bool>() : Bool(policy, "deletion"))
                      ? "true"
                      : "false");
  ReadTrigger(policy, &t);
  ReadTransferOptions(policy, &t);
  if (!Bool(policy, "enabled")) {
    t.Set("enabled", "false", "disabled in Harbor");
  } else if (disabled_) {
    t.Set("enabled", "false", "enabled in Harbor: see the notes above");
  }
  rules_.push_back(std::move(t));
  return core::Status::Ok();
}

core::Status Importer::ReadFilters(const json& policy, const std::string& what,
                                   const std::string& source_type, Table* t) {
  const json& filters = Field(policy, "filters");
  Selection s;
  for (size_t i = 0; filters.is_array() && i < filters.size(); ++i) {
    const json& f = filters[i];
    const std::string type = Str(f, "type");
    const std::string decoration = Str(f, "decoration");
    const json& value = Field(f, "value");
    const std::string where =
        "filter " + std::to_string(i + 1) + " (" + type + ") of " + what;
    if (type == "name" || type == "tag" || type == "resource") {
      if (!value.is_string() && !value.is_null())
        return core::Status::InvalidArgument(where + ": its value must be a string");
    }
    const std::string text = value.is_string() ? value.get<std::string>() : "";
    if (type == "name" || type == "tag") {
      if (text.empty()) continue;  // Harbor skips an empty pattern (filter/*.go)
      if (auto pattern = core::Pattern::Compile(text); !pattern.ok()) {
        Disable(t, "Harbor's " + type + " filter " + TomlString(text) +
                       " is not a pattern crossdock reads (" + pattern.status().message() + ")");
        continue;
      }
    }
    if (type == "name") {
      if (!decoration.empty() && decoration != "matches")
        Warn(t, "Harbor's name filter has decoration " + TomlString(decoration) +
                    ", which Harbor refuses for names and does not apply");
      if (!s.repositories.empty() && s.repositories[0] != text) {
        Disable(t, "Harbor ANDs the name filters " + TomlString(s.repositories[0]) + " and " +
                       TomlString(text) + "; crossdock's repositories select what any pattern "
                       "matches, so only the first is written");
      } else {
        s.repositories = {text};
      }
    } else if (type == "tag") {
      if (decoration == "excludes") {
        if (std::find(s.exclude_tags.begin(), s.exclude_tags.end(), text) == s.exclude_tags.end())
          s.exclude_tags.push_back(text);
      } else if (decoration.empty() || decoration == "matches") {
        if (!s.tags.empty() && s.tags[0] != text) {
          Disable(t, "Harbor ANDs the tag filters " + TomlString(s.tags[0]) + " and " +
                         TomlString(text) + "; crossdock's tags select what any pattern "
                         "matches, so only the first is written");
        } else {
          s.tags = {text};
        }
      } else {
        Disable(t, "Harbor's tag filter " + TomlString(text) + " has decoration " +
                       TomlString(decoration) + ", which is neither matches nor excludes");
      }
    } else if (type == "label") {
      if (!value.is_array() && !value.is_null())
        return core::Status::InvalidArgument(where + ": its value must be a list of labels");
      std::vector<std::string> labels;
      bool usable = true;
      for (const json& l : value.is_array() ? value : json::array()) {
        if (!l.is_string())
          return core::Status::InvalidArgument(where + ": its value must be a list of labels");
        const std::string label = l.get<std::string>();
        if (auto problem = core::config_check::CheckLabel(label)) {
          Disable(t, "Harbor's label " + TomlString(label) + " cannot be a crossdock label: it " +
                         *problem);
          usable = false;
        }
        labels.push_back(label);
      }
      if (labels.empty() || !usable) continue;
      if (decoration == "excludes") {
        if (!s.exclude_labels.empty() && s.exclude_labels != labels) {
          Disable(t, "Harbor drops what carries all of " + TomlStringArray(s.exclude_labels) +
                         " and what carries all of " + TomlStringArray(labels) +
                         "; crossdock's exclude_labels is one such list, so only the first is "
                         "written");
        } else {
          s.exclude_labels = labels;
        }
      } else if (decoration.empty() || decoration == "matches") {
        for (const std::string& l : labels)
          if (std::find(s.labels.begin(), s.labels.end(), l) == s.labels.end()) s.labels.push_back(l);
      } else {
        Disable(t, "Harbor's label filter " + TomlStringArray(labels) + " has decoration " +
                       TomlString(decoration) + ", which is neither matches nor excludes");
      }
    } else if (type == "resource") {
      if (text.empty()) continue;
      t->Comment("Harbor's resource filter " + TomlString(text) +
                 " is not applied by Harbor 2.8 and later: every kind of artifact was copied, "
                 "and so does this rule.");
      if (text == "image") t->lines.push_back({"# resource = \"image\"  # to copy images only"});
    } else {
      Warn(t, "Harbor's filter type " + TomlString(type) +
                  " is not one Harbor applies (name, tag, label, resource); it is left out");
    }
  }
  if (!s.repositories.empty()) t->Set("repositories", TomlStringArray(s.repositories));
  if (!s.tags.empty()) t->Set("tags", TomlStringArray(s.tags));
  if (!s.exclude_tags.empty()) t->Set("exclude_tags", TomlStringArray(s.exclude_tags));
  if (!s.labels.empty() || !s.exclude_labels.empty()) {
    if (source_type == "harbor") {
      t->Comment("Labels: Harbor's labels on the artifact; crossdock also reads the image's "
                 "annotations and config labels of these names.");
    } else {
      Warn(t, "Harbor sees no labels on a " + TomlString(source_type) +
                  " registry, so its label filter selected nothing there (matches) or did not "
                  "filter (excludes); crossdock reads the image's annotations and config labels");
    }
  }
  if (!s.labels.empty()) t->Set("labels", TomlStringArray(s.labels));
  if (!s.exclude_labels.empty()) t->Set("exclude_labels", TomlStringArray(s.exclude_labels));
  return core::Status::Ok();
}

void Importer::ReadDestination(const json& policy, Table* t) {
  const std::string ns = Str(policy, "dest_namespace");
  if (ns.empty()) return;  // Harbor keeps the source path whatever the count
  if (auto problem = core::config_check::CheckNamespace(ns)) {
    Disable(t, "Harbor's destination namespace " + TomlString(ns) + " is not one crossdock "
               "takes: " + *problem);
    return;
  }
  t->Set("dest_namespace", TomlString(ns));
  // The API's default for a missing count is -1, "the legacy mode"
  // (src/server/v2.0/handler/replication.go).
  const std::int64_t count = Int(policy, "dest_namespace_replace_count").value_or(-1);
  if (count >= -1 && count <= 3) {
    const char* meaning[] = {"only the last path component is kept", "the whole source path is kept",
                             "the first path component is replaced",
                             "the first two path components are replaced",
                             "the first three path components are replaced"};
    t->Set("flatten", std::to_string(count), meaning[count + 1]);
  } else {
    Disable(t, "Harbor's dest_namespace_replace_count " + std::to_string(count) +
                   " has no equivalent: crossdock's flatten goes from -1 to 3");
  }
}

void Importer::ReadTrigger(const json& policy, Table* t) {
  const json& trigger = Field(policy, "trigger");
  const std::string type = Lower(Str(trigger, "type"));
  if (type.empty() || type == "manual") return;  // crossdock apply runs every rule
  if (type == "event_based") {
    t->Set("events", "true", "crossdock serve replicates what Harbor's webhooks report");
    event_rules_.push_back(t->header);
    return;
  }
  if (type == "scheduled") {
    const std::string cron = Str(Field(trigger, "trigger_settings"), "cron");
    if (auto schedule = core::Schedule::Parse(cron); schedule.ok()) {
      t->Set("schedule", TomlString(cron), "as in Harbor: seconds first, UTC");
    } else {
      Warn(t, "Harbor's schedule " + TomlString(cron) + " is not a cron crossdock reads (" +
                  schedule.status().message() + "): the rule runs only with crossdock apply");
    }
    return;
  }
  Warn(t, "Harbor's trigger " + TomlString(type) + " is not manual, scheduled or event_based: "
          "the rule runs only with crossdock apply");
}

void Importer::ReadTransferOptions(const json& policy, Table* t) {
  if (const std::int64_t speed = Int(policy, "speed").value_or(0); speed > 0)
    Warn(t, "Harbor limits this policy's bandwidth (speed = " + std::to_string(speed) +
                " per task); crossdock has no bandwidth limit (an endpoint's rate_limit and "
                "max_connections limit its requests)");
  if (Bool(policy, "copy_by_chunk"))
    Warn(t, "Harbor copies this policy's blobs in chunks (copy_by_chunk); crossdock chooses how "
            "to upload each blob itself");
  if (Bool(policy, "single_active_replication"))
    t->Comment("single_active_replication: crossdock never runs two executions at once (they "
               "take the state lock).");
}

std::string Importer::Render(bool checking, std::vector<std::pair<int, int>>* rule_lines) const {
  std::vector<std::string> out;
  auto comment = [&](const std::string& text) {
    for (std::string& l : CommentLines(text)) out.push_back(std::move(l));
  };
  comment("Imported from " + options_.origin + " by `crossdock import harbor` on " +
          options_.time + ": " + std::to_string(endpoints_.size() - 1) + " registr" +
          (endpoints_.size() == 2 ? "y" : "ies") + " and " + std::to_string(rules_.size()) +
          " replication polic" + (rules_.size() == 1 ? "y" : "ies") + ".");
  comment("Each policy is one rule, written as Harbor has it: [settings] home is this Harbor "
          "(endpoint \"harbor\"), mode = \"push\" copies from it to the rule's remote, "
          "mode = \"pull\" from the remote to it.");
  if (!result_.password_variables.empty()) {
    std::string vars;
    for (const std::string& v : result_.password_variables) vars += (vars.empty() ? "" : ", ") + v;
    comment("Harbor never hands out the secrets it holds: set the passwords in " + vars +
            " before crossdock plan.");
  }
  if (!event_rules_.empty())
    comment("Rules with events = true replicate as `crossdock serve` receives Harbor's webhooks: "
            "add a webhook policy in Harbor that sends push and delete events to it.");
  if (!result_.warnings.empty())
    comment("Notes below mark what crossdock does differently or cannot express; rules that "
            "would select other artifacts than Harbor's policy are disabled until you look.");
  if (!rules_.empty()) {
    out.push_back("");
    out.push_back("[settings]");
    out.push_back("home = " + TomlString(kHarborName));
  }
  // Returns the table's first and last line (1-based).
  auto table = [&](const Table& t) {
    out.push_back("");
    const int first = static_cast<int>(out.size()) + 1;
    const std::string prefix = t.commented_out ? "# " : "";
    out.push_back(prefix + t.header);
    for (const Line& l : t.lines) {
      if (checking && l.needs_file) continue;
      out.push_back(t.commented_out && !l.text.starts_with("#") ? prefix + l.text : l.text);
    }
    return std::make_pair(first, static_cast<int>(out.size()));
  };
  for (const Table& t : endpoints_) table(t);
  for (const Table& t : rules_) {
    const auto lines = table(t);
    if (rule_lines) rule_lines->push_back(lines);
  }
  std::string text;
  for (const std::string& l : out) text += l + "\n";
  return text;
}

core::Status Importer::CommentOutRefusedRules() {
  for (size_t round = 0; round <= rules_.size(); ++round) {
    std::vector<std::pair<int, int>> lines;
    const std::string text = Render(true, &lines);
    core::Diagnostics diags;
    (void)core::ParseConfig(text, "crossdock.toml", &diags);
    auto rule_at = [&](const core::Diagnostic& d) {
      size_t i = 0;
      while (i < lines.size() && !(d.pos.line >= lines[i].first && d.pos.line <= lines[i].second)) ++i;
      return i;
    };
    if (!diags.has_errors()) {
      // What validate will say about a rule is worth a note where the rule is.
      for (const core::Diagnostic& d : diags.items()) {
        if (const size_t i = rule_at(d); i < rules_.size() && !rules_[i].commented_out)
          Warn(&rules_[i], "crossdock validate warns: " + d.message);
      }
      return core::Status::Ok();
    }
    std::set<size_t> refused;  // this round
    for (const core::Diagnostic& d : diags.items()) {
      if (d.severity != core::Severity::kError) continue;
      const size_t i = rule_at(d);
      if (i == lines.size() || (rules_[i].commented_out && !refused.contains(i)))
        return core::Status::Internal("the imported configuration does not load: " +
                                      core::FormatDiagnostic(d));
      refused.insert(i);
      rules_[i].commented_out = true;
      Warn(&rules_[i], "not imported, because crossdock validate refuses it: " + d.message);
    }
  }
  return core::Status::Internal("the imported configuration does not load");
}

core::Result<ImportedConfig> Importer::Run() {
  CROSSDOCK_RETURN_IF_ERROR(ReadHarbor());
  for (const json& r : setup_.registries) CROSSDOCK_RETURN_IF_ERROR(ReadRegistry(r));
  for (const json& p : setup_.policies) CROSSDOCK_RETURN_IF_ERROR(ReadPolicy(p));
  CROSSDOCK_RETURN_IF_ERROR(CommentOutRefusedRules());
  result_.toml = Render(false, nullptr);
  result_.endpoints = static_cast<int>(endpoints_.size());
  result_.rules = static_cast<int>(
      std::count_if(rules_.begin(), rules_.end(), [](const Table& t) { return !t.commented_out; }));
  return std::move(result_);
}

}  // namespace

core::Result<ImportedConfig> ImportHarborReplication(const HarborReplicationSetup& setup,
                                                     const HarborImportOptions& options) {
  if (!setup.registries.is_array() || !setup.policies.is_array())
    return core::Status::InvalidArgument("Harbor's registries and policies must be JSON lists");
  Importer importer(setup, options);
  return importer.Run();
}

}  // namespace crossdock::providers
