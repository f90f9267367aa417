// examples/kubernetes/ as shipped, checked against the crossdock under test: every
// manifest parses (yaml-cpp); pod I of the CronJob's Indexed Job runs `--shard I/N`
// with N = completions = parallelism; each container's subcommand and flags are ones
// `crossdock SUB --help` lists; every variable the command or the mounted config
// reads comes from the Secret the README creates; the config is mounted where
// --config points, in a writable folder; serve answers its probes on the port the
// Service targets; the config passes `crossdock validate`. No Kubernetes runs here:
// what the test relies on of it is restated where it is used.
#include <gtest/gtest.h>
#include <toml++/toml.h>
#include <yaml-cpp/yaml.h>

#include <filesystem>
#include <map>
#include <optional>
#include <regex>
#include <set>
#include <sstream>

#include "core/config.h"
#include "core/duration.h"
#include "core/shard.h"
#include "tests/support/harness.h"

namespace crossdock::testing {
namespace {

namespace fs = std::filesystem;

std::string Source(const std::string& path) {
  const char* src = std::getenv("CROSSDOCK_SRC");
  return std::string(src ? src : ".") + "/" + path;
}

// Every document of every examples/kubernetes/*.yaml. Throws HarnessError naming the
// file that does not parse or a document without apiVersion, kind and metadata.name.
std::vector<YAML::Node> Manifests() {
  std::vector<YAML::Node> docs;
  for (const auto& entry : fs::directory_iterator(Source("examples/kubernetes"))) {
    if (entry.path().extension() != ".yaml" && entry.path().extension() != ".yml") continue;
    std::vector<YAML::Node> file;
    try {
      file = YAML::LoadAllFromFile(entry.path().string());
    } catch (const YAML::Exception& e) {
      throw HarnessError(entry.path().string() + ": " + e.what());
    }
    for (const YAML::Node& doc : file) {
      if (doc.IsNull()) continue;
      if (!doc["apiVersion"] || !doc["kind"] || !doc["metadata"]["name"])
        throw HarnessError(entry.path().string() + ": a document without apiVersion, kind or metadata.name");
      docs.push_back(doc);
    }
  }
  if (docs.empty()) throw HarnessError("no manifest under examples/kubernetes");
  return docs;
}

YAML::Node Object(const std::vector<YAML::Node>& docs, const std::string& kind,
                  const std::string& name = "") {
  for (const YAML::Node& d : docs)
    if (d["kind"].as<std::string>() == kind &&
        (name.empty() || d["metadata"]["name"].as<std::string>() == name))
      return d;
  throw HarnessError("examples/kubernetes has no " + kind + (name.empty() ? "" : " " + name));
}

std::string Str(const YAML::Node& n) { return n ? n.as<std::string>() : ""; }

// One crossdock container and the pod spec around it.
struct Pod {
  std::string what;  // "CronJob crossdock-apply"
  YAML::Node spec;   // the pod spec
  YAML::Node container;
  std::vector<std::string> argv;  // command + args, as written
};

Pod PodOf(const YAML::Node& object, const YAML::Node& spec) {
  Pod p{object["kind"].as<std::string>() + " " + object["metadata"]["name"].as<std::string>(), spec, {}, {}};
  if (spec["containers"].size() != 1) throw HarnessError(p.what + ": expected one container");
  p.container = spec["containers"][0];
  for (const char* field : {"command", "args"})
    for (const YAML::Node& a : p.container[field]) p.argv.push_back(a.as<std::string>());
  if (p.argv.size() < 2 || p.argv[0] != "crossdock")
    throw HarnessError(p.what + " does not run crossdock SUBCOMMAND");
  return p;
}
Pod CronJobPod(const std::vector<YAML::Node>& docs) {
  YAML::Node cron = Object(docs, "CronJob");
  return PodOf(cron, cron["spec"]["jobTemplate"]["spec"]["template"]["spec"]);
}
Pod ServePod(const std::vector<YAML::Node>& docs) {
  YAML::Node deploy = Object(docs, "Deployment");
  return PodOf(deploy, deploy["spec"]["template"]["spec"]);
}
std::vector<Pod> Pods(const std::vector<YAML::Node>& docs) { return {CronJobPod(docs), ServePod(docs)}; }

// The container's env: name -> its entry.
std::map<std::string, YAML::Node> Env(const Pod& pod) {
  std::map<std::string, YAML::Node> env;
  for (const YAML::Node& e : pod.container["env"]) env[e["name"].as<std::string>()] = e;
  return env;
}

// The container's environment as crossdock sees it, each secret a placeholder.
std::map<std::string, std::string> Environment(const Pod& pod) {
  std::map<std::string, std::string> env;
  for (const auto& [name, e] : Env(pod))
    env[name] = e["value"] ? e["value"].as<std::string>() : "k8s-test-secret";
  return env;
}

// TEXT with $(NAME) replaced by VARS[NAME], as Kubernetes expands a container's command
// and args from its env: $$ is a literal $, and a $(NAME) of no variable stays as it is.
std::string Expand(const std::string& text, const std::map<std::string, std::string>& vars) {
  std::string out;
  for (size_t i = 0; i < text.size(); ++i) {
    if (text[i] == '$' && i + 1 < text.size() && text[i + 1] == '$') {
      out += '$';
      ++i;
    } else if (text.compare(i, 2, "$(") == 0 && text.find(')', i) != std::string::npos) {
      const size_t close = text.find(')', i);
      auto v = vars.find(text.substr(i + 2, close - i - 2));
      out += v != vars.end() ? v->second : text.substr(i, close - i + 1);
      i = close;
    } else {
      out += text[i];
    }
  }
  return out;
}

// The names inside $(…) in ARGV.
std::set<std::string> References(const std::vector<std::string>& argv) {
  std::set<std::string> names;
  static const std::regex kRef(R"(\$\(([^)]*)\))");
  for (const std::string& a : argv)
    for (std::sregex_iterator m(a.begin(), a.end(), kRef), end; m != end; ++m) names.insert((*m)[1]);
  return names;
}

// The options of `crossdock SUB --help` as Boost prints them ("  -c [ --config ] arg
// (=…)", "  --due   …"): long name -> whether it takes a value; short "-c" as "c".
std::map<std::string, bool> HelpOptions(const std::string& sub, std::map<std::string, std::string>* shorts) {
  RunResult help = RunCrossdock({sub, "--help"});
  if (help.exit_code != 0 || help.out.find("Usage: crossdock " + sub) == std::string::npos)
    throw HarnessError("crossdock " + sub + " --help failed (exit " + std::to_string(help.exit_code) +
                       "): " + help.out + help.err);
  static const std::regex kOption(R"(^  (?:-(\w) \[ --([\w-]+) \]|--([\w-]+))( arg)?(?: |$))");
  std::map<std::string, bool> options;
  std::istringstream lines(help.out);
  for (std::string line; std::getline(lines, line);) {
    std::smatch m;
    if (!std::regex_search(line, m, kOption)) continue;
    const std::string name = m[2].matched ? m[2].str() : m[3].str();
    options[name] = m[4].matched;
    if (m[1].matched) (*shorts)[m[1]] = name;
  }
  return options;
}

// ARGV (crossdock SUB …) read as SUB's --help says it reads its options: option ->
// value ("" for a switch). Adds a failure for an option SUB lacks, a value missing or
// given to a switch, and any positional argument.
std::map<std::string, std::string> ParseOptions(const Pod& pod) {
  std::map<std::string, std::string> shorts, values;
  const std::map<std::string, bool> options = HelpOptions(pod.argv[1], &shorts);
  for (size_t i = 2; i < pod.argv.size(); ++i) {
    const std::string& a = pod.argv[i];
    std::string name = a.starts_with("--") ? a.substr(2, a.find('=') - 2) : "";
    if (a.size() == 2 && a[0] == '-' && shorts.count(a.substr(1))) name = shorts[a.substr(1)];
    if (name.empty()) {
      ADD_FAILURE() << pod.what << ": \"" << a << "\" is no option of crossdock " << pod.argv[1];
      continue;
    }
    auto o = options.find(name);
    if (o == options.end()) {
      ADD_FAILURE() << pod.what << ": crossdock " << pod.argv[1] << " --help lists no --" << name;
      continue;
    }
    const bool inline_value = a.starts_with("--") && a.find('=') != std::string::npos;
    if (!o->second) {
      EXPECT_FALSE(inline_value) << pod.what << ": --" << name << " takes no value";
      values[name] = "";
    } else if (inline_value) {
      values[name] = a.substr(a.find('=') + 1);
    } else if (i + 1 < pod.argv.size()) {
      values[name] = pod.argv[++i];
    } else {
      ADD_FAILURE() << pod.what << ": --" << name << " lacks its value";
    }
  }
  return values;
}

// What the pod has at PATH, found as the kubelet mounts volumes: the volumeMount with
// the longest mountPath that is PATH or a folder above it (a subPath mount of a file
// only at its own path).
struct Mounted {
  std::string type;    // the volume's source: "configMap", "secret", "emptyDir", …
  std::string source;  // the ConfigMap's or Secret's name
  std::string key;     // the key at PATH ("" for the folder of a whole volume)
  bool read_only = false;
};
std::optional<Mounted> At(const Pod& pod, const std::string& path) {
  // Indexes, not a YAML::Node: assigning one Node to another rewrites the document.
  const YAML::Node mounts = pod.container["volumeMounts"];
  std::optional<size_t> best;
  std::string rel;
  for (size_t i = 0; i < mounts.size(); ++i) {
    const std::string mount = Str(mounts[i]["mountPath"]), sub = Str(mounts[i]["subPath"]);
    std::string r;
    if (path == mount) {
      r = sub;
    } else if (path.starts_with(mount + "/")) {
      r = (sub.empty() ? "" : sub + "/") + path.substr(mount.size() + 1);
    } else {
      continue;
    }
    if (best && Str(mounts[*best]["mountPath"]).size() >= mount.size()) continue;
    best = i;
    rel = r;
  }
  if (!best) return std::nullopt;
  const YAML::Node mount = mounts[*best];
  for (const YAML::Node& v : pod.spec["volumes"]) {
    if (Str(v["name"]) != Str(mount["name"])) continue;
    Mounted found{"", "", rel, mount["readOnly"] && mount["readOnly"].as<bool>()};
    for (const char* type : {"configMap", "secret", "emptyDir", "persistentVolumeClaim", "hostPath"}) {
      if (!v[type]) continue;
      found.type = type;
      found.source = Str(v[type][found.type == "secret" ? "secretName" : "name"]);
      for (const YAML::Node& item : v[type]["items"])
        if (Str(item["path"]) == rel) found.key = Str(item["key"]);
    }
    return found;
  }
  throw HarnessError(pod.what + " mounts a volume it does not define: " + Str(mount["name"]));
}

// The keys of Secret crossdock as the README's `kubectl create secret generic
// crossdock` command creates them (--from-literal=KEY=…, --from-file=KEY=…).
std::set<std::string> ReadmeSecretKeys() {
  const std::string readme = ReadFile(Source("README.md"));
  const size_t start = readme.find("kubectl create secret generic crossdock");
  if (start == std::string::npos)
    throw HarnessError("README.md has no `kubectl create secret generic crossdock`");
  size_t end = start;
  while ((end = readme.find('\n', end)) != std::string::npos && readme[end - 1] == '\\') ++end;
  const std::string command = readme.substr(start, end - start);
  std::set<std::string> keys;
  static const std::regex kKey(R"(--from-(?:literal|file)=([\w.-]+)=)");
  for (std::sregex_iterator m(command.begin(), command.end(), kKey), e; m != e; ++m) keys.insert((*m)[1]);
  return keys;
}

// The ConfigMap's crossdock.toml that the CronJob's pod mounts at --config.
std::string ConfigText(const std::vector<YAML::Node>& docs) {
  const Pod pod = CronJobPod(docs);
  const std::string path = ParseOptions(pod)["config"];
  std::optional<Mounted> m = At(pod, path);
  if (!m || m->type != "configMap") throw HarnessError(pod.what + " mounts no ConfigMap at --config " + path);
  const YAML::Node text = Object(docs, "ConfigMap", m->source)["data"][m->key];
  if (!text) throw HarnessError("ConfigMap " + m->source + " has no key " + m->key);
  return text.as<std::string>();
}

// [settings] state as written.
std::string StateSetting(const std::string& toml_text) {
  try {
    return toml::parse(toml_text)["settings"]["state"].value_or(std::string());
  } catch (const toml::parse_error& e) {
    throw HarnessError(std::string("the ConfigMap's crossdock.toml does not parse: ") + e.what());
  }
}

// The environment variables crossdock SUB needs from the pod for CONFIG: each env:NAME
// secret it resolves (endpoint passwords; the webhook token for serve) and PGPASSWORD
// for a PostgreSQL state (libpq; the URL holds no password).
std::set<std::string> NeededVariables(const core::Config& config, const std::string& state,
                                      const std::string& sub) {
  std::set<std::string> names;
  auto add = [&](const core::SecretRef& s) {
    if (s.spec.starts_with("env:")) names.insert(s.spec.substr(4));
  };
  for (const auto& [name, endpoint] : config.endpoints) add(endpoint.password);
  if (sub == "serve") add(config.settings.webhook_token);
  if (state.starts_with("postgres://") || state.starts_with("postgresql://")) names.insert("PGPASSWORD");
  return names;
}

class KubernetesExampleTest : public ::testing::Test {
 protected:
  KubernetesExampleTest() : docs_(Manifests()) {}

  // The ConfigMap's config, written out and loaded.
  core::Config LoadShippedConfig() {
    WriteFile(dir_.Sub("crossdock.toml"), ConfigText(docs_));
    core::Diagnostics diags;
    core::Config config = core::LoadConfig(dir_.Sub("crossdock.toml"), &diags);
    std::string errors;
    for (const auto& d : diags.items())
      if (d.severity == core::Severity::kError) errors += core::FormatDiagnostic(d) + "\n";
    EXPECT_EQ(errors, "") << "the ConfigMap's crossdock.toml";
    return config;
  }

  std::vector<YAML::Node> docs_;
  TempDir dir_{"crossdock-k8s"};
};

TEST_F(KubernetesExampleTest, PodIOfTheIndexedJobRunsShardIOfN) {
  YAML::Node job = Object(docs_, "CronJob")["spec"]["jobTemplate"]["spec"];
  EXPECT_EQ(Str(Object(docs_, "CronJob")["spec"]["concurrencyPolicy"]), "Forbid");
  EXPECT_EQ(Str(job["completionMode"]), "Indexed");
  EXPECT_TRUE(job["backoffLimitPerIndex"] || job["backoffLimit"]);
  const int n = job["completions"].as<int>();
  EXPECT_EQ(job["parallelism"].as<int>(), n) << "every shard at once: parallelism = completions";
  const Pod pod = CronJobPod(docs_);
  EXPECT_EQ(Str(pod.spec["restartPolicy"]), "Never");  // backoffLimitPerIndex requires it
  std::map<std::string, std::string> options = ParseOptions(pod);
  EXPECT_EQ(pod.argv[1], "apply");
  EXPECT_TRUE(options.count("due") && options.count("auto-approve"));
  const auto lock_timeout = core::ParseCliDuration(options["lock-timeout"]);
  EXPECT_TRUE(lock_timeout && lock_timeout->count() > 0)
      << "--lock-timeout \"" << options["lock-timeout"] << "\"";
  ASSERT_TRUE(options.count("shard"));
  ASSERT_NE(options["shard"].find("$(JOB_COMPLETION_INDEX)/"), std::string::npos) << options["shard"];

  // Kubernetes expands $(NAME) from the container's env, to which the Job controller
  // adds JOB_COMPLETION_INDEX (the pod's index) in an Indexed Job.
  std::map<std::string, std::string> vars;
  for (const auto& [name, e] : Env(pod))
    if (e["value"]) vars[name] = e["value"].as<std::string>();
  EXPECT_FALSE(vars.count("JOB_COMPLETION_INDEX")) << "the Job controller sets it";
  for (int i = 0; i < n; ++i) {
    vars["JOB_COMPLETION_INDEX"] = std::to_string(i);
    core::Result<core::Shard> shard = core::ParseShard(Expand(options["shard"], vars));
    ASSERT_TRUE(shard.ok()) << "pod " << i << ": " << shard.status().message();
    EXPECT_EQ(shard->index, i);
    EXPECT_EQ(shard->count, n) << "--shard's N must be completions (and parallelism)";
  }
}

TEST_F(KubernetesExampleTest, EveryVariableTheCommandOrConfigReadsIsDefinedFromTheSecret) {
  const core::Config config = LoadShippedConfig();
  const std::string state = StateSetting(ConfigText(docs_));
  const std::set<std::string> secret_keys = ReadmeSecretKeys();
  for (const Pod& pod : Pods(docs_)) {
    std::map<std::string, YAML::Node> env = Env(pod);
    for (const std::string& name : References(pod.argv)) {
      if (name == "JOB_COMPLETION_INDEX" && pod.what.starts_with("CronJob")) continue;
      ASSERT_TRUE(env.count(name)) << pod.what << ": $(" << name
                                   << ") is in no env entry, so it stays as written";
      EXPECT_TRUE(env[name]["value"]) << pod.what << ": $(" << name << ") is a secret on the command line";
    }
    for (const std::string& name : NeededVariables(config, state, pod.argv[1])) {
      ASSERT_TRUE(env.count(name)) << pod.what << " does not define " << name;
      const YAML::Node ref = env[name]["valueFrom"]["secretKeyRef"];
      EXPECT_TRUE(ref) << pod.what << ": " << name << " does not come from a Secret";
      EXPECT_EQ(Str(ref["name"]), "crossdock") << pod.what << ": " << name;
      EXPECT_TRUE(secret_keys.count(Str(ref["key"])))
          << pod.what << ": " << name << " reads key " << Str(ref["key"])
          << ", which the README's secret lacks";
    }
    for (const YAML::Node& v : pod.spec["volumes"]) {
      if (!v["secret"]) continue;
      for (const YAML::Node& item : v["secret"]["items"])
        EXPECT_TRUE(secret_keys.count(Str(item["key"])))
            << pod.what << " mounts key " << Str(item["key"]) << ", which the README's secret lacks";
    }
  }
}

TEST_F(KubernetesExampleTest, TheConfigIsMountedWhereConfigPointsBesideWritableFolders) {
  const core::Config config = LoadShippedConfig();
  const std::string state = StateSetting(ConfigText(docs_));
  // Files the config names: the PostgreSQL URL's certificates, file: secrets, CAs, auth files.
  std::vector<std::string> files;
  static const std::regex kSslFile(R"([?&](sslrootcert|sslcert|sslkey)=([^&]+))");
  for (std::sregex_iterator m(state.begin(), state.end(), kSslFile), e; m != e; ++m) files.push_back((*m)[2]);
  for (const auto& [name, endpoint] : config.endpoints) {
    if (endpoint.password.spec.starts_with("file:")) files.push_back(endpoint.password.spec.substr(5));
    for (const std::string& f : {endpoint.ca_cert, endpoint.auth_file})
      if (!f.empty()) files.push_back(f);
  }
  for (const Pod& pod : Pods(docs_)) {
    EXPECT_TRUE(pod.container["securityContext"]["readOnlyRootFilesystem"].as<bool>()) << pod.what;
    EXPECT_TRUE(pod.spec["securityContext"]["runAsNonRoot"].as<bool>()) << pod.what;
    EXPECT_TRUE(pod.container["resources"]["requests"] && pod.container["resources"]["limits"]) << pod.what;
    const std::string path = ParseOptions(pod)["config"];
    std::optional<Mounted> m = At(pod, path);
    ASSERT_TRUE(m && m->type == "configMap" && m->read_only)
        << pod.what << ": nothing mounts --config " << path;
    EXPECT_EQ(Object(docs_, "ConfigMap", m->source)["data"][m->key].as<std::string>(), ConfigText(docs_));
    // With a PostgreSQL state, the history and the event journal are written beside
    // the config; std::tmpfile (same-endpoint copies) and helm staging use /tmp.
    for (const std::string& folder : {fs::path(path).parent_path().string(), std::string("/tmp")}) {
      std::optional<Mounted> w = At(pod, folder);
      EXPECT_TRUE(w && w->type == "emptyDir" && !w->read_only)
          << pod.what << ": " << folder << " is not writable";
    }
    for (const std::string& f : files) {
      std::optional<Mounted> mf = At(pod, f);
      EXPECT_TRUE(mf && (mf->type == "secret" || mf->type == "configMap") && !mf->key.empty())
          << pod.what << ": the config names " << f << ", which no Secret or ConfigMap key is mounted as";
    }
  }
}

TEST_F(KubernetesExampleTest, ServeAnswersItsProbesOnThePortTheServiceTargets) {
  const Pod pod = ServePod(docs_);
  std::map<std::string, std::string> options = ParseOptions(pod);
  EXPECT_EQ(pod.argv[1], "serve");
  const std::string listen = options["listen"];
  ASSERT_EQ(listen.rfind("0.0.0.0:", 0), 0u)
      << "--listen " << listen << " must take connections from the Service";
  const int port = std::stoi(listen.substr(listen.find(':') + 1));
  YAML::Node deploy = Object(docs_, "Deployment");
  EXPECT_EQ(deploy["spec"]["replicas"].as<int>(), 1) << "serve holds the state's lock while it lives";
  EXPECT_EQ(Str(deploy["spec"]["strategy"]["type"]), "Recreate")
      << "a new pod beside the old one is refused the lock";
  // A port as Kubernetes resolves it: a number, or the name of a containerPort.
  auto resolve = [&](const YAML::Node& p) {
    for (const YAML::Node& cp : pod.container["ports"])
      if (Str(cp["name"]) == Str(p)) return cp["containerPort"].as<int>();
    return p.as<int>();
  };
  bool declared = false;
  for (const YAML::Node& cp : pod.container["ports"]) declared |= cp["containerPort"].as<int>() == port;
  EXPECT_TRUE(declared) << "no containerPort " << port;
  YAML::Node service = Object(docs_, "Service");
  for (const auto& kv : service["spec"]["selector"])
    EXPECT_EQ(Str(deploy["spec"]["template"]["metadata"]["labels"][kv.first.as<std::string>()]),
              Str(kv.second));
  EXPECT_EQ(resolve(service["spec"]["ports"][0]["targetPort"]), port);

  // The container as it starts, on a loopback port, with a state file instead of
  // PostgreSQL and endpoints on a closed loopback port; its probes' paths must answer 200.
  std::string config = ConfigText(docs_);
  config = std::regex_replace(config, std::regex(R"(url = "[^"]*")"), R"(url = "http://127.0.0.1:9")");
  WriteFile(dir_.Sub("crossdock.toml"), config);
  const int local = FreePort();
  Process serve({CrossdockBin(), "serve", "--listen", "127.0.0.1:" + std::to_string(local), "--config",
                 dir_.Sub("crossdock.toml"), "--state", dir_.Sub("state.json")},
                dir_.Sub("serve.log"), Environment(pod), dir_.path());
  ASSERT_TRUE(serve.WaitForLog("listening on", std::chrono::seconds(60))) << serve.log();
  for (const char* probe : {"readinessProbe", "livenessProbe"}) {
    const YAML::Node get = pod.container[probe]["httpGet"];
    ASSERT_TRUE(get) << probe;
    EXPECT_EQ(resolve(get["port"]), port) << probe;
    RunResult r = RunCommand({"curl", "-sS", "-o", "/dev/null", "-w", "%{http_code}",
                              "http://127.0.0.1:" + std::to_string(local) + Str(get["path"])},
                             {}, "", 60);
    EXPECT_EQ(r.out, "200") << probe << " " << Str(get["path"]) << ": " << r.err;
  }
  EXPECT_EQ(serve.Stop(), 0) << serve.log();
}

TEST_F(KubernetesExampleTest, TheConfigMapsConfigPassesValidate) {
  WriteFile(dir_.Sub("crossdock.toml"), ConfigText(docs_));
  // With the serve container's environment (the secrets as placeholders): validate
  // warns of any env:NAME it cannot resolve.
  RunResult validate =
      RunCrossdock({"validate", "--config", dir_.Sub("crossdock.toml")}, Environment(ServePod(docs_)));
  EXPECT_EQ(validate.exit_code, 0) << validate.err;
  EXPECT_EQ(validate.err, "");
  EXPECT_NE(validate.out.find("The configuration is valid"), std::string::npos) << validate.out;
  const std::string state = StateSetting(ConfigText(docs_));
  EXPECT_EQ(state.rfind("postgres://", 0), 0u) << "the pods keep no state file: " << state;
  if (RunCrossdock({"plan", "--help"}).out.find("postgres://") == std::string::npos)
    GTEST_SKIP() << "this crossdock has no PostgreSQL state backend (`plan --help` names no postgres:// "
                    "--state), so validate read state = \""
                 << state << "\" as a file's path";
}

}  // namespace
}  // namespace crossdock::testing
