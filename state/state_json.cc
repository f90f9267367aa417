// Reading: nlohmann's SAX parser fed from the file through a buffer, events turned
// straight into records, every problem noted in passing and reported afterwards in a
// fixed order (the order a check of a parsed document would find them in), so the
// message a file gets does not depend on the order of its keys.
//
// Writing: the bytes cereal's JSON archive (rapidjson's PrettyWriter, indent 2) wrote
// before, written by hand: the same escapes (\" \\ \b \f \n \r \t, \u00XX in capitals
// for other control characters, everything else as is) and layout.
#include "state/state_json.h"

#include <unistd.h>

#include <algorithm>
#include <array>
#include <cerrno>
#include <cstdint>
#include <iterator>
#include <tuple>

#include <nlohmann/json.hpp>

#include "core/file.h"

namespace crossdock::state {
namespace {

// A state nests three levels deep (file, list, record); unknown fields may add some.
constexpr int kMaxDepth = 32;

constexpr std::array<const char*, 9> kArtifactFields = {
    "rule",          "source_endpoint",      "source_repository",
    "source_digest", "destination_endpoint", "destination_repository",
    "tag",           "destination_digest",   "replicated_at",
};
constexpr std::array<std::string Artifact::*, 9> kArtifactMembers = {
    &Artifact::rule,          &Artifact::source_endpoint,      &Artifact::source_repository,
    &Artifact::source_digest, &Artifact::destination_endpoint, &Artifact::destination_repository,
    &Artifact::tag,           &Artifact::destination_digest,   &Artifact::replicated_at,
};
constexpr std::array<const char*, 8> kIntentFields = {
    "rule",          "source_endpoint",      "source_repository",
    "source_digest", "destination_endpoint", "destination_repository",
    "tag",           "recorded_at",
};
constexpr std::array<std::string Intent::*, 8> kIntentMembers = {
    &Intent::rule,          &Intent::source_endpoint,      &Intent::source_repository,
    &Intent::source_digest, &Intent::destination_endpoint, &Intent::destination_repository,
    &Intent::tag,           &Intent::recorded_at,
};

template <class Record>
struct Fields;
template <>
struct Fields<Artifact> {
  static constexpr const auto& names = kArtifactFields;
  static constexpr const auto& members = kArtifactMembers;
};
template <>
struct Fields<Intent> {
  static constexpr const auto& names = kIntentFields;
  static constexpr const auto& members = kIntentMembers;
};

core::Status Corrupt(const std::string& path, const std::string& detail) {
  return core::Status::DataLoss("state file " + path + " is corrupt: " + detail +
                                "; restore it from " + path + ".backup or move it away");
}

// The characters of a file descriptor through a 1 MiB buffer, as the input iterator
// nlohmann's parser reads. A read error ends the input; error() tells it apart from
// the end of the file.
class FdReader {
 public:
  explicit FdReader(int fd) : fd_(fd), buffer_(1 << 20) {}

  class Iterator {
   public:
    using iterator_category = std::input_iterator_tag;
    using value_type = char;
    using difference_type = std::ptrdiff_t;
    using pointer = const char*;
    using reference = const char&;

    Iterator() = default;
    explicit Iterator(FdReader* r) : reader_(r) {}
    const char& operator*() const { return reader_->buffer_[reader_->at_]; }
    Iterator& operator++() {
      ++reader_->at_;
      return *this;
    }
    // Only comparisons with the end are meaningful (an input iterator).
    bool operator==(const Iterator& other) const { return AtEnd() == other.AtEnd(); }
    bool operator!=(const Iterator& other) const { return !(*this == other); }

   private:
    bool AtEnd() const {
      return reader_ == nullptr || (reader_->at_ == reader_->size_ && !reader_->Fill());
    }
    FdReader* reader_ = nullptr;
  };

  Iterator begin() { return Iterator(this); }
  Iterator end() { return Iterator(); }
  int error() const { return error_; }
  std::uint64_t bytes() const { return bytes_; }

 private:
  // True when a character is available at at_, reading more if needed.
  bool Fill() {
    if (at_ < size_) return true;
    if (done_) return false;
    for (;;) {
      ssize_t n = ::read(fd_, buffer_.data(), buffer_.size());
      if (n < 0 && errno == EINTR) continue;
      if (n <= 0) {
        if (n < 0) error_ = errno;
        done_ = true;
        return false;
      }
      at_ = 0;
      size_ = static_cast<size_t>(n);
      bytes_ += size_;
      return true;
    }
  }

  int fd_;
  std::vector<char> buffer_;
  size_t at_ = 0, size_ = 0;
  bool done_ = false;
  int error_ = 0;
  std::uint64_t bytes_ = 0;
};

// "artifacts" or "intents" as read: its records, or the first problem with them.
template <class Record>
struct RecordList {
  // A list's value starts: an array (IS_ARRAY) or anything else.
  void Start(bool array) {
    *this = RecordList();
    present = true;
    is_array = array;
  }

  bool present = false;
  bool is_array = false;
  std::vector<Record> records;
  std::string problem;
  size_t count = 0;  // elements seen
};

// The top level's known keys.
enum class TopKey { kOther, kFormatVersion, kLineage, kSerial, kArtifacts, kIntents };

// What one value of a record's field was.
enum class FieldKind : unsigned char { kMissing, kString, kOther };

// nlohmann's SAX interface (json_sax): every event noted, nothing built but records.
class StateHandler {
 public:
  using number_integer_t = nlohmann::json::number_integer_t;
  using number_unsigned_t = nlohmann::json::number_unsigned_t;
  using number_float_t = nlohmann::json::number_float_t;
  using string_t = nlohmann::json::string_t;
  using binary_t = nlohmann::json::binary_t;

  bool null() { return Scalar(); }
  bool boolean(bool) { return Scalar(); }
  bool number_integer(number_integer_t v) {
    // Negative (nlohmann gives non-negative integers as unsigned): 19 digits at most.
    if (depth_ == 1 && top_key_ == TopKey::kFormatVersion) {
      version_.present = version_.integer = true;
      version_.is_unsigned = false;
      version_.value = v;
      return true;
    }
    if (depth_ == 1 && top_key_ == TopKey::kSerial) {
      serial_.present = true;
      serial_.valid = false;
      return true;
    }
    return Scalar();
  }
  bool number_unsigned(number_unsigned_t v) {
    if (v > 9999999999999999999ULL) Odd("a number of more than 19 digits");
    if (depth_ == 1 && top_key_ == TopKey::kFormatVersion) {
      version_.present = version_.integer = true;
      version_.is_unsigned = true;
      version_.unsigned_value = v;
      return true;
    }
    if (depth_ == 1 && top_key_ == TopKey::kSerial) {
      serial_.present = true;
      serial_.valid = v <= static_cast<number_unsigned_t>(INT64_MAX);
      serial_.value = static_cast<std::int64_t>(v);
      return true;
    }
    return Scalar();
  }
  bool number_float(number_float_t, const string_t& text) {
    Odd(text.find_first_of(".eE") != std::string::npos ? "a number that is not an integer"
                                                       : "a number of more than 19 digits");
    return Scalar();
  }
  bool string(string_t& s) {
    if (depth_ == 1 && top_key_ == TopKey::kLineage) {
      lineage_.present = lineage_.is_string = true;
      lineage_.value = std::move(s);
      return true;
    }
    if (depth_ == 3 && field_ >= 0) {
      // Copied, not moved: the parser's buffer keeps its capacity for the next string,
      // and the record's string gets just the capacity it needs.
      if (in_artifacts_) {
        artifact_.*kArtifactMembers[field_] = s;
      } else {
        intent_.*kIntentMembers[field_] = s;
      }
      kinds_[field_] = FieldKind::kString;
      return true;
    }
    return Scalar();
  }
  bool binary(binary_t&) { return Scalar(); }

  bool start_object(std::size_t) { return Open(true); }
  bool start_array(std::size_t) { return Open(false); }
  bool end_object() { return Close(); }
  bool end_array() { return Close(); }

  bool key(string_t& k) {
    if (depth_ == 1) {
      top_key_ = k == "format_version" ? TopKey::kFormatVersion
                 : k == "lineage"      ? TopKey::kLineage
                 : k == "serial"       ? TopKey::kSerial
                 : k == "artifacts"    ? TopKey::kArtifacts
                 : k == "intents"      ? TopKey::kIntents
                                       : TopKey::kOther;
    } else if (depth_ == 3) {
      field_ = !in_record_     ? -1
               : in_artifacts_ ? FieldIndex(kArtifactFields, k, field_)
                               : FieldIndex(kIntentFields, k, field_);
    }
    return true;
  }

  bool parse_error(std::size_t, const std::string&, const nlohmann::detail::exception& e) {
    if (const auto* p = dynamic_cast<const nlohmann::json::parse_error*>(&e)) {
      syntax_error_ = "not valid JSON (syntax error at byte " + std::to_string(p->byte) + ")";
    } else {
      syntax_error_ = std::string("not valid JSON (") + e.what() + ")";
    }
    return false;
  }

  // The state, or the first problem, once the parser is done.
  core::Result<State> Finish(const std::string& path);

 private:
  // The index of field K, or -1. PREVIOUS: the field read before it (or -1): in the
  // file's own order K is the next one, which is tried first.
  template <size_t N>
  static int FieldIndex(const std::array<const char*, N>& names, const std::string& k,
                        int previous) {
    const size_t next = static_cast<size_t>(previous + 1);
    if (next < N && k == names[next]) return static_cast<int>(next);
    for (size_t i = 0; i < N; ++i)
      if (k == names[i]) return static_cast<int>(i);
    return -1;
  }

  void Odd(const char* what) {
    if (odd_.empty()) odd_ = what;
  }

  // A value that is not a number, string or container where one was wanted.
  bool Scalar() {
    if (depth_ == 0) {
      top_is_object_ = false;
    } else if (depth_ == 1) {
      NotAContainer();
      TopValueOfWrongType();
    } else if (depth_ == 2) {
      ElementNotAnObject();
    } else if (depth_ == 3 && field_ >= 0) {
      kinds_[field_] = FieldKind::kOther;
    }
    return true;
  }

  // At the top level, a value of the wrong type for the known key being read.
  void TopValueOfWrongType() {
    switch (top_key_) {
      case TopKey::kFormatVersion:
        version_.present = true;
        version_.integer = false;
        break;
      case TopKey::kLineage:
        lineage_.present = true;
        lineage_.is_string = false;
        break;
      case TopKey::kSerial:
        serial_.present = true;
        serial_.valid = false;
        break;
      default:
        break;
    }
  }

  // At the top level, anything but an array under "artifacts" or "intents".
  void NotAContainer() {
    if (top_key_ == TopKey::kArtifacts) artifacts_.Start(false);
    if (top_key_ == TopKey::kIntents) intents_.Start(false);
  }

  void ElementNotAnObject() {
    if (list_depth_ != 2) return;
    const bool artifacts = in_artifacts_;
    const size_t i = artifacts ? artifacts_.count++ : intents_.count++;
    std::string& problem = artifacts ? artifacts_.problem : intents_.problem;
    if (problem.empty())
      problem = (artifacts ? "artifacts[" : "intents[") + std::to_string(i) + "] is not an object";
  }

  bool Open(bool object) {
    if (depth_ + 1 > kMaxDepth) Odd("JSON nested more than 32 levels deep");
    if (depth_ == 0) {
      top_is_object_ = object;
    } else if (depth_ == 1) {
      if (!object && (top_key_ == TopKey::kArtifacts || top_key_ == TopKey::kIntents)) {
        in_artifacts_ = top_key_ == TopKey::kArtifacts;
        if (in_artifacts_) {
          artifacts_.Start(true);
        } else {
          intents_.Start(true);
        }
        list_depth_ = 2;
      } else {
        NotAContainer();
        TopValueOfWrongType();
      }
    } else if (depth_ == 2 && list_depth_ == 2) {
      if (object) {
        in_record_ = true;
        kinds_.fill(FieldKind::kMissing);
        field_ = -1;
      } else {
        ElementNotAnObject();
      }
    } else if (depth_ == 3 && field_ >= 0) {
      kinds_[field_] = FieldKind::kOther;
    }
    ++depth_;
    return true;
  }

  bool Close() {
    --depth_;
    if (depth_ == 2 && in_record_) {
      in_record_ = false;
      field_ = -1;
      if (in_artifacts_) {
        FinishRecord(&artifact_, &artifacts_, "artifacts");
      } else {
        FinishRecord(&intent_, &intents_, "intents");
      }
    } else if (depth_ == 1) {
      list_depth_ = 0;
    }
    if (depth_ == 3) field_ = -1;  // a field's nested value ended: the next key says more
    return true;
  }

  template <class Record>
  void FinishRecord(Record* r, RecordList<Record>* list, const char* name) {
    const size_t i = list->count++;
    if (!list->problem.empty()) return;
    for (size_t f = 0; f < Fields<Record>::names.size(); ++f) {
      if (kinds_[f] == FieldKind::kString) continue;
      const std::string where = std::string(name) + "[" + std::to_string(i) + "]";
      list->problem = kinds_[f] == FieldKind::kMissing
                          ? where + " is missing \"" + Fields<Record>::names[f] + "\""
                          : where + "." + Fields<Record>::names[f] + " is not a string";
      return;
    }
    list->records.push_back(std::move(*r));
    *r = Record{};
  }

  template <class Record>
  static std::string ListProblem(const RecordList<Record>& list, const char* name) {
    if (!list.present) return std::string("missing \"") + name + "\"";
    if (!list.is_array) return std::string("\"") + name + "\" is not an array";
    return list.problem;
  }

  int depth_ = 0;
  bool top_is_object_ = false;
  TopKey top_key_ = TopKey::kOther;
  std::string odd_;
  std::string syntax_error_;

  struct {
    bool present = false, integer = false, is_unsigned = false;
    std::int64_t value = 0;
    std::uint64_t unsigned_value = 0;
  } version_;
  struct {
    bool present = false, is_string = false;
    std::string value;
  } lineage_;
  struct {
    bool present = false, valid = false;
    std::int64_t value = 0;
  } serial_;

  RecordList<Artifact> artifacts_;
  RecordList<Intent> intents_;
  int list_depth_ = 0;         // 2 while inside "artifacts" or "intents"
  bool in_artifacts_ = false;  // which of the two
  bool in_record_ = false;
  int field_ = -1;  // the known field whose value comes next, in a record
  std::array<FieldKind, 9> kinds_{};
  Artifact artifact_;
  Intent intent_;
};

core::Result<State> StateHandler::Finish(const std::string& path) {
  if (!syntax_error_.empty()) return Corrupt(path, syntax_error_);
  if (!top_is_object_) return Corrupt(path, "the top level is not a JSON object");
  if (!odd_.empty()) return Corrupt(path, odd_);
  if (!version_.present) return Corrupt(path, "missing \"format_version\"");
  if (!version_.integer) return Corrupt(path, "\"format_version\" is not an integer");
  const std::string version_text = version_.is_unsigned ? std::to_string(version_.unsigned_value)
                                                        : std::to_string(version_.value);
  if (version_.is_unsigned ? version_.unsigned_value > static_cast<std::uint64_t>(kFormatVersion)
                           : version_.value > kFormatVersion) {
    return core::Status::InvalidArgument("state file " + path + " has format version " +
                                         version_text +
                                         ", newer than this crossdock understands (" +
                                         std::to_string(kFormatVersion) + "); upgrade crossdock");
  }
  const int version = static_cast<int>(
      version_.is_unsigned ? static_cast<std::int64_t>(version_.unsigned_value) : version_.value);
  if (version < 1) return Corrupt(path, "format version " + version_text + " does not exist");
  if (!lineage_.present) return Corrupt(path, "missing \"lineage\"");
  if (!lineage_.is_string) return Corrupt(path, "\"lineage\" is not a string");
  if (lineage_.value.empty()) return Corrupt(path, "\"lineage\" is empty");
  if (!serial_.present) return Corrupt(path, "missing \"serial\"");
  if (!serial_.valid) return Corrupt(path, "\"serial\" is not a non-negative integer");
  if (std::string p = ListProblem(artifacts_, "artifacts"); !p.empty()) return Corrupt(path, p);
  if (version >= 2) {
    if (std::string p = ListProblem(intents_, "intents"); !p.empty()) return Corrupt(path, p);
  }
  State s;
  s.format_version = version;
  s.lineage = std::move(lineage_.value);
  s.serial = serial_.value;
  s.artifacts = std::move(artifacts_.records);
  if (version >= 2) s.intents = std::move(intents_.records);  // version 1 has none
  return s;
}

// Appends S as a JSON string, escaped as rapidjson's Writer escapes.
void AppendString(std::string* out, const std::string& s) {
  static constexpr char kHex[] = "0123456789ABCDEF";
  out->push_back('"');
  size_t plain = 0;  // start of the run of characters copied as they are
  for (size_t i = 0; i < s.size(); ++i) {
    const unsigned char c = static_cast<unsigned char>(s[i]);
    if (c >= 0x20 && c != '"' && c != '\\') continue;
    out->append(s, plain, i - plain);
    plain = i + 1;
    out->push_back('\\');
    switch (c) {
      case '"':
        out->push_back('"');
        break;
      case '\\':
        out->push_back('\\');
        break;
      case '\b':
        out->push_back('b');
        break;
      case '\f':
        out->push_back('f');
        break;
      case '\n':
        out->push_back('n');
        break;
      case '\r':
        out->push_back('r');
        break;
      case '\t':
        out->push_back('t');
        break;
      default:
        out->append("u00");
        out->push_back(kHex[c >> 4]);
        out->push_back(kHex[c & 15]);
    }
  }
  out->append(s, plain, std::string::npos);
  out->push_back('"');
}

template <class Record>
void AppendRecord(std::string* out, const Record& r, bool first) {
  out->append(first ? "\n    {" : ",\n    {");
  for (size_t f = 0; f < Fields<Record>::names.size(); ++f) {
    out->append(f == 0 ? "\n      \"" : ",\n      \"");
    out->append(Fields<Record>::names[f]);
    out->append("\": ");
    AppendString(out, r.*Fields<Record>::members[f]);
  }
  out->append("\n    }");
}

// Pointers to RECORDS sorted by destination key (the file's order), stable.
template <class Record>
std::vector<const Record*> SortedByKey(const std::vector<Record>& records) {
  std::vector<const Record*> out;
  out.reserve(records.size());
  for (const auto& r : records) out.push_back(&r);
  auto by_key = [](const Record* x, const Record* y) {
    return std::tie(x->destination_endpoint, x->destination_repository, x->tag) <
           std::tie(y->destination_endpoint, y->destination_repository, y->tag);
  };
  // A state read from its file is sorted already, new records at the end aside.
  if (!std::is_sorted(out.begin(), out.end(), by_key))
    std::stable_sort(out.begin(), out.end(), by_key);
  return out;
}

}  // namespace

core::Result<State> ReadStateFile(int fd, const std::string& path) {
  FdReader reader(fd);
  StateHandler handler;
  nlohmann::json::sax_parse(reader.begin(), reader.end(), &handler);
  if (reader.error() != 0)
    return core::ErrnoStatus("cannot read state file " + path, reader.error());
  if (reader.bytes() == 0) return Corrupt(path, "the file is empty");
  return handler.Finish(path);
}

StateFileText::StateFileText(const State& s, std::int64_t serial)
    : state_(s),
      serial_(serial),
      artifacts_(SortedByKey(s.artifacts)),
      intents_(SortedByKey(s.intents)) {}

bool StateFileText::Next(std::string* piece) {
  constexpr size_t kPiece = 1 << 20;
  if (part_ == 0) {
    piece->append("{\n  \"format_version\": " + std::to_string(kFormatVersion) +
                  ",\n  \"lineage\": ");
    AppendString(piece, state_.lineage);
    piece->append(",\n  \"serial\": " + std::to_string(serial_) + ",\n  \"artifacts\": [");
    part_ = 1;
  }
  while (part_ == 1 && piece->size() < kPiece) {
    if (next_ == artifacts_.size()) {
      piece->append(artifacts_.empty() ? "],\n  \"intents\": [" : "\n  ],\n  \"intents\": [");
      part_ = 2;
      next_ = 0;
      break;
    }
    AppendRecord(piece, *artifacts_[next_], next_ == 0);
    ++next_;
  }
  while (part_ == 2 && piece->size() < kPiece) {
    if (next_ == intents_.size()) {
      piece->append(intents_.empty() ? "]\n}\n" : "\n  ]\n}\n");
      part_ = 3;
      return true;
    }
    AppendRecord(piece, *intents_[next_], next_ == 0);
    ++next_;
  }
  return part_ != 3 || !piece->empty();
}

}  // namespace crossdock::state
