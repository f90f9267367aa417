// Implementation of tests/support/azure_fake.h: the command line of the ACR fake and the
// Azure AD tokens tests give it.
#include "tests/support/azure_fake.h"

#include <openssl/evp.h>

#include <chrono>
#include <nlohmann/json.hpp>

namespace crossdock::testing {

namespace {

std::string Base64Url(const std::string& in) {
  std::string out(4 * ((in.size() + 2) / 3) + 1, '\0');
  out.resize(static_cast<size_t>(EVP_EncodeBlock(reinterpret_cast<unsigned char*>(out.data()),
                                                 reinterpret_cast<const unsigned char*>(in.data()),
                                                 static_cast<int>(in.size()))));
  while (!out.empty() && out.back() == '=') out.pop_back();
  for (char& c : out) c = c == '+' ? '-' : c == '/' ? '_' : c;
  return out;
}

}  // namespace

AcrFake::AcrFake(const Registry& upstream, Options options)
    : VendorFake("acr", upstream, options.users, "", Args(options)), options_(std::move(options)) {}

std::vector<std::string> AcrFake::Args(const Options& options) {
  std::vector<std::string> args = {"--token-lifetime", std::to_string(options.token_lifetime),
                                   "--refresh-token-lifetime", std::to_string(options.refresh_token_lifetime),
                                   "--page-size", std::to_string(options.page_size)};
  for (const auto& [token, tenant] : options.aad_tokens) args.insert(args.end(), {"--aad-token", token + ":" + tenant});
  return args;
}

std::string AcrFake::MakeAadToken(const std::string& tenant, long expires_in) {
  const long long now = std::chrono::duration_cast<std::chrono::seconds>(
                            std::chrono::system_clock::now().time_since_epoch())
                            .count();
  static int serial = 0;
  const nlohmann::json claims = {{"aud", "https://management.core.windows.net/"},
                                 {"iss", "https://sts.windows.net/" + tenant + "/"},
                                 {"iat", now - 60},
                                 {"nbf", now - 60},
                                 {"exp", now + expires_in},
                                 {"tid", tenant},
                                 {"oid", "11111111-2222-3333-4444-" + std::to_string(100000000000 + ++serial)},
                                 {"upn", "ci@contoso.example"}};
  return Base64Url(R"({"typ":"JWT","alg":"RS256","kid":"test"})") + "." + Base64Url(claims.dump()) + "." +
         Base64Url("not-a-signature-" + std::to_string(serial));
}

}  // namespace crossdock::testing
