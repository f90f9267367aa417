#include "core/file.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

namespace crossdock::core {

Status ErrnoStatus(const std::string& what, int err) {
  std::string message = what + ": " + std::strerror(err);
  switch (err) {
    case EACCES:
    case EPERM:
    case EROFS:
      return Status::PermissionDenied(message);
    case ENOENT:
      return Status::NotFound(message);
    default:
      return Status::Internal(message);
  }
}

FileDescriptor::~FileDescriptor() {
  if (fd_ >= 0) ::close(fd_);
}

int FileDescriptor::Close() {
  if (fd_ < 0) return EBADF;
  int rc = ::close(std::exchange(fd_, -1));
  return rc == 0 ? 0 : errno;
}

std::string FolderOf(const std::string& path) {
  auto slash = path.rfind('/');
  if (slash == std::string::npos) return ".";
  if (slash == 0) return "/";
  return path.substr(0, slash);
}

Result<std::string> ReadWholeFile(int fd, const std::string& what) {
  std::string data;
  char buf[65536];
  for (;;) {
    ssize_t n = ::read(fd, buf, sizeof buf);
    if (n < 0) {
      if (errno == EINTR) continue;
      return ErrnoStatus("cannot read " + what, errno);
    }
    if (n == 0) return data;
    data.append(buf, static_cast<size_t>(n));
  }
}

Result<std::string> ReadFile(const std::string& path, const std::string& what) {
  FileDescriptor fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
  if (fd.get() < 0) {
    const int err = errno;
    return ErrnoStatus("cannot read " + what, err);
  }
  return ReadWholeFile(fd.get(), what);
}

namespace {

int WriteAll(int fd, const std::string& data) {
  size_t done = 0;
  while (done < data.size()) {
    ssize_t n = ::write(fd, data.data() + done, data.size() - done);
    if (n < 0) {
      if (errno == EINTR) continue;
      return errno;
    }
    done += static_cast<size_t>(n);
  }
  return 0;
}

}  // namespace

namespace {

// A new file at PATH, mode 0600, its contents written by WRITE (which returns 0 or an
// errno), then fsynced; removed on failure.
Status WriteNewFileWith(const std::string& path, const std::function<int(int fd)>& write) {
  ::unlink(path.c_str());  // a leftover from a crashed run that had our pid
  FileDescriptor fd(::open(path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600));
  if (fd.get() < 0) return ErrnoStatus("cannot create " + path, errno);
  int err = 0;
  // fchmod: the umask may have removed bits from 0600, never added any.
  if (::fchmod(fd.get(), 0600) != 0) err = errno;
  if (err == 0) err = write(fd.get());
  if (err == 0 && ::fsync(fd.get()) != 0) err = errno;
  if (err == 0) err = fd.Close();
  if (err != 0) {
    ::unlink(path.c_str());
    return ErrnoStatus("cannot write " + path, err);
  }
  return Status::Ok();
}

}  // namespace

Status WriteNewFile(const std::string& path, const std::string& data) {
  return WriteNewFileWith(path, [&](int fd) { return WriteAll(fd, data); });
}

Status WriteNewFile(const std::string& path, const std::function<bool(std::string* piece)>& next) {
  return WriteNewFileWith(path, [&](int fd) {
    std::string piece;
    for (;;) {
      piece.clear();
      if (!next(&piece)) return 0;
      if (int err = WriteAll(fd, piece); err != 0) return err;
    }
  });
}

Status SyncFolder(const std::string& folder) {
  FileDescriptor fd(::open(folder.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  if (fd.get() < 0) return ErrnoStatus("cannot open folder " + folder + " to sync it", errno);
  // EINVAL: the file system cannot sync folders; the renames are as durable as it allows.
  if (::fsync(fd.get()) != 0 && errno != EINVAL) {
    return ErrnoStatus("cannot sync folder " + folder, errno);
  }
  return Status::Ok();
}

Status WriteFileAtomically(const std::string& path, const std::string& data) {
  const std::string tmp = path + ".tmp." + std::to_string(::getpid());
  CROSSDOCK_RETURN_IF_ERROR(WriteNewFile(tmp, data));
  if (::rename(tmp.c_str(), path.c_str()) != 0) {
    int err = errno;
    ::unlink(tmp.c_str());
    return ErrnoStatus("cannot rename " + tmp + " to " + path, err);
  }
  return SyncFolder(FolderOf(path));
}

}  // namespace crossdock::core
