// tests/fakes/ecr (Amazon ECR: its JSON 1.1 API, its registry and the S3 store its blob
// GETs redirect to) for end-to-end tests, in the manner of vendor_fakes.h, whose
// VendorFake (process, stats, accounts) it reuses: the accounts are access keys (name =
// access key id, password = secret access key). The Endpoint's url() is the registry;
// its credentials are not a registry login (the registry takes only GetAuthorizationToken's
// AWS:<password>), so tests read results at the registry behind the fake. What the fake
// emulates, and how faithfully, is written at the top of tests/fakes/ecr.cc.
#pragma once

#include <string>
#include <utility>
#include <vector>

#include "tests/support/vendor_fakes.h"

namespace crossdock::testing {

class EcrFake : public VendorFake {
 public:
  struct Options {
    // --user AKID:SECRET: the access keys AWS knows.
    std::vector<Account> keys = {{"AKIAFAKEECR000000001", "fakeEcrSecret/K7MDENG+bPxRfiCYEXAMPLEKEY"}};
    std::vector<std::pair<std::string, std::string>> session_tokens{};  // {key, token}: a temporary key
    std::vector<std::string> deny_create{};  // keys without ecr:CreateRepository
    std::string login{};                     // the key this Endpoint carries; empty: keys[0]
    std::string account = "123456789012";
    std::string region = "us-east-1";
    int token_lifetime = 43200;  // GetAuthorizationToken's logins, seconds
    int clock_skew = 0;          // the fake's clock runs this many seconds ahead
    bool redirect_blobs = false;  // blob GETs answer 307 to the blob store
    int api_throttle = 0;         // the first N API calls answer ThrottlingException
  };
  explicit EcrFake(const Registry& upstream) : EcrFake(upstream, Options{}) {}
  EcrFake(const Registry& upstream, Options options);

  const Options& options() const { return options_; }
  // The JSON 1.1 API: "http://127.0.0.1:P".
  std::string api_url() const { return api_url_; }

  // What GET /fake/stats adds to FakeStats.
  struct EcrStats {
    std::vector<std::string> api_calls;  // "Op SUBJECT STATUS", e.g. "CreateRepository team/app 200"
    int blob_fetches = 0;                // requests to the blob store
    int blob_fetches_with_authorization = 0;
  };
  EcrStats GetEcrStats() const;
  // How many API calls of OP were answered STATUS (0: any status).
  int ApiCalls(const std::string& op, int status = 0) const;

 private:
  static std::vector<std::string> Args(const Options& options);

  Options options_;
  std::string api_url_;
};

}  // namespace crossdock::testing
