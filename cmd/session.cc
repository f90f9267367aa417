#include "cmd/session.h"

#include <fmt/format.h>

namespace crossdock::cmd {

std::optional<Session> OpenSession(const SessionOptions& options) {
  auto config = LoadConfigOrReport(options.config_path);
  if (!config) return std::nullopt;
  Session s;
  s.config = std::move(*config);
  s.state_path = StatePath(s.config, options.state_flag);
  if (options.lock) {
    auto lock = state::StateLock::Acquire(s.state_path, options.lock_timeout_seconds);
    if (!lock.ok()) {
      PrintError(lock.status().message());
      return std::nullopt;
    }
    s.lock = std::move(*lock);
  }
  auto st = state::ReadState(s.state_path);
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

bool CheckRuleNames(const core::Config& config, const std::vector<std::string>& rules) {
  bool ok = true;
  for (const auto& r : rules) {
    if (!config.FindRule(r)) {
      PrintError(fmt::format("--rule \"{}\": no such rule in {}", r, config.path));
      ok = false;
    }
  }
  return ok;
}

}  // namespace crossdock::cmd
