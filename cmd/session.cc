#include "cmd/session.h"

#include <fmt/format.h>
#include <chrono>
#include <thread>

namespace crossdock::cmd {

std::optional<Session> OpenSession(const SessionOptions& options) {
  auto config = LoadConfigOrReport(options.config_path);
  if (!config) return std::nullopt;
  Session s;
  s.config = std::move(*config);
  const std::string location = StatePath(s.config, options.state_flag);
  auto backend = state::OpenBackend(location);
  if (!backend.ok()) {
    PrintError(backend.status().message());
    return std::nullopt;
  }
  s.backend = std::move(*backend);
  s.state_path = s.backend->history_path();
  s.events_path = state::LocalPath(location, s.config.path);
  if (options.lock) {
    const double timeout = options.lock_timeout_seconds;
    state::Backend& b = *s.backend;
    const bool concurrent = b.concurrent_writers();
    auto lock = !concurrent       ? b.LockScope(state::kWholeStateScope, timeout)
                : options.serve   ? b.LockScope(state::kServeScope, timeout)
                : options.shard   ? b.LockScopeShared(state::kWholeStateScope, timeout)
                                  : b.LockScope(state::kWholeStateScope, timeout);
    if (!lock.ok()) {
      PrintError(lock.status().message());
      return std::nullopt;
    }
    s.lock = std::move(*lock);
    s.lock_repositories = concurrent && (options.shard || options.serve);
    // serve has no --lock-timeout: an event waits as long as one change of a shard may.
    s.repository_lock_timeout_seconds = options.serve ? 300 : timeout;
    if (concurrent && options.shard && !options.serve) {
      auto own = b.LockScope(state::ShardScope(options.shard->index, options.shard->count),
                             timeout);
      if (!own.ok()) {
        PrintError(own.status().message());
        return std::nullopt;
      }
      s.shard_lock = std::move(*own);
    }
  }
  auto st = s.backend->Read();
  if (!st.ok()) {
    PrintError(st.status().message());
    return std::nullopt;
  }
  s.state = std::move(*st);
  auto regs = Registries::Build(s.config);
  if (!regs.ok()) {
    PrintError(regs.status().message());
    return std::nullopt;
  }
  s.registries = std::move(*regs);
  return s;
}

namespace po = boost::program_options;

std::optional<Session> OpenLockedSession(const po::variables_map& vm,
                                         const std::optional<core::Shard>& shard) {
  const std::string& text = vm["lock-timeout"].as<std::string>();
  auto lock_timeout = ParseDurationSeconds(text);
  if (!lock_timeout) {
    PrintError("--lock-timeout \"" + text + "\" is not a duration; use e.g. 30s, 5m or 1h30m");
    return std::nullopt;
  }
  SessionOptions so;
  so.config_path = vm["config"].as<std::string>();
  so.state_flag = vm["state"].as<std::string>();
  so.lock = true;
  so.lock_timeout_seconds = *lock_timeout;
  so.shard = shard;
  return OpenSession(so);
}

namespace {

class NoLock : public state::BackendLock {};

}  // namespace

std::unique_ptr<state::BackendLock> LockForExecution(Session& session,
                                                     const core::CancelToken& stopping) {
  if (!session.backend->concurrent_writers()) return std::make_unique<NoLock>();
  std::string logged;
  while (!stopping.cancelled()) {
    auto lock = session.backend->LockScopeShared(state::kWholeStateScope, 5);
    if (lock.ok()) {
      auto st = session.backend->Read();
      if (st.ok()) {
        session.state = std::move(*st);
        if (!logged.empty()) LogLine("the state is free again");
        return std::move(*lock);
      }
      lock = st.status();
    }
    if (lock.status().message() != logged) {
      logged = lock.status().message();
      LogLine("waiting for the state: " + logged);
    }
    // A lock waited for 5 s already; a connection or read error answers at once.
    for (int i = 0; i < 10 && !stopping.cancelled(); ++i)
      std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  return nullptr;
}

void AddPlanningOptions(po::options_description* desc) {
  desc->add_options()("state", po::value<std::string>()->default_value(""),
                      "State file or postgres:// URL (default: [settings] state)")(
      "rule", po::value<std::vector<std::string>>()->composing(),
      "Only this rule (repeatable)")(
      "parallelism", po::value<int>(),
      "Requests in flight per registry, and transfers at once (default: [settings] "
      "parallelism)")(
      "refresh", "Check immutable_tags too, as if none were declared")(
      "refresh-only",
      "Only compare the state with what the destinations hold; copy and delete nothing")(
      "shard", po::value<std::string>(), kShardHelp);
}

core::Result<std::optional<core::Shard>> ShardFrom(const po::variables_map& vm) {
  if (!vm.count("shard")) return std::optional<core::Shard>();
  auto shard = core::ParseShard(vm["shard"].as<std::string>());
  if (!shard.ok()) return shard.status();
  return std::optional<core::Shard>(*shard);
}

std::optional<int> ParallelismFrom(const po::variables_map& vm, const core::Config& config) {
  const int n = vm.count("parallelism") ? vm["parallelism"].as<int>() : config.settings.parallelism;
  if (n < 1 || n > 256) {
    PrintError(fmt::format("--parallelism {} is out of range: use 1 to 256", n));
    return std::nullopt;
  }
  return n;
}

std::optional<planner::PlanOptions> PlanOptionsFrom(const po::variables_map& vm,
                                                    const core::Config& config,
                                                    const core::CancelToken& cancel) {
  planner::PlanOptions o;
  if (vm.count("rule")) o.rules = vm["rule"].as<std::vector<std::string>>();
  bool ok = true;
  for (const auto& r : o.rules) {
    if (!config.FindRule(r)) {
      PrintError(fmt::format("--rule \"{}\": no such rule in {}", r, config.path));
      ok = false;
    }
  }
  if (!ok) return std::nullopt;
  auto parallelism = ParallelismFrom(vm, config);
  if (!parallelism) return std::nullopt;
  o.parallelism = *parallelism;
  o.refresh_only = vm.count("refresh-only") > 0;
  o.refresh = vm.count("refresh") > 0 || o.refresh_only;
  o.cancel = cancel.flag();
  auto shard = ShardFrom(vm);
  if (!shard.ok()) {
    PrintError(shard.status().message());
    return std::nullopt;
  }
  o.shard = *shard;
  return o;
}

}  // namespace crossdock::cmd
