// What the fakes of the forges' REST APIs (tests/fakes/github_api.cc, gitlab_mr_api.cc)
// share: flags, a clock, offset pagination with a Link header, the record of requests,
// and serving on 127.0.0.1. Header-only, because every .cc in tests/fakes/ is a binary of
// its own (see the Makefile).
#pragma once

// Debian builds libcpp-httplib with these three; the header's class layouts depend on
// them, so they must match (see /usr/lib/x86_64-linux-gnu/pkgconfig/cpp-httplib.pc).
#define CPPHTTPLIB_OPENSSL_SUPPORT
#define CPPHTTPLIB_ZLIB_SUPPORT
#define CPPHTTPLIB_BROTLI_SUPPORT
#include <httplib.h>

#include <algorithm>
#include <cstdio>
#include <functional>
#include <map>
#include <mutex>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <thread>
#include <vector>

namespace crossdock::fakes {

[[noreturn]] inline void Die(const std::string& program, const std::string& message) {
  std::fprintf(stderr, "%s: %s\n", program.c_str(), message.c_str());
  std::exit(2);
}

inline std::optional<long> ToLong(const std::string& value) {
  try {
    size_t used = 0;
    long v = std::stol(value, &used);
    if (used == value.size()) return v;
  } catch (const std::exception&) {
  }
  return std::nullopt;
}

// --port P (0: any) and the flags named in VALUES (each takes a value; all required).
struct ForgeFlags {
  int port = 0;
  std::map<std::string, std::string> values;
};

inline ForgeFlags ParseForgeFlags(const std::string& program, int argc, char** argv,
                                  const std::vector<std::string>& names) {
  ForgeFlags flags;
  for (int i = 1; i < argc; ++i) {
    const std::string arg = argv[i];
    if (i + 1 >= argc) Die(program, arg + " needs a value");
    const std::string value = argv[++i];
    if (arg == "--port") {
      auto port = ToLong(value);
      if (!port) Die(program, "--port wants an integer");
      flags.port = static_cast<int>(*port);
    } else if (std::find(names.begin(), names.end(), arg) != names.end()) {
      flags.values[arg] = value;
    } else {
      Die(program, "unknown flag " + arg);
    }
  }
  for (const auto& name : names)
    if (flags.values[name].empty()) Die(program, name + " is required");
  return flags;
}

// Characters as both forges count them for their length limits: Unicode code points.
inline size_t CodePoints(const std::string& s) {
  size_t n = 0;
  for (unsigned char c : s)
    if ((c & 0xC0) != 0x80) ++n;
  return n;
}

// A fixed, strictly increasing clock: event N of a fake happens N seconds after
// 2024-05-01T00:00:00Z; with FRACTION, ".000" before the Z (GitLab's form). Sortable as
// text, as the forges' timestamps are.
inline std::string EventTime(long n, bool fraction = false) {
  char buf[40];
  std::snprintf(buf, sizeof buf, "2024-05-01T%02ld:%02ld:%02ld%sZ", (n / 3600) % 24, (n / 60) % 60,
                n % 60, fraction ? ".000" : "");
  return buf;
}

// One page of an offset-paged list: the request's per_page (1..100, DEFAULT_PER_PAGE
// when absent) and page (from 1), and the Link header both forges send.
class Page {
 public:
  // Parses the request's parameters; nullopt (after answering 400 with the forge's
  // message) when one is not an integer.
  static std::optional<Page> Parse(const httplib::Request& req, long default_per_page,
                                   httplib::Response& res) {
    Page p;
    p.per_page_ = default_per_page;
    for (const char* name : {"per_page", "page"}) {
      if (!req.has_param(name)) continue;
      auto v = ToLong(req.get_param_value(name));
      if (!v) {
        res.status = 400;
        res.set_content(nlohmann::json{{"error", std::string(name) + " is invalid"}}.dump(),
                        "application/json");
        return std::nullopt;
      }
      if (std::string(name) == "per_page") p.per_page_ = std::clamp(*v, 1L, 100L);
      else p.page_ = std::max(*v, 1L);
    }
    return p;
  }

  long page() const { return page_; }
  long per_page() const { return per_page_; }
  // The last page of TOTAL items (1 for none).
  long Last(size_t total) const { return std::max(1L, static_cast<long>((total + per_page_ - 1) / per_page_)); }
  // Whether item I (from 0) is on this page.
  bool Holds(size_t i) const {
    return i >= size_t((page_ - 1) * per_page_) && i < size_t(page_ * per_page_);
  }
  // `<URL(p)>; rel="prev", <…>; rel="next", <…>; rel="first", <…>; rel="last"`, those
  // that apply; ALWAYS_ENDS: first and last even on a single page (GitLab), else the
  // header is empty for a single page (GitHub).
  std::string Links(size_t total, const std::function<std::string(long)>& url, bool always_ends) const {
    const long last = Last(total);
    std::vector<std::string> links;
    auto add = [&](long p, const char* rel) { links.push_back("<" + url(p) + ">; rel=\"" + rel + "\""); };
    if (!always_ends && last == 1) return "";
    if (page_ > 1) add(std::min(page_ - 1, last), "prev");
    if (page_ < last) add(page_ + 1, "next");
    if (always_ends || page_ > 1) add(1, "first");
    if (always_ends || page_ < last) add(last, "last");
    std::string joined;
    for (const auto& l : links) joined += (joined.empty() ? "" : ", ") + l;
    return joined;
  }

 private:
  long per_page_ = 30, page_ = 1;
};

// Every API request a fake answered, as "METHOD /path?query", for GET /fake/requests.
class RequestLog {
 public:
  void Add(const httplib::Request& req) {
    std::lock_guard<std::mutex> lock(mu_);
    requests_.push_back(req.method + " " + req.target);
  }
  std::string Json() const {
    std::lock_guard<std::mutex> lock(mu_);
    return nlohmann::json(requests_).dump();
  }

 private:
  mutable std::mutex mu_;
  std::vector<std::string> requests_;  // guarded by mu_
};

// A second listener of a fake on 127.0.0.1 (any port), standing for the forge's blob
// storage, to which an artifact download redirects: another origin to a client, as the
// forges' storage is another host. It answers 401 to any request that carries a
// credential header (Authorization, PRIVATE-TOKEN), so a client that sends the API token
// past the redirect fails. Add routes with server(), then Start(); stops when destroyed.
class StorageListener {
 public:
  StorageListener() {
    server_.set_pre_routing_handler([](const httplib::Request& req, httplib::Response& res) {
      if (!req.has_header("Authorization") && !req.has_header("PRIVATE-TOKEN"))
        return httplib::Server::HandlerResponse::Unhandled;
      res.status = 401;
      res.set_content("the storage takes no API token (it was sent past a redirect)\n", "text/plain");
      return httplib::Server::HandlerResponse::Handled;
    });
    server_.set_logger([](const httplib::Request& req, const httplib::Response& res) {
      std::printf("%s %s %d\n", req.method.c_str(), req.target.c_str(), res.status);
      std::fflush(stdout);
    });
  }
  ~StorageListener() {
    if (!thread_.joinable()) return;
    server_.stop();
    thread_.join();
  }

  httplib::Server& server() { return server_; }
  // Listens; returns the port (dies when it cannot).
  int Start(const std::string& program) {
    const int port = server_.bind_to_any_port("127.0.0.1");
    if (port <= 0) Die(program, "cannot listen on 127.0.0.1 for the storage");
    thread_ = std::thread([this] { server_.listen_after_bind(); });
    return port;
  }

 private:
  httplib::Server server_;
  std::thread thread_;
};

// Logs every answer on stdout (METHOD TARGET STATUS), listens on 127.0.0.1:PORT (0: any),
// calls BOUND with the port, prints "listening on 127.0.0.1:P" and "ready", and serves
// until stopped. Returns main's exit code.
inline int Serve(const std::string& program, httplib::Server& server, int port,
                 const std::function<void(int)>& bound) {
  server.set_logger([](const httplib::Request& req, const httplib::Response& res) {
    std::printf("%s %s %d\n", req.method.c_str(), req.target.c_str(), res.status);
    std::fflush(stdout);
  });
  const int wanted = port;
  if (port == 0) {
    port = server.bind_to_any_port("127.0.0.1");
  } else if (!server.bind_to_port("127.0.0.1", port)) {
    port = -1;
  }
  if (port <= 0) Die(program, "cannot listen on 127.0.0.1:" + std::to_string(wanted));
  bound(port);
  std::printf("listening on 127.0.0.1:%d\nready\n", port);
  std::fflush(stdout);
  return server.listen_after_bind() ? 0 : 1;
}

}  // namespace crossdock::fakes
