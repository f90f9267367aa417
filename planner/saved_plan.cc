// Saved plan file: cereal JSON of SavedPlan. JSON rather than a binary archive so a
// reviewer can read what an apply will do; mode 0600 like the state because it names
// internal registries. Written atomically (temp file + rename).
#include "planner/saved_plan.h"

#include "core/digest.h"
#include "core/file.h"
#include "core/json_guard.h"
#include "core/names.h"
#include "planner/events.h"

#include <algorithm>
#include <cereal/archives/json.hpp>
#include <nlohmann/json.hpp>
#include <cereal/types/optional.hpp>
#include <cereal/types/string.hpp>
#include <cereal/types/vector.hpp>
#include <sstream>
#include <string_view>

namespace crossdock::planner {

template <class Archive>
void serialize(Archive& ar, Change& c) {
  std::string action = ActionName(c.action);
  ar(cereal::make_nvp("rule", c.rule), cereal::make_nvp("action", action),
     cereal::make_nvp("source_endpoint", c.source_endpoint),
     cereal::make_nvp("source_repository", c.source_repository),
     cereal::make_nvp("source_digest", c.source_digest),
     cereal::make_nvp("destination_endpoint", c.destination_endpoint),
     cereal::make_nvp("destination_host", c.destination_host),
     cereal::make_nvp("destination_repository", c.destination_repository),
     cereal::make_nvp("tag", c.tag), cereal::make_nvp("destination_digest", c.destination_digest),
     cereal::make_nvp("reason", c.reason), cereal::make_nvp("accessory_of", c.accessory_of),
     cereal::make_nvp("manifest_bytes", c.manifest_bytes),
     cereal::make_nvp("manifest_media_type", c.manifest_media_type));
  std::optional<Action> known = ActionFromName(action);
  if (!known) throw cereal::Exception("unknown action \"" + core::ShowName(action) + "\"");
  c.action = *known;
}

template <class Archive>
void serialize(Archive& ar, PlanError& e) {
  ar(cereal::make_nvp("rule", e.rule), cereal::make_nvp("source_repository", e.source_repository),
     cereal::make_nvp("message", e.message));
}

template <class Archive>
void serialize(Archive& ar, NamespaceChange& n) {
  ar(cereal::make_nvp("endpoint", n.endpoint), cereal::make_nvp("name", n.name),
     cereal::make_nvp("rule", n.rule), cereal::make_nvp("repositories", n.repositories));
}

template <class Archive>
void serialize(Archive& ar, Plan& p) {
  ar(cereal::make_nvp("state_lineage", p.state_lineage),
     cereal::make_nvp("state_serial", p.state_serial),
     cereal::make_nvp("refresh_only", p.refresh_only), cereal::make_nvp("rules", p.rules),
     cereal::make_nvp("disabled_rules", p.disabled_rules),
     cereal::make_nvp("changes", p.changes), cereal::make_nvp("namespaces", p.namespaces),
     cereal::make_nvp("errors", p.errors),
     cereal::make_nvp("warnings", p.warnings), cereal::make_nvp("drift", p.drift),
     cereal::make_nvp("max_deletes", p.max_deletes));
  // "I/N" as --shard takes it; "" for a plan of every shard.
  std::string shard = p.shard ? p.shard->Name() : "";
  ar(cereal::make_nvp("shard", shard));
  p.shard.reset();
  if (shard.empty()) return;
  auto parsed = core::ParseShard(shard);
  if (!parsed.ok()) throw cereal::Exception("shard: " + parsed.status().message());
  p.shard = *parsed;
}

template <class Archive>
void serialize(Archive& ar, SavedPlan& s) {
  ar(cereal::make_nvp("crossdock_plan_format", s.format_version),
     cereal::make_nvp("config_path", s.config_path),
     cereal::make_nvp("config_digest", s.config_digest), cereal::make_nvp("plan", s.plan));
}

namespace {

// The digest of the file at PATH; of nothing when it cannot be read (then it matches
// no saved plan's).
std::string FileDigest(const std::string& path) {
  auto bytes = core::ReadFile(path, path);
  return core::Sha256Digest(bytes.ok() ? *bytes : "");
}

// The copies of PLAN whose source tag moved since: Conflict for the first, or a HEAD's
// error.
core::Status CheckSources(const Plan& plan,
                          const std::map<std::string, providers::Registry*>& registries) {
  for (const auto& c : plan.changes) {
    if (c.action == Action::kDelete || c.action == Action::kSkip) continue;
    if (!c.manifest_bytes.empty()) continue;  // written by crossdock, not copied
    auto it = registries.find(c.source_endpoint);
    if (it == registries.end())
      return core::Status::Conflict("Saved plan is stale: endpoint \"" + c.source_endpoint +
                                    "\" is no longer configured");
    auto h = it->second->HeadManifest(c.source_repository, c.tag);
    if (!h.ok()) return h.status();
    if (!*h || (*h)->digest != c.source_digest)
      return core::Status::Conflict(
          "Saved plan is stale: " + c.source_repository + ":" + c.tag + " at endpoint \"" +
          c.source_endpoint + "\" is now " + (*h ? (*h)->digest : std::string("absent")) +
          ", the plan copies " + c.source_digest + ". Run crossdock plan again.");
  }
  return core::Status::Ok();
}

}  // namespace

SavedPlan MakeSavedPlan(const core::Config& config, Plan plan) {
  SavedPlan saved;
  saved.config_path = config.path;
  saved.config_digest = FileDigest(config.path);
  saved.plan = std::move(plan);
  return saved;
}

core::Status CheckSavedPlanCurrent(const SavedPlan& saved, const state::State& state,
                                   const std::string& state_path, const core::Config& config,
                                   const std::map<std::string, providers::Registry*>& registries) {
  const Plan& plan = saved.plan;
  if (!plan.state_lineage.empty() && !state.lineage.empty() &&
      plan.state_lineage != state.lineage && state.serial > 0)
    return core::Status::Conflict("Saved plan does not match the given state: the plan was made "
                                  "for state lineage " + plan.state_lineage + ", " + state_path +
                                  " has lineage " + state.lineage);
  if (plan.state_serial != state.serial)
    return core::Status::Conflict(
        "Saved plan is stale: the state changed since the plan was made (serial " +
        std::to_string(plan.state_serial) + " then, " + std::to_string(state.serial) +
        " now). Run crossdock plan again.");
  if (saved.config_digest != FileDigest(config.path))
    return core::Status::Conflict("Saved plan is stale: " + config.path +
                                  " changed since the plan was made. Run crossdock plan again.");
  return CheckSources(plan, registries);
}

// A plan nests six levels deep and holds only small integers (core/json_guard.h).
constexpr int kMaxPlanNesting = 64;

core::Status WritePlanFile(const std::string& path, const SavedPlan& saved) {
  std::ostringstream os;
  try {
    cereal::JSONOutputArchive ar(os);
    SavedPlan copy = saved;  // cereal serialises through non-const references
    ar(cereal::make_nvp("saved_plan", copy));
  } catch (const std::exception& e) {
    return core::Status::Internal(std::string("cannot encode the plan: ") + e.what());
  }
  return core::WriteFileAtomically(path, os.str() + "\n")
      .WithContext("cannot write plan file " + path);
}

namespace {

// Names and digests of one change, as the planner makes them, within SHARD; WHERE
// names it.
core::Status CheckChange(const std::string& where, const Change& c,
                         const std::optional<core::Shard>& shard) {
  // A referrer copied by digest has its digest as "tag".
  const bool by_digest = core::IsValidDigest(c.tag);
  if (c.tag.empty()) return core::Status::InvalidArgument(where + " has no tag");
  CROSSDOCK_RETURN_IF_ERROR(
      CheckNames(where, c.destination_repository, by_digest ? "" : c.tag, c.source_digest));
  if (!c.source_repository.empty())  // empty for a delete whose source is gone
    CROSSDOCK_RETURN_IF_ERROR(CheckNames(where, c.source_repository, "", ""));
  if (c.destination_digest)
    CROSSDOCK_RETURN_IF_ERROR(
        CheckNames(where, c.destination_repository, "", *c.destination_digest));
  if (!c.accessory_of.empty() && !core::IsValidDigest(c.accessory_of))
    CROSSDOCK_RETURN_IF_ERROR(CheckNames(where, c.destination_repository, c.accessory_of, ""));
  if (!c.manifest_bytes.empty() && core::Sha256Digest(c.manifest_bytes) != c.source_digest)
    return core::Status::InvalidArgument(where + ": its manifest is not " + c.source_digest);
  if (shard && !shard->Owns(c.destination_endpoint, c.destination_repository))
    return core::Status::InvalidArgument(where + ": " + c.destination_repository +
                                         " at endpoint \"" + c.destination_endpoint +
                                         "\" is not in the plan's shard " + shard->Name());
  return core::Status::Ok();
}

}  // namespace

core::Result<SavedPlan> ReadPlanFile(const std::string& path) {
  auto text = core::ReadFile(path, "plan file " + path);
  if (!text.ok()) return text.status();
  return ParsePlanText(*text, path);
}

core::Result<SavedPlan> ParsePlanText(const std::string& text, const std::string& path) {
  if (std::string why = core::JsonTooOddForCereal(text, kMaxPlanNesting); !why.empty())
    return core::Status::DataLoss(path + " is not a crossdock plan file (" + why +
                                  "); make one with `crossdock plan --out FILE`");
  // The format first: an older or newer file is refused as such, not misread.
  auto doc = nlohmann::json::parse(text, nullptr, /*allow_exceptions=*/false);
  const nlohmann::json* format = nullptr;
  if (doc.is_object() && doc.contains("saved_plan") && doc["saved_plan"].is_object() &&
      doc["saved_plan"].contains("crossdock_plan_format"))
    format = &doc["saved_plan"]["crossdock_plan_format"];
  if (format && format->is_number_integer() && *format != kPlanFormatVersion) {
    const auto v = format->get<std::int64_t>();
    return core::Status::InvalidArgument(
        path + (v > kPlanFormatVersion ? " was written by a newer crossdock" : " was written by an older crossdock") +
        " (plan format " + std::to_string(v) + ", this one reads " +
        std::to_string(kPlanFormatVersion) + "); " +
        (v > kPlanFormatVersion ? "upgrade crossdock" : "make a new plan with `crossdock plan --out FILE`"));
  }
  std::istringstream in(text);
  SavedPlan saved;
  try {
    cereal::JSONInputArchive ar(in);
    ar(cereal::make_nvp("saved_plan", saved));
  } catch (const std::exception& e) {
    return core::Status::DataLoss(path + " is not a crossdock plan file (" + e.what() +
                                  "); make one with `crossdock plan --out FILE`");
  }
  for (const auto* list : {&saved.plan.changes, &saved.plan.drift}) {
    const char* kind = list == &saved.plan.changes ? "change" : "drift entry";
    for (size_t i = 0; i < list->size(); ++i) {
      const std::string where = path + ": " + kind + " " + std::to_string(i + 1);
      if (core::Status st = CheckChange(where, (*list)[i], saved.plan.shard); !st.ok()) {
        return core::Status::DataLoss(st.message() +
                                      "; the file was altered or damaged since it was made, so "
                                      "nothing of it is applied: make a new plan with `crossdock "
                                      "plan --out FILE`");
      }
    }
  }
  return saved;
}

}  // namespace crossdock::planner
