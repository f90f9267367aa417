// The bench's source data: generated once into registry storage trees under the
// cache directory (build/bench-cache/<name>/), each with dataset.json listing every
// tag and its digest, and a stamp naming the generator version and parameters; a
// missing or different stamp regenerates. Used by bench/scenarios.cc.
//
//   fleet      20 repositories fleet/app-00..19 x tags v1..v5: every image a shared
//              2 MiB base layer + its own 1 MiB layer; fleet/app-00:v1 is an OCI
//              index of two platforms (amd64, arm64), each base + own layer.
//   big        big/blob:v1, one image with one 1 GiB layer of PRNG bytes
//              (incompressible).
//   many-tags  many/tags-1k, -2k, -5k, -10k: that many tags t00000… over 4 small
//              images per repository (tag i holds image i % 4): the 10k one by
//              PUTting the same manifests under each tag, the others derived from
//              its storage directory.
//   artifacts-2k  bench/artifacts: 2,000 distinct manifests t0000…t1999 (one tag each)
//              over one config and one 4 KiB layer, each made distinct by the annotation
//              "org.crossdock.bench.index": "<i>"; PUT from 4 connections.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace crossdock::bench {

struct TaggedImage {
  std::string repository, tag, digest;
};

struct Dataset {
  std::string name;
  std::string storage;  // registry storage tree in the cache; read only
  std::string description;
  std::vector<std::string> repositories;
  std::vector<TaggedImage> images;  // every tag of every repository
  std::int64_t unique_blob_bytes = 0;
  int unique_blobs = 0;

  // The tags of one repository, in generation order.
  std::vector<TaggedImage> ImagesOf(const std::string& repository) const;
};

// The data set `name` ("fleet", "big", "many-tags", "artifacts-2k"), generated first
// (progress on stderr) when the cache lacks it or holds another generator's version.
// work_dir is scratch space on the cache's file system. Throws BenchError.
Dataset LoadDataset(const std::string& cache_dir, const std::string& name,
                    const std::string& work_dir);

}  // namespace crossdock::bench
