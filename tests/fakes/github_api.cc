// github_api: a loopback fake of the few GitHub REST API calls that examples/ci/
// github-actions.yml makes, so tests/e2e/github_workflow_test.cc can run the workflow's
// own shell steps against it. Comments, pull requests, workflow runs and artifacts live
// in memory. Sources: docs.github.com/en/rest/issues/comments, /rest/commits/commits#list-
// pull-requests-associated-with-a-commit, /rest/actions/workflow-runs, /rest/actions/
// artifacts, /rest/using-the-rest-api/using-pagination-in-the-rest-api. "[?]" marks a
// behaviour no source pins.
//
// Every API call needs `Authorization: Bearer TOKEN` (or `token TOKEN`) with --token's
// value: none is 401 {"message":"Requires authentication"}, another 401 {"message":"Bad
// credentials"}. Only --repo OWNER/NAME exists; any other is 404 {"message":"Not Found"}.
//   GET   /repos/O/R/issues/N/comments?per_page=&page=
//         the issue's comments, oldest first, per_page 1..100 (default 30), page from 1
//         (not an integer: 400 [?]); when there is more than one page, Link: <URL>; rel="prev", <URL>; rel="next",
//         <URL>; rel="first", <URL>; rel="last" (those that apply; absolute URLs on this
//         fake, query per_page and page)
//   POST  /repos/O/R/issues/N/comments        {"body":"…"} → 201 the comment
//   PATCH /repos/O/R/issues/comments/ID       {"body":"…"} → 200 the comment; 404 unknown
//         A body that is not a string is 422; longer than 65,536 characters is 422
//         "body is too long (maximum is 65536 characters)"; JSON that does not parse, 400
//         {"message":"Problems parsing JSON"}.
//   GET   /repos/O/R/commits/SHA/pulls        the merged pull requests registered for SHA
//         ([{"number","state":"closed","merged_at","head":{"sha"},"base":{"ref":"main"}}])
//   GET   /repos/O/R/actions/workflows/W/runs?event=&status=&head_sha=&per_page=&page=
//         W: the workflow's file name (crossdock.yml) or its id; unknown, 404. {"total_count",
//         "workflow_runs":[{"id","name","path","workflow_id","event","status","conclusion",
//         "head_sha","head_branch","run_number","created_at","updated_at","repository":
//         {"id","full_name"},"head_repository":{"id","full_name"}}]}, newest first [?:
//         order]; status= matches a status (completed, in_progress…) or a conclusion
//         (success, failure…). A run from a fork has the fork as head_repository: it runs
//         in this repository (its artifacts are this repository's) with the fork's files.
//   GET   /repos/O/R/actions/runs/ID/artifacts?name=&per_page=
//   GET   /repos/O/R/actions/artifacts?name=&per_page=
//         the run's, or the repository's, artifacts: {"total_count","artifacts":[{"id",
//         "name","size_in_bytes","archive_download_url","expired","created_at",
//         "workflow_run":{"id","repository_id","head_repository_id","head_branch",
//         "head_sha"}}]}, newest first [?: order]; an unknown run is 404
//   GET   /repos/O/R/actions/artifacts/ID/zip 302 to the zip on "storage": a second
//         listener of this fake on another port (another origin to a client, as GitHub's
//         blob store is another host), which answers 401 to a request carrying an
//         Authorization header, so a client that leaks the API token there fails.
//
// Test hooks (not logged in /fake/requests):
//   POST /fake/comments?issue=N&count=K&author=A  K comments "Comment I by A." on issue N,
//        or each with the request's body when it has one
//   POST /fake/pulls?commit=SHA&number=N&head_sha=H  SHA came from merged pull request N
//   POST /fake/runs?workflow=FILE&event=E&head_sha=H[&fork=1]  a run in progress → {"id"}
//        (fork=1: of a pull request from the fork mallory/NAME)
//   POST /fake/runs/complete?id=ID&conclusion=C   the run completed with conclusion C
//   POST /fake/artifacts?run=ID&name=NAME[&expired=1]  body: the zip → {"id"}; run ID
//        uploaded it
//   GET  /fake/comments?issue=N   [{"id","body","author","edits"}] oldest first
//   GET  /fake/requests           ["METHOD /path?query", …] every API request so far
// Every answer is also logged on stdout: METHOD TARGET STATUS.
//
// Flags: --port P (0: any), --token T, --repo OWNER/NAME. Prints "listening on
// 127.0.0.1:P" then "ready" once it accepts connections.

#include "tests/fakes/forge_api.h"

namespace {

using namespace crossdock::fakes;
using nlohmann::json;

constexpr const char* kProgram = "github_api";

struct Flags {
  int port = 0;
  std::string token;
  std::string repo;  // OWNER/NAME
};

Flags ParseFlags(int argc, char** argv) {
  ForgeFlags f = ParseForgeFlags(kProgram, argc, argv, {"--token", "--repo"});
  Flags flags{f.port, f.values["--token"], f.values["--repo"]};
  if (flags.repo.find('/') == std::string::npos) Die(kProgram, "--repo wants OWNER/NAME");
  return flags;
}

struct Comment {
  long id = 0;
  long issue = 0;
  std::string body;
  std::string author;
  std::string created_at, updated_at;
  int edits = 0;
};

struct Pull {
  long number = 0;
  std::string head_sha;
  std::string merged_at;
};

struct Run {
  long id = 0;
  std::string workflow;  // the file name under .github/workflows/
  std::string event, head_sha;
  bool fork = false;  // of a pull request from a fork
  std::string status = "in_progress", conclusion;
  std::string created_at, updated_at;
};

struct Artifact {
  long id = 0;
  long run = 0;
  std::string name;
  std::string zip;
  std::string created_at;
  bool expired = false;
};

class GithubApi {
 public:
  explicit GithubApi(Flags flags) : flags_(std::move(flags)) {}

  void SetPorts(int port, int storage_port) {
    port_ = port;
    storage_port_ = storage_port;
  }

  void RegisterStorage(httplib::Server* storage) {
    storage->Get(R"(/storage/(\d+)\.zip)", [this](const auto& req, auto& res) { Storage(req, res); });
  }

  void Register(httplib::Server* server) {
    const std::string repo = "/repos/([^/]+/[^/]+)";
    server->Get(repo + R"(/issues/(\d+)/comments)", [this](const auto& req, auto& res) {
      if (Api(req, res)) ListComments(req, res);
    });
    server->Post(repo + R"(/issues/(\d+)/comments)", [this](const auto& req, auto& res) {
      if (Api(req, res)) CreateComment(req, res);
    });
    server->Patch(repo + R"(/issues/comments/(\d+))", [this](const auto& req, auto& res) {
      if (Api(req, res)) UpdateComment(req, res);
    });
    server->Get(repo + R"(/commits/([0-9a-f]+)/pulls)", [this](const auto& req, auto& res) {
      if (Api(req, res)) CommitPulls(req, res);
    });
    server->Get(repo + R"(/actions/workflows/([^/]+)/runs)", [this](const auto& req, auto& res) {
      if (Api(req, res)) ListRuns(req, res);
    });
    server->Get(repo + R"(/actions/runs/(\d+)/artifacts)", [this](const auto& req, auto& res) {
      if (Api(req, res)) ListArtifacts(req, res);
    });
    server->Get(repo + R"(/actions/artifacts)", [this](const auto& req, auto& res) {
      if (Api(req, res)) ListArtifacts(req, res);
    });
    server->Get(repo + R"(/actions/artifacts/(\d+)/zip)", [this](const auto& req, auto& res) {
      if (Api(req, res)) DownloadArtifact(req, res);
    });
    server->Post("/fake/comments", [this](const auto& req, auto& res) { SeedComments(req, res); });
    server->Post("/fake/pulls", [this](const auto& req, auto& res) { SeedPull(req, res); });
    server->Post("/fake/runs", [this](const auto& req, auto& res) { SeedRun(req, res); });
    server->Post("/fake/runs/complete", [this](const auto& req, auto& res) { CompleteRun(req, res); });
    server->Post("/fake/artifacts", [this](const auto& req, auto& res) { SeedArtifact(req, res); });
    server->Get("/fake/comments", [this](const auto& req, auto& res) { DumpComments(req, res); });
    server->Get("/fake/requests", [this](const auto&, auto& res) {
      res.set_content(requests_.Json(), "application/json");
    });
  }

 private:
  static void Error(httplib::Response& res, int status, const std::string& message) {
    res.status = status;
    res.set_content(json{{"message", message}}.dump(), "application/json");
  }

  // Records the request and checks the token and repository; answers and returns false
  // when the request goes no further.
  bool Api(const httplib::Request& req, httplib::Response& res) {
    requests_.Add(req);
    const std::string auth = req.get_header_value("Authorization");
    if (auth.empty()) {
      Error(res, 401, "Requires authentication");
      return false;
    }
    if (auth != "Bearer " + flags_.token && auth != "token " + flags_.token) {
      Error(res, 401, "Bad credentials");
      return false;
    }
    if (req.matches[1] != flags_.repo) {
      Error(res, 404, "Not Found");
      return false;
    }
    return true;
  }

  std::string Base() const { return "http://127.0.0.1:" + std::to_string(port_); }

  json CommentJson(const Comment& c) const {
    const std::string api = Base() + "/repos/" + flags_.repo;
    return {{"id", c.id},
            {"node_id", "IC_" + std::to_string(c.id)},
            {"url", api + "/issues/comments/" + std::to_string(c.id)},
            {"html_url", "https://github.com/" + flags_.repo + "/pull/" + std::to_string(c.issue) +
                             "#issuecomment-" + std::to_string(c.id)},
            {"issue_url", api + "/issues/" + std::to_string(c.issue)},
            {"body", c.body},
            {"user", {{"login", c.author}, {"type", c.author.ends_with("[bot]") ? "Bot" : "User"}}},
            {"created_at", c.created_at},
            {"updated_at", c.updated_at}};
  }

  void ListComments(const httplib::Request& req, httplib::Response& res) {
    const long issue = std::stol(req.matches[2]);
    auto page = Page::Parse(req, 30, res);
    if (!page) return;
    std::lock_guard<std::mutex> lock(mu_);
    std::vector<const Comment*> all;
    for (const auto& c : comments_)
      if (c.issue == issue) all.push_back(&c);
    json body = json::array();
    for (size_t i = 0; i < all.size(); ++i)
      if (page->Holds(i)) body.push_back(CommentJson(*all[i]));
    const std::string links = page->Links(all.size(), [&](long p) {
      return Base() + "/repos/" + flags_.repo + "/issues/" + std::to_string(issue) +
             "/comments?per_page=" + std::to_string(page->per_page()) + "&page=" + std::to_string(p);
    }, /*always_ends=*/false);
    if (!links.empty()) res.set_header("Link", links);
    res.set_content(body.dump(), "application/json");
  }

  // The "body" of a comment request, or an error answered.
  std::optional<std::string> Body(const httplib::Request& req, httplib::Response& res) {
    json in = json::parse(req.body, nullptr, false);
    if (in.is_discarded()) {
      Error(res, 400, "Problems parsing JSON");
      return std::nullopt;
    }
    if (!in.is_object() || !in.contains("body") || !in["body"].is_string()) {
      res.status = 422;
      res.set_content(json{{"message", "Invalid request.\n\n\"body\" wasn't supplied."}}.dump(),
                      "application/json");
      return std::nullopt;
    }
    std::string body = in["body"].get<std::string>();
    if (CodePoints(body) > 65536) {
      res.status = 422;
      res.set_content(
          json{{"message", "Validation Failed"},
               {"errors", {{{"resource", "IssueComment"},
                            {"code", "custom"},
                            {"field", "body"},
                            {"message", "body is too long (maximum is 65536 characters)"}}}}}
              .dump(),
          "application/json");
      return std::nullopt;
    }
    return body;
  }

  void CreateComment(const httplib::Request& req, httplib::Response& res) {
    auto body = Body(req, res);
    if (!body) return;
    std::lock_guard<std::mutex> lock(mu_);
    Comment c;
    c.id = next_id_++;
    c.issue = std::stol(req.matches[2]);
    c.body = *body;
    c.author = "github-actions[bot]";
    c.created_at = c.updated_at = EventTime(++clock_);
    comments_.push_back(c);
    res.status = 201;
    res.set_header("Location", CommentJson(c)["url"].get<std::string>());
    res.set_content(CommentJson(c).dump(), "application/json");
  }

  void UpdateComment(const httplib::Request& req, httplib::Response& res) {
    auto body = Body(req, res);
    if (!body) return;
    const long id = std::stol(req.matches[2]);
    std::lock_guard<std::mutex> lock(mu_);
    for (auto& c : comments_) {
      if (c.id != id) continue;
      c.body = *body;
      c.updated_at = EventTime(++clock_);
      ++c.edits;
      res.set_content(CommentJson(c).dump(), "application/json");
      return;
    }
    Error(res, 404, "Not Found");
  }

  void CommitPulls(const httplib::Request& req, httplib::Response& res) {
    std::lock_guard<std::mutex> lock(mu_);
    json body = json::array();
    auto it = pulls_.find(req.matches[2]);
    if (it != pulls_.end()) {
      for (const auto& p : it->second)
        body.push_back({{"number", p.number},
                        {"state", "closed"},
                        {"merged_at", p.merged_at},
                        {"head", {{"sha", p.head_sha}, {"ref", "change-" + std::to_string(p.number)}}},
                        {"base", {{"ref", "main"}}}});
    }
    res.set_content(body.dump(), "application/json");
  }

  // A run's head branch, as GitHub names a fork's: the branch in the fork.
  static std::string HeadBranch(const Run& r) { return r.event == "push" ? "main" : "change"; }
  std::string ForkName() const { return "mallory/" + flags_.repo.substr(flags_.repo.find('/') + 1); }

  const Run* FindRun(long id) const {
    for (const auto& r : runs_)
      if (r.id == id) return &r;
    return nullptr;
  }

  json RunJson(const Run& r) const {
    const json repository = {{"id", kRepositoryId}, {"full_name", flags_.repo}};
    return {{"id", r.id},
            {"name", "crossdock"},
            {"path", ".github/workflows/" + r.workflow},
            {"workflow_id", kWorkflowId},
            {"event", r.event},
            {"status", r.status},
            {"conclusion", r.conclusion.empty() ? json(nullptr) : json(r.conclusion)},
            {"head_sha", r.head_sha},
            {"head_branch", HeadBranch(r)},
            {"run_number", r.id},
            {"created_at", r.created_at},
            {"updated_at", r.updated_at},
            {"repository", repository},
            {"head_repository",
             r.fork ? json{{"id", kForkRepositoryId}, {"full_name", ForkName()}} : repository}};
  }

  void ListRuns(const httplib::Request& req, httplib::Response& res) {
    const std::string workflow = req.matches[2];
    auto page = Page::Parse(req, 30, res);
    if (!page) return;
    if (workflow != "crossdock.yml" && workflow != std::to_string(kWorkflowId))
      return Error(res, 404, "Not Found");
    auto param = [&](const char* name) { return req.has_param(name) ? req.get_param_value(name) : ""; };
    const std::string event = param("event"), status = param("status"), head_sha = param("head_sha");
    std::lock_guard<std::mutex> lock(mu_);
    std::vector<const Run*> all;
    for (auto it = runs_.rbegin(); it != runs_.rend(); ++it)
      if (it->workflow == workflow || workflow == std::to_string(kWorkflowId))
        if ((event.empty() || it->event == event) && (head_sha.empty() || it->head_sha == head_sha) &&
            (status.empty() || it->status == status || it->conclusion == status))
          all.push_back(&*it);
    json list = json::array();
    for (size_t i = 0; i < all.size(); ++i)
      if (page->Holds(i)) list.push_back(RunJson(*all[i]));
    const std::string links = page->Links(all.size(), [&](long p) {
      return Base() + "/repos/" + flags_.repo + "/actions/workflows/" + workflow +
             "/runs?per_page=" + std::to_string(page->per_page()) + "&page=" + std::to_string(p);
    }, /*always_ends=*/false);
    if (!links.empty()) res.set_header("Link", links);
    res.set_content(json{{"total_count", all.size()}, {"workflow_runs", list}}.dump(), "application/json");
  }

  // The repository's artifacts, or (with a run id in the path) the run's.
  void ListArtifacts(const httplib::Request& req, httplib::Response& res) {
    const long run = req.matches.size() > 2 ? std::stol(req.matches[2]) : 0;
    std::lock_guard<std::mutex> lock(mu_);
    if (run && !FindRun(run)) return Error(res, 404, "Not Found");
    json list = json::array();
    for (auto it = artifacts_.rbegin(); it != artifacts_.rend(); ++it) {
      if (req.has_param("name") && it->name != req.get_param_value("name")) continue;
      if (run && it->run != run) continue;
      const Run& r = *FindRun(it->run);
      list.push_back(
          {{"id", it->id},
           {"name", it->name},
           {"size_in_bytes", it->zip.size()},
           {"archive_download_url", Base() + "/repos/" + flags_.repo + "/actions/artifacts/" +
                                        std::to_string(it->id) + "/zip"},
           {"expired", it->expired},
           {"created_at", it->created_at},
           {"workflow_run", {{"id", r.id},
                             {"repository_id", kRepositoryId},
                             {"head_repository_id", r.fork ? kForkRepositoryId : kRepositoryId},
                             {"head_branch", HeadBranch(r)},
                             {"head_sha", r.head_sha}}}});
    }
    res.set_content(json{{"total_count", list.size()}, {"artifacts", list}}.dump(), "application/json");
  }

  const Artifact* FindArtifact(long id) const {
    for (const auto& a : artifacts_)
      if (a.id == id) return &a;
    return nullptr;
  }

  void DownloadArtifact(const httplib::Request& req, httplib::Response& res) {
    const long id = std::stol(req.matches[2]);
    std::lock_guard<std::mutex> lock(mu_);
    const Artifact* a = FindArtifact(id);
    if (!a) return Error(res, 404, "Not Found");
    if (a->expired) return Error(res, 410, "Artifact has expired");
    res.status = 302;
    res.set_header("Location", "http://127.0.0.1:" + std::to_string(storage_port_) + "/storage/" +
                                   std::to_string(id) + ".zip");
  }

  void Storage(const httplib::Request& req, httplib::Response& res) {
    std::lock_guard<std::mutex> lock(mu_);
    const Artifact* a = FindArtifact(std::stol(req.matches[1]));
    if (!a) {
      res.status = 404;
      return;
    }
    res.set_content(a->zip, "application/zip");
  }

  void SeedComments(const httplib::Request& req, httplib::Response& res) {
    const long issue = ToLong(req.get_param_value("issue")).value_or(0);
    const long count = ToLong(req.get_param_value("count")).value_or(1);
    const std::string author = req.has_param("author") ? req.get_param_value("author") : "octocat";
    std::lock_guard<std::mutex> lock(mu_);
    for (long i = 1; i <= count; ++i) {
      Comment c;
      c.id = next_id_++;
      c.issue = issue;
      c.body = req.body.empty() ? "Comment " + std::to_string(i) + " by " + author + "." : req.body;
      c.author = author;
      c.created_at = c.updated_at = EventTime(++clock_);
      comments_.push_back(c);
    }
    res.set_content("{}", "application/json");
  }

  void SeedPull(const httplib::Request& req, httplib::Response& res) {
    std::lock_guard<std::mutex> lock(mu_);
    Pull p;
    p.number = ToLong(req.get_param_value("number")).value_or(0);
    p.head_sha = req.get_param_value("head_sha");
    p.merged_at = EventTime(++clock_);
    pulls_[req.get_param_value("commit")].push_back(p);
    res.set_content("{}", "application/json");
  }

  void SeedRun(const httplib::Request& req, httplib::Response& res) {
    std::lock_guard<std::mutex> lock(mu_);
    Run r;
    r.id = next_id_++;
    r.workflow = req.get_param_value("workflow");
    r.event = req.get_param_value("event");
    r.head_sha = req.get_param_value("head_sha");
    r.fork = req.get_param_value("fork") == "1";
    r.created_at = r.updated_at = EventTime(++clock_);
    runs_.push_back(r);
    res.set_content(json{{"id", r.id}}.dump(), "application/json");
  }

  void CompleteRun(const httplib::Request& req, httplib::Response& res) {
    std::lock_guard<std::mutex> lock(mu_);
    for (auto& r : runs_) {
      if (r.id != ToLong(req.get_param_value("id")).value_or(0)) continue;
      r.status = "completed";
      r.conclusion = req.get_param_value("conclusion");
      r.updated_at = EventTime(++clock_);
      res.set_content("{}", "application/json");
      return;
    }
    Error(res, 404, "no such run");
  }

  void SeedArtifact(const httplib::Request& req, httplib::Response& res) {
    std::lock_guard<std::mutex> lock(mu_);
    Artifact a;
    a.id = next_id_++;
    a.run = ToLong(req.get_param_value("run")).value_or(0);
    if (!FindRun(a.run)) return Error(res, 404, "no such run");
    a.name = req.get_param_value("name");
    a.expired = req.get_param_value("expired") == "1";
    a.zip = req.body;
    a.created_at = EventTime(++clock_);
    artifacts_.push_back(a);
    res.set_content(json{{"id", a.id}}.dump(), "application/json");
  }

  void DumpComments(const httplib::Request& req, httplib::Response& res) {
    const long issue = ToLong(req.get_param_value("issue")).value_or(0);
    std::lock_guard<std::mutex> lock(mu_);
    json out = json::array();
    for (const auto& c : comments_)
      if (c.issue == issue)
        out.push_back({{"id", c.id}, {"body", c.body}, {"author", c.author}, {"edits", c.edits}});
    res.set_content(out.dump(), "application/json");
  }

  static constexpr long kRepositoryId = 1296269, kForkRepositoryId = 2002, kWorkflowId = 161335;
  const Flags flags_;
  int port_ = 0, storage_port_ = 0;
  std::mutex mu_;
  long next_id_ = 1000;                              // guarded by mu_
  long clock_ = 0;                                   // guarded by mu_
  std::vector<Comment> comments_;                    // guarded by mu_, oldest first
  std::map<std::string, std::vector<Pull>> pulls_;   // guarded by mu_, by commit
  std::vector<Run> runs_;                            // guarded by mu_, oldest first
  std::vector<Artifact> artifacts_;                  // guarded by mu_, oldest first
  RequestLog requests_;
};

}  // namespace

int main(int argc, char** argv) {
  Flags flags = ParseFlags(argc, argv);
  GithubApi api(flags);
  httplib::Server server;
  StorageListener storage;
  api.Register(&server);
  api.RegisterStorage(&storage.server());
  const int storage_port = storage.Start(kProgram);
  return Serve(kProgram, server, flags.port, [&](int port) { api.SetPorts(port, storage_port); });
}
