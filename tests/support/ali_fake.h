// tests/fakes/aliacr (Alibaba Cloud Container Registry: the personal edition's ROA
// OpenAPI, an enterprise instance's RPC OpenAPI, the registry's token realm and the
// registry on one port) for end-to-end tests, in the manner of vendor_fakes.h, whose
// VendorFake (process, stats, accounts) it reuses. What the fake emulates, and how
// faithfully, is written at the top of tests/fakes/aliacr.cc.
#pragma once

#include <string>
#include <vector>

#include "tests/support/vendor_fakes.h"

namespace crossdock::testing {

// tests/fakes/aliacr in front of UPSTREAM. The Endpoint's credentials are the registry's
// own login (an account's fixed registry password), which the harness's helpers use;
// crossdock logs in with the AccessKey pair of options().
class AliFake : public VendorFake {
 public:
  struct Options {
    std::vector<Account> users = {{"acr-owner", "acr-registry-password"}};  // --user
    std::string access_key_id = "LTAI5tFakeAccessKeyId01";
    std::string access_key_secret = "FakeAccessKeySecretForTest0001";
    std::string region = "cn-hangzhou";
    std::string instance{};  // "cri-…": an enterprise instance; empty: the personal edition
    std::vector<std::string> namespaces = {"team"};  // --namespace: they exist
    int temp_token_lifetime = 3600;  // the OpenAPI's temporary registry logins
    int token_lifetime = 300;        // registry tokens
    int page_size = 100;             // the largest page served
    int clock_offset = 0;            // seconds the fake's clock runs ahead
  };
  explicit AliFake(const Registry& upstream) : AliFake(upstream, Options{}) {}
  AliFake(const Registry& upstream, Options options);

  const Options& options() const { return options_; }

 private:
  static std::vector<std::string> Args(const Options& options);

  Options options_;
};

}  // namespace crossdock::testing
