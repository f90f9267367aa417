// Implementation of tests/support/huawei_fake.h.
#include "tests/support/huawei_fake.h"

#include <nlohmann/json.hpp>

namespace crossdock::testing {

std::string HuaweiFake::LoginKeyByOpenssl(const std::string& ak, const std::string& sk) {
  RunResult r = RunCommand({"sh", "-c", "printf '%s' \"$AK\" | openssl dgst -sha256 -hmac \"$SK\""},
                           {{"AK", ak}, {"SK", sk}});
  // "SHA2-256(stdin)= 7f…" (OpenSSL 3) or "(stdin)= 7f…" (1.1).
  const size_t eq = r.out.rfind("= ");
  if (r.exit_code != 0 || eq == std::string::npos)
    throw HarnessError("openssl dgst -hmac failed: " + r.err);
  std::string key = r.out.substr(eq + 2);
  while (!key.empty() && (key.back() == '\n' || key.back() == ' ')) key.pop_back();
  if (key.size() != 64) throw HarnessError("openssl dgst -hmac printed \"" + r.out + "\"");
  return key;
}

HuaweiFake::HuaweiFake(const Registry& upstream, Options options)
    : VendorFake("swr", upstream,
                 {{options.region + "@" + options.ak, LoginKeyByOpenssl(options.ak, options.sk)}}, "",
                 Args(options)),
      options_(std::move(options)) {}

std::vector<std::string> HuaweiFake::Args(const Options& options) {
  std::vector<std::string> args = {"--token-lifetime", std::to_string(options.token_lifetime)};
  for (const std::string& org : options.organizations) args.insert(args.end(), {"--organization", org});
  return args;
}

std::vector<std::string> HuaweiFake::Organizations() const {
  HttpAnswer a = CurlRequest(*this, "GET", "/dockyard/v2/visible/namespaces", {}, {}, std::nullopt);
  if (a.status != 200) throw HarnessError("GET /dockyard/v2/visible/namespaces answered " + std::to_string(a.status));
  std::vector<std::string> out;
  const nlohmann::json j = nlohmann::json::parse(a.body);
  for (const auto& ns : j.at("namespaces")) out.push_back(ns.at("name").get<std::string>());
  return out;
}

}  // namespace crossdock::testing
