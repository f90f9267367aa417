#include "core/diagnostics.h"

#include <algorithm>
#include <nlohmann/json.hpp>

#include "core/digest.h"

namespace crossdock::core {

std::string FormatDiagnostic(const Diagnostic& d) {
  std::string out = d.pos.file;
  if (d.pos.line > 0) {
    out += ":" + std::to_string(d.pos.line);
    if (d.pos.column > 0) out += ":" + std::to_string(d.pos.column);
  }
  if (!out.empty()) out += ": ";
  out += d.severity == Severity::kError ? "error: " : "warning: ";
  out += d.message;
  return out;
}

namespace {

std::string EscapeData(const std::string& s) {
  std::string out;
  for (char c : s) {
    if (c == '%') out += "%25";
    else if (c == '\r') out += "%0D";
    else if (c == '\n') out += "%0A";
    else out += c;
  }
  return out;
}

std::string EscapeProperty(const std::string& s) {
  std::string out;
  for (char c : EscapeData(s)) {
    if (c == ':') out += "%3A";
    else if (c == ',') out += "%2C";
    else out += c;
  }
  return out;
}

}  // namespace

std::string FormatGithubAnnotation(const Diagnostic& d) {
  std::string out = d.severity == Severity::kError ? "::error " : "::warning ";
  std::string props;
  if (!d.pos.file.empty()) props += "file=" + EscapeProperty(d.pos.file) + ",";
  if (d.pos.line > 0) props += "line=" + std::to_string(d.pos.line) + ",";
  if (d.pos.column > 0) props += "col=" + std::to_string(d.pos.column) + ",";
  props += "title=crossdock";
  return out + props + "::" + EscapeData(d.message);
}

std::string FormatGitlabCodeQuality(const std::vector<Diagnostic>& items) {
  nlohmann::ordered_json report = nlohmann::ordered_json::array();
  for (const auto& d : items) {
    const std::string key = d.pos.file + ":" + std::to_string(d.pos.line) + ":" +
                            std::to_string(d.pos.column) + ":" + d.message;
    const std::string digest = Sha256Digest(key);
    report.push_back({{"description", d.message},
                      {"check_name", "crossdock-validate"},
                      {"fingerprint", digest.substr(digest.find(':') + 1)},
                      {"severity", d.severity == Severity::kError ? "major" : "minor"},
                      {"location", {{"path", d.pos.file}, {"lines", {{"begin", std::max(d.pos.line, 1)}}}}}});
  }
  // A path or message that is not UTF-8 (a -c argument) must not throw: replaced.
  return report.dump(2, ' ', false, nlohmann::ordered_json::error_handler_t::replace);
}

}  // namespace crossdock::core
