// Durable local files: descriptors closed by RAII, files written whole with mode
// 0600 and fsync, atomic replacement (temp file + rename + folder sync), and
// errno-to-Status mapping. Used by state/ (the state file) and planner/ (saved plans).
#pragma once

#include <functional>
#include <string>
#include <utility>

#include "core/status.h"

namespace crossdock::core {

// WHAT: strerror(ERR), as PermissionDenied, NotFound or Internal.
Status ErrnoStatus(const std::string& what, int err);

// Closes a descriptor when it goes out of scope.
class FileDescriptor {
 public:
  explicit FileDescriptor(int fd) : fd_(fd) {}
  ~FileDescriptor();
  FileDescriptor(const FileDescriptor&) = delete;
  FileDescriptor& operator=(const FileDescriptor&) = delete;
  int get() const { return fd_; }
  // Gives up ownership.
  int Release() { return std::exchange(fd_, -1); }
  // Closes now, returning close(2)'s errno (which can be a delayed write error) or 0.
  int Close();

 private:
  int fd_;
};

// The folder part of PATH ("." when it has none).
std::string FolderOf(const std::string& path);

// Reads FD to its end. WHAT names the file in errors.
Result<std::string> ReadWholeFile(int fd, const std::string& what);

// Reads the file at PATH. NotFound when it does not exist; WHAT names it in errors
// ("cannot read WHAT: …").
Result<std::string> ReadFile(const std::string& path, const std::string& what);

// Writes DATA to a new file at PATH with mode 0600 and fsyncs it. On failure the
// file is removed. A file already at PATH is replaced.
Status WriteNewFile(const std::string& path, const std::string& data);
// The same with the data in pieces: NEXT is called until it returns false, and each
// time the piece it put into *PIECE (emptied before each call) is written, so a file
// larger than memory allows need never be held whole (the state file).
Status WriteNewFile(const std::string& path, const std::function<bool(std::string* piece)>& next);

// fsyncs FOLDER so that renames in it are durable.
Status SyncFolder(const std::string& folder);

// Replaces PATH with DATA atomically: PATH.tmp.<pid> written and synced, renamed over
// PATH, folder synced. PATH never exists half-written. Not for concurrent callers on
// one PATH within a process.
Status WriteFileAtomically(const std::string& path, const std::string& data);

}  // namespace crossdock::core
