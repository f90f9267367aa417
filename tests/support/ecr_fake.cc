// Implementation of tests/support/ecr_fake.h: the fake's command line, its API port (from
// its log) and its stats.
#include "tests/support/ecr_fake.h"

#include <nlohmann/json.hpp>

namespace crossdock::testing {

EcrFake::EcrFake(const Registry& upstream, Options options)
    : VendorFake("ecr", upstream, options.keys, options.login, Args(options)), options_(std::move(options)) {
  const std::string text = log();
  const std::string marker = "api at 127.0.0.1:";
  const size_t at = text.find(marker);
  if (at == std::string::npos) throw HarnessError("ecr printed no API port; its log:\n" + text);
  api_url_ = "http://127.0.0.1:" + std::to_string(std::atoi(text.c_str() + at + marker.size()));
}

std::vector<std::string> EcrFake::Args(const Options& options) {
  std::vector<std::string> args = {"--account", options.account, "--region", options.region,
                                   "--token-lifetime", std::to_string(options.token_lifetime),
                                   "--clock-skew", std::to_string(options.clock_skew),
                                   "--api-throttle", std::to_string(options.api_throttle)};
  for (const auto& [key, token] : options.session_tokens) args.insert(args.end(), {"--session-token", key + ":" + token});
  for (const std::string& key : options.deny_create) args.insert(args.end(), {"--deny-create", key});
  if (options.redirect_blobs) args.push_back("--redirect-blobs");
  return args;
}

EcrFake::EcrStats EcrFake::GetEcrStats() const {
  HttpAnswer a = CurlRequest(*this, "GET", "/fake/stats", {}, {}, "");
  if (a.status != 200) throw HarnessError("GET /fake/stats answered " + std::to_string(a.status));
  nlohmann::json j = nlohmann::json::parse(a.body);
  EcrStats s;
  s.api_calls = j.at("api_calls").get<std::vector<std::string>>();
  s.blob_fetches = j.at("blob_fetches").get<int>();
  s.blob_fetches_with_authorization = j.at("blob_fetches_with_authorization").get<int>();
  return s;
}

int EcrFake::ApiCalls(const std::string& op, int status) const {
  int n = 0;
  for (const std::string& call : GetEcrStats().api_calls) {
    if (!call.starts_with(op + " ")) continue;
    if (status == 0 || call.ends_with(" " + std::to_string(status))) ++n;
  }
  return n;
}

}  // namespace crossdock::testing
