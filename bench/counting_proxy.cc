// Implementation of bench/counting_proxy.h: an accept thread, one detached thread
// per connection relaying both directions with non-blocking sockets and poll(),
// and an HTTP/1.1 framing scanner per direction that only finds message
// boundaries (RFC 9112 section 6: Content-Length, chunked, HEAD and 1xx answers
// without a body, otherwise until close).
#include "bench/counting_proxy.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <poll.h>
#include <strings.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <deque>
#include <functional>
#include <vector>

namespace crossdock::bench {
namespace {

constexpr size_t kBufferSize = 256 * 1024;
constexpr size_t kMaxHead = 1 << 20;

SSL_CTX* Ctx(const std::unique_ptr<void, CountingProxy::SslCtxFree>& p) {
  return static_cast<SSL_CTX*>(p.get());
}

std::string SslErrors() {
  std::string out;
  for (unsigned long e = ERR_get_error(); e != 0; e = ERR_get_error()) {
    char buf[256];
    ERR_error_string_n(e, buf, sizeof buf);
    out += (out.empty() ? "" : "; ") + std::string(buf);
  }
  return out.empty() ? "unknown TLS error" : out;
}

void SetNonBlocking(int fd, bool on) {
  int flags = fcntl(fd, F_GETFL, 0);
  fcntl(fd, F_SETFL, on ? flags | O_NONBLOCK : flags & ~O_NONBLOCK);
}

// Blocking calls (connect, TLS handshakes) give up after this long.
void SetTimeouts(int fd, int seconds) {
  timeval tv{seconds, 0};
  setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
}

// One end of a relayed connection: a socket, with TLS or without. Owns both.
class Stream {
 public:
  Stream(int fd, SSL* ssl) : fd_(fd), ssl_(ssl) {}
  ~Stream() {
    if (ssl_ != nullptr) SSL_free(ssl_);
    if (fd_ >= 0) close(fd_);
  }
  Stream(const Stream&) = delete;
  Stream& operator=(const Stream&) = delete;

  int fd() const { return fd_; }
  // What poll() must report before the last call that returned -1 can progress.
  short want() const { return want_; }
  // > 0: bytes moved; 0: end of stream (reads only); -1: try again once poll
  // reports want(); -2: the connection failed.
  long Read(char* buf, size_t size) {
    if (ssl_ == nullptr) {
      ssize_t n = recv(fd_, buf, size, 0);
      return n >= 0 ? n : Again(POLLIN);
    }
    ERR_clear_error();
    size_t done = 0;
    int rc = SSL_read_ex(ssl_, buf, size, &done);
    return rc == 1 ? static_cast<long>(done) : SslAgain(rc);
  }
  long Write(const char* buf, size_t size) {
    if (ssl_ == nullptr) {
      ssize_t n = send(fd_, buf, size, MSG_NOSIGNAL);
      return n >= 0 ? n : Again(POLLOUT);
    }
    ERR_clear_error();
    size_t done = 0;
    int rc = SSL_write_ex(ssl_, buf, size, &done);
    return rc == 1 ? static_cast<long>(done) : SslAgain(rc);
  }

 private:
  long Again(short want) {
    if (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR) {
      want_ = want;
      return -1;
    }
    return -2;
  }
  long SslAgain(int rc) {
    switch (SSL_get_error(ssl_, rc)) {
      case SSL_ERROR_WANT_READ:
        want_ = POLLIN;
        return -1;
      case SSL_ERROR_WANT_WRITE:
        want_ = POLLOUT;
        return -1;
      case SSL_ERROR_ZERO_RETURN:
        return 0;
      default:
        return -2;
    }
  }

  int fd_;
  SSL* ssl_;
  short want_ = 0;
};

// One direction of a relayed connection: what was read from one stream and not yet
// written to the other. Read only when empty, so a slow reader holds back the writer.
struct Pipe {
  std::vector<char> buf = std::vector<char>(kBufferSize);
  size_t start = 0, end = 0;
  bool eof = false;

  bool empty() const { return start == end; }
  // REQUIRES: empty(). As Stream::Read; on -1 adds what `from` waits for to events.
  long Fill(Stream& from, short& events) {
    long n = from.Read(buf.data(), buf.size());
    if (n > 0) {
      start = 0;
      end = static_cast<size_t>(n);
    } else if (n == 0) {
      eof = true;
    } else if (n == -1) {
      events |= from.want();
    }
    return n;
  }
  // As Stream::Write; on -1 adds what `to` waits for to events.
  long Drain(Stream& to, short& events) {
    long n = to.Write(buf.data() + start, end - start);
    if (n > 0) start += static_cast<size_t>(n);
    if (n == -1) events |= to.want();
    return n;
  }
};

bool StartsWithNoCase(std::string_view s, std::string_view prefix) {
  return s.size() >= prefix.size() && strncasecmp(s.data(), prefix.data(), prefix.size()) == 0;
}

// The value of the first header `name` in an HTTP head, trimmed; "" if absent.
std::string HeaderValue(const std::string& head, std::string_view name) {
  size_t pos = head.find("\r\n");
  while (pos != std::string::npos && pos + 2 < head.size()) {
    size_t start = pos + 2;
    size_t end = head.find("\r\n", start);
    if (end == std::string::npos) end = head.size();
    std::string_view line(head.data() + start, end - start);
    if (StartsWithNoCase(line, name) && line.size() > name.size() && line[name.size()] == ':') {
      std::string_view v = line.substr(name.size() + 1);
      while (!v.empty() && (v.front() == ' ' || v.front() == '\t')) v.remove_prefix(1);
      while (!v.empty() && (v.back() == ' ' || v.back() == '\t')) v.remove_suffix(1);
      return std::string(v);
    }
    pos = end;
  }
  return "";
}

// How a message's body ends.
struct Framing {
  enum Type { kNone, kLength, kChunked, kUntilClose } type = kNone;
  uint64_t length = 0;
};

Framing BodyFraming(const std::string& head, bool body_allowed, bool until_close_default) {
  if (!body_allowed) return {};
  std::string te = HeaderValue(head, "Transfer-Encoding");
  if (!te.empty() && te.size() >= 7 && strcasecmp(te.c_str() + te.size() - 7, "chunked") == 0) {
    return {Framing::kChunked, 0};
  }
  std::string cl = HeaderValue(head, "Content-Length");
  if (!cl.empty()) return {Framing::kLength, std::strtoull(cl.c_str(), nullptr, 10)};
  return until_close_default ? Framing{Framing::kUntilClose, 0} : Framing{};
}

// Finds message boundaries in one direction of an HTTP/1.1 connection. on_head
// gets each complete head and says how its body is framed; on_bytes gets every
// byte fed, attributed to the message in progress (a head's bytes right after
// on_head).
class HttpScanner {
 public:
  HttpScanner(std::function<Framing(const std::string&)> on_head,
              std::function<void(size_t)> on_bytes)
      : on_head_(std::move(on_head)), on_bytes_(std::move(on_bytes)) {}

  // From now on every byte belongs to the message in progress (a stream that is not
  // HTTP, such as a TLS handshake sent to a plain-HTTP port).
  void Opaque() { state_ = kBroken; }

  void Feed(const char* data, size_t size) {
    while (size > 0) {
      size_t used = size;
      switch (state_) {
        case kHead:
          used = FeedHead(data, size);
          break;
        case kBody:
        case kChunkData:
          used = static_cast<size_t>(std::min<uint64_t>(size, remaining_));
          on_bytes_(used);
          remaining_ -= used;
          if (remaining_ == 0) state_ = state_ == kBody ? kHead : kChunkLine;
          break;
        case kChunkLine:
        case kTrailer:
          used = FeedLine(data, size);
          break;
        case kUntilClose:
        case kBroken:
          on_bytes_(size);
          break;
      }
      data += used;
      size -= used;
    }
  }

 private:
  enum State { kHead, kBody, kChunkLine, kChunkData, kTrailer, kUntilClose, kBroken };

  size_t FeedHead(const char* data, size_t size) {
    size_t old = head_.size();
    head_.append(data, size);
    size_t end = head_.find("\r\n\r\n", old >= 3 ? old - 3 : 0);
    if (end == std::string::npos) {
      if (head_.size() > kMaxHead) {  // not HTTP we understand: count, stop parsing
        state_ = kBroken;
        on_bytes_(head_.size());
        head_.clear();
      }
      return size;
    }
    size_t head_len = end + 4;
    head_.resize(head_len);
    size_t lead = head_.find_first_not_of("\r\n");  // tolerate blank lines between messages
    Framing f = on_head_(lead == std::string::npos ? head_ : head_.substr(lead));
    on_bytes_(head_len);
    head_.clear();
    switch (f.type) {
      case Framing::kNone:
        state_ = kHead;
        break;
      case Framing::kLength:
        remaining_ = f.length;
        state_ = f.length > 0 ? kBody : kHead;
        break;
      case Framing::kChunked:
        state_ = kChunkLine;
        break;
      case Framing::kUntilClose:
        state_ = kUntilClose;
        break;
    }
    return head_len - old;
  }

  // A chunk-size line, or a trailer line (an empty one ends the message).
  size_t FeedLine(const char* data, size_t size) {
    const void* nl = std::memchr(data, '\n', size);
    size_t used = nl != nullptr ? static_cast<const char*>(nl) - data + 1 : size;
    line_.append(data, used);
    on_bytes_(used);
    if (nl == nullptr) {
      if (line_.size() > 4096) state_ = kBroken;
      return used;
    }
    if (state_ == kTrailer) {
      if (line_ == "\r\n" || line_ == "\n") state_ = kHead;
    } else {
      uint64_t chunk = std::strtoull(line_.c_str(), nullptr, 16);  // stops at ';' extensions
      if (chunk == 0) {
        state_ = kTrailer;
      } else {
        remaining_ = chunk + 2;  // the data and its CRLF
        state_ = kChunkData;
      }
    }
    line_.clear();
    return used;
  }

  std::function<Framing(const std::string&)> on_head_;
  std::function<void(size_t)> on_bytes_;
  State state_ = kHead;
  std::string head_, line_;
  uint64_t remaining_ = 0;
};

}  // namespace

std::string KindOfPath(const std::string& method, const std::string& target) {
  size_t q = target.find('?');
  std::string path = target.substr(0, q);
  std::string query = q == std::string::npos ? "" : target.substr(q + 1);
  auto ends_with = [&](std::string_view s) {
    return path.size() >= s.size() && path.compare(path.size() - s.size(), s.size(), s) == 0;
  };
  if (path == "/v2/" || path == "/v2") return "ping";
  if (path.rfind("/v2/_catalog", 0) == 0) return "catalog";
  if (path.rfind("/v2/", 0) != 0) return "other";
  if (ends_with("/tags/list")) return "tags";
  if (size_t at = path.rfind("/manifests/"); at != std::string::npos) {
    return path.compare(at + 11, 7, "sha256:") == 0 ? "manifest@digest" : "manifest";
  }
  if (path.find("/blobs/uploads") != std::string::npos) {
    bool mount = method == "POST" && (query.rfind("mount=", 0) == 0 ||
                                      query.find("&mount=") != std::string::npos);
    return mount ? "mount" : "upload";
  }
  if (path.find("/blobs/") != std::string::npos) return "blob";
  if (path.find("/referrers/") != std::string::npos) return "referrers";
  return "other";
}

void CountingProxy::SslCtxFree::operator()(void* ctx) const {
  SSL_CTX_free(static_cast<SSL_CTX*>(ctx));
}

CountingProxy::CountingProxy(Options options) : options_(std::move(options)) {
  if (!options_.cert_path.empty()) {
    server_ctx_.reset(SSL_CTX_new(TLS_server_method()));
    SSL_CTX* ctx = Ctx(server_ctx_);
    if (ctx == nullptr ||
        SSL_CTX_use_certificate_chain_file(ctx, options_.cert_path.c_str()) != 1 ||
        SSL_CTX_use_PrivateKey_file(ctx, options_.key_path.c_str(), SSL_FILETYPE_PEM) != 1 ||
        SSL_CTX_check_private_key(ctx) != 1) {
      throw BenchError("counting proxy: cannot load " + options_.cert_path + " / " +
                       options_.key_path + ": " + SslErrors());
    }
  }
  if (options_.upstream_tls) {
    client_ctx_.reset(SSL_CTX_new(TLS_client_method()));
    if (!client_ctx_) throw BenchError("counting proxy: " + SslErrors());
    SSL_CTX_set_verify(Ctx(client_ctx_), SSL_VERIFY_NONE, nullptr);  // our own registry
  }
  for (auto* ctx : {Ctx(server_ctx_), Ctx(client_ctx_)}) {
    if (ctx == nullptr) continue;
    SSL_CTX_set_options(ctx, SSL_OP_IGNORE_UNEXPECTED_EOF);
    SSL_CTX_set_mode(ctx, SSL_MODE_ENABLE_PARTIAL_WRITE | SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER);
  }

  listen_fd_ = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t len = sizeof addr;
  int one = 1;
  setsockopt(listen_fd_, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  if (listen_fd_ < 0 || bind(listen_fd_, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0 ||
      listen(listen_fd_, 1024) != 0 ||
      getsockname(listen_fd_, reinterpret_cast<sockaddr*>(&addr), &len) != 0) {
    std::string err = std::strerror(errno);
    if (listen_fd_ >= 0) close(listen_fd_);
    throw BenchError("counting proxy: cannot listen on 127.0.0.1: " + err);
  }
  port_ = ntohs(addr.sin_port);
  acceptor_ = std::thread([this] { AcceptLoop(); });
}

CountingProxy::~CountingProxy() {
  stopping_ = true;
  shutdown(listen_fd_, SHUT_RDWR);
  acceptor_.join();
  close(listen_fd_);
  std::unique_lock lock(mu_);
  idle_.wait(lock, [this] { return active_ == 0; });
}

Traffic CountingProxy::Snapshot() const {
  std::lock_guard lock(mu_);
  return traffic_;
}

void CountingProxy::Reset() {
  std::lock_guard lock(mu_);
  traffic_ = Traffic{};
}

void CountingProxy::Add(const std::string& kind, bool request, std::int64_t to_registry,
                        std::int64_t from_registry) {
  std::lock_guard lock(mu_);
  if (request) ++traffic_.by_kind[kind];
  traffic_.bytes_to_registry += to_registry;
  traffic_.bytes_from_registry += from_registry;
}

void CountingProxy::AcceptLoop() {
  while (!stopping_) {
    int fd = accept4(listen_fd_, nullptr, nullptr, SOCK_CLOEXEC);
    if (fd < 0) {
      if (stopping_) return;
      if (errno == EMFILE || errno == ENFILE) std::this_thread::sleep_for(std::chrono::milliseconds(5));
      continue;
    }
    {
      std::lock_guard lock(mu_);
      ++active_;
      ++traffic_.connections;
    }
    std::thread([this, fd] {
      Serve(fd);
      std::lock_guard lock(mu_);
      if (--active_ == 0) idle_.notify_all();
    }).detach();
  }
}

void CountingProxy::Serve(int client_fd) {
  int one = 1;
  setsockopt(client_fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
  SetTimeouts(client_fd, 30);
  SSL* client_ssl = nullptr;
  if (server_ctx_) {
    client_ssl = SSL_new(Ctx(server_ctx_));
    SSL_set_fd(client_ssl, client_fd);
  }
  Stream client(client_fd, client_ssl);
  if (client_ssl != nullptr && SSL_accept(client_ssl) != 1) return;  // the client's problem

  int upstream_fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  SSL* upstream_ssl = nullptr;
  if (client_ctx_ && upstream_fd >= 0) {
    upstream_ssl = SSL_new(Ctx(client_ctx_));
    SSL_set_fd(upstream_ssl, upstream_fd);
  }
  Stream upstream(upstream_fd, upstream_ssl);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(static_cast<uint16_t>(options_.upstream_port));
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (upstream_fd < 0) return;
  setsockopt(upstream_fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
  SetTimeouts(upstream_fd, 30);
  if (connect(upstream_fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) return;
  if (upstream_ssl != nullptr && SSL_connect(upstream_ssl) != 1) return;
  SetNonBlocking(client_fd, true);
  SetNonBlocking(upstream_fd, true);

  // Requests awaiting their answer, oldest first: "METHOD kind" and whether HEAD.
  struct Pending {
    std::string kind;
    bool head;
  };
  std::deque<Pending> pending;
  std::string request_kind = "unparsed", answer_kind = "unparsed";
  HttpScanner requests(
      [&](const std::string& head) {
        size_t sp1 = head.find(' ');
        size_t sp2 = sp1 == std::string::npos ? sp1 : head.find(' ', sp1 + 1);
        std::string method = head.substr(0, sp1);
        std::string target = sp2 == std::string::npos ? "" : head.substr(sp1 + 1, sp2 - sp1 - 1);
        request_kind = method + " " + KindOfPath(method, target);
        pending.push_back({request_kind, method == "HEAD"});
        std::lock_guard lock(mu_);
        ++traffic_.requests;
        return BodyFraming(head, true, false);
      },
      [&](size_t n) { Add(request_kind, false, static_cast<std::int64_t>(n), 0); });
  HttpScanner answers(
      [&](const std::string& head) {
        size_t sp = head.find(' ');
        int status = sp == std::string::npos ? 0 : std::atoi(head.c_str() + sp + 1);
        if (status >= 100 && status < 200 && status != 101) {
          answer_kind = pending.empty() ? "unknown" : pending.front().kind;
          return Framing{};
        }
        Pending p = pending.empty() ? Pending{"unknown", false} : pending.front();
        if (!pending.empty()) pending.pop_front();
        answer_kind = p.kind;
        Add(p.kind + " " + std::to_string(status), true, 0, 0);
        return BodyFraming(head, !p.head && status != 204 && status != 304, true);
      },
      [&](size_t n) { Add(answer_kind, false, 0, static_cast<std::int64_t>(n)); });

  Pipe up, down;  // client -> registry, registry -> client
  bool first_read = true;
  while (!stopping_) {
    bool progress = false;
    short client_events = 0, upstream_events = 0;
    if (up.empty()) {
      long n = up.Fill(client, client_events);
      if (n == 0 || n == -2) break;  // the client left: nothing more to relay
      if (n > 0) {
        if (first_read && client_ssl == nullptr && up.buf[0] == 0x16) {
          // A TLS ClientHello on a plain port: skopeo with tls-verify=false tries
          // HTTPS first. The registry answers 400; count it as the round trip it is.
          request_kind = "TLS-hello to-plain-HTTP";
          pending.push_back({request_kind, false});
          requests.Opaque();
          std::lock_guard lock(mu_);
          ++traffic_.requests;
        }
        first_read = false;
        requests.Feed(up.buf.data(), static_cast<size_t>(n));
        progress = true;
      }
    }
    if (!up.empty()) {
      long n = up.Drain(upstream, upstream_events);
      if (n == -2) break;
      progress |= n > 0;
    }
    if (down.empty() && !down.eof) {
      long n = down.Fill(upstream, upstream_events);
      if (n == -2) break;
      if (n > 0) answers.Feed(down.buf.data(), static_cast<size_t>(n));
      progress |= n >= 0;
    }
    if (!down.empty()) {
      long n = down.Drain(client, client_events);
      if (n == -2) break;
      progress |= n > 0;
    }
    if (down.eof && down.empty()) break;  // the registry closed; all relayed
    if (progress) continue;
    pollfd fds[2] = {{client.fd(), client_events, 0}, {upstream.fd(), upstream_events, 0}};
    if (poll(fds, 2, 250) < 0 && errno != EINTR) break;
  }
  for (const Pending& p : pending) Add(p.kind + " (no answer)", true, 0, 0);
}

}  // namespace crossdock::bench
