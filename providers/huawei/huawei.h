// HuaweiRegistry: the `huawei-SWR` endpoint type (Huawei Cloud SoftWare Repository for
// Container). The data plane is the generic distribution client, logged in with
// `<region>@<AK>` and the login key (derived from the SK when the password is one). The
// control plane is the console API on the registry's own host ("dockyard", with Basic
// credentials), as Harbor's adapter uses it (goharbor/harbor src/pkg/reg/adapter/huawei/);
// Huawei documents it nowhere, so its contract is Harbor's code:
// - repositories from GET /dockyard/v2/repositories?filter=center::self (one answer, no
//   paging), each "ORGANIZATION/NAME";
// - the first path component is the organisation: looked up with GET
//   /dockyard/v2/namespaces/ORG, created with POST /dockyard/v2/namespaces when missing;
// - tags from the registry's tag list (the dockyard listing has no digests);
// - deletion by digest through the registry API, as Harbor's adapter does.
// Constructed by providers/factory.cc.
#pragma once

#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "providers/vendor.h"

namespace crossdock::providers {

// Whether PASSWORD is an SWR login key rather than an SK: the login key is
// hex(HMAC-SHA256(SK, AK)), 64 hex digits (taken in either case), which an SK (40
// letters and digits of both cases) never is.
bool IsHuaweiLoginKey(const std::string& password);

// The login key of access key AK with secret SK: hex(HMAC-SHA256(key = SK, message =
// AK)), what `printf "$AK" | openssl dgst -sha256 -hmac "$SK"` prints (SWR user guide,
// "Obtaining a Long-Term Valid Login Command").
std::string HuaweiLoginKey(const std::string& ak, const std::string& sk);

// CREDS (username "<region>@<AK>", password the login key or the SK) as the registry
// takes them: the password replaced by the login key derived from the SK when it is not
// one already, and lowercased when it is. InvalidArgument naming ENDPOINT for a username
// of another form (core::IsSwrUsername; never quoting the password). Anonymous
// credentials pass unchanged.
core::Result<Credentials> HuaweiCredentials(Credentials creds, const std::string& endpoint);

// SWR's organisation name rule (API reference, "Creating an Organization"): 1 to 64
// characters, starting with a lowercase letter and ending with a lowercase letter or a
// digit; lowercase letters, digits and single '.', '_' or '-' (or "__") between them.
bool IsSwrOrganizationName(const std::string& name);

class HuaweiRegistry : public VendorRegistry {
 public:
  // API_URL: the registry's own origin, where the dockyard API lives.
  HuaweiRegistry(std::unique_ptr<DistributionRegistry> registry, std::string api_url);

  core::Result<std::vector<std::string>> ListRepositories() override {
    return ListRepositoriesIn({});
  }
  // Only those in the organisations named (every one when empty).
  core::Result<std::vector<std::string>> ListRepositoriesIn(
      const std::vector<std::string>& organizations) override;
  PathRule path_rule() const override { return PathRuleOf("huawei-SWR"); }
  core::Result<Namespace> CheckNamespace(const std::string& repo) override;
  core::Status EnsureNamespace(const std::string& repo) override;
  core::Result<std::string> CheckControlPlane() override;

 private:
  std::vector<std::pair<std::string, std::string>> Auth() const;
  // The Status for a failed answer R to WHAT, with SWR's error code and message when the
  // body has them ({"error_code","error_msg"} or the older {"errorCode","errorMessage"}).
  core::Status SwrError(const HttpResponse& r, const std::string& what) const;

  std::mutex mu_;
  std::map<std::string, bool> organizations_;  // known to exist
};

}  // namespace crossdock::providers
