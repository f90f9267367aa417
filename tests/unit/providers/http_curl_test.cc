// The curl HttpClient against an in-process HTTP server on 127.0.0.1: buffered bodies
// stop at max_body_size while they stream in (announced or not), sinks are not
// capped, endless headers fail, redirects keep credentials on their origin and go to
// http(s) only.

// Debian builds libcpp-httplib with these three; the header's class layouts depend
// on them, so they must match (see /usr/lib/x86_64-linux-gnu/pkgconfig/cpp-httplib.pc).
#define CPPHTTPLIB_OPENSSL_SUPPORT
#define CPPHTTPLIB_ZLIB_SUPPORT
#define CPPHTTPLIB_BROTLI_SUPPORT
#include <httplib.h>

#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <memory>
#include <mutex>
#include <string>
#include <thread>

#include "providers/http.h"

namespace crossdock::providers {
namespace {

// An httplib server on a free loopback port, run on its own thread until destroyed.
class LocalServer {
 public:
  LocalServer() {
    // One request per connection: stop() never waits out an idle keep-alive.
    server_.set_keep_alive_max_count(1);
    port_ = server_.bind_to_any_port("127.0.0.1");
    thread_ = std::thread([this] { server_.listen_after_bind(); });
    // bind_to_any_port has the socket listening already: connections queue until
    // the loop accepts them.
  }
  ~LocalServer() {
    server_.stop();
    thread_.join();
  }
  httplib::Server& server() { return server_; }
  std::string url(const std::string& path) const {
    return "http://127.0.0.1:" + std::to_string(port_) + path;
  }
  int port() const { return port_; }

 private:
  httplib::Server server_;
  int port_ = 0;
  std::thread thread_;
};

// Counts what a streamed body managed to send, and tells when the stream has ended.
struct StreamCounter {
  std::mutex mu;
  std::condition_variable cv;
  std::int64_t sent = 0;
  bool ended = false;

  void Add(std::int64_t n) {
    std::lock_guard<std::mutex> g(mu);
    sent += n;
  }
  void End() {
    std::lock_guard<std::mutex> g(mu);
    ended = true;
    cv.notify_all();
  }
  // What was sent once the stream ended (or after a generous minute).
  std::int64_t SentWhenEnded() {
    std::unique_lock<std::mutex> l(mu);
    cv.wait_for(l, std::chrono::seconds(60), [&] { return ended; });
    EXPECT_TRUE(ended) << "the server's stream did not end";
    return sent;
  }
};

constexpr std::int64_t kHundredMiB = 100 << 20;

// Serves up to TOTAL bytes of 'x' in 64 KiB slices, counting them into COUNTER.
bool StreamX(std::int64_t total, size_t offset, httplib::DataSink& sink, StreamCounter& counter) {
  static const std::string slice(64 << 10, 'x');
  if (static_cast<std::int64_t>(offset) >= total) {
    counter.End();
    sink.done();
    return true;
  }
  size_t n = std::min<std::int64_t>(slice.size(), total - static_cast<std::int64_t>(offset));
  if (!sink.write(slice.data(), n)) {
    counter.End();
    return false;
  }
  counter.Add(static_cast<std::int64_t>(n));
  return true;
}

class CurlClientTest : public ::testing::Test {
 protected:
  StreamCounter counter_;  // outlives the server, whose handlers report to it
  LocalServer server_;
  // Destroyed first: its pooled keep-alive connections close before the server stops.
  std::unique_ptr<HttpClient> http_ = NewCurlHttpClient(TlsOptions{});
};

TEST_F(CurlClientTest, UnannouncedBodyStopsWhileStreamingPastTheCap) {
  StreamCounter& counter = counter_;
  server_.server().Get("/huge", [&](const httplib::Request&, httplib::Response& res) {
    res.set_chunked_content_provider("application/json", [&](size_t offset, httplib::DataSink& sink) {
      return StreamX(kHundredMiB, offset, sink, counter);
    }, [&](bool) { counter.End(); });
  });
  HttpRequest req;
  req.url = server_.url("/huge");
  req.max_body_size = 4 << 20;
  auto r = http_->Do(req);
  ASSERT_TRUE(r.ok()) << r.status().message();
  EXPECT_EQ(r->status, 200);
  EXPECT_TRUE(r->body_too_large);
  EXPECT_EQ(r->body, "");
  // 4 MiB read, plus what the socket buffers held: far from 100 MiB.
  EXPECT_LT(counter.SentWhenEnded(), 32 << 20);
}

TEST_F(CurlClientTest, AnnouncedBodyOverTheCapIsNotRead) {
  StreamCounter& counter = counter_;
  server_.server().Get("/huge", [&](const httplib::Request&, httplib::Response& res) {
    res.set_content_provider(kHundredMiB, "application/json",
                             [&](size_t offset, size_t, httplib::DataSink& sink) {
                               return StreamX(kHundredMiB, offset, sink, counter);
                             }, [&](bool) { counter.End(); });
  });
  HttpRequest req;
  req.url = server_.url("/huge");
  req.max_body_size = 4 << 20;
  auto r = http_->Do(req);
  ASSERT_TRUE(r.ok()) << r.status().message();
  EXPECT_TRUE(r->body_too_large);
  EXPECT_LT(counter.SentWhenEnded(), 32 << 20);
}

TEST_F(CurlClientTest, BodyWithinTheCapIsKeptWhole) {
  server_.server().Get("/ok", [](const httplib::Request&, httplib::Response& res) {
    res.set_content(std::string(1 << 20, 'y'), "application/json");
  });
  HttpRequest req;
  req.url = server_.url("/ok");
  req.max_body_size = 1 << 20;
  auto r = http_->Do(req);
  ASSERT_TRUE(r.ok()) << r.status().message();
  EXPECT_FALSE(r->body_too_large);
  EXPECT_EQ(r->body.size(), size_t{1 << 20});
}

TEST_F(CurlClientTest, SinkBodiesAreNotCapped) {
  server_.server().Get("/blob", [](const httplib::Request&, httplib::Response& res) {
    res.set_content(std::string(3 << 20, 'z'), "application/octet-stream");
  });
  HttpRequest req;
  req.url = server_.url("/blob");
  req.max_body_size = 1 << 20;
  size_t got = 0;
  req.body_sink = [&](const char*, size_t n) {
    got += n;
    return true;
  };
  auto r = http_->Do(req);
  ASSERT_TRUE(r.ok()) << r.status().message();
  EXPECT_FALSE(r->body_too_large);
  EXPECT_EQ(got, size_t{3 << 20});
}

TEST_F(CurlClientTest, EndlessHeadersAreATransportFailure) {
  server_.server().Get("/headers", [](const httplib::Request&, httplib::Response& res) {
    for (int i = 0; i < 2000; ++i) res.set_header("X-Pad-" + std::to_string(i), std::string(1000, 'h'));
    res.set_content("{}", "application/json");
  });
  HttpRequest req;
  req.url = server_.url("/headers");
  auto r = http_->Do(req);
  ASSERT_FALSE(r.ok());
  // curl's own bound (300 KB in all; Debian 12's 7.88.1 carries the fix for
  // CVE-2023-38039).
  EXPECT_EQ(r.status().code(), core::Code::kUnavailable) << r.status().message();
}

TEST_F(CurlClientTest, RedirectToAnotherPortOrHostNameDropsTheAuthorizationHeader) {
  // Debian 12's curl 7.88.1: a custom Authorization header stays on the original
  // scheme, host and port (curl >= 7.83, CVE-2022-27776).
  LocalServer other;
  std::mutex mu;
  std::vector<std::string> seen;  // Authorization headers the other server got
  other.server().Get("/target", [&](const httplib::Request& req, httplib::Response& res) {
    std::lock_guard<std::mutex> g(mu);
    seen.push_back(req.get_header_value("Authorization"));
    res.set_content("moved", "text/plain");
  });
  for (std::string host : {"127.0.0.1", "localhost"}) {
    std::string target = "http://" + host + ":" + std::to_string(other.port()) + "/target";
    server_.server().Get("/from-" + host, [target](const httplib::Request&, httplib::Response& res) {
      res.set_redirect(target, 307);
    });
    HttpRequest req;
    req.url = server_.url("/from-" + host);
    req.headers.push_back({"Authorization", "Basic dXNlcjpzZWNyZXQ="});
    auto r = http_->Do(req);
    ASSERT_TRUE(r.ok()) << r.status().message();
    EXPECT_EQ(r->body, "moved") << host;
  }
  std::lock_guard<std::mutex> g(mu);
  EXPECT_EQ(seen, (std::vector<std::string>{"", ""}));
}

TEST_F(CurlClientTest, RedirectsGoToHttpOnly) {
  server_.server().Get("/file", [](const httplib::Request&, httplib::Response& res) {
    res.set_redirect("file:///etc/passwd", 302);
  });
  HttpRequest req;
  req.url = server_.url("/file");
  auto r = http_->Do(req);
  if (r.ok()) {
    EXPECT_EQ(r->body.find("root:"), std::string::npos) << r->body;
  }
  // And a request for another scheme is not made at all.
  req.url = "file:///etc/passwd";
  auto f = http_->Do(req);
  ASSERT_FALSE(f.ok());
  EXPECT_EQ(f.status().code(), core::Code::kUnavailable);
}

}  // namespace
}  // namespace crossdock::providers
