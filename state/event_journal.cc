#include "state/event_journal.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <fstream>
#include <iterator>

#include "core/file.h"

namespace crossdock::state {

EventJournal::EventJournal(const std::string& state_path)
    : path_(state_path + ".events.jsonl"), offset_path_(state_path + ".events.offset") {}

core::Status EventJournal::Append(const std::string& lines) {
  std::lock_guard<std::mutex> lk(mu_);
  core::FileDescriptor fd(::open(path_.c_str(), O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0600));
  if (fd.get() < 0) {
    const int err = errno;
    return core::ErrnoStatus("opening the event journal " + path_, err);
  }
  size_t done = 0;
  while (done < lines.size()) {
    ssize_t n = ::write(fd.get(), lines.data() + done, lines.size() - done);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) {
      const int err = errno;
      return core::ErrnoStatus("writing the event journal " + path_, err);
    }
    done += static_cast<size_t>(n);
  }
  if (::fsync(fd.get()) != 0) {
    const int err = errno;
    return core::ErrnoStatus("syncing the event journal " + path_, err);
  }
  if (int err = fd.Close(); err != 0)
    return core::ErrnoStatus("closing the event journal " + path_, err);
  return core::Status::Ok();
}

std::uint64_t EventJournal::ReadOffset() const {
  std::ifstream in(offset_path_);
  std::uint64_t offset = 0;
  if (in >> offset) return offset;
  return 0;
}

core::Status EventJournal::WriteOffset(std::uint64_t offset) const {
  return core::WriteFileAtomically(offset_path_, std::to_string(offset) + "\n");
}

std::vector<std::string> EventJournal::Pending(std::uint64_t* end) const {
  std::uint64_t offset = ReadOffset();
  std::vector<std::string> lines;
  *end = offset;
  std::ifstream in(path_, std::ios::binary);
  if (!in) return lines;
  in.seekg(0, std::ios::end);
  if (static_cast<std::uint64_t>(in.tellg()) < offset) offset = 0;  // emptied by hand
  in.seekg(static_cast<std::streamoff>(offset));
  std::string rest((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  size_t start = 0;
  for (size_t nl; (nl = rest.find('\n', start)) != std::string::npos; start = nl + 1)
    lines.push_back(rest.substr(start, nl - start));
  *end = offset + start;  // a torn last line (no '\n') waits
  return lines;
}

core::Status EventJournal::Executed(std::uint64_t end) {
  std::lock_guard<std::mutex> lk(mu_);
  struct stat st{};
  if (::stat(path_.c_str(), &st) != 0 || static_cast<std::uint64_t>(st.st_size) != end)
    return WriteOffset(end);
  CROSSDOCK_RETURN_IF_ERROR(WriteOffset(0));
  if (::truncate(path_.c_str(), 0) != 0) {
    const int err = errno;
    return core::ErrnoStatus("emptying the event journal " + path_, err);
  }
  return core::Status::Ok();
}

size_t EventJournal::PendingCount() const {
  std::uint64_t end = 0;
  return Pending(&end).size();
}

}  // namespace crossdock::state
