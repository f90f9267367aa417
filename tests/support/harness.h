// End-to-end test harness: temporary directories, child processes, real
// `docker-registry` instances (plain, TLS, htpasswd, token auth), the fakes of
// tests/fakes/, OCI image layouts written by hand, seeding with skopeo, and
// verification through curl and skopeo, never through crossdock's own code.
// The support library of tests/e2e/*_test.cc and of bench/ (both link it).
//
// Failures of the harness itself (a registry that won't start, a push skopeo
// refuses, a command that times out) throw HarnessError: GoogleTest reports the
// message as the test's failure, and the destructors stop every process the test
// started. Helpers that *observe* (HeadDigest, ListTags…) throw only when they
// cannot get an answer, never for an answer the test may want to assert on.
//
// Environment: CROSSDOCK_BIN (the binary under test), CROSSDOCK_FAKES (the directory
// holding token_server, corrupt_proxy and hostile_registry); both set by `make test`.
#pragma once

#include <sys/types.h>

#include <chrono>
#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <stdexcept>
#include <string>
#include <vector>

namespace crossdock::testing {

class HarnessError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

// A directory made with mkdtemp under $TMPDIR (or /tmp), removed with everything
// in it by the destructor.
class TempDir {
 public:
  explicit TempDir(const std::string& prefix = "crossdock-e2e");
  ~TempDir();
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;

  const std::string& path() const { return path_; }
  // path() + "/" + name.
  std::string Sub(const std::string& name) const { return path_ + "/" + name; }

 private:
  std::string path_;
};

// A TCP port on 127.0.0.1 that was free a moment ago (bind to port 0).
int FreePort();

// This process's environment ("NAME=value" entries) with ENV's entries added or
// replacing those of the same name: what a spawned child gets.
std::vector<std::string> ChildEnvironment(const std::map<std::string, std::string>& env);

std::string ReadFile(const std::string& path);
void WriteFile(const std::string& path, const std::string& content);
// sha256 of bytes, as "sha256:<hex>" (OpenSSL EVP).
std::string Sha256Digest(const std::string& bytes);

// A child process in its own process group, stdin from /dev/null (never a TTY),
// stdout and stderr appended to log_path. Once it exits, whatever is left of its
// group is killed too. The destructor stops it (Stop()).
// The child receives SIGKILL if the thread that started it exits
// (PR_SET_PDEATHSIG), so a crashed test binary leaves no registry behind: start
// processes from the test's own thread.
class Process {
 public:
  // argv[0] is searched in PATH unless it holds a '/'. env entries are added to
  // (or replace those of) the test's environment; an empty cwd keeps the test's.
  // Throws HarnessError if the program cannot be found or started.
  Process(std::vector<std::string> argv, std::string log_path,
          std::map<std::string, std::string> env = {}, std::string cwd = "");
  ~Process();
  Process(const Process&) = delete;
  Process& operator=(const Process&) = delete;

  pid_t pid() const { return pid_; }
  const std::string& log_path() const { return log_path_; }
  // What the process wrote so far.
  std::string log() const { return ReadFile(log_path_); }

  // True until the process has exited (reaps it when it has).
  bool Running();
  // SIGTERM to the group, up to 5 s of grace, then SIGKILL. Returns the exit code
  // (128 + signal number when killed by a signal). No-op once it has exited.
  int Stop();
  // SIGKILL to the group; returns once the process is reaped.
  void Kill9();
  // Blocks until the process exits; returns its exit code as Stop() does.
  int Wait();
  // As Wait(), but gives up after `timeout` and returns nullopt.
  std::optional<int> WaitFor(std::chrono::milliseconds timeout);
  // Polls the log until it contains `needle`; false on timeout or if the process
  // exits first (after a last look at the log).
  bool WaitForLog(const std::string& needle,
                  std::chrono::milliseconds timeout = std::chrono::seconds(15));

 private:
  pid_t pid_ = -1;
  std::string log_path_;
  std::optional<int> exit_code_;
};

struct RunResult {
  int exit_code = -1;  // 128 + signal number when killed by a signal
  std::string out{}, err{};
};

// Runs argv to completion with stdout and stderr captured separately (no limit,
// no deadlock), stdin from /dev/null. Throws HarnessError (with what was captured)
// if it runs longer than timeout_s; the whole process group is killed then.
RunResult RunCommand(std::vector<std::string> argv, std::map<std::string, std::string> env = {},
                     std::string cwd = "", int timeout_s = 120);
// The binary under test, from $CROSSDOCK_BIN; throws HarnessError if unset.
std::string CrossdockBin();
// RunCommand({CrossdockBin(), args...}, env, cwd, timeout_s).
RunResult RunCrossdock(std::vector<std::string> args, std::map<std::string, std::string> env = {},
                       std::string cwd = "", int timeout_s = 120);

// $CROSSDOCK_FAKES/name; throws HarnessError if the variable is unset or the
// binary is missing.
std::string FakePath(const std::string& name);

// A fake from tests/fakes/ started with `--port 0` plus args, ready once it has
// printed "ready"; port() is the one it printed. Throws HarnessError (with its
// log) if it exits or stays silent for 15 s.
class FakeProcess {
 public:
  FakeProcess(const std::string& name, std::vector<std::string> args, const std::string& log_path);
  Process& process() { return *process_; }
  int port() const { return port_; }
  std::string url() const { return "http://127.0.0.1:" + std::to_string(port_); }
  std::string log() const { return process_->log(); }

 private:
  std::unique_ptr<Process> process_;
  int port_ = 0;
};

// tests/fakes/token_server: the bearer-token realm for a Registry with token auth.
class TokenServer {
 public:
  struct Options {
    std::string username{}, password{};  // empty: every caller gets every scope
    int expires_in = 300;            // the answer's expires_in
    std::optional<int> lifetime{};   // seconds the registry accepts a token; default
                                     // expires_in + 60 (its leeway)
    std::string service = "crossdock-registry";
    std::string issuer = "crossdock-token-issuer";
  };
  TokenServer() : TokenServer(Options{}) {}
  explicit TokenServer(Options options);

  const Options& options() const { return options_; }
  std::string realm() const { return fake_->url() + "/token"; }
  std::string url() const { return fake_->url(); }
  int port() const { return fake_->port(); }
  // The signing certificate (PEM): the registry's rootcertbundle.
  const std::string& cert_path() const { return cert_path_; }
  std::string log() const { return fake_->log(); }
  Process& process() { return fake_->process(); }

  // Changes lifetime and expires_in for tokens issued from now on (seed with
  // long-lived tokens, since skopeo never refreshes, then shorten them).
  void SetLifetime(int lifetime_s, int expires_in_s);

  struct Stats {
    int tokens_issued = 0;          // excluding the harness's own
    int harness_tokens_issued = 0;  // fetched by HeadDigest & co.
    int unauthorized = 0;           // requests refused for wrong credentials
    std::vector<std::string> scopes{};  // per token, the requested scopes joined by ' '
  };
  Stats GetStats() const;

  // A token for these scopes ("repository:r:pull,push"), asked with the
  // configured credentials unless `credentials` ("user:pass", or "" for none)
  // says otherwise; counted as a harness token. nullopt when the server answers
  // 401 (wrong credentials); throws on any other non-200 answer.
  std::optional<std::string> FetchToken(const std::vector<std::string>& scopes,
                         std::optional<std::string> credentials = std::nullopt) const;

 private:
  Options options_;
  std::unique_ptr<TempDir> dir_;
  std::string cert_path_;
  std::unique_ptr<FakeProcess> fake_;
};

// What a client needs to reach a registry: address, TLS trust and credentials.
// Registry and CorruptProxy are Endpoints; the verification helpers take one.
class Endpoint {
 public:
  std::string url() const { return (tls_ ? "https://" : "http://") + host(); }  // no slash
  std::string host() const { return "127.0.0.1:" + std::to_string(port_); }
  int port() const { return port_; }
  bool tls() const { return tls_; }
  const std::string& ca_path() const { return ca_path_; }    // CA certificate (PEM); TLS only
  const std::string& cert_dir() const { return cert_dir_; }  // holds ca.crt (skopeo --*cert-dir)
  const std::string& username() const { return username_; }  // empty: anonymous
  const std::string& password() const { return password_; }
  // The realm for token auth, or null. Must outlive this Endpoint.
  const TokenServer* token_server() const { return token_server_; }

 protected:
  int port_ = 0;
  bool tls_ = false;
  std::string ca_path_, cert_dir_, username_, password_;
  const TokenServer* token_server_ = nullptr;
};

// A `docker-registry serve` on 127.0.0.1 with its own temporary directory
// (config.yml, storage, certificates, log); delete enabled, log level error.
class Registry : public Endpoint {
 public:
  struct Notification {
    std::string url{};
    std::map<std::string, std::string> headers{};  // e.g. {"Authorization", "Bearer T"}
    std::string timeout = "2s", backoff = "1s";
    int threshold = 3;
  };
  struct Options {
    bool tls = false;  // self-signed CA + server cert for IP:127.0.0.1 and DNS:localhost
    std::string htpasswd_user{}, htpasswd_password{};  // basic auth when set (bcrypt)
    const TokenServer* token_server = nullptr;     // token auth when set; must outlive
    std::vector<Notification> notifications{};
    bool access_log = false;  // distribution's per-request log lines
  };
  Registry() : Registry(Options{}) {}
  // Starts the registry and waits until GET /v2/ answers; throws HarnessError
  // with the registry's log if it does not within 15 s.
  explicit Registry(Options options);
  ~Registry();

  const Options& options() const { return options_; }
  std::string log() const;
  const std::string& log_path() const { return log_path_; }
  const std::string& dir() const { return dir_->path(); }
  const std::string& storage_dir() const { return storage_dir_; }
  bool running() const { return process_ != nullptr; }

  // Stops the process (SIGTERM, then SIGKILL after 5 s); storage is kept.
  void Stop();
  // Starts it again on the same port with the same storage (no-op if running).
  void Start();
  void Restart() {
    Stop();
    Start();
  }

 private:
  void WriteConfig() const;
  void GenerateCertificates();
  void WaitUntilAnswering();

  Options options_;
  std::unique_ptr<TempDir> dir_;
  std::string config_path_, storage_dir_, log_path_;
  std::unique_ptr<Process> process_;
};

// tests/fakes/corrupt_proxy in front of a registry: forwards everything, and
// damages blob bodies in transit. It carries the upstream's credentials and token
// realm, but serves plain HTTP.
class CorruptProxy : public Endpoint {
 public:
  struct Options {
    bool corrupt_blobs = true;
    std::vector<std::string> only_digests{};  // non-empty: corrupt just these blobs
    int delay_ms = 0;  // a slow link: wait this long before forwarding each request
    // Serve the OCI 1.1 referrers API for manifests pushed through the proxy with a
    // "subject" (docker-registry 2.8 has no such API).
    bool referrers = false;
    // Answer the first N requests to blob or manifest paths 429 with Retry-After: 1.
    int fail_429 = 0;
    // A slow link for blob downloads: pace each blob GET body to this many bytes per
    // second, streamed (0: no pacing).
    std::int64_t bytes_per_second = 0;
    // Docker Hub's pull budget: manifest answers carry RateLimit-Limit: N and
    // RateLimit-Remaining: N less the manifest GETs so far (0: no such headers).
    int pull_limit = 0;
  };
  explicit CorruptProxy(const Registry& upstream) : CorruptProxy(upstream, Options{}) {}
  CorruptProxy(const Registry& upstream, Options options);

  struct Stats {
    int requests = 0, blob_gets = 0, corrupted = 0;
    std::map<std::string, int> by_method{};
    std::int64_t paced_bytes = 0;  // blob body bytes sent under bytes_per_second
    int paced_cut_short = 0;       // paced bodies that ended early (client gone…)
  };
  Stats GetStats() const;
  std::string log() const { return fake_->log(); }
  Process& process() { return fake_->process(); }

 private:
  std::unique_ptr<TempDir> dir_;
  std::unique_ptr<FakeProcess> fake_;
};

// ---- Images: OCI image layouts written by hand, deterministic ----

struct LayerSpec {
  uint64_t size = 1024;  // bytes of the one file in the layer's tar
  uint64_t seed = 1;     // same size and seed: byte-identical layer blob
  bool gzip = false;     // tar+gzip (stored deflate blocks) instead of a plain tar
};

struct ImageSpec {
  std::vector<LayerSpec> layers = {LayerSpec{}};
  std::string architecture = "amd64";
  std::string os = "linux";
  std::string variant{};                      // e.g. "v8" for arm64
  std::map<std::string, std::string> labels{};  // change one to change the digest
  // Docker v2 schema 2 media types (manifest, config, gzip layers; an index of
  // such images becomes a Docker manifest list) instead of OCI ones.
  bool docker = false;
  // An OCI artifact instead of an image: this config media type (e.g. a Helm chart's
  // "application/vnd.cncf.helm.config.v1+json") with config_json as the config.
  std::string config_media_type{};
  std::string config_json{};
  std::map<std::string, std::string> annotations{};  // on the manifest
  // A referrer: the manifest's "subject" (OCI 1.1), e.g. an SBOM of another image.
  std::string subject_digest{};
  std::string subject_media_type{};
  uint64_t subject_size = 0;
};

struct BuiltImage {
  std::string digest{};      // "sha256:…" of the manifest or index
  std::string media_type{};  // of that manifest or index
  uint64_t size = 0;
  std::string config_digest{};          // single image only
  std::vector<std::string> blobs{};     // every config and layer, children included
  std::vector<BuiltImage> manifests{};  // index only: its children, in order
};

// Adds an image to the OCI layout at layout_dir (created if missing), tagged
// ref_name in its index.json (replacing an earlier entry of that name). Layers are
// generated straight to files, so sizes of many MiB cost no memory.
BuiltImage BuildImage(const std::string& layout_dir, const std::string& ref_name,
                      const ImageSpec& spec);
// The same for a multi-platform image: one manifest per spec and an index (OCI
// index, or Docker manifest list when the first spec has docker = true).
BuiltImage BuildIndex(const std::string& layout_dir, const std::string& ref_name,
                      const std::vector<ImageSpec>& platforms);

// ---- Seeding and verification, independent of crossdock ----

// skopeo copy [--all] --preserve-digests oci:layout_dir:ref_name
// docker://HOST/repo:tag with the endpoint's credentials and TLS trust (images
// with Docker media types go through skopeo's dir: transport, see harness.cc);
// throws HarnessError with skopeo's stderr on failure. all = false on an index
// makes skopeo refuse, as --preserve-digests cannot hold then.
void Push(const std::string& layout_dir, const std::string& ref_name, const Endpoint& registry,
          const std::string& repo, const std::string& tag, bool all = true);
// Puts the manifest at repo:existing (a tag or digest) under new_tag(s) as well,
// byte for byte: one GET, then one curl PUTting every tag over one connection
// with one token (no blob traffic; thousands of tags take seconds).
void PushManifestUnderTag(const Endpoint& registry, const std::string& repo,
                          const std::string& existing, const std::string& new_tag);
void PushManifestUnderTags(const Endpoint& registry, const std::string& repo,
                           const std::string& existing, const std::vector<std::string>& new_tags);
// Resolves repo:tag with HEAD and deletes that manifest by digest (which removes
// every tag on it: distribution deletes by digest only). Throws if absent.
void DeleteTag(const Endpoint& registry, const std::string& repo, const std::string& tag);

// Docker-Content-Digest of HEAD /v2/repo/manifests/ref, Accept listing OCI index,
// OCI manifest, Docker manifest list and Docker v2; nullopt on 404.
std::optional<std::string> HeadDigest(const Endpoint& registry, const std::string& repo,
                                      const std::string& ref);
// The manifest exactly as stored (`skopeo inspect --raw`); ref is a tag or a digest.
std::string SkopeoInspectRaw(const Endpoint& registry, const std::string& repo,
                             const std::string& ref);
// Sorted tags of repo; empty if the repository is unknown.
std::vector<std::string> ListTags(const Endpoint& registry, const std::string& repo);
bool BlobExists(const Endpoint& registry, const std::string& repo, const std::string& digest);

struct HttpAnswer {
  int status = 0;
  std::map<std::string, std::string> headers{};  // names lower-cased; last value wins
  std::string body{};
};
// One request to the endpoint with curl, authenticated as the helpers above are:
// basic, or a bearer token from the token server for `scopes` (default: the scope
// the registry asks for on that method and path). `credentials` ("user:pass", or
// "" for anonymous, which with token auth means a token granting nothing)
// overrides the endpoint's; an "Authorization: …" header among extra_curl_args
// replaces all of that. For tests that assert on raw protocol answers.
HttpAnswer CurlRequest(const Endpoint& registry, const std::string& method, const std::string& path,
                       const std::vector<std::string>& extra_curl_args = {},
                       const std::vector<std::string>& scopes = {},
                       std::optional<std::string> credentials = std::nullopt);

// tests/fakes/fault_proxy in front of a plain-HTTP registry: forwards everything and
// injects the faults its rules name, each at a rate, per request kind and direction
// ("blob_get:corrupt:0.3", "manifest_put:alter:1@sha256:…"; the grammar is at the top
// of fault_proxy.cc), the same ones for the same seed. It carries the upstream's
// credentials; token requests go through it too.
class FaultProxy : public Endpoint {
 public:
  struct Options {
    std::vector<std::string> faults{};  // --fault rules, in order
    std::uint64_t seed = 1;
    int delay_ms = 100;    // the "delay" fault
    int retry_after = 1;   // the "429" fault's Retry-After, seconds
  };
  // Throws HarnessError for a TLS upstream (the proxy speaks plain HTTP only).
  FaultProxy(const Registry& upstream, Options options);

  struct Stats {
    int requests = 0, injected = 0;
    std::map<std::string, int> by_kind{};  // "blob_get" -> requests
    std::map<std::string, int> faults{};   // "blob_get:corrupt" -> injected
  };
  Stats GetStats() const;
  std::string log() const { return fake_->log(); }
  Process& process() { return fake_->process(); }

 private:
  std::unique_ptr<TempDir> dir_;
  std::unique_ptr<FakeProcess> fake_;
};

// ---- tests/fakes/hostile_registry ----

// A registry that misbehaves on purpose (foreign or looping Link headers, huge or
// deeply nested documents, 200,000 tags, invalid names, foreign upload Locations,
// redirects, failing pings): the flags are documented at the top of
// tests/fakes/hostile_registry.cc. Plain HTTP; Basic credentials when given.
class HostileRegistry : public Endpoint {
 public:
  struct Options {
    std::string username{}, password{};  // --user; empty: anonymous
    std::vector<std::string> args{};     // the fake's other flags
  };
  HostileRegistry() : HostileRegistry(Options{}) {}
  explicit HostileRegistry(Options options);

  struct Stats {
    int requests = 0, authorized = 0, pings = 0, catalog = 0, tag_lists = 0;
    int manifest_gets = 0, manifest_heads = 0, blob_gets = 0, uploads = 0, suspicious = 0;
    std::int64_t manifest_bytes_sent = 0;
    std::vector<std::string> paths{};  // the first 200 request lines
  };
  Stats GetStats() const;
  std::string log() const { return fake_->log(); }

 private:
  std::unique_ptr<TempDir> dir_;
  std::unique_ptr<FakeProcess> fake_;
};

}  // namespace crossdock::testing
