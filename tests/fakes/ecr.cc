// ecr: a loopback fake of Amazon ECR — its JSON 1.1 API (api.ecr.REGION.amazonaws.com),
// its registry (ACCOUNT.dkr.ecr.REGION.amazonaws.com) and the S3 bucket its blob GETs
// redirect to, each on a port of its own — in front of a real, plain docker-registry that
// holds the data, for end-to-end tests of crossdock's aws-ecr provider; started by
// tests/support/ecr_fake.cc (EcrFake). Sources: the ECR API reference
// (docs.aws.amazon.com/AmazonECR/latest/APIReference/), the SigV4 documentation
// (docs.aws.amazon.com/IAM/latest/UserGuide/reference_sigv-create-signed-request.html) and
// the facts in ../shared/reference/vendors.md §4, §15. "[?]" marks a behaviour no source
// pins.
//
// API (POST / on the API port; X-Amz-Target: AmazonEC2ContainerRegistry_V20150921.<Op>,
// Content-Type: application/x-amz-json-1.1). Every call's SigV4 signature is verified
// with this file's own implementation (never crossdock's): Authorization
// "AWS4-HMAC-SHA256 Credential=AKID/DATE/REGION/ecr/aws4_request, SignedHeaders=…,
// Signature=…", host and x-amz-date among the signed headers, the payload's SHA-256.
// Errors are HTTP 400 {"__type","message"} (the AWS JSON protocol), as AWS words them:
//   no Authorization: MissingAuthenticationTokenException "Missing Authentication Token";
//   a malformed one: IncompleteSignature;
//   an access key id that is no --user, or a session token that does not belong to the
//   key (--session-token AKID:TOKEN makes a key temporary: its token is then required):
//   UnrecognizedClientException "The security token included in the request is invalid.";
//   a scope of another region or service: InvalidSignatureException "Credential should be
//   scoped to a valid region." / "… to correct service: 'ecr'.";
//   X-Amz-Date more than 15 minutes from the fake's clock (the machine's plus
//   --clock-skew S): InvalidSignatureException "Signature expired: DATE is now earlier
//   than NOW-15 (NOW - 15 min.)" or "Signature not yet current: DATE is still later than
//   NOW+15 (NOW + 15 min.)";
//   a wrong signature (a wrong secret): InvalidSignatureException "The request signature
//   we calculated does not match the signature you provided. Check your AWS Secret Access
//   Key and signing method. Consult the service documentation for details.";
//   --api-throttle N: the first N signed calls answer ThrottlingException "Rate exceeded".
// Operations (request and answer members as the API reference names them):
//   GetAuthorizationToken {registryIds?} → {"authorizationData":[{"authorizationToken":
//     base64("AWS:"+P), "expiresAt": epoch seconds (a number with decimals), "proxyEndpoint":
//     the registry's URL}]}; P is valid --token-lifetime seconds (AWS: 12 hours).
//   DescribeRepositories {registryId?, repositoryNames?, maxResults 1–1000, nextToken?}
//     → {"repositories":[{repositoryArn, registryId, repositoryName, repositoryUri,
//     createdAt, imageTagMutability, …}], "nextToken"?}; a named repository that does not
//     exist is RepositoryNotFoundException "The repository with name 'R' does not exist in
//     the registry with id 'ACCOUNT'". Default page 100 [?].
//   CreateRepository {repositoryName, …} → {"repository":{…}};
//     RepositoryAlreadyExistsException "The repository with name 'R' already exists in the
//     registry with id 'ACCOUNT'"; InvalidParameterException for a name outside ECR's
//     pattern; a key named by --deny-create gets AccessDeniedException "User:
//     arn:aws:iam::ACCOUNT:user/AKID is not authorized to perform: ecr:CreateRepository on
//     resource: arn:aws:ecr:REGION:ACCOUNT:repository/R because no identity-based policy
//     allows the ecr:CreateRepository action".
//   ListImages {repositoryName, maxResults 1–1000 (default 100), nextToken?,
//     filter.tagStatus TAGGED|UNTAGGED|ANY} → {"imageIds":[{imageDigest, imageTag?}],
//     "nextToken"?}; one entry per tag, untagged manifests without imageTag.
//   BatchDeleteImage {repositoryName, imageIds:[{imageTag?, imageDigest?}] (1–100)} →
//     {"imageIds":[deleted], "failures":[{imageId, failureCode, failureReason}]} with HTTP
//     200: a tag alone is removed (the image goes with its last tag: ECR's documented
//     behaviour), a digest takes the image and every tag on it; ImageNotFound "Requested
//     image not found", ImageTagDoesNotMatchDigest for a pair that does not match.
//   maxResults outside 1–1000 is ValidationException "1 validation error detected: Value
//   'N' at 'maxResults' failed to satisfy constraint: Member must have value less than or
//   equal to 1000"; an unknown operation UnknownOperationException.
// Repositories exist when created through CreateRepository or found in the registry's
// storage (seeded behind the fake's back).
//
// Registry (/v2/ on the main port): only "Authorization: Basic AWS:<P>" with a P that
// GetAuthorizationToken issued and that has not expired; without it 401 "Not Authorized"
// with `WWW-Authenticate: Basic realm="https://ACCOUNT.dkr.ecr.REGION.amazonaws.com/",
// service="ecr.amazonaws.com"` (harbor#3749), an expired P 403 {"errors":[{"code":"DENIED",
// "message":"Your authorization token has expired. Reauthenticate and try again."}]} [?: the
// status]. A repository that does not exist is 404 NAME_UNKNOWN "The repository with name
// 'R' does not exist in the registry with id 'ACCOUNT'" for every request, pushes included
// (ECR has no create-on-push). _catalog and tags/list with n above 1000 are 405
// {"errors":[{"code":"UNSUPPORTED","message":"Invalid parameter at 'maxResults' failed to
// satisfy constraint: 'Member must have value less than or equal to 1000'"}]}
// (go-containerregistry#681). DELETE of a manifest is 405 UNSUPPORTED [?: deletion goes
// through BatchDeleteImage]. With --redirect-blobs a blob GET answers 307 to the blob
// store (as ECR sends layer downloads to S3 with a presigned URL): the store serves the
// blob for a presigned URL it issued, and answers a request carrying an Authorization
// header 400 InvalidArgument "Only one auth mechanism allowed; …" (S3's answer), counting
// it. Everything else is forwarded to --upstream.
//
// Test hooks on the main port (not counted): GET /fake/stats {"requests","api","v2",
// "token","by_path","paths", "api_calls":["Op SUBJECT STATUS"…], "blob_fetches",
// "blob_fetches_with_authorization"}, POST /fake/reset-stats. Every answer is logged on
// stdout: METHOD TARGET STATUS (the API's as "API Op STATUS").
//
// Flags: --port P, --upstream URL, --storage DIR, --user AKID:SECRET (repeatable),
// --session-token AKID:TOKEN, --deny-create AKID, --account ID (default 123456789012),
// --region R (default us-east-1), --token-lifetime S (default 43200), --clock-skew S
// (default 0), --redirect-blobs, --api-throttle N. Prints "api at 127.0.0.1:P" and "blob
// store at 127.0.0.1:P", then "listening on 127.0.0.1:P" (the registry) and "ready".
#include <openssl/hmac.h>

#include <cmath>
#include <cstdint>
#include <ctime>
#include <string>
#include <thread>
#include <vector>

#include "tests/fakes/registry_front.h"

namespace {

using namespace crossdock::fakes;

constexpr const char* kProgram = "ecr";
constexpr const char* kTarget = "AmazonEC2ContainerRegistry_V20150921.";
constexpr std::chrono::minutes kSkewAllowed{15};

struct Flags : FrontFlags {
  std::vector<std::string> session_tokens, deny_create;
  std::string account = "123456789012";
  std::string region = "us-east-1";
  long token_lifetime = 43200;
  long clock_skew = 0;
  bool redirect_blobs = false;
  long api_throttle = 0;
};

Flags ParseFlags(int argc, char** argv) {
  Flags flags;
  ParseFrontFlags(kProgram, argc, argv, &flags, [&](const std::string& arg, const auto& value) {
    if (arg == "--session-token") {
      flags.session_tokens.push_back(value());
    } else if (arg == "--deny-create") {
      flags.deny_create.push_back(value());
    } else if (arg == "--account") {
      flags.account = value();
    } else if (arg == "--region") {
      flags.region = value();
    } else if (arg == "--token-lifetime") {
      flags.token_lifetime = FlagInt(kProgram, arg, value());
    } else if (arg == "--clock-skew") {
      flags.clock_skew = FlagInt(kProgram, arg, value());
    } else if (arg == "--redirect-blobs") {
      flags.redirect_blobs = true;
    } else if (arg == "--api-throttle") {
      flags.api_throttle = FlagInt(kProgram, arg, value());
    } else {
      return false;
    }
    return true;
  });
  if (flags.token_lifetime < 1) Die(kProgram, "--token-lifetime must be at least 1");
  return flags;
}

// ---- SigV4, as the verifying side computes it ----

std::string ToHex(const unsigned char* p, size_t n) {
  std::string out;
  char buf[3];
  for (size_t i = 0; i < n; ++i) {
    std::snprintf(buf, sizeof buf, "%02x", p[i]);
    out += buf;
  }
  return out;
}

std::string Sha256OfHex(const std::string& data) {
  unsigned char md[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  EVP_Digest(data.data(), data.size(), md, &len, EVP_sha256(), nullptr);
  return ToHex(md, len);
}

std::string Mac(const std::string& key, const std::string& msg) {
  unsigned char md[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  HMAC(EVP_sha256(), key.data(), static_cast<int>(key.size()),
       reinterpret_cast<const unsigned char*>(msg.data()), msg.size(), md, &len);
  return std::string(reinterpret_cast<char*>(md), len);
}

// RFC 3986 encoding, '/' kept when KEEP_SLASH.
std::string AwsEscape(std::string_view s, bool keep_slash) {
  std::string out;
  char buf[4];
  for (unsigned char c : s) {
    const bool plain = std::isalnum(c) || c == '-' || c == '.' || c == '_' || c == '~' || (keep_slash && c == '/');
    if (plain) {
      out += static_cast<char>(c);
    } else {
      std::snprintf(buf, sizeof buf, "%%%02X", c);
      out += buf;
    }
  }
  return out;
}

// The canonical URI of RAW_PATH (as received): dot segments and empty segments removed,
// then escaped once more (every service but S3).
std::string CanonicalUri(const std::string& raw_path) {
  std::vector<std::string> stack;
  for (const std::string& seg : Split(raw_path, '/')) {
    if (seg.empty() || seg == ".") continue;
    if (seg == "..") {
      if (!stack.empty()) stack.pop_back();
      continue;
    }
    stack.push_back(seg);
  }
  std::string path = "/" + Join(stack, "/");
  if (path.size() > 1 && !raw_path.empty() && raw_path.back() == '/') path += '/';
  return AwsEscape(path, true);
}

std::string CanonicalQueryString(const std::string& raw) {
  std::vector<std::pair<std::string, std::string>> items;
  for (const std::string& pair : Split(raw, '&')) {
    if (pair.empty()) continue;
    size_t eq = pair.find('=');
    std::string k = Unescape(pair.substr(0, eq), false).value_or(pair.substr(0, eq));
    std::string v = eq == std::string::npos ? "" : Unescape(pair.substr(eq + 1), false).value_or(pair.substr(eq + 1));
    items.emplace_back(AwsEscape(k, false), AwsEscape(v, false));
  }
  std::sort(items.begin(), items.end());
  std::vector<std::string> parts;
  for (const auto& [k, v] : items) parts.push_back(k + "=" + v);
  return Join(parts, "&");
}

// A header value as signed: trimmed, inner whitespace runs one space.
std::string SignedValue(const std::string& v) {
  std::string out;
  bool pending_space = false;
  for (char c : v) {
    if (c == ' ' || c == '\t' || c == '\r' || c == '\n') {
      pending_space = true;
    } else {
      if (pending_space && !out.empty()) out += ' ';
      pending_space = false;
      out += c;
    }
  }
  return out;
}

std::string Lowercase(std::string s) {
  for (char& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return s;
}

// "20150830T123600Z" for T, and back.
std::string AmzTime(std::time_t t) {
  std::tm tm{};
  gmtime_r(&t, &tm);
  char buf[20];
  std::strftime(buf, sizeof buf, "%Y%m%dT%H%M%SZ", &tm);
  return buf;
}
std::optional<std::time_t> ParseAmzTime(const std::string& s) {
  std::tm tm{};
  const char* end = strptime(s.c_str(), "%Y%m%dT%H%M%SZ", &tm);
  if (end == nullptr || *end != '\0' || s.size() != 16) return std::nullopt;
  return timegm(&tm);
}

// The parts of "AWS4-HMAC-SHA256 Credential=…, SignedHeaders=…, Signature=…".
struct AuthorizationHeader {
  std::string key_id, date, region, service, terminator;
  std::vector<std::string> signed_headers;
  std::string signature;
};

std::optional<AuthorizationHeader> ParseAuthorization(const std::string& header) {
  const std::string scheme = "AWS4-HMAC-SHA256 ";
  if (!StartsWith(header, scheme)) return std::nullopt;
  AuthorizationHeader out;
  for (std::string part : Split(header.substr(scheme.size()), ',')) {
    while (!part.empty() && part.front() == ' ') part.erase(0, 1);
    size_t eq = part.find('=');
    if (eq == std::string::npos) return std::nullopt;
    const std::string key = part.substr(0, eq), value = part.substr(eq + 1);
    if (key == "Credential") {
      std::vector<std::string> scope = Split(value, '/');
      if (scope.size() != 5) return std::nullopt;
      out.key_id = scope[0];
      out.date = scope[1];
      out.region = scope[2];
      out.service = scope[3];
      out.terminator = scope[4];
    } else if (key == "SignedHeaders") {
      out.signed_headers = Split(value, ';');
    } else if (key == "Signature") {
      out.signature = value;
    }
  }
  if (out.key_id.empty() || out.signed_headers.empty() || out.signature.empty()) return std::nullopt;
  return out;
}

// ---- the fake ----

struct AwsFailure {
  std::string type, message;
};

struct EcrRepo {
  std::string name;
  Clock::time_point created{};
};

std::string Base64(const std::string& in) {
  std::string out(4 * ((in.size() + 2) / 3) + 1, '\0');
  out.resize(EVP_EncodeBlock(reinterpret_cast<unsigned char*>(out.data()),
                             reinterpret_cast<const unsigned char*>(in.data()), static_cast<int>(in.size())));
  return out;
}

std::string RandomHex(size_t bytes) {
  std::vector<unsigned char> b(bytes);
  if (RAND_bytes(b.data(), static_cast<int>(bytes)) != 1) Die(kProgram, "RAND_bytes failed");
  return ToHex(b.data(), bytes);
}

double EpochSeconds(Clock::time_point t) {
  return std::chrono::duration<double>(t.time_since_epoch()).count();
}

// ECR's repository name pattern (API_CreateRepository) and length 2–256.
bool ValidEcrName(const std::string& name) {
  static const std::regex kName("^(?:[a-z0-9]+(?:[._-][a-z0-9]+)*/)*[a-z0-9]+(?:[._-][a-z0-9]+)*$");
  return name.size() >= 2 && name.size() <= 256 && std::regex_match(name, kName);
}

class Ecr {
 public:
  explicit Ecr(Flags flags) : flags_(std::move(flags)), upstream_(flags_.upstream), storage_(flags_.storage) {
    for (const std::string& u : flags_.users) {
      size_t colon = u.find(':');
      if (colon == std::string::npos || colon == 0) Die(kProgram, "--user wants AKID:SECRET, got " + u);
      secrets_[u.substr(0, colon)] = u.substr(colon + 1);
    }
    for (const std::string& t : flags_.session_tokens) {
      size_t colon = t.find(':');
      if (colon == std::string::npos || !secrets_.count(t.substr(0, colon)))
        Die(kProgram, "--session-token wants AKID:TOKEN of a --user key, got " + t);
      session_tokens_[t.substr(0, colon)] = t.substr(colon + 1);
    }
    throttle_left_ = flags_.api_throttle;
    registry_host_ = flags_.account + ".dkr.ecr." + flags_.region + ".amazonaws.com";
  }

  void set_self(std::string self) { self_ = std::move(self); }
  void set_blob_store(std::string url) { blob_store_ = std::move(url); }

  // ---- the main port: registry and test hooks ----

  void Handle(const httplib::Request& req, httplib::Response& res, const httplib::ContentReader* reader) {
    if (StartsWith(req.path, "/fake/")) return Hooks(req, res);
    try {
      if (StartsWith(req.path, "/v2/") || req.path == "/v2") {
        stats_.Count(req, "v2");
        Registry(req, res, reader);
      } else {
        stats_.Count(req, "");
        res.status = 404;
        res.set_content("404 page not found\n", "text/plain");
      }
    } catch (const UpstreamError& e) {
      res.status = 502;
      res.set_content(std::string("ecr fake: upstream: ") + e.what() + "\n", "text/plain");
    }
  }

  // ---- the API port ----

  void HandleApi(const httplib::Request& req, httplib::Response& res) {
    stats_.Count(req, "api");
    std::string op = req.get_header_value("X-Amz-Target");
    op = StartsWith(op, kTarget) ? op.substr(std::string(kTarget).size()) : op;
    std::string subject;
    try {
      if (req.method != "POST" || req.path != "/") {
        Fail(res, {"UnknownOperationException", ""}, 404);
      } else if (std::optional<AwsFailure> refused = Verify(req)) {
        Fail(res, *refused);
      } else if (Throttled()) {
        Fail(res, {"ThrottlingException", "Rate exceeded"});
      } else {
        if (op == "GetAuthorizationToken") stats_.Count(req, "token");
        Json body = Json::parse(req.body, nullptr, false);
        if (body.is_discarded() || !body.is_object()) {
          Fail(res, {"SerializationException", "Start of structure or map found where not expected."});
        } else {
          subject = body.value("repositoryName", "");
          if (subject.empty() && body.contains("repositoryNames") && body["repositoryNames"].is_array() &&
              !body["repositoryNames"].empty() && body["repositoryNames"][0].is_string())
            subject = body["repositoryNames"][0].get<std::string>();
          Dispatch(op, KeyOf(req), body, res);
        }
      }
    } catch (const UpstreamError& e) {
      res.status = 500;
      SendJson(res, 500, {{"__type", "ServerException"}, {"message", e.what()}}, "application/x-amz-json-1.1");
    }
    std::lock_guard<std::mutex> lock(mu_);
    if (api_calls_.size() < 500) api_calls_.push_back(op + " " + subject + " " + std::to_string(res.status));
    std::printf("API %s %d\n", op.c_str(), res.status);
    std::fflush(stdout);
  }

  // ---- the blob store port (the S3 of the redirects) ----

  void HandleBlobStore(const httplib::Request& req, httplib::Response& res) {
    const bool authorization = req.has_header("Authorization");
    {
      std::lock_guard<std::mutex> lock(mu_);
      ++blob_fetches_;
      if (authorization) ++blob_fetches_with_auth_;
    }
    if (authorization) {
      // S3's answer to a presigned URL that also carries an Authorization header.
      res.status = 400;
      res.set_content(
          "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<Error><Code>InvalidArgument</Code><Message>Only one "
          "auth mechanism allowed; only the X-Amz-Algorithm query parameter, Signature query string "
          "parameter or the Authorization header should be specified</Message><ArgumentName>Authorization"
          "</ArgumentName></Error>",
          "application/xml");
      return;
    }
    const std::string signature = Query(RawQuery(req)).Get("X-Amz-Signature").value_or("");
    std::pair<std::string, std::string> blob;
    {
      std::lock_guard<std::mutex> lock(mu_);
      auto it = presigned_.find(signature);
      if (it == presigned_.end()) {
        res.status = 403;
        res.set_content("<Error><Code>SignatureDoesNotMatch</Code></Error>", "application/xml");
        return;
      }
      blob = it->second;
    }
    httplib::Request up = req;
    up.method = "GET";
    up.target = "/v2/" + blob.first + "/blobs/" + blob.second;
    up.path = up.target;
    upstream_.Forward(up, nullptr, self_, res);
  }

 private:
  void Hooks(const httplib::Request& req, httplib::Response& res) {
    if (req.path == "/fake/stats" && req.method == "GET") {
      Json j = stats_.ToJson();
      std::lock_guard<std::mutex> lock(mu_);
      j["api_calls"] = api_calls_;
      j["blob_fetches"] = blob_fetches_;
      j["blob_fetches_with_authorization"] = blob_fetches_with_auth_;
      SendJson(res, 200, j);
      return;
    }
    if (req.path == "/fake/reset-stats" && req.method == "POST") {
      stats_.Reset();
      std::lock_guard<std::mutex> lock(mu_);
      api_calls_.clear();
      blob_fetches_ = blob_fetches_with_auth_ = 0;
      SendJson(res, 200, Json::object());
      return;
    }
    res.status = 404;
  }

  Clock::time_point Now() const { return Clock::now() + std::chrono::seconds(flags_.clock_skew); }

  void Fail(httplib::Response& res, const AwsFailure& f, int status = 400) const {
    Json body = {{"__type", f.type}};
    if (!f.message.empty()) body["message"] = f.message;
    res.set_header("x-amzn-RequestId", RandomHex(16));
    SendJson(res, status, body, "application/x-amz-json-1.1");
  }

  bool Throttled() {
    std::lock_guard<std::mutex> lock(mu_);
    if (throttle_left_ <= 0) return false;
    --throttle_left_;
    return true;
  }

  static std::string KeyOf(const httplib::Request& req) {
    auto a = ParseAuthorization(req.get_header_value("Authorization"));
    return a ? a->key_id : "";
  }

  // The refusal of REQ's signature, or nullopt when it is good.
  std::optional<AwsFailure> Verify(const httplib::Request& req) const {
    const std::string header = req.get_header_value("Authorization");
    if (header.empty()) return AwsFailure{"MissingAuthenticationTokenException", "Missing Authentication Token"};
    std::optional<AuthorizationHeader> auth = ParseAuthorization(header);
    if (!auth) {
      return AwsFailure{"IncompleteSignature",
                        "Authorization header requires 'Credential', 'Signature' and 'SignedHeaders' parameters."};
    }
    const std::string invalid_token = "The security token included in the request is invalid.";
    auto secret = secrets_.find(auth->key_id);
    if (secret == secrets_.end()) return AwsFailure{"UnrecognizedClientException", invalid_token};
    const std::string token = req.get_header_value("X-Amz-Security-Token");
    auto expected_token = session_tokens_.find(auth->key_id);
    if (expected_token == session_tokens_.end() ? !token.empty() : token != expected_token->second)
      return AwsFailure{"UnrecognizedClientException", invalid_token};
    if (auth->region != flags_.region)
      return AwsFailure{"InvalidSignatureException", "Credential should be scoped to a valid region. "};
    if (auth->service != "ecr")
      return AwsFailure{"InvalidSignatureException", "Credential should be scoped to correct service: 'ecr'. "};
    if (auth->terminator != "aws4_request")
      return AwsFailure{"InvalidSignatureException", "Credential should be scoped with a valid terminator: 'aws4_request'. "};
    auto has = [&](const char* name) {
      return std::find(auth->signed_headers.begin(), auth->signed_headers.end(), name) != auth->signed_headers.end();
    };
    if (!has("host")) {
      return AwsFailure{"InvalidSignatureException",
                        "'Host' or ':authority' must be a 'SignedHeader' in the AWS Authorization."};
    }
    const std::string amz_date = req.get_header_value("X-Amz-Date");
    std::optional<std::time_t> when = ParseAmzTime(amz_date);
    if (!when || !has("x-amz-date")) {
      return AwsFailure{"IncompleteSignature",
                        "Authorization header requires existence of either a 'X-Amz-Date' or a 'Date' header."};
    }
    if (!token.empty() && !has("x-amz-security-token")) return AwsFailure{"UnrecognizedClientException", invalid_token};
    if (auth->date != amz_date.substr(0, 8)) {
      return AwsFailure{"InvalidSignatureException",
                        "Date in Credential scope does not match YYYYMMDD from ISO-8601 version of date from HTTP: '" +
                            auth->date + "' != '" + amz_date.substr(0, 8) + "', from '" + amz_date + "'."};
    }
    const std::time_t now = Clock::to_time_t(Now());
    const long window = std::chrono::duration_cast<std::chrono::seconds>(kSkewAllowed).count();
    if (*when < now - window) {
      return AwsFailure{"InvalidSignatureException", "Signature expired: " + amz_date + " is now earlier than " +
                                                         AmzTime(now - window) + " (" + AmzTime(now) + " - 15 min.)"};
    }
    if (*when > now + window) {
      return AwsFailure{"InvalidSignatureException", "Signature not yet current: " + amz_date +
                                                         " is still later than " + AmzTime(now + window) + " (" +
                                                         AmzTime(now) + " + 15 min.)"};
    }
    // The canonical request, from the request as received.
    std::string canonical = req.method + "\n" + CanonicalUri(RawPath(req)) + "\n" + CanonicalQueryString(RawQuery(req)) + "\n";
    for (const std::string& name : auth->signed_headers) {
      std::vector<std::string> values;
      auto range = req.headers.equal_range(name);  // httplib compares names without case
      for (auto it = range.first; it != range.second; ++it) values.push_back(SignedValue(it->second));
      canonical += Lowercase(name) + ":" + Join(values, ",") + "\n";
    }
    canonical += "\n" + Join(auth->signed_headers, ";") + "\n" + Sha256OfHex(req.body);
    const std::string scope = auth->date + "/" + auth->region + "/" + auth->service + "/aws4_request";
    const std::string to_sign = "AWS4-HMAC-SHA256\n" + amz_date + "\n" + scope + "\n" + Sha256OfHex(canonical);
    std::string key = "AWS4" + secret->second;
    for (const std::string& part : {auth->date, auth->region, auth->service, std::string("aws4_request")})
      key = Mac(key, part);
    const std::string mac = Mac(key, to_sign);
    if (ToHex(reinterpret_cast<const unsigned char*>(mac.data()), mac.size()) != auth->signature) {
      return AwsFailure{"InvalidSignatureException",
                        "The request signature we calculated does not match the signature you provided. Check your "
                        "AWS Secret Access Key and signing method. Consult the service documentation for details."};
    }
    return std::nullopt;
  }

  void Dispatch(const std::string& op, const std::string& key, const Json& body, httplib::Response& res) {
    if (op == "GetAuthorizationToken") return GetAuthorizationToken(res);
    if (op == "DescribeRepositories") return DescribeRepositories(body, res);
    if (op == "CreateRepository") return CreateRepository(key, body, res);
    if (op == "ListImages") return ListImages(body, res);
    if (op == "BatchDeleteImage") return BatchDeleteImage(body, res);
    Fail(res, {"UnknownOperationException", ""});
  }

  void GetAuthorizationToken(httplib::Response& res) {
    const std::string password = RandomHex(32);
    const Clock::time_point expires = Clock::now() + std::chrono::seconds(flags_.token_lifetime);
    {
      std::lock_guard<std::mutex> lock(mu_);
      logins_[password] = expires;
    }
    // expiresAt with millisecond decimals, as the SDKs read it.
    const double at = std::round(EpochSeconds(expires) * 1000) / 1000;
    SendJson(res, 200,
             {{"authorizationData",
               {{{"authorizationToken", Base64("AWS:" + password)}, {"expiresAt", at}, {"proxyEndpoint", self_}}}}},
             "application/x-amz-json-1.1");
  }

  std::string NotFoundMessage(const std::string& name) const {
    return "The repository with name '" + name + "' does not exist in the registry with id '" + flags_.account + "'";
  }

  // Whether REPO exists: created here, or in the registry's storage.
  bool Exists(const std::string& repo) {
    {
      std::lock_guard<std::mutex> lock(mu_);
      if (repos_.count(repo)) return true;
    }
    if (!storage_.HasRepository(repo)) return false;
    std::lock_guard<std::mutex> lock(mu_);
    repos_.emplace(repo, EcrRepo{repo, Clock::now()});
    return true;
  }

  Json RepositoryJson(const std::string& name) {
    Clock::time_point created;
    {
      std::lock_guard<std::mutex> lock(mu_);
      created = repos_[name].created;
    }
    return {{"repositoryArn", "arn:aws:ecr:" + flags_.region + ":" + flags_.account + ":repository/" + name},
            {"registryId", flags_.account},
            {"repositoryName", name},
            {"repositoryUri", registry_host_ + "/" + name},
            {"createdAt", std::round(EpochSeconds(created) * 1000) / 1000},
            {"imageTagMutability", "MUTABLE"},
            {"imageScanningConfiguration", {{"scanOnPush", false}}},
            {"encryptionConfiguration", {{"encryptionType", "AES256"}}}};
  }

  // maxResults of BODY (DEFAULT when absent); nullopt after answering the validation error.
  std::optional<size_t> MaxResults(const Json& body, size_t fallback, httplib::Response& res) const {
    if (!body.contains("maxResults")) return fallback;
    const Json& m = body["maxResults"];
    if (!m.is_number_integer() || m.get<long>() < 1 || m.get<long>() > 1000) {
      Fail(res, {"ValidationException", "1 validation error detected: Value '" + m.dump() +
                                            "' at 'maxResults' failed to satisfy constraint: Member must have value " +
                                            (m.is_number_integer() && m.get<long>() < 1 ? "greater than or equal to 1"
                                                                                        : "less than or equal to 1000")});
      return std::nullopt;
    }
    return static_cast<size_t>(m.get<long>());
  }

  // Where a page starts: 0, or the offset a nextToken this fake issued for KIND stands
  // for; nullopt after answering InvalidParameterException.
  std::optional<size_t> PageStart(const Json& body, const std::string& kind, httplib::Response& res) {
    if (!body.contains("nextToken")) return 0;
    std::lock_guard<std::mutex> lock(mu_);
    auto it = body["nextToken"].is_string() ? page_tokens_.find(body["nextToken"].get<std::string>()) : page_tokens_.end();
    if (it == page_tokens_.end() || it->second.first != kind) {
      Fail(res, {"InvalidParameterException", "Invalid parameter at 'nextToken' failed to satisfy constraint: 'Invalid token'"});
      return std::nullopt;
    }
    return it->second.second;
  }

  std::string PageToken(const std::string& kind, size_t offset) {
    std::string token = Base64(RandomHex(24));
    std::lock_guard<std::mutex> lock(mu_);
    page_tokens_[token] = {kind, offset};
    return token;
  }

  void DescribeRepositories(const Json& body, httplib::Response& res) {
    if (body.contains("repositoryNames")) {
      Json found = Json::array();
      for (const Json& n : body["repositoryNames"]) {
        const std::string name = n.is_string() ? n.get<std::string>() : "";
        if (!Exists(name)) return Fail(res, {"RepositoryNotFoundException", NotFoundMessage(name)});
        found.push_back(RepositoryJson(name));
      }
      return SendJson(res, 200, {{"repositories", found}}, "application/x-amz-json-1.1");
    }
    std::optional<size_t> max = MaxResults(body, 100, res);
    if (!max) return;
    std::optional<size_t> start = PageStart(body, "repositories", res);
    if (!start) return;
    for (const std::string& name : upstream_.Catalog()) Exists(name);
    std::vector<std::string> names;
    {
      std::lock_guard<std::mutex> lock(mu_);
      for (const auto& [name, repo] : repos_) names.push_back(name);
    }
    Json page = Json::array();
    for (size_t i = *start; i < names.size() && i < *start + *max; ++i) page.push_back(RepositoryJson(names[i]));
    Json out = {{"repositories", page}};
    if (*start + *max < names.size()) out["nextToken"] = PageToken("repositories", *start + *max);
    SendJson(res, 200, out, "application/x-amz-json-1.1");
  }

  void CreateRepository(const std::string& key, const Json& body, httplib::Response& res) {
    const std::string name = body.value("repositoryName", "");
    if (std::find(flags_.deny_create.begin(), flags_.deny_create.end(), key) != flags_.deny_create.end()) {
      return Fail(res, {"AccessDeniedException",
                        "User: arn:aws:iam::" + flags_.account + ":user/" + key +
                            " is not authorized to perform: ecr:CreateRepository on resource: arn:aws:ecr:" +
                            flags_.region + ":" + flags_.account + ":repository/" + name +
                            " because no identity-based policy allows the ecr:CreateRepository action"});
    }
    if (!ValidEcrName(name)) {
      return Fail(res, {"InvalidParameterException",
                        "Invalid parameter at 'repositoryName' failed to satisfy constraint: 'must satisfy regular "
                        "expression '(?:[a-z0-9]+(?:[._-][a-z0-9]+)*/)*[a-z0-9]+(?:[._-][a-z0-9]+)*''"});
    }
    if (Exists(name)) {
      return Fail(res, {"RepositoryAlreadyExistsException", "The repository with name '" + name +
                                                                "' already exists in the registry with id '" +
                                                                flags_.account + "'"});
    }
    {
      std::lock_guard<std::mutex> lock(mu_);
      repos_.emplace(name, EcrRepo{name, Clock::now()});
    }
    SendJson(res, 200, {{"repository", RepositoryJson(name)}}, "application/x-amz-json-1.1");
  }

  // REPO's images as ListImages lists them: one per tag (sorted), then the untagged
  // manifests, as FILTER ("TAGGED", "UNTAGGED", "ANY") asks.
  std::vector<Json> Images(const std::string& repo, const std::string& filter) {
    std::vector<Json> out;
    std::set<std::string> tagged;
    if (auto links = storage_.TagLinks(repo)) {
      for (const auto& [tag, stored] : *links) {
        tagged.insert(stored.digest);
        if (filter != "UNTAGGED") out.push_back({{"imageDigest", stored.digest}, {"imageTag", tag}});
      }
    }
    if (filter != "TAGGED") {
      for (const auto& [digest, when] : storage_.Revisions(repo)) {
        if (!tagged.count(digest)) out.push_back({{"imageDigest", digest}});
      }
    }
    return out;
  }

  void ListImages(const Json& body, httplib::Response& res) {
    const std::string repo = body.value("repositoryName", "");
    if (!Exists(repo)) return Fail(res, {"RepositoryNotFoundException", NotFoundMessage(repo)});
    std::optional<size_t> max = MaxResults(body, 100, res);
    if (!max) return;
    std::string filter = "ANY";
    if (body.contains("filter") && body["filter"].is_object()) filter = body["filter"].value("tagStatus", "ANY");
    std::optional<size_t> start = PageStart(body, "images:" + repo + ":" + filter, res);
    if (!start) return;
    std::vector<Json> images = Images(repo, filter);
    Json page = Json::array();
    for (size_t i = *start; i < images.size() && i < *start + *max; ++i) page.push_back(images[i]);
    Json out = {{"imageIds", page}};
    if (*start + *max < images.size()) out["nextToken"] = PageToken("images:" + repo + ":" + filter, *start + *max);
    SendJson(res, 200, out, "application/x-amz-json-1.1");
  }

  // DELETE /v2/REPO/manifests/DIGEST at the upstream, which takes every tag on it.
  void DeleteUpstreamManifest(const std::string& repo, const std::string& digest) {
    httplib::Client client(upstream_.origin());
    client.set_keep_alive(false);
    client.set_connection_timeout(10);
    httplib::Result r = client.Delete(("/v2/" + repo + "/manifests/" + digest).c_str());
    if (!r || (r->status != 202 && r->status != 404)) throw UpstreamError("DELETE manifest " + repo + "@" + digest + " failed");
  }

  void BatchDeleteImage(const Json& body, httplib::Response& res) {
    const std::string repo = body.value("repositoryName", "");
    if (!Exists(repo)) return Fail(res, {"RepositoryNotFoundException", NotFoundMessage(repo)});
    if (!body.contains("imageIds") || !body["imageIds"].is_array() || body["imageIds"].empty() ||
        body["imageIds"].size() > 100) {
      return Fail(res, {"InvalidParameterException",
                        "Invalid parameter at 'imageIds' failed to satisfy constraint: 'Member must have length "
                        "less than or equal to 100'"});
    }
    Json deleted = Json::array(), failures = Json::array();
    auto fail = [&](const Json& id, const char* code, const char* reason) {
      failures.push_back({{"imageId", id}, {"failureCode", code}, {"failureReason", reason}});
    };
    for (const Json& id : body["imageIds"]) {
      const std::string tag = id.is_object() ? id.value("imageTag", "") : "";
      const std::string digest = id.is_object() ? id.value("imageDigest", "") : "";
      if (tag.empty() && digest.empty()) {
        fail(id, "MissingDigestAndTag", "Invalid request parameters: both tag and digest cannot be null");
        continue;
      }
      if (!tag.empty()) {
        std::optional<StoredTag> stored = storage_.Tag(repo, tag);
        if (!stored) {
          fail(id, "ImageNotFound", "Requested image not found");
          continue;
        }
        if (!digest.empty() && digest != stored->digest) {
          fail(id, "ImageTagDoesNotMatchDigest", "Invalid request parameters: given tag does not map to the given digest");
          continue;
        }
        // The tag alone; the image goes with its last tag.
        storage_.DeleteTag(repo, tag);
        bool still_tagged = false;
        if (auto links = storage_.TagLinks(repo)) {
          for (const auto& [other, s] : *links) still_tagged = still_tagged || s.digest == stored->digest;
        }
        if (!still_tagged) DeleteUpstreamManifest(repo, stored->digest);
        deleted.push_back({{"imageDigest", stored->digest}, {"imageTag", tag}});
        continue;
      }
      if (!storage_.RevisionTime(repo, digest)) {
        fail(id, "ImageNotFound", "Requested image not found");
        continue;
      }
      DeleteUpstreamManifest(repo, digest);
      deleted.push_back({{"imageDigest", digest}});
    }
    SendJson(res, 200, {{"imageIds", deleted}, {"failures", failures}}, "application/x-amz-json-1.1");
  }

  // ---- /v2/ ----

  void V2Fail(httplib::Response& res, int status, const std::string& code, const std::string& message) const {
    SendJson(res, status, {{"errors", Json::array({{{"code", code}, {"message", message}}})}});
  }

  // True when REQ carries a live registry login; else answers 401 or 403.
  bool Authorized(const httplib::Request& req, httplib::Response& res) {
    std::optional<Credentials> basic = ParseBasic(req);
    if (basic && basic->user == "AWS") {
      std::lock_guard<std::mutex> lock(mu_);
      auto it = logins_.find(basic->password);
      if (it != logins_.end() && Clock::now() < it->second) return true;
      if (it != logins_.end()) {
        SendJson(res, 403,
                 {{"errors", Json::array({{{"code", "DENIED"},
                                           {"message", "Your authorization token has expired. Reauthenticate and try again."}}})}});
        return false;
      }
    }
    res.status = 401;
    res.set_header("WWW-Authenticate", "Basic realm=\"https://" + registry_host_ + "/\",service=\"ecr.amazonaws.com\"");
    res.set_header("Docker-Distribution-API-Version", "registry/2.0");
    res.set_content("Not Authorized\n", "text/plain");
    return false;
  }

  void Registry(const httplib::Request& req, httplib::Response& res, const httplib::ContentReader* reader) {
    if (!Authorized(req, res)) return;
    using Kind = RegistryPath::Kind;
    const RegistryPath p = ParseRegistryPath(req.path);
    if (p.kind == Kind::kCatalog || p.kind == Kind::kTags) {
      std::optional<std::string> n = Query(RawQuery(req)).Get("n");
      if (n && !n->empty() && n->find_first_not_of("0123456789") == std::string::npos &&
          (n->size() > 6 || std::stol(*n) > 1000)) {
        return V2Fail(res, 405, "UNSUPPORTED",
                      "Invalid parameter at 'maxResults' failed to satisfy constraint: 'Member must have value less "
                      "than or equal to 1000'");
      }
    }
    if (p.kind != Kind::kBase && p.kind != Kind::kCatalog) {
      if (p.name.empty()) return V2Fail(res, 404, "NAME_INVALID", "invalid repository name");
      if (!Exists(p.name)) return V2Fail(res, 404, "NAME_UNKNOWN", NotFoundMessage(p.name));
    }
    if (p.kind == Kind::kManifest && req.method == "DELETE")
      return V2Fail(res, 405, "UNSUPPORTED", "The operation is unsupported.");
    if (p.kind == Kind::kBlob && req.method == "GET" && flags_.redirect_blobs && IsDigest(p.reference)) {
      const std::string signature = RandomHex(32);
      {
        std::lock_guard<std::mutex> lock(mu_);
        presigned_[signature] = {p.name, p.reference};
      }
      res.status = 307;
      res.set_header("Location", blob_store_ + "/prod-" + flags_.region + "-starport-layer-bucket/" + flags_.account +
                                     "/" + p.reference.substr(7) +
                                     "?X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Expires=3600&X-Amz-Signature=" + signature);
      return;
    }
    upstream_.Forward(req, reader, self_, res);
  }

  const Flags flags_;
  const Upstream upstream_;
  const Storage storage_;
  std::map<std::string, std::string> secrets_;         // access key id -> secret; fixed at start
  std::map<std::string, std::string> session_tokens_;  // access key id -> token; fixed at start
  std::string registry_host_;
  RequestStats stats_;
  std::string self_, blob_store_;  // set before serving

  std::mutex mu_;
  std::map<std::string, EcrRepo> repos_;                          // guarded by mu_
  std::map<std::string, Clock::time_point> logins_;               // password -> expiry; guarded by mu_
  std::map<std::string, std::pair<std::string, size_t>> page_tokens_;  // guarded by mu_
  std::map<std::string, std::pair<std::string, std::string>> presigned_;  // signature -> repo, digest
  std::vector<std::string> api_calls_;                            // guarded by mu_
  long blob_fetches_ = 0, blob_fetches_with_auth_ = 0;            // guarded by mu_
  long throttle_left_ = 0;                                        // guarded by mu_
};

// A server on 127.0.0.1 (any port) running HANDLE for every request on a thread of its
// own; returns its port. LOG: whether to log "METHOD TARGET STATUS" lines.
int StartSideServer(httplib::Server& server, const std::function<void(const httplib::Request&, httplib::Response&)>& handle,
                    bool log) {
  server.new_task_queue = [] { return new httplib::ThreadPool(32); };
  server.set_tcp_nodelay(true);
  server.set_read_timeout(300);
  server.set_write_timeout(300);
  if (log) {
    server.set_logger([](const httplib::Request& req, const httplib::Response& res) {
      std::printf("%s %s %d\n", req.method.c_str(), req.target.c_str(), res.status);
      std::fflush(stdout);
    });
  }
  server.Get(".*", handle);
  server.Post(".*", handle);
  server.Put(".*", handle);
  server.Delete(".*", handle);
  const int port = server.bind_to_any_port("127.0.0.1");
  if (port <= 0) Die(kProgram, "cannot listen on 127.0.0.1");
  std::thread([&server] { server.listen_after_bind(); }).detach();
  return port;
}

}  // namespace

int main(int argc, char** argv) {
  const Flags flags = ParseFlags(argc, argv);
  Ecr ecr(flags);
  httplib::Server api, blobs;
  const int api_port = StartSideServer(
      api, [&](const httplib::Request& req, httplib::Response& res) { ecr.HandleApi(req, res); }, false);
  const int blob_port = StartSideServer(
      blobs, [&](const httplib::Request& req, httplib::Response& res) { ecr.HandleBlobStore(req, res); }, true);
  ecr.set_blob_store("http://127.0.0.1:" + std::to_string(blob_port));
  std::printf("api at 127.0.0.1:%d\nblob store at 127.0.0.1:%d\n", api_port, blob_port);
  std::fflush(stdout);
  return ServeFake(kProgram, flags.port, ecr);
}
