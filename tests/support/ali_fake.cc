// Implementation of tests/support/ali_fake.h: the fake's command line.
#include "tests/support/ali_fake.h"

namespace crossdock::testing {

AliFake::AliFake(const Registry& upstream, Options options)
    : VendorFake("aliacr", upstream, options.users, "", Args(options)), options_(std::move(options)) {}

std::vector<std::string> AliFake::Args(const Options& options) {
  std::vector<std::string> args = {"--access-key", options.access_key_id + ":" + options.access_key_secret,
                                   "--region", options.region,
                                   "--temp-token-lifetime", std::to_string(options.temp_token_lifetime),
                                   "--token-lifetime", std::to_string(options.token_lifetime),
                                   "--page-size", std::to_string(options.page_size),
                                   "--clock-offset", std::to_string(options.clock_offset)};
  if (!options.instance.empty()) args.insert(args.end(), {"--instance", options.instance});
  for (const std::string& ns : options.namespaces) args.insert(args.end(), {"--namespace", ns});
  return args;
}

}  // namespace crossdock::testing
