#include "core/config_schema.h"

#include <string>
#include <vector>

#include "core/config_keys.h"
#include "core/endpoint_types.h"

namespace crossdock::core {

namespace {

using Json = nlohmann::ordered_json;

Json TableSchema(const ConfigTable& table, const std::string& description);

// The forms of a secret, as the loader tells them apart (core/config.cc ReadPassword,
// ReadWebhook): exactly one applies to any string.
Json SecretForms() {
  return Json::array({
      {{"description", "env:NAME: the environment variable NAME"},
       {"pattern", "^env:[A-Za-z_][A-Za-z0-9_]*$"}},
      {{"description", "file:PATH: the content of the file PATH"}, {"pattern", "^file:[\\s\\S]"}},
      {{"description", "the secret itself, written in the config (validate warns)"},
       {"not", {{"pattern", "^(?:env|file):"}}}},
  });
}

Json KeySchema(const ConfigKey& key) {
  Json schema = {{"description", key.description}};
  switch (key.kind) {
    case ValueKind::kString:
      schema["type"] = "string";
      if (!key.words.empty()) schema["enum"] = key.words;
      break;
    case ValueKind::kBoolean:
      schema["type"] = "boolean";
      break;
    case ValueKind::kInteger:
      schema["type"] = "integer";
      break;
    case ValueKind::kStringList: {
      // A string or an array of them: "pattern" applies to the one (below), "items",
      // "minItems" and "uniqueItems" to the other.
      schema["type"] = Json::array({"string", "array"});
      Json item = {{"type", "string"}};
      if (!key.pattern.empty()) item["pattern"] = key.pattern;
      schema["items"] = item;
      if (key.not_empty) schema["minItems"] = 1;
      if (key.unique) schema["uniqueItems"] = true;
      break;
    }
    case ValueKind::kSecret:
      schema["type"] = "string";
      schema["oneOf"] = SecretForms();
      break;
    case ValueKind::kFlatten:
      schema["oneOf"] = Json::array({
          {{"type", "integer"}, {"minimum", *key.minimum}, {"maximum", *key.maximum}},
          {{"type", "string"}, {"enum", key.words}},
      });
      break;
    case ValueKind::kTable:
      return TableSchema(key.table(), key.description);
    case ValueKind::kNamedTables:
      return {{"type", "object"},
              {"description", key.description},
              {"propertyNames", {{"pattern", key.name_pattern}}},
              {"additionalProperties", TableSchema(key.table(), key.table().description)}};
  }
  if (key.kind == ValueKind::kInteger) {
    if (key.minimum) schema["minimum"] = *key.minimum;
    if (key.maximum) schema["maximum"] = *key.maximum;
  }
  if (key.not_empty && key.kind != ValueKind::kStringList) schema["minLength"] = 1;
  if (!key.pattern.empty()) schema["pattern"] = key.pattern;
  if (!key.default_json.empty()) schema["default"] = Json::parse(key.default_json);
  return schema;
}

// Every key of TABLE, and no other: the loader reports unknown keys.
Json TableSchema(const ConfigTable& table, const std::string& description) {
  Json properties = Json::object();
  for (const ConfigKey& key : table.keys) properties[key.name] = KeySchema(key);
  return {{"type", "object"},
          {"title", table.title},
          {"description", description},
          {"properties", properties},
          {"additionalProperties", false}};
}

// NAME, which must be a key of TABLE (ConfigTable::Key aborts otherwise): the rules
// below that name keys break loudly when a key is renamed.
std::string Name(const ConfigTable& table, const char* name) { return table.Key(name).name; }

Json Required(const std::vector<std::string>& names) { return {{"required", names}}; }

// core/config.cc ReadEndpoint: url is required unless the type has a default address.
void AddEndpointRules(Json* endpoint) {
  const ConfigTable& keys = EndpointKeys();
  std::vector<std::string> fixed;
  for (const EndpointType& type : EndpointTypes())
    if (!type.default_url.empty()) fixed.push_back(type.name);
  Json condition = Required({Name(keys, "type")});
  condition["properties"][Name(keys, "type")] = {{"enum", fixed}};
  (*endpoint)["if"] = condition;
  (*endpoint)["else"] = Required({Name(keys, "url")});
}

// core/config.cc ReadRuleEndpoints and ReadMode: either mode and remote, or source and
// one of destination and destinations.
void AddRuleRules(Json* rule) {
  const ConfigTable& keys = RuleKeys();
  const std::string source = Name(keys, "source"), destination = Name(keys, "destination"),
                    destinations = Name(keys, "destinations"), remote = Name(keys, "remote");
  (*rule)["if"] = Required({Name(keys, "mode")});
  Json with_mode = Required({remote});
  with_mode["not"]["anyOf"] =
      Json::array({Required({source}), Required({destination}), Required({destinations})});
  (*rule)["then"] = with_mode;
  Json without_mode = Required({source});
  without_mode["not"] = Required({remote});
  without_mode["oneOf"] = Json::array({Required({destination}), Required({destinations})});
  (*rule)["else"] = without_mode;
}

// core/config.cc ReadMode: a rule with mode needs [settings] home.
void AddTopLevelRules(Json* root) {
  const std::string rules = Name(TopLevelKeys(), "rules"),
                    settings = Name(TopLevelKeys(), "settings");
  Json no_rule_has_mode;
  no_rule_has_mode["properties"][rules]["additionalProperties"]["not"] =
      Required({Name(RuleKeys(), "mode")});
  (*root)["if"] = no_rule_has_mode;
  Json home_set = Required({settings});
  home_set["properties"][settings] = Required({Name(SettingsKeys(), "home")});
  (*root)["else"] = home_set;
}

}  // namespace

Json ConfigSchema() {
  const ConfigTable& top = TopLevelKeys();
  Json root = {{"$schema", "https://json-schema.org/draft/2020-12/schema"}};
  root.update(TableSchema(top, top.description));
  AddEndpointRules(&root["properties"]["endpoints"]["additionalProperties"]);
  AddRuleRules(&root["properties"]["rules"]["additionalProperties"]);
  AddTopLevelRules(&root);
  return root;
}

}  // namespace crossdock::core
