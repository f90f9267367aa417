// Implementation of tests/support/google_fake.h: the keys and command line of the GCR fake.
#include "tests/support/google_fake.h"

#include <nlohmann/json.hpp>

namespace crossdock::testing {

struct GcrFake::Keys {
  TempDir dir{"crossdock-gcr-keys"};
  std::map<std::string, std::string> private_pem;  // email -> path
  std::map<std::string, std::string> public_pem;   // email -> path
};

namespace {

// A 2048-bit RSA key pair made by the openssl command into PRIVATE_PATH and PUBLIC_PATH.
void GenerateKey(const std::string& private_path, const std::string& public_path) {
  RunResult made = RunCommand({"openssl", "genpkey", "-algorithm", "RSA", "-pkeyopt",
                               "rsa_keygen_bits:2048", "-out", private_path});
  if (made.exit_code != 0) throw HarnessError("openssl genpkey failed: " + made.err);
  RunResult pub = RunCommand({"openssl", "pkey", "-in", private_path, "-pubout", "-out", public_path});
  if (pub.exit_code != 0) throw HarnessError("openssl pkey -pubout failed: " + pub.err);
}

std::string ServiceAccountJson(const std::string& email, const std::string& project,
                               const std::string& pem, const std::string& token_uri) {
  return nlohmann::json{{"type", "service_account"},
                        {"project_id", project},
                        {"private_key_id", "0123456789abcdef0123456789abcdef01234567"},
                        {"private_key", pem},
                        {"client_email", email},
                        {"client_id", "100000000000000000001"},
                        {"auth_uri", "https://accounts.google.com/o/oauth2/auth"},
                        {"token_uri", token_uri},
                        {"universe_domain", "googleapis.com"}}
      .dump(2);
}

}  // namespace

GcrFake::GcrFake(const Registry& upstream, Options options)
    : GcrFake(upstream, options, MakeKeys(options.service_accounts)) {}

GcrFake::GcrFake(const Registry& upstream, Options options, std::shared_ptr<Keys> keys)
    : VendorFake("gcr", upstream, {{"oauth2accesstoken", options.access_token}}, "", Args(options, *keys)),
      options_(std::move(options)),
      keys_(std::move(keys)) {}

std::shared_ptr<GcrFake::Keys> GcrFake::MakeKeys(const std::vector<std::string>& emails) {
  auto keys = std::make_shared<Keys>();
  for (size_t i = 0; i < emails.size(); ++i) {
    const std::string base = keys->dir.Sub("sa" + std::to_string(i));
    GenerateKey(base + ".pem", base + ".pub.pem");
    keys->private_pem[emails[i]] = base + ".pem";
    keys->public_pem[emails[i]] = base + ".pub.pem";
  }
  return keys;
}

std::vector<std::string> GcrFake::Args(const Options& options, const Keys& keys) {
  std::vector<std::string> args = {"--token-lifetime", std::to_string(options.token_lifetime),
                                   "--access-token-lifetime", std::to_string(options.access_token_lifetime),
                                   "--page-size", std::to_string(options.page_size),
                                   "--clock-skew", std::to_string(options.clock_skew)};
  for (const auto& [email, path] : keys.public_pem) args.insert(args.end(), {"--service-account", email + ":" + path});
  if (!options.gar_location.empty()) args.insert(args.end(), {"--gar", options.gar_location});
  for (const std::string& r : options.gar_repos) args.insert(args.end(), {"--gar-repo", r});
  return args;
}

std::string GcrFake::KeyJson(const std::string& email) const {
  const std::string who = email.empty() ? options_.service_accounts.at(0) : email;
  auto it = keys_->private_pem.find(who);
  if (it == keys_->private_pem.end()) throw HarnessError("no service account " + who + " at the GCR fake");
  return ServiceAccountJson(who, options_.project, ReadFile(it->second), url() + "/token");
}

std::string GcrFake::UnknownKeyJson(const std::string& email, const std::string& token_uri) {
  TempDir dir("crossdock-gcr-unknown-key");
  GenerateKey(dir.Sub("k.pem"), dir.Sub("k.pub.pem"));
  return ServiceAccountJson(email, "proj", ReadFile(dir.Sub("k.pem")), token_uri);
}

}  // namespace crossdock::testing
