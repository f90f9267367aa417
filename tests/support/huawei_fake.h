// tests/fakes/swr (Huawei Cloud SWR: its dockyard console API, registry token endpoint
// and registry on one port) for end-to-end tests, in the manner of vendor_fakes.h, whose
// VendorFake (process, stats, accounts) it reuses. What the fake emulates, and how
// faithfully, is written at the top of tests/fakes/swr.cc.
#pragma once

#include <string>
#include <vector>

#include "tests/support/vendor_fakes.h"

namespace crossdock::testing {

// tests/fakes/swr in front of UPSTREAM. The Endpoint's credentials are the account's
// long-term login: username REGION@AK, password the login key, which this class computes
// from the SK with the openssl CLI as SWR's user guide does it
// (`printf "$AK" | openssl dgst -sha256 -hmac "$SK"`).
class HuaweiFake : public VendorFake {
 public:
  struct Options {
    std::string region = "cn-north-4";
    std::string ak = "AKSWRFAKE0EXAMPLE00001";
    std::string sk = "SkSwrFake0Example0Secret0Key00000000001";  // 40 characters, as Huawei's
    std::vector<std::string> organizations = {"team"};           // --organization: they exist
    int token_lifetime = 300;                                    // registry tokens
  };
  explicit HuaweiFake(const Registry& upstream) : HuaweiFake(upstream, Options{}) {}
  HuaweiFake(const Registry& upstream, Options options);

  const Options& options() const { return options_; }
  // The login key of AK and SK by the openssl CLI (hex, 64 digits); throws HarnessError
  // if openssl fails.
  static std::string LoginKeyByOpenssl(const std::string& ak, const std::string& sk);
  // The organisations the dockyard API lists (GET /dockyard/v2/visible/namespaces).
  std::vector<std::string> Organizations() const;

 private:
  static std::vector<std::string> Args(const Options& options);

  Options options_;
};

}  // namespace crossdock::testing
