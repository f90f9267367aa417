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

}  // namespace crossdock::core
