// Execution files: "<state>.executions/<id>.json", one per execution, rewritten
// atomically as its tasks finish; task logs in "<state>.executions/<id>/<task>.log",
// appended line by line. JSON (nlohmann) rather than cereal: files are read by people
// and by `crossdock executions --json` consumers, and absent fields take defaults, so
// a newer crossdock can add fields without breaking older history.
#include "state/executions.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <charconv>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <map>
#include <nlohmann/json.hpp>
#include <set>

#include "core/file.h"
#include "core/clock.h"
#include "core/postgres_url.h"
#include "state/postgres_executions.h"

namespace crossdock::state {

namespace fs = std::filesystem;
using nlohmann::json;

namespace {

template <class Enum, size_t N>
std::optional<Enum> ParseWord(std::string_view word, const Enum (&all)[N]) {
  for (Enum e : all)
    if (word == Name(e)) return e;
  return std::nullopt;
}

// Reads an enum field by its word; ABSENT when the field is missing. Throws
// json::exception (Get: corrupt) for a word it does not know.
template <class Enum>
Enum EnumField(const json& j, const char* key, Enum absent,
               std::optional<Enum> (*parse)(std::string_view)) {
  if (!j.contains(key)) return absent;
  std::optional<Enum> e = parse(j.at(key).get<std::string>());
  if (!e) throw json::type_error::create(302, std::string("unknown ") + key, nullptr);
  return *e;
}

}  // namespace

const char* Name(ExecutionStatus s) {
  switch (s) {
    case ExecutionStatus::kRunning: return "running";
    case ExecutionStatus::kSucceeded: return "succeeded";
    case ExecutionStatus::kFailed: return "failed";
    case ExecutionStatus::kStopped: return "stopped";
  }
  return "?";
}

const char* Name(TaskStatus s) {
  switch (s) {
    case TaskStatus::kPending: return "pending";
    case TaskStatus::kRunning: return "running";
    case TaskStatus::kSucceeded: return "succeeded";
    case TaskStatus::kFailed: return "failed";
    case TaskStatus::kStopped: return "stopped";
  }
  return "?";
}

const char* Name(Trigger t) {
  switch (t) {
    case Trigger::kManual: return "manual";
    case Trigger::kScheduled: return "scheduled";
    case Trigger::kEvent: return "event";
    case Trigger::kRetry: return "retry";
  }
  return "?";
}

const char* Name(Operation o) { return o == Operation::kDelete ? "delete" : "copy"; }

std::optional<ExecutionStatus> ParseExecutionStatus(std::string_view word) {
  static constexpr ExecutionStatus kAll[] = {ExecutionStatus::kRunning, ExecutionStatus::kSucceeded,
                                             ExecutionStatus::kFailed, ExecutionStatus::kStopped};
  return ParseWord(word, kAll);
}

std::optional<TaskStatus> ParseTaskStatus(std::string_view word) {
  static constexpr TaskStatus kAll[] = {TaskStatus::kPending, TaskStatus::kRunning,
                                        TaskStatus::kSucceeded, TaskStatus::kFailed,
                                        TaskStatus::kStopped};
  return ParseWord(word, kAll);
}

std::optional<Trigger> ParseTrigger(std::string_view word) {
  static constexpr Trigger kAll[] = {Trigger::kManual, Trigger::kScheduled, Trigger::kEvent,
                                     Trigger::kRetry};
  return ParseWord(word, kAll);
}

std::optional<Operation> ParseOperation(std::string_view word) {
  static constexpr Operation kAll[] = {Operation::kCopy, Operation::kDelete};
  return ParseWord(word, kAll);
}

nlohmann::ordered_json TaskToJson(const Task& t) {
  return {{"id", t.id},
          {"rule", t.rule},
          {"operation", Name(t.operation)},
          {"destination_endpoint", t.destination_endpoint},
          {"destination_repository", t.destination_repository},
          {"references", t.references},
          {"status", Name(t.status)},
          {"attempts", t.attempts},
          {"bytes", t.bytes},
          {"duration_seconds", t.duration_seconds},
          {"error", t.error}};
}

namespace {

json ToJson(const Execution& e) {
  json tasks = json::array();
  for (const auto& t : e.tasks) tasks.push_back(json(TaskToJson(t)));
  json j = {{"id", e.id},
            {"rules", e.rules},
            {"trigger", Name(e.trigger)},
            {"status", Name(e.status)},
            {"started_at", e.started_at},
            {"ended_at", e.ended_at},
            {"pid", e.pid},       {"succeeded", e.succeeded}, {"failed", e.failed},
            {"total", e.total},   {"bytes", e.bytes},         {"message", e.message},
            {"tasks", tasks}};
  if (!e.shard.empty()) j["shard"] = e.shard;  // absent for every shard, as before issue 15
  return j;
}

// REQUIRES: J is an object. Throws nlohmann::json::exception when a field has the
// wrong type (Get catches it).
Execution FromJson(const json& j) {
  Execution e;
  e.id = j.value("id", std::int64_t{0});
  e.rules = j.value("rules", std::vector<std::string>{});
  e.trigger = EnumField(j, "trigger", Trigger::kManual, &ParseTrigger);
  e.status = EnumField(j, "status", ExecutionStatus::kFailed, &ParseExecutionStatus);
  e.started_at = j.value("started_at", std::string());
  e.ended_at = j.value("ended_at", std::string());
  e.pid = j.value("pid", 0);
  e.succeeded = j.value("succeeded", 0);
  e.failed = j.value("failed", 0);
  e.total = j.value("total", 0);
  e.bytes = j.value("bytes", std::int64_t{0});
  e.message = j.value("message", std::string());
  e.shard = j.value("shard", std::string());
  if (j.contains("tasks") && j["tasks"].is_array()) {
    for (const auto& tj : j["tasks"]) {
      Task t;
      t.id = tj.value("id", 0);
      t.rule = tj.value("rule", std::string());
      t.operation = EnumField(tj, "operation", Operation::kCopy, &ParseOperation);
      t.destination_endpoint = tj.value("destination_endpoint", std::string());
      t.destination_repository = tj.value("destination_repository", std::string());
      t.references = tj.value("references", std::vector<std::string>{});
      t.status = EnumField(tj, "status", TaskStatus::kFailed, &ParseTaskStatus);
      t.attempts = tj.value("attempts", 0);
      t.bytes = tj.value("bytes", std::int64_t{0});
      t.duration_seconds = tj.value("duration_seconds", 0.0);
      t.error = tj.value("error", std::string());
      e.tasks.push_back(t);
    }
  }
  return e;
}

// Execution ids have at most 15 digits, as ParseTaskId reads them (and Start's + 1
// cannot overflow).
constexpr size_t kMaxIdDigits = 15;

// The id an execution file NAME ("12.json") stands for; nullopt for a name that is
// not "<digits>.json". *BAD: a "<digits>.json" that is no id (leading zeros, more
// than kMaxIdDigits digits).
std::optional<std::int64_t> IdOfFileName(const std::string& name, bool* bad) {
  *bad = false;
  constexpr std::string_view kExtension = ".json";
  if (name.size() <= kExtension.size() || !name.ends_with(kExtension)) return std::nullopt;
  const std::string_view stem(name.data(), name.size() - kExtension.size());
  if (stem.find_first_not_of("0123456789") != std::string_view::npos) return std::nullopt;
  std::int64_t id = 0;
  if (stem.size() > kMaxIdDigits || (stem.size() > 1 && stem[0] == '0') ||
      std::from_chars(stem.data(), stem.data() + stem.size(), id).ec != std::errc()) {
    *bad = true;
    return std::nullopt;
  }
  return id;
}

}  // namespace

std::optional<std::pair<std::int64_t, int>> ParseTaskId(const std::string& text) {
  auto dot = text.find('.');
  if (dot == std::string::npos || dot == 0 || dot + 1 == text.size()) return std::nullopt;
  std::string a = text.substr(0, dot), b = text.substr(dot + 1);
  if (a.size() > 15 || b.size() > 9 || a.find_first_not_of("0123456789") != std::string::npos ||
      b.find_first_not_of("0123456789") != std::string::npos)
    return std::nullopt;
  return std::make_pair(std::stoll(a), std::stoi(b));
}

std::string ExecutionDocument(const Execution& e) {
  // Invalid UTF-8 (in a registry's error text) is replaced rather than thrown.
  return ToJson(e).dump(2, ' ', false, json::error_handler_t::replace) + "\n";
}

std::optional<Execution> ParseExecutionDocument(const std::string& text) {
  auto j = json::parse(text, nullptr, false);
  if (j.is_discarded() || !j.is_object()) return std::nullopt;
  try {
    return FromJson(j);
  } catch (const json::exception&) {
    return std::nullopt;  // a field of the wrong type
  }
}

Execution NewExecution(std::vector<std::string> rules, Trigger trigger, std::vector<Task> tasks) {
  Execution e;
  e.rules = std::move(rules);
  e.trigger = trigger;
  e.status = ExecutionStatus::kRunning;
  e.started_at = core::NowRfc3339();
  e.pid = static_cast<int>(::getpid());
  e.tasks = std::move(tasks);
  for (size_t i = 0; i < e.tasks.size(); ++i) e.tasks[i].id = static_cast<int>(i + 1);
  return e;
}

void MarkCrashed(Execution* e) {
  e->status = ExecutionStatus::kFailed;
  e->ended_at = core::NowRfc3339();
  e->message = "crossdock (pid " + std::to_string(e->pid) +
               ") ended without finishing this execution: crashed or killed";
  for (auto& t : e->tasks)
    if (t.status == TaskStatus::kRunning || t.status == TaskStatus::kPending)
      t.status = TaskStatus::kFailed;
}

std::vector<std::int64_t> ExecutionsToPrune(const std::vector<Execution>& newest_first, int keep) {
  std::vector<std::int64_t> out;
  std::map<std::string, int> seen;
  for (const auto& e : newest_first) {
    bool kept = e.rules.empty() || e.status == ExecutionStatus::kRunning;
    for (const auto& r : e.rules) kept = ++seen[r] <= keep || kept;
    if (!kept) out.push_back(e.id);
  }
  return out;
}

ExecutionStore::ExecutionStore(const std::string& state_path, WarningSink warn)
    : dir_(state_path + ".executions"), warn_(std::move(warn)) {
  if (core::IsPostgresUrl(state_path)) {
    dir_ = core::RedactPostgresUrl(state_path);
    pg_ = std::make_shared<PostgresExecutions>(state_path, [sink = warn_](const std::string& m) {
      if (sink) {
        sink(m);
      } else {
        std::fprintf(stderr, "Warning: %s\n", m.c_str());
      }
    });
  }
}

void ExecutionStore::Warn(const std::string& key, const std::string& message) const {
  if (!warned_.insert(key).second) return;
  if (warn_) {
    warn_(message);
  } else {
    std::fprintf(stderr, "Warning: %s\n", message.c_str());
  }
}

core::Status ExecutionStore::Save(const Execution& e) const {
  if (pg_) return pg_->Save(e);
  std::error_code ec;
  fs::create_directories(dir_, ec);
  if (ec) return core::Status::Unavailable("cannot create " + dir_ + ": " + ec.message());
  // Invalid UTF-8 (in a registry's error text) is replaced rather than thrown.
  return core::WriteFileAtomically(dir_ + "/" + std::to_string(e.id) + ".json",
                                   ExecutionDocument(e));
}

core::Result<Execution> ExecutionStore::Get(std::int64_t id) const {
  if (pg_) return pg_->Get(id);
  std::string path = dir_ + "/" + std::to_string(id) + ".json";
  core::FileDescriptor fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
  if (fd.get() < 0) {
    if (errno == ENOENT)
      return core::Status::NotFound("no execution " + std::to_string(id) +
                                    "; see `crossdock executions`");
    return core::ErrnoStatus("cannot read " + path, errno);
  }
  auto text = core::ReadWholeFile(fd.get(), path);
  if (!text.ok()) return text.status();
  auto e = ParseExecutionDocument(*text);
  if (!e) return core::Status::DataLoss("execution file " + path + " is corrupt; move it away");
  e->id = id;  // the file name decides: Save and Prune address the file by it
  return *e;
}

std::vector<std::int64_t> ExecutionStore::ExecutionIds() const {
  std::vector<std::int64_t> ids;
  std::error_code ec;
  fs::directory_iterator it(dir_, ec);
  if (ec) {
    if (ec != std::errc::no_such_file_or_directory)  // no execution yet
      Warn(dir_, "cannot list the executions in " + dir_ + ": " + ec.message() +
                     "; the history of earlier runs is not consulted");
    return ids;
  }
  // increment(ec) rather than ++, which throws when reading the folder fails.
  for (; it != fs::directory_iterator(); it.increment(ec)) {
    const std::string name = it->path().filename().string();
    bool bad = false;
    if (auto id = IdOfFileName(name, &bad)) {
      ids.push_back(*id);
    } else if (bad) {
      Warn(it->path().string(), "skipped " + it->path().string() +
                                    ": not an execution file (the name is no execution id); "
                                    "move it out of " + dir_);
    }
  }
  if (ec) {
    Warn(dir_ + "/", "cannot read all of " + dir_ + ": " + ec.message() +
                         "; executions after the failure are not consulted");
  }
  std::sort(ids.begin(), ids.end());
  return ids;
}

core::Result<std::vector<Execution>> ExecutionStore::List(const std::string& rule) const {
  if (pg_) return pg_->List(rule);
  std::vector<Execution> out;
  for (std::int64_t id : ExecutionIds()) {
    auto e = Get(id);
    if (!e.ok()) {
      // NotFound: removed since the folder was read (a concurrent `executions` prune).
      if (e.status().code() != core::Code::kNotFound)
        Warn(std::to_string(id),
             "skipped execution " + std::to_string(id) + ": " + e.status().message());
      continue;
    }
    if (!rule.empty() && std::find(e->rules.begin(), e->rules.end(), rule) == e->rules.end())
      continue;
    out.push_back(std::move(*e));
  }
  std::sort(out.begin(), out.end(), [](const Execution& a, const Execution& b) { return a.id > b.id; });
  return out;
}

core::Result<Execution> ExecutionStore::Start(std::vector<std::string> rules, Trigger trigger,
                                              std::vector<Task> tasks) {
  if (pg_) return pg_->Start(std::move(rules), trigger, std::move(tasks));
  // After the highest id in the folder, readable or not, so a corrupt file is never
  // overwritten.
  const std::vector<std::int64_t> ids = ExecutionIds();
  Execution e = NewExecution(std::move(rules), trigger, std::move(tasks));
  e.id = ids.empty() ? 1 : ids.back() + 1;
  CROSSDOCK_RETURN_IF_ERROR(Save(e));
  return e;
}

core::Status ExecutionStore::AppendLog(std::int64_t execution, int task,
                                       const std::string& line) const {
  if (pg_) return pg_->AppendLog(execution, task, line);
  std::string folder = dir_ + "/" + std::to_string(execution);
  std::error_code ec;
  fs::create_directories(folder, ec);
  if (ec) return core::Status::Unavailable("cannot create " + folder + ": " + ec.message());
  std::string path = folder + "/" + std::to_string(task) + ".log";
  core::FileDescriptor fd(::open(path.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600));
  if (fd.get() < 0) return core::ErrnoStatus("cannot open " + path, errno);
  std::string text = core::NowRfc3339() + " " + line + "\n";
  if (::write(fd.get(), text.data(), text.size()) != static_cast<ssize_t>(text.size()))
    return core::ErrnoStatus("cannot write " + path, errno);
  return core::Status::Ok();
}

core::Result<std::string> ExecutionStore::ReadLog(std::int64_t execution, int task) const {
  if (pg_) return pg_->ReadLog(execution, task);
  auto e = Get(execution);
  if (!e.ok()) return e.status();
  if (task < 1 || task > static_cast<int>(e->tasks.size()))
    return core::Status::NotFound("execution " + std::to_string(execution) + " has no task " +
                                  std::to_string(task) + "; see `crossdock tasks " +
                                  std::to_string(execution) + "`");
  std::string path = dir_ + "/" + std::to_string(execution) + "/" + std::to_string(task) + ".log";
  core::FileDescriptor fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
  if (fd.get() < 0) return std::string();  // the task never logged anything
  return core::ReadWholeFile(fd.get(), path);
}

core::Result<int> ExecutionStore::RecoverCrashed() const {
  if (pg_) return pg_->RecoverCrashed();
  auto all = List();
  if (!all.ok()) return all.status();
  int n = 0;
  for (auto& e : *all) {
    if (e.status != ExecutionStatus::kRunning) continue;
    MarkCrashed(&e);
    CROSSDOCK_RETURN_IF_ERROR(Save(e));
    ++n;
  }
  return n;
}

core::Status ExecutionStore::Prune(int keep) const {
  if (pg_) return pg_->Prune(keep);
  auto all = List();  // newest first
  if (!all.ok()) return all.status();
  for (std::int64_t id : ExecutionsToPrune(*all, keep)) {
    std::error_code ec;
    fs::remove(dir_ + "/" + std::to_string(id) + ".json", ec);
    fs::remove_all(dir_ + "/" + std::to_string(id), ec);
  }
  return core::Status::Ok();
}

core::Status ExecutionStore::RequestStop(std::int64_t id) const {
  if (pg_) return pg_->RequestStop(id);
  return core::WriteFileAtomically(dir_ + "/" + std::to_string(id) + ".stop", core::NowRfc3339() + "\n");
}

bool ExecutionStore::StopRequested(std::int64_t id) const {
  if (pg_) return pg_->StopRequested(id);
  return ::access((dir_ + "/" + std::to_string(id) + ".stop").c_str(), F_OK) == 0;
}

void ExecutionStore::ClearStopRequest(std::int64_t id) const {
  if (pg_) return pg_->ClearStopRequest(id);
  ::unlink((dir_ + "/" + std::to_string(id) + ".stop").c_str());
}

}  // namespace crossdock::state
