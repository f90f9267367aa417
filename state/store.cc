// The state file: reading, atomic writing and locking.
//
// Format (format_version 2), for example:
//
//   {
//     "format_version": 1,
//     "lineage": "6f1c2a4e-8d0b-4c57-9a3e-2b7d51f0c9e8",
//     "serial": 12,
//     "artifacts": [
//       {
//         "rule": "mirror-lib",
//         "source_endpoint": "src",
//         "source_repository": "lib/app",
//         "source_digest": "sha256:…",
//         "destination_endpoint": "dst",
//         "destination_repository": "mirror/app",
//         "tag": "v1.2.0",
//         "destination_digest": "sha256:…",
//         "replicated_at": "2024-05-01T12:00:00Z"
//       }
//     ],
//     "intents": [
//       {
//         "rule": "mirror-lib",
//         "source_endpoint": "src",
//         "source_repository": "lib/api",
//         "source_digest": "sha256:…",
//         "destination_endpoint": "dst",
//         "destination_repository": "mirror/api",
//         "tag": "v2.0.0",
//         "recorded_at": "2024-05-01T12:00:01Z"
//       }
//     ]
//   }
//
// Why each choice:
// - JSON, indented, one field per line: people read the state in code review and diff it
//   in git; a binary format would save nothing that matters at these sizes. It is read
//   in one streaming pass and written piece by piece (state/state_json.h): about 480
//   bytes an artifact, a million artifacts in a few seconds each way.
// - format_version is an integer, checked before anything else is taken from the file,
//   so a file from a newer crossdock is refused with "upgrade crossdock" instead of
//   being half-understood and then rewritten without the fields this version does not
//   know. Unknown fields are otherwise ignored.
// - lineage (a random UUID v4, fixed at creation) and serial (incremented on every
//   write) are Terraform's: a saved plan records both, so applying it against another
//   state, or against this one after it moved on, is refused.
// - artifacts is a flat list keyed by (destination_endpoint, destination_repository,
//   tag), which is what crossdock owns, and written sorted by that key so two runs that
//   record the same artifacts write the same bytes and git diffs stay small.
// - intents (format 2) are the tags an apply was about to push when the file was
//   written: one write before the first push records them all, so a run killed after a
//   push and before its record leaves a trace the next run resolves (the next plan
//   adopts an intent whose tag holds its digest; the next apply drops the rest). A
//   version 1 file is read as having none; version 2 is written, so an older crossdock
//   refuses the file instead of rewriting it without them.
// - Endpoints are recorded by their config names and repositories without the host, so
//   moving a registry to another URL keeps the state valid.
// - Digests are full "sha256:<hex>" strings; replicated_at is RFC 3339 in UTC.
//
// Files, beside PATH: PATH.tmp.<pid> (the next version while it is written), PATH.backup
// (the previous version, for the user to restore by hand), PATH.lock (the lock; its
// contents "pid N\nsince TIME\n" only say who holds it, the flock is what counts).
#include "state/store.h"

#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <ctime>
#include <exception>
#include <mutex>
#include <sstream>
#include <thread>
#include <tuple>
#include <utility>

#include <openssl/rand.h>

#include "core/clock.h"
#include "core/encoding.h"
#include "core/file.h"
#include "state/state_json.h"

namespace crossdock::state {

using core::ErrnoStatus;
using core::FileDescriptor;
using core::FolderOf;
using core::SyncFolder;
using core::WriteNewFile;

namespace {

// OK when PATH's folder exists; otherwise an error naming it. Used before creating
// anything beside PATH, so a mistyped --state never creates folders.
core::Status CheckFolder(const std::string& path) {
  std::string folder = FolderOf(path);
  struct stat st;
  if (::stat(folder.c_str(), &st) != 0) {
    if (errno == ENOENT) {
      return core::Status::NotFound("folder " + folder + " for state file " + path +
                                    " does not exist; create it or choose another --state path");
    }
    return ErrnoStatus("cannot use folder " + folder + " for state file " + path, errno);
  }
  if (!S_ISDIR(st.st_mode)) {
    return core::Status::InvalidArgument(folder + " (the folder for state file " + path +
                                         ") is not a folder");
  }
  return core::Status::Ok();
}

// Makes PATH.backup hold what PATH holds now, atomically: a hard link to PATH renamed
// over PATH.backup (no data copied; the old version's inode simply survives the next
// rename as the backup). Falls back to copying on file systems without hard links.
core::Status KeepBackup(const std::string& path) {
  const std::string backup = path + ".backup";
  const std::string staging = backup + ".tmp." + std::to_string(::getpid());
  ::unlink(staging.c_str());
  if (::link(path.c_str(), staging.c_str()) != 0) {
    if (errno == ENOENT) return core::Status::Ok();  // first write: nothing to keep
    int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
      if (errno == ENOENT) return core::Status::Ok();
      return ErrnoStatus("cannot read state file " + path + " to back it up", errno);
    }
    FileDescriptor owned(fd);
    auto data = core::ReadWholeFile(fd, "state file " + path);
    if (!data.ok()) return data.status();
    CROSSDOCK_RETURN_IF_ERROR(WriteNewFile(staging, *data));
  } else if (::chmod(staging.c_str(), 0600) != 0) {
    int err = errno;
    ::unlink(staging.c_str());
    return ErrnoStatus("cannot set mode 0600 on " + staging, err);
  }
  if (::rename(staging.c_str(), backup.c_str()) != 0) {
    int err = errno;
    ::unlink(staging.c_str());
    return ErrnoStatus("cannot rename " + staging + " to " + backup, err);
  }
  return core::Status::Ok();
}

}  // namespace

core::Result<std::string> NewLineage() {
  unsigned char b[16];
  if (RAND_bytes(b, sizeof b) != 1) {
    return core::Status::Internal("cannot create a state lineage: OpenSSL RAND_bytes failed");
  }
  b[6] = static_cast<unsigned char>((b[6] & 0x0f) | 0x40);  // version 4
  b[8] = static_cast<unsigned char>((b[8] & 0x3f) | 0x80);  // RFC 4122 variant
  const std::string hex = core::HexEncode(std::string_view(reinterpret_cast<const char*>(b), sizeof b));
  return hex.substr(0, 8) + "-" + hex.substr(8, 4) + "-" + hex.substr(12, 4) + "-" +
         hex.substr(16, 4) + "-" + hex.substr(20);
}

namespace {


}  // namespace

core::Result<State> ReadState(const std::string& path) {
  int raw_fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (raw_fd < 0) {
    if (errno != ENOENT) return ErrnoStatus("cannot open state file " + path, errno);
    auto lineage = NewLineage();
    if (!lineage.ok()) return lineage.status();
    State fresh;
    fresh.lineage = std::move(*lineage);
    return fresh;
  }
  FileDescriptor fd(raw_fd);
  return ReadStateFile(fd.get(), path);
}

core::Status WriteState(const std::string& path, State* s) {
  // Writers in one process share PATH.tmp.<pid>; one at a time, or one could rename
  // another's half-written file into place.
  static std::mutex writing;
  std::lock_guard<std::mutex> hold(writing);
  CROSSDOCK_RETURN_IF_ERROR(CheckFolder(path));

  const std::int64_t serial = s->serial + 1;
  StateFileText text(*s, serial);
  const std::string tmp = path + ".tmp." + std::to_string(::getpid());
  CROSSDOCK_RETURN_IF_ERROR(
      WriteNewFile(tmp, [&](std::string* piece) { return text.Next(piece); }));
  if (core::Status st = KeepBackup(path); !st.ok()) {
    ::unlink(tmp.c_str());
    return st;
  }
  if (::rename(tmp.c_str(), path.c_str()) != 0) {
    int err = errno;
    ::unlink(tmp.c_str());
    return ErrnoStatus("cannot rename " + tmp + " to " + path, err);
  }
  // PATH now holds the new serial whatever happens next, and so does the caller's state.
  s->serial = serial;
  return SyncFolder(FolderOf(path));
}

StateLock::~StateLock() {
  // Empty the file first so a reader never reports a holder that has gone; the file
  // itself stays, since unlinking it would let two processes lock two different inodes.
  [[maybe_unused]] int ignored = ::ftruncate(fd_, 0);  // the flock is what matters
  ::flock(fd_, LOCK_UN);
  ::close(fd_);
}

core::Result<std::unique_ptr<StateLock>> StateLock::Acquire(const std::string& path,
                                                            double timeout_seconds) {
  CROSSDOCK_RETURN_IF_ERROR(CheckFolder(path));
  std::string lock_path = path + ".lock";
  // O_CLOEXEC: a child process that execs (skopeo, a hook) must not inherit the lock.
  FileDescriptor fd(::open(lock_path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0600));
  if (fd.get() < 0) return ErrnoStatus("cannot open lock file " + lock_path, errno);

  using Clock = std::chrono::steady_clock;
  const auto deadline =
      Clock::now() + std::chrono::duration_cast<Clock::duration>(
                         std::chrono::duration<double>(timeout_seconds > 0 ? timeout_seconds : 0));
  for (;;) {
    if (::flock(fd.get(), LOCK_EX | LOCK_NB) == 0) break;
    if (errno == EINTR) continue;
    if (errno != EWOULDBLOCK) return ErrnoStatus("cannot lock " + lock_path, errno);
    const auto now = Clock::now();
    if (now >= deadline) {
      // Read the holder only now: it writes its line just after it locks.
      std::string holder = "another process";
      char buf[256];
      ssize_t n = ::pread(fd.get(), buf, sizeof buf - 1, 0);
      if (n > 0) {
        buf[n] = '\0';
        long long pid = 0;
        char since[64];
        if (std::sscanf(buf, "pid %lld\nsince %63s", &pid, since) == 2) {
          holder = "pid " + std::to_string(pid) + " since " + since;
        }
      }
      return core::Status::Unavailable("state is locked by " + holder + " (lock file " + lock_path +
                                       "); wait for that run to finish, or pass --lock-timeout "
                                       "to wait longer");
    }
    std::this_thread::sleep_for(
        std::min<Clock::duration>(std::chrono::milliseconds(150), deadline - now));
  }

  std::string info = "pid " + std::to_string(::getpid()) + "\nsince " + core::NowRfc3339() + "\n";
  int err = 0;
  if (::ftruncate(fd.get(), 0) != 0) err = errno;
  if (err == 0) {
    errno = 0;
    if (::pwrite(fd.get(), info.data(), info.size(), 0) != static_cast<ssize_t>(info.size())) {
      err = errno != 0 ? errno : EIO;
    }
  }
  if (err != 0) {
    ::flock(fd.get(), LOCK_UN);
    return ErrnoStatus("cannot write lock file " + lock_path, err);
  }
  return std::unique_ptr<StateLock>(new StateLock(fd.Release(), std::move(lock_path)));
}

}  // namespace crossdock::state
