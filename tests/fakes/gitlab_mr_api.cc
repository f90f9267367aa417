// gitlab_mr_api: a loopback fake of the merge-request side of GitLab's REST API v4, the
// calls examples/ci/gitlab-ci.yml makes (notes, merged merge requests, pipeline jobs, job
// artifacts), so tests/e2e/gitlab_workflow_test.cc can run the file's own scripts
// against it. Everything lives in memory. (tests/fakes/gitlab.cc is GitLab's container
// registry side.) Sources: docs.gitlab.com/api/notes (merge request notes),
// /api/merge_requests, /api/jobs (list pipeline jobs), /api/job_artifacts (download a
// single artifact file by job ID), /api/rest (pagination). "[?]" marks a behaviour no
// source pins.
//
// Every call needs `PRIVATE-TOKEN: T` (or `Authorization: Bearer T`) with --token's value:
// none or another is 401 {"message":"401 Unauthorized"}. The token is the project's bot
// user, id 9001, username project_N_bot; other authors get ids from 100 on.
//   GET  /api/v4/user   the token's user: {"id","username","name","bot":true}
// Only --project-id N exists; any other is 404 {"message":"404 Project Not Found"}.
// Under /api/v4/projects/N:
//   GET  /merge_requests/IID/notes?per_page=&page=&sort=asc|desc&order_by=created_at
//        the notes, newest first unless sort=asc (GitLab's default is desc), per_page 1..100
//        (default 20), page from 1; X-Page, X-Per-Page, X-Next-Page and X-Prev-Page (""
//        at the ends), X-Total, X-Total-Pages, and Link with rel="prev", "next",
//        "first", "last" in that order (absolute URLs on this fake)
//   POST /merge_requests/IID/notes          {"body":"…"} → 201 the note; every note has
//        "author":{"id","username"}
//   PUT  /merge_requests/IID/notes/NOTE_ID  {"body":"…"} → 200 the note; 404 {"message":
//        "404 Not found"} for a note of another merge request or none
//        A body missing or not a string is 400 {"error":"body is missing"}; longer than
//        1,000,000 characters 400 [?: message] "Note is too long (maximum is 1000000
//        characters)". Form-encoded bodies are not understood (the workflow sends JSON).
//   GET  /merge_requests?state=merged&target_branch=B&order_by=updated_at&sort=desc
//        the registered merged merge requests into B, newest first:
//        [{"iid","state","sha","merge_commit_sha","squash_commit_sha","target_branch"}]
//   GET  /merge_requests/IID   the merge request with "head_pipeline":{"id","sha",
//        "status"} (null before any pipeline)
//   GET  /pipelines/P/jobs?scope[]=success   [{"id","name","status"}], filtered by scope
//   GET  /jobs/J/artifacts/PATH               302 to the artifact file on "storage" (as
//        GitLab does with artifacts in object storage): a second listener of this fake
//        on another port, which answers 401 to a request carrying a token (PRIVATE-TOKEN
//        or Authorization), so a client that sends it past the redirect fails. 404
//        {"message":"404 Not Found"} [?: message] when the job has no such file.
//
// Test hooks (not logged in /fake/requests):
//   POST /fake/notes?mr=IID&count=K&author=A        K notes "Note I by A." on IID, or
//        each with the request's body when it has one
//   POST /fake/pipelines?mr=IID&sha=S&status=success|failed   body: plan.bin, or empty
//        for none; a pipeline with one job "crossdock-plan" of that status holding the
//        file plan.bin; it becomes IID's head pipeline (IID is created open if new)
//   POST /fake/merged?mr=IID&merge_commit_sha=M&target_branch=B   IID was merged as M
//   GET  /fake/notes?mr=IID   [{"id","body","author","edits"}] oldest first
//   GET  /fake/requests       ["METHOD /path?query", …] every API request so far
// Every answer is also logged on stdout: METHOD TARGET STATUS.
//
// Flags: --port P (0: any), --token T, --project-id N. Prints "listening on
// 127.0.0.1:P" then "ready" once it accepts connections.

#include "tests/fakes/forge_api.h"

namespace {

using namespace crossdock::fakes;
using nlohmann::json;

constexpr const char* kProgram = "gitlab_mr_api";

struct Flags {
  int port = 0;
  std::string token;
  std::string project_id;
};

Flags ParseFlags(int argc, char** argv) {
  ForgeFlags f = ParseForgeFlags(kProgram, argc, argv, {"--token", "--project-id"});
  Flags flags{f.port, f.values["--token"], f.values["--project-id"]};
  if (!ToLong(flags.project_id)) Die(kProgram, "--project-id wants a number");
  return flags;
}

struct Note {
  long id = 0;
  long mr = 0;
  std::string body, author, created_at, updated_at;
  int edits = 0;
};

struct Job {
  long id = 0;
  std::string name, status;
  std::map<std::string, std::string> files;
};

struct Pipeline {
  long id = 0;
  std::string sha, status;
  std::vector<Job> jobs;
};

struct MergeRequest {
  long iid = 0;
  std::string state = "opened";
  std::string sha;  // head
  std::string merge_commit_sha, target_branch = "main";
  long head_pipeline = 0;  // 0: none
  long updated = 0;        // event number
};

class GitlabMrApi {
 public:
  explicit GitlabMrApi(Flags flags) : flags_(std::move(flags)) {}
  void SetPorts(int port, int storage_port) {
    port_ = port;
    storage_port_ = storage_port;
  }

  void RegisterStorage(httplib::Server* storage) {
    storage->Get(R"(/storage/jobs/(\d+)/(.+))", [this](const auto& req, auto& res) { Storage(req, res); });
  }

  void Register(httplib::Server* server) {
    const std::string p = "/api/v4/projects/([^/]+)";
    server->Get("/api/v4/user", [this](const auto& req, auto& res) {
      if (Authenticated(req, res)) CurrentUser(res);
    });
    server->Get(p + R"(/merge_requests/(\d+)/notes)", [this](const auto& req, auto& res) {
      if (Api(req, res)) ListNotes(req, res);
    });
    server->Post(p + R"(/merge_requests/(\d+)/notes)", [this](const auto& req, auto& res) {
      if (Api(req, res)) CreateNote(req, res);
    });
    server->Put(p + R"(/merge_requests/(\d+)/notes/(\d+))", [this](const auto& req, auto& res) {
      if (Api(req, res)) UpdateNote(req, res);
    });
    server->Get(p + R"(/merge_requests)", [this](const auto& req, auto& res) {
      if (Api(req, res)) ListMergeRequests(req, res);
    });
    server->Get(p + R"(/merge_requests/(\d+))", [this](const auto& req, auto& res) {
      if (Api(req, res)) GetMergeRequest(req, res);
    });
    server->Get(p + R"(/pipelines/(\d+)/jobs)", [this](const auto& req, auto& res) {
      if (Api(req, res)) ListJobs(req, res);
    });
    server->Get(p + R"(/jobs/(\d+)/artifacts/(.+))", [this](const auto& req, auto& res) {
      if (Api(req, res)) Artifact(req, res);
    });
    server->Post("/fake/notes", [this](const auto& req, auto& res) { SeedNotes(req, res); });
    server->Post("/fake/pipelines", [this](const auto& req, auto& res) { SeedPipeline(req, res); });
    server->Post("/fake/merged", [this](const auto& req, auto& res) { SeedMerged(req, res); });
    server->Get("/fake/notes", [this](const auto& req, auto& res) { DumpNotes(req, res); });
    server->Get("/fake/requests", [this](const auto&, auto& res) {
      res.set_content(requests_.Json(), "application/json");
    });
  }

 private:
  static void Error(httplib::Response& res, int status, const std::string& message) {
    res.status = status;
    res.set_content(json{{"message", message}}.dump(), "application/json");
  }

  // Records the request and checks the token; answers and returns false when the request
  // goes no further.
  bool Authenticated(const httplib::Request& req, httplib::Response& res) {
    requests_.Add(req);
    const std::string token = req.has_header("PRIVATE-TOKEN") ? req.get_header_value("PRIVATE-TOKEN")
                                                              : req.get_header_value("Authorization");
    if (token != flags_.token && token != "Bearer " + flags_.token) {
      Error(res, 401, "401 Unauthorized");
      return false;
    }
    return true;
  }

  // Authenticated, and for the project --project-id names.
  bool Api(const httplib::Request& req, httplib::Response& res) {
    if (!Authenticated(req, res)) return false;
    if (req.matches[1] != flags_.project_id) {
      Error(res, 404, "404 Project Not Found");
      return false;
    }
    return true;
  }

  std::string Base() const { return "http://127.0.0.1:" + std::to_string(port_); }

  std::string BotName() const { return "project_" + flags_.project_id + "_bot"; }

  // The user id of USERNAME: 9001 for the token's bot, else one from 100 on, the same
  // every time. REQUIRES: mu_ held.
  long UserId(const std::string& username) {
    if (username == BotName()) return kBotId;
    auto [it, added] = user_ids_.try_emplace(username, 100 + static_cast<long>(user_ids_.size()));
    return it->second;
  }

  void CurrentUser(httplib::Response& res) {
    res.set_content(json{{"id", kBotId}, {"username", BotName()}, {"name", "crossdock"}, {"bot", true}}.dump(),
                    "application/json");
  }

  // REQUIRES: mu_ held.
  json NoteJson(const Note& n) {
    return {{"id", n.id},
            {"type", nullptr},
            {"body", n.body},
            {"author", {{"id", UserId(n.author)}, {"username", n.author}}},
            {"created_at", n.created_at},
            {"updated_at", n.updated_at},
            {"system", false},
            {"noteable_type", "MergeRequest"},
            {"noteable_iid", n.mr}};
  }

  MergeRequest& Mr(long iid) {
    MergeRequest& mr = mrs_[iid];
    mr.iid = iid;
    return mr;
  }

  void ListNotes(const httplib::Request& req, httplib::Response& res) {
    const long mr = std::stol(req.matches[2]);
    auto page = Page::Parse(req, 20, res);
    if (!page) return;
    const std::string sort = req.has_param("sort") ? req.get_param_value("sort") : "desc";
    std::lock_guard<std::mutex> lock(mu_);
    std::vector<const Note*> all;
    for (const auto& n : notes_)
      if (n.mr == mr) all.push_back(&n);
    if (sort == "desc") std::reverse(all.begin(), all.end());
    json body = json::array();
    for (size_t i = 0; i < all.size(); ++i)
      if (page->Holds(i)) body.push_back(NoteJson(*all[i]));
    const long p = page->page(), last = page->Last(all.size());
    res.set_header("Link", page->Links(all.size(), [&](long to) {
      return Base() + "/api/v4/projects/" + flags_.project_id + "/merge_requests/" + std::to_string(mr) +
             "/notes?order_by=created_at&page=" + std::to_string(to) +
             "&per_page=" + std::to_string(page->per_page()) + "&sort=" + sort;
    }, /*always_ends=*/true));
    res.set_header("X-Page", std::to_string(p));
    res.set_header("X-Per-Page", std::to_string(page->per_page()));
    res.set_header("X-Next-Page", p < last ? std::to_string(p + 1) : "");
    res.set_header("X-Prev-Page", p > 1 ? std::to_string(std::min(p - 1, last)) : "");
    res.set_header("X-Total", std::to_string(all.size()));
    res.set_header("X-Total-Pages", std::to_string(last));
    res.set_content(body.dump(), "application/json");
  }

  std::optional<std::string> Body(const httplib::Request& req, httplib::Response& res) {
    json in = json::parse(req.body, nullptr, false);
    if (in.is_discarded() || !in.is_object() || !in.contains("body") || !in["body"].is_string()) {
      res.status = 400;
      res.set_content(json{{"error", "body is missing"}}.dump(), "application/json");
      return std::nullopt;
    }
    std::string body = in["body"].get<std::string>();
    if (CodePoints(body) > 1000000) {
      res.status = 400;
      res.set_content(json{{"message", {{"note", {"Note is too long (maximum is 1000000 characters)"}}}}}.dump(),
                      "application/json");
      return std::nullopt;
    }
    return body;
  }

  void CreateNote(const httplib::Request& req, httplib::Response& res) {
    auto body = Body(req, res);
    if (!body) return;
    std::lock_guard<std::mutex> lock(mu_);
    Note n;
    n.id = next_id_++;
    n.mr = std::stol(req.matches[2]);
    n.body = *body;
    n.author = BotName();
    n.created_at = n.updated_at = EventTime(++clock_, /*fraction=*/true);
    notes_.push_back(n);
    res.status = 201;
    res.set_content(NoteJson(n).dump(), "application/json");
  }

  void UpdateNote(const httplib::Request& req, httplib::Response& res) {
    auto body = Body(req, res);
    if (!body) return;
    const long mr = std::stol(req.matches[2]), id = std::stol(req.matches[3]);
    std::lock_guard<std::mutex> lock(mu_);
    for (auto& n : notes_) {
      if (n.id != id || n.mr != mr) continue;
      n.body = *body;
      n.updated_at = EventTime(++clock_, /*fraction=*/true);
      ++n.edits;
      res.set_content(NoteJson(n).dump(), "application/json");
      return;
    }
    Error(res, 404, "404 Not found");
  }

  void ListMergeRequests(const httplib::Request& req, httplib::Response& res) {
    const std::string state = req.get_param_value("state");
    const std::string target = req.get_param_value("target_branch");
    std::lock_guard<std::mutex> lock(mu_);
    std::vector<const MergeRequest*> list;
    for (const auto& [iid, mr] : mrs_)
      if ((state.empty() || mr.state == state) && (target.empty() || mr.target_branch == target))
        list.push_back(&mr);
    std::sort(list.begin(), list.end(), [](auto* a, auto* b) { return a->updated > b->updated; });
    json out = json::array();
    for (const auto* mr : list)
      out.push_back({{"iid", mr->iid},
                     {"state", mr->state},
                     {"sha", mr->sha},
                     {"merge_commit_sha", mr->merge_commit_sha.empty() ? json(nullptr) : json(mr->merge_commit_sha)},
                     {"squash_commit_sha", nullptr},
                     {"target_branch", mr->target_branch}});
    res.set_content(out.dump(), "application/json");
  }

  const Pipeline* FindPipeline(long id) const {
    for (const auto& p : pipelines_)
      if (p.id == id) return &p;
    return nullptr;
  }

  void GetMergeRequest(const httplib::Request& req, httplib::Response& res) {
    std::lock_guard<std::mutex> lock(mu_);
    auto it = mrs_.find(std::stol(req.matches[2]));
    if (it == mrs_.end()) return Error(res, 404, "404 Not found");
    const MergeRequest& mr = it->second;
    json head = nullptr;
    if (const Pipeline* p = FindPipeline(mr.head_pipeline))
      head = {{"id", p->id}, {"sha", p->sha}, {"status", p->status}};
    res.set_content(json{{"iid", mr.iid},
                         {"state", mr.state},
                         {"sha", mr.sha},
                         {"merge_commit_sha", mr.merge_commit_sha.empty() ? json(nullptr) : json(mr.merge_commit_sha)},
                         {"target_branch", mr.target_branch},
                         {"head_pipeline", head}}
                        .dump(),
                    "application/json");
  }

  void ListJobs(const httplib::Request& req, httplib::Response& res) {
    std::lock_guard<std::mutex> lock(mu_);
    const Pipeline* p = FindPipeline(std::stol(req.matches[2]));
    if (!p) return Error(res, 404, "404 Not found");
    std::vector<std::string> scopes;
    for (size_t i = 0; i < req.get_param_value_count("scope[]"); ++i)
      scopes.push_back(req.get_param_value("scope[]", i));
    json out = json::array();
    for (const auto& j : p->jobs)
      if (scopes.empty() || std::find(scopes.begin(), scopes.end(), j.status) != scopes.end())
        out.push_back({{"id", j.id}, {"name", j.name}, {"status", j.status}});
    res.set_content(out.dump(), "application/json");
  }

  // Job ID's artifact file PATH, or null.
  const std::string* FindFile(long id, const std::string& path) const {
    for (const auto& p : pipelines_)
      for (const auto& j : p.jobs)
        if (j.id == id) {
          auto f = j.files.find(path);
          return f == j.files.end() ? nullptr : &f->second;
        }
    return nullptr;
  }

  void Artifact(const httplib::Request& req, httplib::Response& res) {
    const long id = std::stol(req.matches[2]);
    std::lock_guard<std::mutex> lock(mu_);
    if (!FindFile(id, req.matches[3])) return Error(res, 404, "404 Not Found");
    res.status = 302;
    res.set_header("Location", "http://127.0.0.1:" + std::to_string(storage_port_) + "/storage/jobs/" +
                                   std::to_string(id) + "/" + std::string(req.matches[3]));
  }

  void Storage(const httplib::Request& req, httplib::Response& res) {
    std::lock_guard<std::mutex> lock(mu_);
    const std::string* file = FindFile(std::stol(req.matches[1]), req.matches[2]);
    if (!file) {
      res.status = 404;
      return;
    }
    res.set_content(*file, "application/octet-stream");
  }

  void SeedNotes(const httplib::Request& req, httplib::Response& res) {
    const long mr = ToLong(req.get_param_value("mr")).value_or(0);
    const long count = ToLong(req.get_param_value("count")).value_or(1);
    const std::string author = req.has_param("author") ? req.get_param_value("author") : "reviewer";
    std::lock_guard<std::mutex> lock(mu_);
    for (long i = 1; i <= count; ++i) {
      Note n;
      n.id = next_id_++;
      n.mr = mr;
      n.body = req.body.empty() ? "Note " + std::to_string(i) + " by " + author + "." : req.body;
      n.author = author;
      n.created_at = n.updated_at = EventTime(++clock_, /*fraction=*/true);
      notes_.push_back(n);
    }
    res.set_content("{}", "application/json");
  }

  void SeedPipeline(const httplib::Request& req, httplib::Response& res) {
    std::lock_guard<std::mutex> lock(mu_);
    Pipeline p;
    p.id = next_id_++;
    p.sha = req.get_param_value("sha");
    p.status = req.get_param_value("status");
    Job j;
    j.id = next_id_++;
    j.name = "crossdock-plan";
    j.status = p.status;
    if (!req.body.empty()) j.files["plan.bin"] = req.body;
    p.jobs.push_back(j);
    pipelines_.push_back(p);
    MergeRequest& mr = Mr(ToLong(req.get_param_value("mr")).value_or(0));
    mr.sha = p.sha;
    mr.head_pipeline = p.id;
    mr.updated = ++clock_;
    res.set_content(json{{"id", p.id}, {"job", j.id}}.dump(), "application/json");
  }

  void SeedMerged(const httplib::Request& req, httplib::Response& res) {
    std::lock_guard<std::mutex> lock(mu_);
    MergeRequest& mr = Mr(ToLong(req.get_param_value("mr")).value_or(0));
    mr.state = "merged";
    mr.merge_commit_sha = req.get_param_value("merge_commit_sha");
    if (req.has_param("target_branch")) mr.target_branch = req.get_param_value("target_branch");
    mr.updated = ++clock_;
    res.set_content("{}", "application/json");
  }

  void DumpNotes(const httplib::Request& req, httplib::Response& res) {
    const long mr = ToLong(req.get_param_value("mr")).value_or(0);
    std::lock_guard<std::mutex> lock(mu_);
    json out = json::array();
    for (const auto& n : notes_)
      if (n.mr == mr) out.push_back({{"id", n.id}, {"body", n.body}, {"author", n.author}, {"edits", n.edits}});
    res.set_content(out.dump(), "application/json");
  }

  static constexpr long kBotId = 9001;
  const Flags flags_;
  int port_ = 0, storage_port_ = 0;
  std::mutex mu_;
  std::map<std::string, long> user_ids_;      // guarded by mu_, by username
  long next_id_ = 500;                        // guarded by mu_
  long clock_ = 0;                            // guarded by mu_
  std::vector<Note> notes_;                   // guarded by mu_, oldest first
  std::map<long, MergeRequest> mrs_;          // guarded by mu_, by iid
  std::vector<Pipeline> pipelines_;           // guarded by mu_
  RequestLog requests_;
};

}  // namespace

int main(int argc, char** argv) {
  Flags flags = ParseFlags(argc, argv);
  GitlabMrApi api(flags);
  httplib::Server server;
  StorageListener storage;
  api.Register(&server);
  api.RegisterStorage(&storage.server());
  const int storage_port = storage.Start(kProgram);
  return Serve(kProgram, server, flags.port, [&](int port) { api.SetPorts(port, storage_port); });
}
