// Diagnostics: configuration errors and warnings with file:line:col, collected so a
// user sees every problem in one run (as Terraform does). Used by config loading,
// validate, plan and apply.
#pragma once

#include <string>
#include <vector>

namespace crossdock::core {

struct SourcePos {
  std::string file;
  int line = 0;    // 1-based; 0 when unknown
  int column = 0;  // 1-based; 0 when unknown
};

enum class Severity { kError, kWarning };

struct Diagnostic {
  Severity severity = Severity::kError;
  SourcePos pos;
  std::string message;
};

class Diagnostics {
 public:
  void Error(const SourcePos& pos, std::string message) {
    items_.push_back({Severity::kError, pos, std::move(message)});
  }
  void Warning(const SourcePos& pos, std::string message) {
    items_.push_back({Severity::kWarning, pos, std::move(message)});
  }
  bool has_errors() const {
    for (const auto& d : items_)
      if (d.severity == Severity::kError) return true;
    return false;
  }
  const std::vector<Diagnostic>& items() const { return items_; }

 private:
  std::vector<Diagnostic> items_;
};

// "FILE:LINE:COL: error: message" (LINE:COL omitted when unknown).
std::string FormatDiagnostic(const Diagnostic& d);

// A GitHub Actions workflow command that annotates the line: "::error file=PATH,line=L,
// col=C,title=crossdock::MESSAGE" ("::warning" for warnings), escaped as the runner
// expects (%25, %0D, %0A; and %3A, %2C in properties).
std::string FormatGithubAnnotation(const Diagnostic& d);

// ITEMS as a GitLab Code Quality report: a JSON array of {description, check_name,
// fingerprint, severity, location: {path, lines: {begin}}}, errors "major", warnings
// "minor"; the fingerprint a SHA-256 of path, line, column and message.
std::string FormatGitlabCodeQuality(const std::vector<Diagnostic>& items);

}  // namespace crossdock::core
