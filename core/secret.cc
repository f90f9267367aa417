#include "core/secret.h"

#include <sys/stat.h>

#include <cstdio>
#include <cstdlib>
#include <string_view>
#include <utility>

#include "core/config_check.h"

namespace crossdock::core {

namespace {

constexpr std::string_view kEnvPrefix = "env:";
constexpr std::string_view kFilePrefix = "file:";

Result<std::string> FromEnvironment(const std::string& name) {
  if (name.empty()) return Status::InvalidArgument("secret \"env:\" names no environment variable");
  const char* value = std::getenv(name.c_str());
  if (value == nullptr) {
    return Status::Unauthenticated("environment variable " + name + " is not set");
  }
  if (*value == '\0') return Status::Unauthenticated("environment variable " + name + " is empty");
  return std::string(value);
}

Result<std::string> FromFile(const std::string& path) {
  if (path.empty()) return Status::InvalidArgument("secret \"file:\" names no file");
  auto content = config_check::ReadTextFile(path);
  if (!content.ok()) {
    return Status::Unauthenticated("cannot read secret file " + path + ": " +
                                   content.status().message());
  }
  std::string& secret = *content;
  while (!secret.empty() && (secret.back() == '\n' || secret.back() == '\r')) secret.pop_back();
  if (secret.empty()) return Status::Unauthenticated("secret file " + path + " is empty");
  return std::move(secret);
}

// One secret of the config for CheckSecrets; WHAT names it ("password of endpoint
// \"dst\"").
void CheckSecret(const SecretRef& ref, const std::string& what, Diagnostics* diags) {
  const std::string_view spec = ref.spec;
  const bool env = spec.starts_with(kEnvPrefix);
  const bool file = spec.starts_with(kFilePrefix);
  if (!env && !file) return;  // a literal: the loader warns about it already
  const std::string name(spec.substr(env ? kEnvPrefix.size() : kFilePrefix.size()));
  if (name.empty()) return;  // the loader reports it
  // The value is dropped at once; only the reason is kept.
  const Status resolved = ResolveSecret(ref).status();
  if (env) {
    if (!resolved.ok()) {
      diags->Warning(ref.pos, what + ": " + resolved.message() +
                                  " here; set it wherever plan, apply and serve run");
    }
    return;
  }
  if (!resolved.ok()) {
    diags->Error(ref.pos, what + ": " + resolved.message() +
                              "; plan, apply and serve need it: fix the path or the file");
    return;
  }
  struct stat st{};
  if (::stat(name.c_str(), &st) == 0 && (st.st_mode & (S_IRGRP | S_IROTH)) != 0) {
    char mode[8];
    std::snprintf(mode, sizeof mode, "%04o", static_cast<unsigned>(st.st_mode & 07777));
    diags->Warning(ref.pos, what + ": secret file " + name +
                                " is readable by group or others (mode " + mode +
                                "); make it readable by its owner only (chmod 600)");
  }
}

}  // namespace

Result<std::string> ResolveSecret(const SecretRef& ref) {
  const std::string_view spec = ref.spec;
  if (spec.starts_with(kEnvPrefix))
    return FromEnvironment(std::string(spec.substr(kEnvPrefix.size())));
  if (spec.starts_with(kFilePrefix)) return FromFile(std::string(spec.substr(kFilePrefix.size())));
  return ref.spec;
}

void CheckSecrets(const Config& config, Diagnostics* diags) {
  Diagnostics found;
  for (const auto& [name, endpoint] : config.endpoints)
    CheckSecret(endpoint.password, "password of endpoint \"" + name + "\"", &found);
  CheckSecret(config.settings.webhook_token, "[settings.webhook] token", &found);
  config_check::AppendInFileOrder(found, diags);
}

}  // namespace crossdock::core
