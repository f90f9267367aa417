// Fuzz target: the state file reader (state::ReadStateFile, what every plan and apply
// reads), given the input as a file. A state it reads must write and read back equal
// (its records in the file's order: sorted by destination key).
#include <sys/mman.h>
#include <unistd.h>

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <tuple>

#include "state/state_json.h"

namespace {

// A memory file holding DATA, at offset 0; -1 when it cannot be made.
int MemoryFile(const void* data, size_t size) {
  const int fd = ::memfd_create("state", MFD_CLOEXEC);
  if (fd < 0) return -1;
  if (size > 0 && ::write(fd, data, size) != static_cast<ssize_t>(size)) {
    ::close(fd);
    return -1;
  }
  ::lseek(fd, 0, SEEK_SET);
  return fd;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using crossdock::state::ReadStateFile;
  const int fd = MemoryFile(data, size);
  if (fd < 0) return 0;
  auto s = ReadStateFile(fd, "fuzz.state.json");
  ::close(fd);
  if (!s.ok()) return 0;
  crossdock::state::StateFileText text(*s, s->serial);
  std::string written, piece;
  while (text.Next(&piece)) {
    written += piece;
    piece.clear();
  }
  const int again_fd = MemoryFile(written.data(), written.size());
  if (again_fd < 0) return 0;
  auto again = ReadStateFile(again_fd, "fuzz.state.json");
  ::close(again_fd);
  s->format_version = crossdock::state::kFormatVersion;  // a version 1 file is written as 2
  auto by_key = [](const auto& x, const auto& y) {
    return std::tie(x.destination_endpoint, x.destination_repository, x.tag) <
           std::tie(y.destination_endpoint, y.destination_repository, y.tag);
  };
  std::stable_sort(s->artifacts.begin(), s->artifacts.end(), by_key);
  std::stable_sort(s->intents.begin(), s->intents.end(), by_key);
  if (!again.ok() || !(*again == *s)) std::abort();
  return 0;
}
