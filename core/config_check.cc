#include "core/config_check.h"

#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <cmath>
#include <system_error>
#include <tuple>

#include "core/file.h"
#include "core/retry.h"

namespace crossdock::core::config_check {

namespace {

std::string SystemReason(int error) { return std::generic_category().message(error); }

size_t EditDistance(std::string_view a, std::string_view b) {
  std::vector<size_t> row(b.size() + 1);
  for (size_t j = 0; j <= b.size(); ++j) row[j] = j;
  for (size_t i = 1; i <= a.size(); ++i) {
    size_t diagonal = row[0];
    row[0] = i;
    for (size_t j = 1; j <= b.size(); ++j) {
      const size_t above = row[j];
      row[j] = std::min({row[j] + 1, row[j - 1] + 1, diagonal + (a[i - 1] == b[j - 1] ? 0 : 1)});
      diagonal = above;
    }
  }
  return row[b.size()];
}

bool IsLowerAlnum(char c) { return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9'); }
bool IsAsciiLetter(char c) { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z'); }
bool IsAsciiAlnum(char c) { return IsAsciiLetter(c) || (c >= '0' && c <= '9'); }

// A repository path component per the distribution spec:
// [a-z0-9]+(?:(?:[._]|__|[-]+)[a-z0-9]+)*
bool IsPathComponent(std::string_view s) {
  size_t i = 0;
  auto alnum_run = [&] {
    const size_t start = i;
    while (i < s.size() && IsLowerAlnum(s[i])) ++i;
    return i > start;
  };
  if (!alnum_run()) return false;
  while (i < s.size()) {
    if (s[i] == '-') {
      while (i < s.size() && s[i] == '-') ++i;
    } else if (s.substr(i, 2) == "__") {
      i += 2;
    } else if (s[i] == '.' || s[i] == '_') {
      ++i;
    } else {
      return false;
    }
    if (!alnum_run()) return false;
  }
  return true;
}

bool IsHostChar(char c) { return IsAsciiAlnum(c) || c == '.' || c == '-' || c == '_'; }

bool IsValidPort(std::string_view port) {
  if (port.empty() || port.size() > 5) return false;
  if (!std::all_of(port.begin(), port.end(), [](char c) { return c >= '0' && c <= '9'; }))
    return false;
  const int value = std::stoi(std::string(port));
  return value >= 1 && value <= 65535;
}

}  // namespace

Result<std::string> ReadTextFile(const std::string& path) {
  FileDescriptor fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
  if (fd.get() < 0) {
    const int error = errno;
    if (error == ENOENT) return Status::NotFound(SystemReason(error));
    if (error == EACCES) return Status::PermissionDenied(SystemReason(error));
    return Status::Unavailable(SystemReason(error));
  }
  std::string content;
  char buffer[16384];
  for (;;) {
    const ssize_t n = ::read(fd.get(), buffer, sizeof buffer);
    if (n == 0) break;
    if (n < 0) {
      if (errno == EINTR) continue;
      return Status::Unavailable(SystemReason(errno));
    }
    content.append(buffer, static_cast<size_t>(n));
  }
  return content;
}

std::string DidYouMean(std::string_view word, const std::vector<std::string>& candidates) {
  constexpr size_t kMaxDistance = 2;
  const std::string* best = nullptr;
  size_t best_distance = kMaxDistance + 1;
  for (const std::string& candidate : candidates) {
    const size_t distance = EditDistance(word, candidate);
    if (distance < best_distance) {
      best = &candidate;
      best_distance = distance;
    }
  }
  return best == nullptr ? "" : " (did you mean " + Quoted(*best) + "?)";
}

std::string Quoted(std::string_view text) { return "\"" + std::string(text) + "\""; }

bool IsEndpointName(std::string_view name) {
  return !name.empty() && std::all_of(name.begin(), name.end(), IsHostChar);
}

bool IsEnvironmentName(std::string_view name) {
  return !name.empty() && (IsAsciiLetter(name[0]) || name[0] == '_') &&
         std::all_of(name.begin(), name.end(), [](char c) { return IsAsciiAlnum(c) || c == '_'; });
}

bool HasWhitespace(std::string_view text) {
  return std::any_of(text.begin(), text.end(), [](unsigned char c) { return std::isspace(c); });
}

void AppendInFileOrder(const Diagnostics& found, Diagnostics* diags) {
  std::vector<Diagnostic> items = found.items();
  std::stable_sort(items.begin(), items.end(), [](const Diagnostic& a, const Diagnostic& b) {
    const auto key = [](const Diagnostic& d) {
      return std::tuple(d.pos.line == 0, d.pos.line, d.pos.column);
    };
    return key(a) < key(b);
  });
  for (Diagnostic& d : items) {
    if (d.severity == Severity::kError) {
      diags->Error(d.pos, std::move(d.message));
    } else {
      diags->Warning(d.pos, std::move(d.message));
    }
  }
}

SourcePos PosOf(const std::string& file, const toml::source_region& region) {
  return {file, static_cast<int>(region.begin.line), static_cast<int>(region.begin.column)};
}

std::vector<std::pair<const toml::key*, const toml::node*>> InFileOrder(const toml::table& table) {
  std::vector<std::pair<const toml::key*, const toml::node*>> entries;
  for (auto&& [key, node] : table) entries.emplace_back(&key, &node);
  std::stable_sort(entries.begin(), entries.end(), [](const auto& a, const auto& b) {
    const auto& pa = a.first->source().begin;
    const auto& pb = b.first->source().begin;
    return pa.line != pb.line ? pa.line < pb.line : pa.column < pb.column;
  });
  return entries;
}

TableReader::TableReader(const toml::table& table, const toml::source_region& table_source,
                         const std::string& file, std::string where, std::string context,
                         Diagnostics* diags)
    : table_(table),
      table_source_(table_source),
      file_(file),
      where_(std::move(where)),
      context_(std::move(context)),
      diags_(diags) {}

void TableReader::RejectUnknownKeys(const std::vector<std::string>& allowed) const {
  for (const auto& [key, node] : InFileOrder(table_)) {
    const std::string_view name = key->str();
    if (std::find(allowed.begin(), allowed.end(), name) != allowed.end()) continue;
    diags_->Error(PosOf(file_, key->source()),
                  "unknown key " + Quoted(name) + " " + where_ + DidYouMean(name, allowed));
  }
}

SourcePos TableReader::ValuePos(std::string_view key) const {
  const toml::node* node = table_.get(key);
  return node == nullptr ? TablePos() : PosOf(file_, node->source());
}

void TableReader::WrongType(std::string_view key, const char* expected) const {
  diags_->Error(ValuePos(key), Quoted(key) + context_ + " must be " + expected);
}

std::optional<std::vector<StringItem>> TableReader::StringList(std::string_view key) const {
  const toml::node* node = table_.get(key);
  if (node == nullptr) return std::nullopt;
  constexpr const char* kExpected = "a string or an array of strings";
  if (const auto* value = node->as_string()) {
    return std::vector<StringItem>{{value->get(), PosOf(file_, node->source())}};
  }
  const toml::array* array = node->as_array();
  if (array == nullptr) {
    WrongType(key, kExpected);
    return std::nullopt;
  }
  std::vector<StringItem> items;
  for (const toml::node& element : *array) {
    if (const auto* value = element.as_string()) {
      items.push_back({value->get(), PosOf(file_, element.source())});
    } else {
      diags_->Error(PosOf(file_, element.source()),
                    Quoted(key) + context_ + " must be " + kExpected);
    }
  }
  return items;
}

bool TableReader::Require(std::string_view key, const std::string& what) const {
  if (Has(key)) return true;
  diags_->Error(TablePos(), what + " is missing required key " + Quoted(key));
  return false;
}

std::optional<std::string> NormalizeEndpointUrl(std::string* url, const std::string& endpoint,
                                                bool allow_path) {
  const std::string prefix = "url " + Quoted(*url) + " of endpoint " + Quoted(endpoint);
  const size_t scheme_end = url->find("://");
  std::string scheme = url->substr(0, scheme_end == std::string::npos ? 0 : scheme_end);
  std::transform(scheme.begin(), scheme.end(), scheme.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  if (scheme_end == std::string::npos || (scheme != "http" && scheme != "https")) {
    return prefix + " must start with http:// or https://";
  }
  std::string authority = url->substr(scheme_end + 3);
  while (!authority.empty() && authority.back() == '/') authority.pop_back();
  if (authority.find('@') != std::string::npos) {
    return "url of endpoint " + Quoted(endpoint) +
           " must not contain credentials; use username and password";
  }
  std::string path;
  if (allow_path && authority.find('/') != std::string::npos) {
    path = authority.substr(authority.find('/'));
    authority.resize(authority.find('/'));
    if (path.find_first_of("?# \t\\") != std::string::npos || path.find("//") != std::string::npos)
      return prefix + " must be scheme://host[:port][/path], without a query or fragment";
  }
  if (authority.find_first_of("/?#") != std::string::npos) {
    return prefix + " must be scheme://host[:port], without a path, query or fragment";
  }

  std::string_view host = authority;
  std::string_view port;
  bool host_ok;
  if (host.starts_with('[')) {  // IPv6 literal
    const size_t close = host.find(']');
    host_ok = close != std::string_view::npos && close > 1 &&
              host.substr(1, close - 1).find_first_not_of("0123456789abcdefABCDEF:.") ==
                  std::string_view::npos;
    if (host_ok && close + 1 < host.size()) {
      if (host[close + 1] != ':') host_ok = false;
      port = host.substr(close + 2);
      if (port.empty()) return prefix + " has an invalid port";
    }
  } else {
    const size_t colon = host.find(':');
    if (colon != std::string_view::npos) {
      port = host.substr(colon + 1);
      host = host.substr(0, colon);
      if (port.empty()) return prefix + " has an invalid port";
    }
    if (host.empty()) return prefix + " has no host";
    host_ok = std::all_of(host.begin(), host.end(), IsHostChar);
  }
  if (!host_ok) return prefix + " has an invalid host";
  if (!port.empty() && !IsValidPort(port)) return prefix + " has an invalid port";
  *url = scheme + "://" + authority + path;
  return std::nullopt;
}

std::optional<std::string> CheckNamespace(const std::string& ns) {
  if (ns.empty()) return std::nullopt;
  if (ns.front() == '/' || ns.back() == '/') {
    return "dest_namespace " + Quoted(ns) + " must not start or end with '/'";
  }
  for (size_t start = 0;;) {
    const size_t slash = ns.find('/', start);
    const std::string component =
        ns.substr(start, slash == std::string::npos ? slash : slash - start);
    if (!IsPathComponent(component)) {
      return "dest_namespace " + Quoted(ns) + " has an invalid path component " +
             Quoted(component) +
             ": use lowercase letters and digits, separated by '.', '_', \"__\" or '-'";
    }
    if (slash == std::string::npos) return std::nullopt;
    start = slash + 1;
  }
}

std::optional<std::string> CheckLabel(std::string_view label) {
  const std::string_view key = label.substr(0, label.find('='));
  if (key.empty()) return "has an empty key; use \"key\" or \"key=value\"";
  if (HasWhitespace(key)) return "has whitespace in its key; use \"key\" or \"key=value\"";
  return std::nullopt;
}

std::optional<std::string> CheckFlattenDepth(std::string_view repository, int flatten,
                                             const std::string& what) {
  // Harbor rejects a count greater than the components before the name
  // (src/controller/replication/flow/stage.go replaceNamespace); the planner fails
  // the repository. A literal path makes that certain before any registry is asked.
  const auto above_name = static_cast<int>(std::count(repository.begin(), repository.end(), '/'));
  if (flatten <= above_name) return std::nullopt;
  const std::string has = above_name == 0 ? "no path component"
                          : above_name == 1
                              ? "only 1 path component"
                              : "only " + std::to_string(above_name) + " path components";
  return "flatten = " + std::to_string(flatten) + " cannot apply to repository " +
         Quoted(repository) + " in " + what + ": it has " + has + " before its name to drop";
}

Result<double> CheckRateLimit(std::string_view text, const std::string& what) {
  constexpr long kMaxRequests = 1000000;
  const std::string prefix = "rate_limit " + Quoted(text) + " of " + what;
  const std::optional<RateLimit> limit = ParseRateLimit(text);
  if (!limit) {
    return Status::InvalidArgument(prefix + ": use REQUESTS/s or REQUESTS/m, e.g. \"10/s\"");
  }
  if (limit->requests < 1) {
    return Status::InvalidArgument(prefix +
                                   " allows no requests; use at least 1, or leave rate_limit out");
  }
  if (limit->requests > kMaxRequests) {
    return Status::InvalidArgument(prefix + " is more than " + std::to_string(kMaxRequests) +
                                   " requests; leave rate_limit out for no limit");
  }
  return limit->per_second();
}

}  // namespace crossdock::core::config_check
