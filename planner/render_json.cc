// The plan JSON, for PR-review bots. Format (documented in the README; stable within
// format_version "1", fields are only ever added):
//   {"format_version":"1",
//    "shard":{"index","count"} (only for a plan of one shard, --shard I/N),
//    "changes":[{"rule","action","source_endpoint","source_repository",
//                "destination_endpoint","destination_repository","tag",
//                "source_digest","destination_digest","reason"}],
//    "namespaces":[{"endpoint","namespace","rule"}],
//    "errors":[{"rule","source_repository","message"}],
//    "warnings":["…"], "disabled_rules":["…"] (only when some),
//    "summary":{"create","update","delete","skip"},
//    "deletion_guard":{"max_deletes","message"} (only when the plan deletes more
//    tags than [settings] max_deletes: apply refuses it without --allow-deletes)}
// "action" is create, update, delete, skip or adopt; "accessory_of" (only on
// signature/attestation/SBOM tags) names the tag they belong to; "summary" has
// "adopt" only when some. Repositories carry no host; digests absent at a side are null; "reason" is null
// unless the change has one. --refresh-only plans list their drift as "changes" with
// action "delete" of the state record and "refresh_only": true. "namespaces" lists
// what apply creates before the tags that need it (a Harbor project, a Quay
// organisation): not a change of its own, so no "action" (issue 12's contract).
#include <nlohmann/json.hpp>

#include "planner/render.h"

namespace crossdock::planner {

namespace {

nlohmann::ordered_json NullIfEmpty(const std::string& s) {
  return s.empty() ? nlohmann::ordered_json(nullptr) : nlohmann::ordered_json(s);
}

}  // namespace

std::string RenderPlanJson(const Plan& plan) {
  using J = nlohmann::ordered_json;
  J out;
  out["format_version"] = "1";
  if (plan.shard) out["shard"] = {{"index", plan.shard->index}, {"count", plan.shard->count}};
  if (plan.refresh_only) out["refresh_only"] = true;
  J changes = J::array();
  for (const auto& c : plan.refresh_only ? plan.drift : plan.changes) {
    J j;
    j["rule"] = c.rule;
    j["action"] = ActionName(c.action);
    j["source_endpoint"] = c.source_endpoint;
    j["source_repository"] = NullIfEmpty(c.source_repository);
    j["destination_endpoint"] = c.destination_endpoint;
    j["destination_repository"] = c.destination_repository;
    j["tag"] = c.tag;
    j["source_digest"] = NullIfEmpty(c.source_digest);
    j["destination_digest"] = c.destination_digest ? J(*c.destination_digest) : J(nullptr);
    j["reason"] = NullIfEmpty(c.reason);
    if (!c.accessory_of.empty()) j["accessory_of"] = c.accessory_of;
    if (!c.manifest_bytes.empty()) j["referrers_index"] = true;
    changes.push_back(j);
  }
  out["changes"] = changes;
  J namespaces = J::array();
  for (const auto& n : plan.namespaces)
    namespaces.push_back({{"endpoint", n.endpoint}, {"namespace", n.name}, {"rule", n.rule}});
  out["namespaces"] = namespaces;
  J errors = J::array();
  for (const auto& e : plan.errors) {
    errors.push_back(
        {{"rule", e.rule}, {"source_repository", NullIfEmpty(e.source_repository)},
         {"message", e.message}});
  }
  out["errors"] = errors;
  out["warnings"] = plan.warnings;
  if (!plan.disabled_rules.empty()) out["disabled_rules"] = plan.disabled_rules;
  Summary s = plan.summary();
  out["summary"] = {{"create", s.create}, {"update", s.update}, {"delete", s.del},
                    {"skip", s.skip}};
  if (s.adopt) out["summary"]["adopt"] = s.adopt;
  if (const std::string guard = DeletionGuard(plan); !guard.empty())
    out["deletion_guard"] = {{"max_deletes", *plan.max_deletes}, {"message", guard}};
  return out.dump();
}

}  // namespace crossdock::planner
