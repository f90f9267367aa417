// libcurl implementation of HttpClient. Easy handles are pooled and share one
// connection cache, DNS cache and TLS session cache, so requests reuse keep-alive
// connections across worker threads.
//
// Redirects: followed by curl, to http and https URLs only. Since curl 7.58 a
// custom "Authorization:" header is not sent to a host other than the original one
// (CURLOPT_UNRESTRICTED_AUTH stays off), which is what object-storage redirects
// require; since 7.83 (CVE-2022-27776) not to another port or scheme of the same
// host either. Checked with Debian 12's curl 7.88.1: a 307 from 127.0.0.1:A to
// 127.0.0.1:B or to localhost:A arrives without the header
// (tests/e2e/hostile_test.cc pins it). URLs that distribution/ takes from answers
// itself (Link, Location) are checked against the endpoint's origin there.
//
// Sizes: curl bounds an answer's headers (300 KB in all: curl 8.3, CVE-2023-38039,
// which Debian 12's 7.88.1 carries); buffered bodies stop at the request's
// max_body_size.
#include <curl/curl.h>

#include <algorithm>
#include <memory>
#include <cctype>
#include <mutex>
#include <vector>

#include "providers/http.h"

namespace crossdock::providers {

std::string HttpResponse::Header(const std::string& name) const {
  std::string lower = name;
  std::transform(lower.begin(), lower.end(), lower.begin(),
                 [](unsigned char c) { return std::tolower(c); });
  auto it = headers.find(lower);
  return it == headers.end() ? "" : it->second;
}

std::string UrlEncode(const std::string& s) {
  static const char* kHex = "0123456789ABCDEF";
  std::string out;
  for (unsigned char c : s) {
    if (std::isalnum(c) || c == '-' || c == '_' || c == '.' || c == '~') {
      out += static_cast<char>(c);
    } else {
      out += '%';
      out += kHex[c >> 4];
      out += kHex[c & 15];
    }
  }
  return out;
}

namespace {

struct GlobalInit {
  GlobalInit() { curl_global_init(CURL_GLOBAL_DEFAULT); }
};

class CurlHttpClient;

// An easy handle, cleaned up when dropped.
struct CurlEasyCleanup {
  void operator()(CURL* h) const { curl_easy_cleanup(h); }
};
using CurlEasy = std::unique_ptr<CURL, CurlEasyCleanup>;

// A header list, freed when dropped. Append returns false when curl could not
// allocate (the list is then unchanged).
class CurlSlist {
 public:
  CurlSlist() = default;
  ~CurlSlist() { curl_slist_free_all(list_); }
  CurlSlist(const CurlSlist&) = delete;
  CurlSlist& operator=(const CurlSlist&) = delete;
  bool Append(const std::string& line) {
    curl_slist* grown = curl_slist_append(list_, line.c_str());
    if (grown == nullptr) return false;
    list_ = grown;
    return true;
  }
  curl_slist* get() const { return list_; }

 private:
  curl_slist* list_ = nullptr;
};

struct Transfer {
  const HttpRequest* request = nullptr;
  HttpResponse* response = nullptr;
  const std::string* body = nullptr;
  size_t body_offset = 0;
  bool sink_aborted = false;
  bool body_too_large = false;
  bool length_checked = false;  // Content-Length compared with max_body_size
  CURL* handle = nullptr;
};

size_t OnHeader(char* data, size_t size, size_t n, void* user) {
  auto* t = static_cast<Transfer*>(user);
  std::string line(data, size * n);
  if (line.rfind("HTTP/", 0) == 0) {  // a new response (after a redirect or 100)
    t->response->headers.clear();
    t->length_checked = false;
    return size * n;
  }
  auto colon = line.find(':');
  if (colon == std::string::npos) return size * n;
  std::string name = line.substr(0, colon);
  std::transform(name.begin(), name.end(), name.begin(),
                 [](unsigned char c) { return std::tolower(c); });
  std::string value = line.substr(colon + 1);
  auto b = value.find_first_not_of(" \t");
  auto e = value.find_last_not_of(" \t\r\n");
  value = b == std::string::npos ? "" : value.substr(b, e - b + 1);
  t->response->headers.emplace(std::move(name), std::move(value));
  return size * n;
}

size_t OnRead(char* buf, size_t size, size_t n, void* user) {
  auto* t = static_cast<Transfer*>(user);
  if (t->request->body_source) {
    long got = t->request->body_source(buf, size * n);
    if (got < 0) return CURL_READFUNC_ABORT;
    return static_cast<size_t>(got);
  }
  size_t left = t->body->size() - t->body_offset;
  size_t take = std::min(left, size * n);
  std::copy_n(t->body->data() + t->body_offset, take, buf);
  t->body_offset += take;
  return take;
}

class CurlHttpClient : public HttpClient {
 public:
  explicit CurlHttpClient(const TlsOptions& tls) : tls_(tls) {
    static GlobalInit init;
    share_ = curl_share_init();
    curl_share_setopt(share_, CURLSHOPT_LOCKFUNC, &CurlHttpClient::Lock);
    curl_share_setopt(share_, CURLSHOPT_UNLOCKFUNC, &CurlHttpClient::Unlock);
    curl_share_setopt(share_, CURLSHOPT_USERDATA, this);
    curl_share_setopt(share_, CURLSHOPT_SHARE, CURL_LOCK_DATA_CONNECT);
    curl_share_setopt(share_, CURLSHOPT_SHARE, CURL_LOCK_DATA_DNS);
    curl_share_setopt(share_, CURLSHOPT_SHARE, CURL_LOCK_DATA_SSL_SESSION);
  }

  ~CurlHttpClient() override {
    idle_.clear();  // the handles go before the share they use
    curl_share_cleanup(share_);
  }

  core::Result<HttpResponse> Do(const HttpRequest& req) override {
    CurlEasy easy = Take();
    if (!easy) return core::Status::Internal(req.method + " " + req.url + ": curl_easy_init failed");
    CURL* h = easy.get();
    HttpResponse resp;
    Transfer t;
    t.request = &req;
    t.response = &resp;
    t.body = &req.body;
    t.handle = h;
    char errbuf[CURL_ERROR_SIZE] = {0};

    curl_easy_setopt(h, CURLOPT_SHARE, share_);
    curl_easy_setopt(h, CURLOPT_URL, req.url.c_str());
    curl_easy_setopt(h, CURLOPT_ERRORBUFFER, errbuf);
    curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT, 15L);
    curl_easy_setopt(h, CURLOPT_LOW_SPEED_LIMIT, 1L);
    curl_easy_setopt(h, CURLOPT_LOW_SPEED_TIME, 120L);
    curl_easy_setopt(h, CURLOPT_FOLLOWLOCATION, req.follow_redirects ? 1L : 0L);
    curl_easy_setopt(h, CURLOPT_MAXREDIRS, 10L);
    // Only http(s), for the request (a token realm comes from a registry's answer)
    // and for any redirect: never file://, ftp:// and the like.
#if LIBCURL_VERSION_NUM >= 0x075500  // 7.85: the _STR forms; the others are deprecated
    curl_easy_setopt(h, CURLOPT_PROTOCOLS_STR, "http,https");
    curl_easy_setopt(h, CURLOPT_REDIR_PROTOCOLS_STR, "http,https");
#else
    curl_easy_setopt(h, CURLOPT_PROTOCOLS, CURLPROTO_HTTP | CURLPROTO_HTTPS);
    curl_easy_setopt(h, CURLOPT_REDIR_PROTOCOLS, CURLPROTO_HTTP | CURLPROTO_HTTPS);
#endif
    curl_easy_setopt(h, CURLOPT_HEADERFUNCTION, &OnHeader);
    curl_easy_setopt(h, CURLOPT_HEADERDATA, &t);
    curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, &CurlHttpClient::OnBody);
    curl_easy_setopt(h, CURLOPT_WRITEDATA, &t);
    curl_easy_setopt(h, CURLOPT_USERAGENT, "crossdock/0.1");
    // The shared connection cache keeps at most MAXCONNECTS idle connections and
    // closes the rest as transfers end; the default, 5, is below the parallelism, so
    // most requests paid a new TCP (and TLS) handshake. The endpoint's
    // max_connections bounds how many are open at once.
    curl_easy_setopt(h, CURLOPT_MAXCONNECTS, 256L);
    if (!tls_.ca_file.empty()) curl_easy_setopt(h, CURLOPT_CAINFO, tls_.ca_file.c_str());
    if (tls_.insecure) {
      curl_easy_setopt(h, CURLOPT_SSL_VERIFYPEER, 0L);
      curl_easy_setopt(h, CURLOPT_SSL_VERIFYHOST, 0L);
    }

    CurlSlist headers;
    bool listed = true;
    for (const auto& [k, v] : req.headers) listed = headers.Append(k + ": " + v) && listed;
    bool has_body = !req.body.empty() || req.body_source;
    if (req.method == "HEAD") {
      curl_easy_setopt(h, CURLOPT_NOBODY, 1L);
    } else if (req.method == "GET") {
      curl_easy_setopt(h, CURLOPT_HTTPGET, 1L);
    } else {
      // PUT/POST/PATCH/DELETE, with or without a body.
      curl_easy_setopt(h, CURLOPT_UPLOAD, 1L);
      curl_easy_setopt(h, CURLOPT_READFUNCTION, &OnRead);
      curl_easy_setopt(h, CURLOPT_READDATA, &t);
      std::int64_t size = req.body_source ? req.body_size : static_cast<std::int64_t>(req.body.size());
      if (!has_body) size = 0;
      curl_easy_setopt(h, CURLOPT_INFILESIZE_LARGE, static_cast<curl_off_t>(size));
      curl_easy_setopt(h, CURLOPT_CUSTOMREQUEST, req.method.c_str());
      listed = headers.Append("Expect:") && listed;
    }
    if (!listed) return core::Status::Internal(req.method + " " + req.url + ": out of memory for headers");
    curl_easy_setopt(h, CURLOPT_HTTPHEADER, headers.get());

    CURLcode rc = curl_easy_perform(h);
    curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &resp.status);
    Give(std::move(easy));
    if (rc != CURLE_OK) {
      if (t.body_too_large) {
        resp.body.clear();
        resp.body_too_large = true;
        return resp;
      }
      if (t.sink_aborted) return core::Status::Cancelled(req.method + " " + req.url + ": download aborted");
      std::string detail = errbuf[0] ? errbuf : curl_easy_strerror(rc);
      return core::Status::Unavailable(req.method + " " + req.url + ": " + detail);
    }
    return resp;
  }

 private:
  // Routes a 2xx body to the request's sink; buffers other bodies (error documents,
  // manifests, listings) up to the request's max_body_size.
  static size_t OnBody(char* data, size_t size, size_t n, void* user) {
    auto* t = static_cast<Transfer*>(user);
    size_t len = size * n;
    long code = 0;
    curl_easy_getinfo(t->handle, CURLINFO_RESPONSE_CODE, &code);
    if (t->request->body_sink && code >= 200 && code < 300) {
      if (!t->request->body_sink(data, len)) {
        t->sink_aborted = true;
        return 0;
      }
      return len;
    }
    const auto limit = static_cast<curl_off_t>(t->request->max_body_size);
    if (!t->length_checked) {
      t->length_checked = true;
      curl_off_t announced = -1;
      if (curl_easy_getinfo(t->handle, CURLINFO_CONTENT_LENGTH_DOWNLOAD_T, &announced) == CURLE_OK &&
          announced > limit) {
        t->body_too_large = true;
        return 0;
      }
    }
    if (static_cast<curl_off_t>(t->response->body.size() + len) > limit) {
      t->body_too_large = true;
      return 0;
    }
    t->response->body.append(data, len);
    return len;
  }

  static void Lock(CURL*, curl_lock_data data, curl_lock_access, void* user) {
    static_cast<CurlHttpClient*>(user)->locks_[data % kLocks].lock();
  }
  static void Unlock(CURL*, curl_lock_data data, void* user) {
    static_cast<CurlHttpClient*>(user)->locks_[data % kLocks].unlock();
  }

  // An idle handle, reset, or a new one (null when curl cannot make one).
  CurlEasy Take() {
    std::lock_guard<std::mutex> g(pool_mu_);
    if (idle_.empty()) return CurlEasy(curl_easy_init());
    CurlEasy h = std::move(idle_.back());
    idle_.pop_back();
    curl_easy_reset(h.get());
    return h;
  }
  void Give(CurlEasy h) {
    std::lock_guard<std::mutex> g(pool_mu_);
    idle_.push_back(std::move(h));
  }

  static constexpr int kLocks = 8;
  TlsOptions tls_;
  CURLSH* share_;
  std::mutex locks_[kLocks];
  std::mutex pool_mu_;
  std::vector<CurlEasy> idle_;
};

}  // namespace

std::unique_ptr<HttpClient> NewCurlHttpClient(const TlsOptions& tls) {
  return std::make_unique<CurlHttpClient>(tls);
}

}  // namespace crossdock::providers
