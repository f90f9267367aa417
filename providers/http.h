// The HTTP seam: HttpRequest/HttpResponse values and the HttpClient interface.
// http_curl.cc is the only implementation and the only file that sees libcurl.
// A transport failure is a Status; an HTTP status is data in the response (as cpr).
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "core/status.h"

namespace crossdock::providers {

// The default HttpRequest::max_body_size: ample for error documents, pings, token
// answers and upload receipts.
inline constexpr std::int64_t kDefaultMaxBodySize = 1 << 20;

struct HttpRequest {
  std::string method = "GET";
  std::string url;
  std::vector<std::pair<std::string, std::string>> headers;
  std::string body;  // sent when body_source is empty
  // Streaming upload: fills BUF with up to N bytes and returns how many; 0 ends the
  // body; -1 aborts the transfer. With body_size < 0 the body is sent chunked.
  std::function<long(char* buf, size_t n)> body_source;
  std::int64_t body_size = -1;
  // Streaming download: receives the body of a 2xx answer piece by piece instead of
  // HttpResponse::body; returning false aborts the transfer.
  std::function<bool(const char* data, size_t n)> body_sink;
  // The most bytes of a body kept in HttpResponse::body (every answer except a 2xx
  // going to body_sink). The transfer stops as soon as a body passes it, or before
  // its first byte when Content-Length announces more; the answer then comes back
  // with body_too_large set and an empty body, so the caller fails it once instead
  // of reading (or retrying) an endless stream.
  std::int64_t max_body_size = kDefaultMaxBodySize;
  bool follow_redirects = true;
};

struct HttpResponse {
  long status = 0;
  std::multimap<std::string, std::string> headers;  // names lowercased
  std::string body;
  bool body_too_large = false;  // over the request's max_body_size: body is empty
  // The first value of header NAME (any case), or "".
  std::string Header(const std::string& name) const;
};

struct TlsOptions {
  std::string ca_file;    // extra trusted CA (PEM); empty: system store only
  bool insecure = false;  // skip certificate verification
};

// Thread-safe: one client serves every worker; connections are pooled and reused.
class HttpClient {
 public:
  virtual ~HttpClient() = default;
  // Returns Unavailable for transport failures (connection refused, TLS, timeout,
  // endless headers), with what was being done; never for an HTTP status or a body
  // over max_body_size.
  virtual core::Result<HttpResponse> Do(const HttpRequest& request) = 0;
};

std::unique_ptr<HttpClient> NewCurlHttpClient(const TlsOptions& tls);

// Percent-encodes S for use in a query string.
std::string UrlEncode(const std::string& s);

}  // namespace crossdock::providers
