// tests/fakes/gcr (Google Container Registry or Artifact Registry, Google's OAuth token
// endpoint and Artifact Registry's REST API on one port) for end-to-end tests, in the
// manner of vendor_fakes.h: GcrFake starts the fake in front of a running Registry{} and is
// an Endpoint logged in as "oauth2accesstoken" with a static access token. Its service
// accounts get RSA keys made with `openssl genpkey` at start; KeyJson writes the JSON key
// file Google would issue for one, with token_uri pointing at the fake. What the fake
// emulates, and how faithfully, is written at the top of tests/fakes/gcr.cc.
#pragma once

#include <map>
#include <memory>
#include <string>
#include <vector>

#include "tests/support/vendor_fakes.h"

namespace crossdock::testing {

class GcrFake : public VendorFake {
 public:
  struct Options {
    std::vector<std::string> service_accounts = {"ci@proj.iam.gserviceaccount.com"};
    std::string project = "proj";            // the key files' project_id
    std::string access_token = "ya29.static-token";  // --user oauth2accesstoken:TOKEN
    std::string gar_location{};              // --gar: Artifact Registry in this location
    std::vector<std::string> gar_repos{};    // --gar-repo PROJECT/REPOSITORY
    int token_lifetime = 3600;               // registry tokens
    int access_token_lifetime = 3600;        // OAuth access tokens
    int page_size = 1000;                    // REST pages at most
    int clock_skew = 0;                      // the fake's clock runs this many s ahead
  };
  explicit GcrFake(const Registry& upstream) : GcrFake(upstream, Options{}) {}
  GcrFake(const Registry& upstream, Options options);

  const Options& options() const { return options_; }

  // The JSON key file of service account EMAIL (empty: the first), token_uri this fake's
  // /token, as `gcloud iam service-accounts keys create` writes it.
  std::string KeyJson(const std::string& email = "") const;
  // A key file of the same shape for EMAIL with a key the fake does not know.
  static std::string UnknownKeyJson(const std::string& email, const std::string& token_uri);
  // With gar_location: the api_url of an endpoint for this fake (url()/locations/L).
  std::string gar_api_url() const { return url() + "/locations/" + options_.gar_location; }

 private:
  struct Keys;  // the service accounts' PEM files, in a directory of their own
  GcrFake(const Registry& upstream, Options options, std::shared_ptr<Keys> keys);
  static std::shared_ptr<Keys> MakeKeys(const std::vector<std::string>& emails);
  static std::vector<std::string> Args(const Options& options, const Keys& keys);

  Options options_;
  std::shared_ptr<Keys> keys_;
};

}  // namespace crossdock::testing
