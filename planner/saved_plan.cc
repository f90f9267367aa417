// Saved plan file: cereal JSON of SavedPlan. JSON rather than a binary archive so a
// reviewer can read what an apply will do; mode 0600 like the state because it names
// internal registries. Written atomically (temp file + rename).
#include "planner/saved_plan.h"

#include "core/digest.h"
#include "core/file.h"
#include "core/json_guard.h"
#include "planner/events.h"

#include <algorithm>
#include <cereal/archives/json.hpp>
#include <cereal/types/optional.hpp>
#include <cereal/types/string.hpp>
#include <cereal/types/vector.hpp>
#include <cerrno>
#include <cstring>
#include <fstream>
#include <sstream>
#include <string_view>

namespace crossdock::planner {

template <class Archive>
void serialize(Archive& ar, Change& c) {
  int action = static_cast<int>(c.action);
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
  c.action = static_cast<Action>(action);
}

template <class Archive>
void serialize(Archive& ar, PlanError& e) {
  ar(cereal::make_nvp("rule", e.rule), cereal::make_nvp("source_repository", e.source_repository),
     cereal::make_nvp("message", e.message));
}

template <class Archive>
void serialize(Archive& ar, Plan& p) {
  ar(cereal::make_nvp("state_lineage", p.state_lineage),
     cereal::make_nvp("state_serial", p.state_serial),
     cereal::make_nvp("refresh_only", p.refresh_only), cereal::make_nvp("rules", p.rules),
     cereal::make_nvp("disabled_rules", p.disabled_rules),
     cereal::make_nvp("changes", p.changes), cereal::make_nvp("errors", p.errors),
     cereal::make_nvp("warnings", p.warnings), cereal::make_nvp("drift", p.drift));
}

template <class Archive>
void serialize(Archive& ar, SavedPlan& s) {
  ar(cereal::make_nvp("crossdock_plan_format", s.format_version),
     cereal::make_nvp("config_path", s.config_path),
     cereal::make_nvp("config_digest", s.config_digest), cereal::make_nvp("plan", s.plan));
}

// A plan nests six levels deep and holds only small integers (core/json_guard.h).
constexpr int kMaxPlanNesting = 64;

core::Status WritePlanFile(const std::string& path, const SavedPlan& saved) {
  std::ostringstream os;
  try {
    cereal::JSONOutputArchive ar(os);
    ar(cereal::make_nvp("saved_plan", const_cast<SavedPlan&>(saved)));
  } catch (const std::exception& e) {
    return core::Status::Internal(std::string("cannot encode the plan: ") + e.what());
  }
  return core::WriteFileAtomically(path, os.str() + "\n")
      .WithContext("cannot write plan file " + path);
}

namespace {

// Names and digests of one change, as the planner makes them; WHERE names it.
core::Status CheckChange(const std::string& where, const Change& c) {
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
  return core::Status::Ok();
}

}  // namespace

core::Result<SavedPlan> ReadPlanFile(const std::string& path) {
  std::ifstream in(path);
  if (!in) return core::Status::NotFound("cannot read plan file " + path + ": " + strerror(errno));
  std::ostringstream text;
  text << in.rdbuf();
  return ParsePlanText(text.str(), path);
}

core::Result<SavedPlan> ParsePlanText(const std::string& text, const std::string& path) {
  if (std::string why = core::JsonTooOddForCereal(text, kMaxPlanNesting); !why.empty())
    return core::Status::DataLoss(path + " is not a crossdock plan file (" + why +
                                  "); make one with `crossdock plan --out FILE`");
  std::istringstream in(text);
  SavedPlan saved;
  try {
    cereal::JSONInputArchive ar(in);
    ar(cereal::make_nvp("saved_plan", saved));
  } catch (const std::exception& e) {
    return core::Status::DataLoss(path + " is not a crossdock plan file (" + e.what() +
                                  "); make one with `crossdock plan --out FILE`");
  }
  if (saved.format_version > 1)
    return core::Status::InvalidArgument(path + " was written by a newer crossdock (plan format " +
                                         std::to_string(saved.format_version) +
                                         "); upgrade crossdock");
  for (const auto* list : {&saved.plan.changes, &saved.plan.drift}) {
    const char* kind = list == &saved.plan.changes ? "change" : "drift entry";
    for (size_t i = 0; i < list->size(); ++i) {
      const std::string where = path + ": " + kind + " " + std::to_string(i + 1);
      if (core::Status st = CheckChange(where, (*list)[i]); !st.ok()) {
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
