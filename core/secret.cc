#include "core/secret.h"

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

}  // namespace

Result<std::string> ResolveSecret(const SecretRef& ref) {
  const std::string_view spec = ref.spec;
  if (spec.starts_with(kEnvPrefix))
    return FromEnvironment(std::string(spec.substr(kEnvPrefix.size())));
  if (spec.starts_with(kFilePrefix)) return FromFile(std::string(spec.substr(kFilePrefix.size())));
  return ref.spec;
}

}  // namespace crossdock::core
