// ECR's API: docs.aws.amazon.com/AmazonECR/latest/APIReference/ (API_GetAuthorizationToken,
// API_DescribeRepositories, API_CreateRepository, API_ListImages, API_BatchDeleteImage)
// and the AWS JSON 1.1 protocol (errors: HTTP 400 {"__type","message"}); the facts
// collected in ../shared/reference/vendors.md §4.
#include "providers/aws/ecr.h"

#include <algorithm>
#include <cmath>
#include <ctime>
#include <utility>

#include "core/digest.h"
#include "core/encoding.h"
#include "core/names.h"
#include "providers/url.h"

namespace crossdock::providers {

namespace {

constexpr const char* kTargetPrefix = "AmazonEC2ContainerRegistry_V20150921.";
constexpr const char* kContentType = "application/x-amz-json-1.1";
// ListImages and DescribeRepositories take maxResults 1 to 1000; the registry API's
// n above 1000 is refused (UNSUPPORTED), so 1000 is the page size everywhere.
constexpr int kPageSize = 1000;
// How long before expiresAt a login is renewed: half its lifetime, at most five
// minutes (AWS's 12-hour tokens are renewed 5 minutes early), so a request never
// leaves with a login about to expire on the way.
constexpr std::chrono::seconds kMaxRenewMargin{300};

// "2026-12-06T09:34:03Z".
std::string Rfc3339(std::chrono::system_clock::time_point t) {
  const std::time_t secs = std::chrono::system_clock::to_time_t(t);
  std::tm tm{};
  gmtime_r(&secs, &tm);
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", &tm);
  return buf;
}

// "https://host:port/p" -> "host:port", as curl sends it in Host.
std::string Authority(const std::string& url) {
  const size_t start = url.find("://");
  if (start == std::string::npos) return "";
  const size_t end = url.find_first_of("/?#", start + 3);
  return url.substr(start + 3, end == std::string::npos ? std::string::npos : end - start - 3);
}

// TEXT from an AWS answer for a message: control bytes made spaces, at most 500 bytes.
std::string AwsText(const std::string& text) {
  constexpr size_t kShown = 500;
  std::string out = text.substr(0, kShown);
  for (char& c : out)
    if (static_cast<unsigned char>(c) < 0x20 || c == 0x7f) c = ' ';
  return text.size() > kShown ? out + "…" : out;
}

// The Status with MESSAGE for an AWS error code (TYPE) and HTTP status.
core::Status StatusFor(const std::string& type, long http_status, std::string message) {
  if (type == "UnrecognizedClientException" || type == "InvalidSignatureException" ||
      type == "SignatureDoesNotMatch" || type == "InvalidClientTokenId" ||
      type == "ExpiredTokenException" || type == "MissingAuthenticationTokenException" ||
      type == "IncompleteSignature")
    return core::Status::Unauthenticated(std::move(message));
  if (type == "AccessDeniedException" || type == "AccessDenied")
    return core::Status::PermissionDenied(std::move(message));
  if (type == "RepositoryNotFoundException") return core::Status::NotFound(std::move(message));
  if (type == "RepositoryAlreadyExistsException") return core::Status::Conflict(std::move(message));
  if (type == "ThrottlingException" || type == "ServiceUnavailableException" ||
      type == "ServerException" || http_status >= 500 || http_status == 429)
    return core::Status::Unavailable(std::move(message));
  return core::Status::Internal(std::move(message));
}

}  // namespace

core::Result<Credentials> DecodeEcrAuthorizationToken(const std::string& token) {
  const std::string decoded = core::Base64Decode(token).value_or("");
  const size_t colon = decoded.find(':');
  if (colon == std::string::npos || colon == 0 || colon + 1 == decoded.size())
    return core::Status::Internal(
        "the authorizationToken is not base64 of \"USER:PASSWORD\" as ECR issues it");
  return Credentials{decoded.substr(0, colon), decoded.substr(colon + 1), "GetAuthorizationToken"};
}

EcrRegistry::EcrRegistry(std::unique_ptr<DistributionRegistry> registry, std::string api_url,
                         Options options)
    : VendorRegistry(std::move(registry), std::move(api_url), "ECR"),
      options_(std::move(options)) {
  this->registry().SetLoginSource(
      [this](const std::string& rejected) { return RegistryLogin(rejected); });
}

std::chrono::system_clock::time_point EcrRegistry::Now() const {
  return options_.now ? options_.now() : std::chrono::system_clock::now();
}

nlohmann::json EcrRegistry::WithRegistryId(nlohmann::json body) const {
  if (!options_.registry_id.empty()) body["registryId"] = options_.registry_id;
  return body;
}

void EcrRegistry::Known(const std::string& repo) {
  std::lock_guard<std::mutex> lk(mu_);
  repositories_.insert(repo);
}

core::Status EcrRegistry::CheckRepository(const std::string& op, const std::string& repo) const {
  if (core::IsValidRepositoryName(repo)) return core::Status::Ok();
  return core::Status::InvalidArgument(Where(op) + ": repository name \"" + core::ShowName(repo) +
                                       "\" is not valid; nothing was sent");
}

core::Result<nlohmann::json> EcrRegistry::Call(const std::string& op, const nlohmann::json& body,
                                               const std::string& subject,
                                               std::string* error_type) {
  HttpRequest req;
  req.method = "POST";
  req.url = api_url() + "/";
  req.headers = {{"Host", Authority(req.url)},
                 {"Content-Type", kContentType},
                 {"X-Amz-Target", kTargetPrefix + op}};
  req.body = body.dump();
  req.max_body_size = kMaxListPageSize;
  req.follow_redirects = false;  // the signature is for this host alone
  const std::time_t signed_at = std::chrono::system_clock::to_time_t(Now());
  SigV4Request to_sign;
  to_sign.method = req.method;
  to_sign.path = std::string(PathAndQuery(req.url));
  to_sign.headers = req.headers;
  to_sign.payload = req.body;
  const SigV4Signature sig =
      SignV4(to_sign, options_.keys, {options_.region, "ecr", signed_at});
  req.headers.insert(req.headers.end(), sig.headers.begin(), sig.headers.end());
  req.headers.push_back({"Authorization", sig.authorization});

  const std::string what = subject.empty() ? op : op + " \"" + subject + "\"";
  auto r = registry().SendControlPlane(req);
  if (!r.ok()) return r.status().WithContext(Where(what));
  if (r->body_too_large)
    return core::Status::Internal(Where(what) + ": the answer is larger than " +
                                  std::to_string(kMaxListPageSize >> 20) +
                                  " MiB, the most crossdock reads");
  if (r->status != 200) {
    if (error_type) *error_type = ErrorType(*r);
    return ApiError(op, subject, *r, signed_at);
  }
  return ParseJson(*r, what);
}

std::string EcrRegistry::ErrorType(const HttpResponse& r) {
  // AWS JSON protocols: "__type" in the body, else the X-Amzn-ErrorType header; either
  // may carry a namespace before '#' and a URL after ':' ("ns#Code:http://…").
  auto j = nlohmann::json::parse(r.body, nullptr, false);
  std::string type = Field(j, "__type").is_string() ? Field(j, "__type").get<std::string>()
                                                    : r.Header("x-amzn-errortype");
  if (const size_t hash = type.rfind('#'); hash != std::string::npos) type.erase(0, hash + 1);
  if (const size_t colon = type.find(':'); colon != std::string::npos) type.resize(colon);
  return type;
}

core::Status EcrRegistry::ApiError(const std::string& op, const std::string& subject,
                                   const HttpResponse& r, std::time_t signed_at) const {
  const std::string type = ErrorType(r);
  auto j = nlohmann::json::parse(r.body, nullptr, false);
  std::string message;
  for (const char* key : {"message", "Message"})
    if (Field(j, key).is_string()) message = Field(j, key).get<std::string>();
  const std::string what = subject.empty() ? op : op + " \"" + subject + "\"";
  std::string text = Where(what) + ": HTTP " + std::to_string(r.status) +
                     (type.empty() ? "" : ", " + AwsText(type)) +
                     (message.empty() ? "" : ": " + AwsText(message));
  const std::string& key_id = options_.keys.access_key_id;
  const std::string source = options_.keys_source.empty() ? "" : " (from " + options_.keys_source + ")";
  const bool skew = message.find("Signature expired") != std::string::npos ||
                    message.find("Signature not yet current") != std::string::npos ||
                    type == "RequestExpired" || type == "RequestTimeTooSkewed";
  if (skew) {
    text += "; AWS refuses a request signed more than 15 minutes away from its own time, and "
            "this one was signed at " + AmzDate(signed_at) + " by this machine's clock: check "
            "the machine's clock (NTP, timedatectl)";
  } else if (type == "UnrecognizedClientException" || type == "InvalidClientTokenId") {
    text += "; AWS does not know the access key id " + key_id + source +
            ": check the endpoint's username (the access key id), and AWS_SESSION_TOKEN for "
            "temporary keys";
  } else if (type == "InvalidSignatureException" || type == "SignatureDoesNotMatch") {
    text += "; the secret access key does not belong to access key " + key_id + source +
            ": check the endpoint's password (the secret access key)";
  } else if (type == "ExpiredTokenException") {
    text += "; the session token" + source + " has expired: get new temporary credentials";
  } else if (type == "AccessDeniedException" || type == "AccessDenied") {
    text += "; the access key " + key_id + " lacks the IAM permission ecr:" + op +
            ": grant it to its user or role";
  } else if (type == "ThrottlingException") {
    text += "; AWS throttles this account's ECR API requests: lower the endpoint's rate_limit, "
            "or run again later";
  }
  return StatusFor(type, r.status, text);
}

core::Result<EcrRegistry::Login> EcrRegistry::FetchLogin() {
  const std::string op = "GetAuthorizationToken";
  nlohmann::json body = nlohmann::json::object();
  if (!options_.registry_id.empty()) body["registryIds"] = {options_.registry_id};
  auto j = Call(op, body);
  if (!j.ok()) return j.status();
  const nlohmann::json& data = Field(*j, "authorizationData");
  if (!data.is_array() || data.empty() || !Field(data[0], "authorizationToken").is_string())
    return core::Status::Internal(Where(op) + ": the answer has no authorizationData");
  auto creds = DecodeEcrAuthorizationToken(Field(data[0], "authorizationToken"));
  if (!creds.ok()) return creds.status().WithContext(Where(op));
  Login login;
  login.creds = *creds;
  const auto now = Now();
  // expiresAt is epoch seconds (a JSON number, fractional); 12 hours after issue at AWS.
  const nlohmann::json& expires = Field(data[0], "expiresAt");
  if (expires.is_number() && std::isfinite(expires.get<double>()) && expires.get<double>() > 0 &&
      expires.get<double>() < 1e11) {
    login.expires_at = std::chrono::system_clock::time_point(
        std::chrono::duration_cast<std::chrono::system_clock::duration>(
            std::chrono::duration<double>(expires.get<double>())));
  } else {
    login.expires_at = now + std::chrono::hours(1);  // unsaid: Harbor's cache time
  }
  const auto lifetime = std::max(login.expires_at - now, std::chrono::system_clock::duration(0));
  login.renew_at = login.expires_at -
                   std::min<std::chrono::system_clock::duration>(kMaxRenewMargin, lifetime / 2);
  return login;
}

core::Result<Credentials> EcrRegistry::RegistryLogin(const std::string& rejected) {
  auto usable = [&](const Login& l) {
    return !l.creds.password.empty() && Now() < l.renew_at &&
           BasicAuthorization(l.creds) != rejected;
  };
  long seen;
  {
    std::lock_guard<std::mutex> lk(mu_);
    if (usable(login_)) return login_.creds;
    seen = login_fetches_;
  }
  // Single flight: concurrent requests needing a new login wait for one
  // GetAuthorizationToken and share its answer, token or error.
  std::lock_guard<std::mutex> fetching(login_fetch_mu_);
  {
    std::lock_guard<std::mutex> lk(mu_);
    if (login_fetches_ != seen) {
      if (usable(login_)) return login_.creds;
      if (!login_error_.ok()) return login_error_;
    }
  }
  auto fetched = FetchLogin();
  std::lock_guard<std::mutex> lk(mu_);
  ++login_fetches_;
  login_error_ = fetched.status();
  if (!fetched.ok()) return fetched.status();
  login_ = *fetched;
  return login_.creds;
}

core::Status EcrRegistry::ForEachPage(const std::string& op, nlohmann::json body,
                                      const std::string& subject,
                                      const std::function<void(const nlohmann::json&)>& page) {
  std::set<std::string> tokens;
  for (int n = 0;; ++n) {
    auto j = Call(op, body, subject);
    if (!j.ok()) return j.status();
    page(*j);
    const nlohmann::json& next = Field(*j, "nextToken");
    if (!next.is_string() || next.get<std::string>().empty()) return core::Status::Ok();
    if (n + 1 >= kMaxListPages || !tokens.insert(next.get<std::string>()).second)
      return core::Status::Internal(
          Where(subject.empty() ? op : op + " \"" + subject + "\"") +
          ": the nextToken chain goes round in circles or past " + std::to_string(kMaxListPages) +
          " pages; stopped");
    body["nextToken"] = next;
  }
}

core::Result<std::vector<std::string>> EcrRegistry::ListRepositories() {
  std::vector<std::string> out;
  CROSSDOCK_RETURN_IF_ERROR(ForEachPage(
      "DescribeRepositories", WithRegistryId({{"maxResults", kPageSize}}), "",
      [&](const nlohmann::json& page) {
        for (const auto& r : Field(page, "repositories"))
          if (Field(r, "repositoryName").is_string()) out.push_back(Field(r, "repositoryName"));
      }));
  std::lock_guard<std::mutex> lk(mu_);
  repositories_.insert(out.begin(), out.end());
  return out;
}

core::Result<TagListing> EcrRegistry::ListTagsWithDigests(const std::string& repo) {
  CROSSDOCK_RETURN_IF_ERROR(CheckRepository("ListImages", repo));
  TagListing listing;
  core::Status st = ForEachPage(
      "ListImages",
      WithRegistryId({{"repositoryName", repo},
                      {"maxResults", kPageSize},
                      {"filter", {{"tagStatus", "TAGGED"}}}}),
      repo, [&](const nlohmann::json& page) {
        for (const auto& id : Field(page, "imageIds")) {
          if (!Field(id, "imageTag").is_string() || !Field(id, "imageDigest").is_string()) continue;
          const std::string tag = Field(id, "imageTag"), digest = Field(id, "imageDigest");
          if (!core::IsValidDigest(digest)) continue;  // crossdock copies sha256 only
          if (listing.digests.emplace(tag, digest).second) listing.tags.push_back(tag);
        }
      });
  if (st.code() == core::Code::kNotFound)
    return core::Status::NotFound("repository \"" + repo + "\" does not exist at endpoint \"" +
                                  name() + "\"");
  if (!st.ok()) return st;
  Known(repo);
  return listing;
}

core::Result<std::vector<std::string>> EcrRegistry::ListTags(const std::string& repo) {
  auto listing = ListTagsWithDigests(repo);
  if (!listing.ok()) return listing.status();
  return std::move(listing->tags);
}

core::Status EcrRegistry::BatchDelete(const std::string& repo, const nlohmann::json& image_id,
                                      const std::string& shown) {
  const std::string op = "BatchDeleteImage";
  CROSSDOCK_RETURN_IF_ERROR(CheckRepository(op, repo));
  auto j = Call(op, WithRegistryId({{"repositoryName", repo}, {"imageIds", {image_id}}}), shown);
  if (!j.ok()) return j.status();
  // HTTP 200 even when nothing was deleted: failures[] says why, per image.
  const nlohmann::json& failures = Field(*j, "failures");
  if (!failures.is_array() || failures.empty()) return core::Status::Ok();
  const std::string code = Field(failures[0], "failureCode").is_string()
                               ? Field(failures[0], "failureCode").get<std::string>()
                               : "";
  const std::string reason = Field(failures[0], "failureReason").is_string()
                                 ? Field(failures[0], "failureReason").get<std::string>()
                                 : "";
  const std::string text = Where(op + " \"" + shown + "\"") + ": not deleted, " +
                           (code.empty() ? "a failure" : code) +
                           (reason.empty() ? "" : ": " + AwsText(reason));
  if (code == "ImageNotFound") return core::Status::NotFound(text);
  if (code == "ImageReferencedByManifestList")
    return core::Status::Conflict(text + "; an image index in the repository still names it");
  return core::Status::Internal(text);
}

core::Status EcrRegistry::DeleteTag(const std::string& repo, const std::string& tag,
                                    const std::string& digest) {
  (void)digest;  // the applier checked the tag still holds it
  if (!core::IsValidTag(tag))
    return core::Status::InvalidArgument(Where("BatchDeleteImage") + ": tag \"" +
                                         core::ShowName(tag) + "\" is not valid; nothing was sent");
  // By tag, ECR removes that tag alone (the image goes with its last tag).
  return BatchDelete(repo, {{"imageTag", tag}}, repo + ":" + tag);
}

core::Status EcrRegistry::DeleteManifest(const std::string& repo, const std::string& digest) {
  if (!core::IsValidDigest(digest))
    return core::Status::InvalidArgument(Where("BatchDeleteImage") + ": digest \"" +
                                         core::ShowName(digest) + "\" is not valid; nothing was sent");
  return BatchDelete(repo, {{"imageDigest", digest}}, repo + "@" + digest);
}

core::Result<Namespace> EcrRegistry::CheckNamespace(const std::string& repo) {
  Namespace ns;
  ns.name = repo;  // ECR has no create-on-push: every repository is created first
  {
    std::lock_guard<std::mutex> lk(mu_);
    if (repositories_.count(repo)) return ns;
  }
  const std::string op = "DescribeRepositories";
  CROSSDOCK_RETURN_IF_ERROR(CheckRepository(op, repo));
  auto j = Call(op, WithRegistryId({{"repositoryNames", {repo}}}), repo);
  if (!j.ok() && j.status().code() == core::Code::kNotFound) {
    ns.exists = false;
    return ns;
  }
  if (!j.ok()) return j.status();
  Known(repo);
  return ns;
}

core::Status EcrRegistry::EnsureNamespace(const std::string& repo) {
  auto ns = CheckNamespace(repo);
  if (!ns.ok()) return ns.status();
  if (ns->exists) return core::Status::Ok();
  std::string refusal;
  auto j = Call("CreateRepository", WithRegistryId({{"repositoryName", repo}}), repo, &refusal);
  if (!j.ok() && refusal == "RepositoryAlreadyExistsException") {
    Known(repo);
    return core::Status::Ok();  // created meanwhile, by someone else
  }
  if (!j.ok() && j.status().code() == core::Code::kPermissionDenied)
    return core::Status::PermissionDenied(j.status().message() + ", or create the repository \"" +
                                          repo + "\" in ECR first; nothing was pushed to it");
  if (!j.ok()) return j.status();
  Known(repo);
  return core::Status::Ok();
}

core::Result<std::string> EcrRegistry::CheckControlPlane() {
  auto login = RegistryLogin("");
  if (!login.ok()) return login.status();
  std::chrono::system_clock::time_point expires;
  {
    std::lock_guard<std::mutex> lk(mu_);
    expires = login_.expires_at;
  }
  auto j = Call("DescribeRepositories", WithRegistryId({{"maxResults", kPageSize}}));
  if (!j.ok()) return j.status();
  const size_t n = Field(*j, "repositories").is_array() ? Field(*j, "repositories").size() : 0;
  return "ECR API at " + api_url() + " (region " + options_.region +
         (options_.registry_id.empty() ? "" : ", registry " + options_.registry_id) +
         ") signed as access key " + options_.keys.access_key_id +
         ": GetAuthorizationToken answered (registry login valid until " + Rfc3339(expires) +
         "), DescribeRepositories listed " + std::to_string(n) +
         (Field(*j, "nextToken").is_string() ? "+" : "") +
         (n == 1 ? " repository" : " repositories");
}

}  // namespace crossdock::providers
