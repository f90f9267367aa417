// tests/fakes/acr (Azure Container Registry: the registry and its /oauth2/token and
// /oauth2/exchange token server on one port) for end-to-end tests, in the manner of
// vendor_fakes.h: AcrFake starts the fake in front of a running Registry{} and is an
// Endpoint carrying one account's Basic credentials (the admin user by default). What the
// fake emulates, and how faithfully, is written at the top of tests/fakes/acr.cc.
#pragma once

#include <string>
#include <utility>
#include <vector>

#include "tests/support/vendor_fakes.h"

namespace crossdock::testing {

class AcrFake : public VendorFake {
 public:
  struct Options {
    // --user: the admin user (named as the registry), service principals, tokens alike.
    std::vector<Account> users = {{"crossdockacr", "admin-password"}};
    std::vector<std::pair<std::string, std::string>> aad_tokens{};  // --aad-token {TOKEN, TENANT}
    int token_lifetime = 4500;           // ACR access tokens
    int refresh_token_lifetime = 10800;  // refresh tokens /oauth2/exchange issues
    int page_size = 100;                 // _catalog and tags/list pages at most
  };
  explicit AcrFake(const Registry& upstream) : AcrFake(upstream, Options{}) {}
  AcrFake(const Registry& upstream, Options options);

  const Options& options() const { return options_; }

  // An Azure AD access token as `az account get-access-token` prints one: a JWT of
  // sts.windows.net for TENANT, expiring EXPIRES_IN s from now (negative: in the past),
  // with a signature nobody checks.
  static std::string MakeAadToken(const std::string& tenant, long expires_in = 3600);

 private:
  static std::vector<std::string> Args(const Options& options);

  Options options_;
};

}  // namespace crossdock::testing
