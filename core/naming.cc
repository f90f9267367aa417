#include "core/naming.h"

#include <vector>

namespace crossdock::core {

Result<std::string> DestinationRepository(const std::string& source_repo,
                                                const std::string& dest_namespace, int flatten) {
  if (dest_namespace.empty()) return source_repo;

  std::vector<std::string> components;
  for (size_t start = 0;;) {
    const size_t slash = source_repo.find('/', start);
    components.push_back(
        source_repo.substr(start, slash == std::string::npos ? slash : slash - start));
    if (slash == std::string::npos) break;
    start = slash + 1;
  }
  const size_t above_name = components.size() - 1;  // path components before the name
  size_t drop = above_name;                         // flatten < 0: all of them
  if (flatten >= 0) {
    // Harbor refuses the whole run here (BadRequest); crossdock fails this repository.
    if (static_cast<size_t>(flatten) > above_name) {
      return Status::InvalidArgument(
          "cannot flatten " + std::to_string(flatten) + " level" + (flatten == 1 ? "" : "s") +
          " of \"" + source_repo + "\": it has only " + std::to_string(above_name) +
          " path component" + (above_name == 1 ? "" : "s") + " before its name");
    }
    drop = static_cast<size_t>(flatten);
  }
  std::string destination = dest_namespace;
  for (size_t i = drop; i < components.size(); ++i) destination += "/" + components[i];
  return destination;
}

}  // namespace crossdock::core
