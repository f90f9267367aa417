// Fuzz target: the manifest/index parser (applier::ParseManifestRefs) on any body, once
// served as an OCI image manifest and once as an OCI index (the media type comes from
// the Content-Type header, which a registry chooses independently of the body).
#include <cstddef>
#include <cstdint>
#include <string>

#include "applier/copier.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  crossdock::providers::Manifest m;
  m.bytes.assign(reinterpret_cast<const char*>(data), size);
  m.digest = "sha256:0000000000000000000000000000000000000000000000000000000000000000";
  for (const char* media_type : {"application/vnd.oci.image.manifest.v1+json",
                                 "application/vnd.oci.image.index.v1+json"}) {
    m.media_type = media_type;
    (void)crossdock::applier::ParseManifestRefs(m);
  }
  return 0;
}
