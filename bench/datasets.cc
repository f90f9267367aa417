// Implementation of bench/datasets.h. Images are written as OCI layouts by the e2e
// harness (BuildImage/BuildIndex: deterministic, PRNG layer content), then pushed
// straight through the registry API over one keep-alive connection: each blob once
// per registry (POST + PUT), mounted into the other repositories, then the
// manifests. Pushing 100 images with skopeo one by one would take minutes.
#include "bench/datasets.h"

// Debian builds libcpp-httplib with these three; the header's class layouts depend
// on them, so they must match (as in tests/fakes/corrupt_proxy.cc).
#define CPPHTTPLIB_OPENSSL_SUPPORT
#define CPPHTTPLIB_ZLIB_SUPPORT
#define CPPHTTPLIB_BROTLI_SUPPORT
#include <httplib.h>

#include <atomic>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <functional>
#include <iostream>
#include <map>
#include <mutex>
#include <nlohmann/json.hpp>
#include <set>
#include <thread>

#include "bench/bench_error.h"
#include "bench/registry.h"
#include "tests/support/harness.h"

namespace crossdock::bench {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;
using testing::BuiltImage;
using testing::ImageSpec;
using testing::LayerSpec;

// Bump a data set's version when its generator changes what it writes: its cache
// entry regenerates.
int GeneratorVersion(const std::string& name) { return name == "many-tags" ? 3 : 1; }

constexpr const char* kArtifactsRepository = "bench/artifacts";
constexpr int kArtifacts = 2000;

constexpr std::uint64_t kMiB = 1024 * 1024;

std::string BlobFile(const std::string& layout, const std::string& digest) {
  return layout + "/blobs/sha256/" + digest.substr(7);
}

// Pushes images from an OCI layout into one registry through the distribution API.
class Pusher {
 public:
  Pusher(int port, std::string layout) : port_(port), layout_(std::move(layout)) {}

  // Blobs (mounted when another repository already has them), children of an
  // index by digest, then the manifest under `tag`.
  void PushImage(const std::string& repo, const std::string& tag, const BuiltImage& image) {
    for (const std::string& blob : image.blobs) PushBlob(repo, blob);
    for (const BuiltImage& child : image.manifests) {
      PutManifest(Client(), repo, child.digest, testing::ReadFile(BlobFile(layout_, child.digest)),
                  child.media_type);
    }
    PutManifest(Client(), repo, tag, testing::ReadFile(BlobFile(layout_, image.digest)),
                image.media_type);
  }

  static void PutManifest(httplib::Client& cli, const std::string& repo, const std::string& ref,
                          const std::string& body, const std::string& media_type) {
    auto res = cli.Put(("/v2/" + repo + "/manifests/" + ref).c_str(), body, media_type.c_str());
    if (!res || res->status != 201) {
      throw BenchError("PUT manifest " + repo + ":" + ref + " failed: " +
                       (res ? std::to_string(res->status) + " " + res->body
                            : httplib::to_string(res.error())));
    }
  }

  httplib::Client& Client() {
    if (!client_) client_ = NewClient(port_);
    return *client_;
  }
  static std::unique_ptr<httplib::Client> NewClient(int port) {
    auto cli = std::make_unique<httplib::Client>("127.0.0.1", port);
    cli->set_keep_alive(true);
    cli->set_read_timeout(600, 0);
    cli->set_write_timeout(600, 0);
    return cli;
  }

  std::int64_t unique_bytes() const { return unique_bytes_; }
  int unique_blobs() const { return static_cast<int>(home_.size()); }

  // DIGEST from the layout into REPO: uploaded the first time, mounted after.
  void PushBlob(const std::string& repo, const std::string& digest) {
    if (!in_repo_.insert({repo, digest}).second) return;
    httplib::Client& cli = Client();
    std::string uploads = "/v2/" + repo + "/blobs/uploads/";
    auto home = home_.find(digest);
    if (home != home_.end()) {
      auto res = cli.Post((uploads + "?mount=" + digest + "&from=" + home->second).c_str(), "",
                          "application/octet-stream");
      if (res && res->status == 201) return;
    }
    auto res = cli.Post(uploads.c_str(), "", "application/octet-stream");
    if (!res || res->status != 202 || !res->has_header("Location")) {
      throw BenchError("POST " + uploads + " failed: " +
                       (res ? std::to_string(res->status) : httplib::to_string(res.error())));
    }
    std::string location = res->get_header_value("Location");
    if (size_t scheme = location.find("://"); scheme != std::string::npos) {
      location = location.substr(location.find('/', scheme + 3));
    }
    location += (location.find('?') == std::string::npos ? "?" : "&") + std::string("digest=") +
                digest;
    std::string path = BlobFile(layout_, digest);
    std::uint64_t size = fs::file_size(path);
    std::unique_ptr<FILE, int (*)(FILE*)> file(std::fopen(path.c_str(), "rb"), std::fclose);
    if (!file) throw BenchError("cannot open " + path);
    std::vector<char> buf(kMiB);
    auto put = cli.Put(
        location.c_str(), size,
        [&](size_t offset, size_t length, httplib::DataSink& sink) {
          std::fseek(file.get(), static_cast<long>(offset), SEEK_SET);
          size_t n = std::fread(buf.data(), 1, std::min(length, buf.size()), file.get());
          return n > 0 && sink.write(buf.data(), n);
        },
        "application/octet-stream");
    if (!put || put->status != 201) {
      throw BenchError("PUT blob " + digest + " into " + repo + " failed: " +
                       (put ? std::to_string(put->status) + " " + put->body
                            : httplib::to_string(put.error())));
    }
    home_[digest] = repo;
    unique_bytes_ += static_cast<std::int64_t>(size);
  }

 private:
  int port_;
  std::string layout_;
  std::unique_ptr<httplib::Client> client_;
  std::map<std::string, std::string> home_;  // digest -> first repository holding it
  std::set<std::pair<std::string, std::string>> in_repo_;
  std::int64_t unique_bytes_ = 0;
};

ImageSpec Image(std::vector<LayerSpec> layers, const std::string& arch = "amd64") {
  ImageSpec spec;
  spec.layers = std::move(layers);
  spec.architecture = arch;
  if (arch == "arm64") spec.variant = "v8";
  return spec;
}

void GenerateFleet(Pusher& pusher, const std::string& layout, Dataset& ds) {
  const LayerSpec base{2 * kMiB, 1, false};
  for (int r = 0; r < 20; ++r) {
    char repo[32];
    std::snprintf(repo, sizeof repo, "fleet/app-%02d", r);
    ds.repositories.push_back(repo);
    for (int t = 1; t <= 5; ++t) {
      std::string tag = "v" + std::to_string(t);
      std::uint64_t seed = 1000 + static_cast<std::uint64_t>(r) * 100 + static_cast<std::uint64_t>(t) * 2;
      std::string ref = std::string(repo) + ":" + tag;
      BuiltImage img = (r == 0 && t == 1)
                           ? testing::BuildIndex(layout, ref,
                                                 {Image({base, {kMiB, seed, false}}, "amd64"),
                                                  Image({base, {kMiB, seed + 1, false}}, "arm64")})
                           : testing::BuildImage(layout, ref, Image({base, {kMiB, seed, false}}));
      pusher.PushImage(repo, tag, img);
      ds.images.push_back({repo, tag, img.digest});
    }
  }
  ds.description =
      "20 repositories x 5 tags, each image a shared 2 MiB base layer + its own 1 MiB layer; "
      "fleet/app-00:v1 is a two-platform index";
}

void GenerateBig(Pusher& pusher, const std::string& layout, Dataset& ds) {
  BuiltImage img = testing::BuildImage(layout, "big", Image({{1024 * kMiB, 7, false}}));
  pusher.PushImage("big/blob", "v1", img);
  ds.repositories.push_back("big/blob");
  ds.images.push_back({"big/blob", "v1", img.digest});
  ds.description = "one image with one 1 GiB layer of incompressible bytes";
}

// One manifest PUT under a tag.
struct ManifestPut {
  std::string tag, body, media_type;
};

// PUTs make(i) into repo for every i in [from, to), from 4 keep-alive connections at
// once (a manifest PUT is mostly the registry's latency).
void PutManifests(int port, const std::string& repo, int from, int to,
                  const std::function<ManifestPut(int)>& make) {
  std::atomic<int> next{from};
  std::string error;
  std::mutex error_mu;
  std::vector<std::thread> workers;
  for (int w = 0; w < 4; ++w) {
    workers.emplace_back([&] {
      auto cli = Pusher::NewClient(port);
      for (int i = next++; i < to; i = next++) {
        try {
          ManifestPut put = make(i);
          Pusher::PutManifest(*cli, repo, put.tag, put.body, put.media_type);
        } catch (const BenchError& e) {
          std::lock_guard lock(error_mu);
          error = e.what();
          next = to;
        }
      }
    });
  }
  for (std::thread& t : workers) t.join();
  if (!error.empty()) throw BenchError(error);
}

std::string TagName(int i) {
  char tag[16];
  std::snprintf(tag, sizeof tag, "t%05d", i);
  return tag;
}

// many/tags-10k through the API, then the smaller repositories as hard-linked
// copies of its storage directory with only their first tags: a repository's
// directory holds nothing that names it, and a tag is just its directory under
// _manifests/tags (registry/storage/tagstore.go). PUTting all 18,000 tags would
// take minutes.
void GenerateManyTags(Pusher& pusher, const std::string& layout, int port, Dataset& ds) {
  std::vector<BuiltImage> images;
  for (int k = 0; k < 4; ++k) {
    images.push_back(testing::BuildImage(layout, "small-" + std::to_string(k),
                                         Image({{4096, 500 + static_cast<std::uint64_t>(k), false}})));
  }
  const int n = 10000;
  const std::string repo = "many/tags-10k";
  for (int k = 0; k < 4; ++k) pusher.PushImage(repo, TagName(k), images[static_cast<size_t>(k)]);
  std::vector<std::string> bodies;
  for (const BuiltImage& img : images) bodies.push_back(testing::ReadFile(BlobFile(layout, img.digest)));
  // The remaining tags: manifests only.
  PutManifests(port, repo, 4, n, [&](int i) {
    return ManifestPut{TagName(i), bodies[static_cast<size_t>(i % 4)],
                       images[static_cast<size_t>(i % 4)].media_type};
  });
  for (int size : {1000, 2000, 5000, 10000}) {
    std::string name = "many/tags-" + std::to_string(size / 1000) + "k";
    ds.repositories.push_back(name);
    for (int i = 0; i < size; ++i) {
      ds.images.push_back({name, TagName(i), images[static_cast<size_t>(i % 4)].digest});
    }
  }
  ds.description = "repositories of 1k, 2k, 5k and 10k tags over 4 distinct small images each";
}

// bench/artifacts: kArtifacts distinct manifests, tags t0000… (one each), all over one
// config and one 4 KiB layer, each made distinct by the annotation
// "org.crossdock.bench.index": "<i>" (a registry stores the bytes it was given, so the
// digest is the sha256 of exactly what is PUT).
void GenerateArtifacts(Pusher& pusher, const std::string& layout, int port, Dataset& ds) {
  const std::string repo = kArtifactsRepository;
  const BuiltImage base = testing::BuildImage(layout, "artifact", Image({{4096, 900, false}}));
  for (const std::string& blob : base.blobs) pusher.PushBlob(repo, blob);
  const json manifest = json::parse(testing::ReadFile(BlobFile(layout, base.digest)));
  std::vector<std::string> bodies;
  for (int i = 0; i < kArtifacts; ++i) {
    json m = manifest;
    m["annotations"]["org.crossdock.bench.index"] = std::to_string(i);
    bodies.push_back(m.dump());
    char tag[16];
    std::snprintf(tag, sizeof tag, "t%04d", i);
    ds.images.push_back({repo, tag, testing::Sha256Digest(bodies.back())});
  }
  PutManifests(port, repo, 0, kArtifacts, [&](int i) {
    const size_t at = static_cast<size_t>(i);
    return ManifestPut{ds.images[at].tag, bodies[at], base.media_type};
  });
  ds.repositories.push_back(repo);
  ds.description = "one repository of " + std::to_string(kArtifacts) +
                   " artifacts (distinct manifests over one config and one 4 KiB layer), one tag "
                   "each";
}

// Recreates the directory tree `from` at `to` with hard links to its files.
void LinkTree(const fs::path& from, const fs::path& to) {
  fs::create_directories(to);
  for (const fs::directory_entry& e : fs::directory_iterator(from)) {
    if (e.is_directory()) {
      LinkTree(e.path(), to / e.path().filename());
    } else {
      fs::create_hard_link(e.path(), to / e.path().filename());
    }
  }
}

// After the registry stopped: many/tags-{1,2,5}k from many/tags-10k (see above).
void DeriveManyTags(const std::string& storage) {
  const fs::path repos = storage + "/docker/registry/v2/repositories/many";
  const fs::path full = repos / "tags-10k";
  for (int size : {1000, 2000, 5000}) {
    fs::path to = repos / ("tags-" + std::to_string(size / 1000) + "k");
    LinkTree(full / "_layers", to / "_layers");
    LinkTree(full / "_manifests" / "revisions", to / "_manifests" / "revisions");
    for (int i = 0; i < size; ++i) {
      LinkTree(full / "_manifests" / "tags" / TagName(i), to / "_manifests" / "tags" / TagName(i));
    }
  }
}

std::string Stamp(const std::string& name) {
  return "crossdock bench data set \"" + name + "\", generator version " +
         std::to_string(GeneratorVersion(name)) + "\n";
}

json ToJson(const Dataset& ds) {
  json images = json::array();
  for (const TaggedImage& i : ds.images) {
    images.push_back({{"repository", i.repository}, {"tag", i.tag}, {"digest", i.digest}});
  }
  return {{"name", ds.name},
          {"description", ds.description},
          {"repositories", ds.repositories},
          {"images", images},
          {"unique_blob_bytes", ds.unique_blob_bytes},
          {"unique_blobs", ds.unique_blobs}};
}

Dataset FromJson(const json& j, const std::string& storage) {
  Dataset ds;
  ds.name = j.at("name").get<std::string>();
  ds.storage = storage;
  ds.description = j.at("description").get<std::string>();
  ds.repositories = j.at("repositories").get<std::vector<std::string>>();
  for (const json& i : j.at("images")) {
    ds.images.push_back({i.at("repository").get<std::string>(), i.at("tag").get<std::string>(),
                         i.at("digest").get<std::string>()});
  }
  ds.unique_blob_bytes = j.at("unique_blob_bytes").get<std::int64_t>();
  ds.unique_blobs = j.at("unique_blobs").get<int>();
  return ds;
}

}  // namespace

std::vector<TaggedImage> Dataset::ImagesOf(const std::string& repository) const {
  std::vector<TaggedImage> out;
  for (const TaggedImage& i : images) {
    if (i.repository == repository) out.push_back(i);
  }
  return out;
}

Dataset LoadDataset(const std::string& cache_dir, const std::string& name,
                    const std::string& work_dir) {
  if (name != "fleet" && name != "big" && name != "many-tags" && name != "artifacts-2k") {
    throw BenchError("unknown data set generator \"" + name + "\"");
  }
  const std::string entry = cache_dir + "/" + name;
  const std::string stamp_path = entry + "/stamp";
  std::error_code ec;
  if (fs::exists(stamp_path, ec) && testing::ReadFile(stamp_path) == Stamp(name)) {
    try {
      return FromJson(json::parse(testing::ReadFile(entry + "/dataset.json")), entry + "/storage");
    } catch (const std::exception& e) {
      std::cerr << "bench: cached " << name << " is unreadable (" << e.what() << "); regenerating\n";
    }
  }
  std::cerr << "bench: generating data set " << name << " into " << entry
            << " (once; cached for later runs)\n";
  auto started = std::chrono::steady_clock::now();
  fs::remove_all(entry);
  const std::string scratch = work_dir + "/generate-" + name;
  fs::remove_all(scratch);
  fs::create_directories(scratch);
  const std::string layout = scratch + "/layout";
  Dataset ds;
  ds.name = name;
  {
    BenchRegistry registry(scratch + "/registry", {});
    Pusher pusher(registry.port(), layout);
    if (name == "fleet") GenerateFleet(pusher, layout, ds);
    if (name == "big") GenerateBig(pusher, layout, ds);
    if (name == "many-tags") GenerateManyTags(pusher, layout, registry.port(), ds);
    if (name == "artifacts-2k") GenerateArtifacts(pusher, layout, registry.port(), ds);
    ds.unique_blob_bytes = pusher.unique_bytes();
    ds.unique_blobs = pusher.unique_blobs();
    registry.Stop();
    if (name == "many-tags") DeriveManyTags(registry.storage_dir());
    fs::create_directories(entry);
    fs::rename(registry.storage_dir(), entry + "/storage");
  }
  fs::remove_all(scratch);
  ds.storage = entry + "/storage";
  testing::WriteFile(entry + "/dataset.json", ToJson(ds).dump(1));
  testing::WriteFile(stamp_path, Stamp(name));  // last: marks the entry complete
  double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
  std::cerr << "bench: generated " << name << " in " << static_cast<int>(s) << " s\n";
  return ds;
}

}  // namespace crossdock::bench
