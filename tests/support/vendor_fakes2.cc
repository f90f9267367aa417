// Implementation of tests/support/vendor_fakes2.h: the command lines of the GHCR and JFrog
// fakes and the little the harness adds on top of VendorFake.
#include "tests/support/vendor_fakes2.h"

namespace crossdock::testing {

// ---- GHCR ----

GhcrFake::GhcrFake(const Registry& upstream, Options options)
    : VendorFake("ghcr", upstream, options.users, options.login, Args(options)), options_(std::move(options)) {}

std::vector<std::string> GhcrFake::Args(const Options& options) {
  std::vector<std::string> args = {"--token-lifetime", std::to_string(options.token_lifetime), "--rate-limit",
                                   std::to_string(options.rate_limit)};
  for (const auto& [org, member] : options.orgs) args.insert(args.end(), {"--org", org + ":" + member});
  for (const auto& [login, scopes] : options.pat_scopes) {
    std::string list;
    for (const std::string& s : scopes) list += (list.empty() ? "" : ",") + s;
    args.insert(args.end(), {"--pat-scopes", login + ":" + list});
  }
  for (const std::string& p : options.public_packages) args.insert(args.end(), {"--public", p});
  return args;
}

std::vector<std::string> GhcrFake::BearerHeader(const std::string& user) const {
  return {"-H", "Authorization: Bearer " + FindAccount(user.empty() ? username() : user).password};
}

std::string GhcrFake::EncodePackage(const std::string& name) {
  std::string out;
  for (char c : name) out += c == '/' ? std::string("%2F") : std::string(1, c);
  return out;
}

// ---- JFrog ----

JFrogFake::JFrogFake(const Registry& upstream, Options options)
    : VendorFake("jfrog", upstream, options.users, options.login, Args(options)), options_(std::move(options)) {}

std::vector<std::string> JFrogFake::Args(const Options& options) {
  std::vector<std::string> args = {"--token-lifetime", std::to_string(options.token_lifetime),
                                   options.patch_quirk ? "--patch-quirk" : "--no-patch-quirk"};
  if (!options.admin.empty()) args.insert(args.end(), {"--admin", options.admin});
  for (const std::string& r : options.repos) args.insert(args.end(), {"--repo", r});
  for (const std::string& r : options.remote_repos) args.insert(args.end(), {"--remote-repo", r});
  if (options.refuse_monolithic) args.push_back("--refuse-monolithic");
  return args;
}

}  // namespace crossdock::testing
