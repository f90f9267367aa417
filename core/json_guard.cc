#include "core/json_guard.h"

#include <algorithm>

namespace crossdock::core {

namespace {
bool IsDigit(char c) { return c >= '0' && c <= '9'; }
}  // namespace

std::string JsonTooOddForCereal(std::string_view text, int max_depth) {
  int depth = 0;
  for (size_t i = 0; i < text.size(); ++i) {
    const char c = text[i];
    if (c == '"') {  // skip the string
      for (++i; i < text.size() && text[i] != '"'; ++i)
        if (text[i] == '\\') ++i;
    } else if (c == '[' || c == '{') {
      if (++depth > max_depth)
        return "JSON nested more than " + std::to_string(max_depth) + " levels deep";
    } else if (c == ']' || c == '}') {
      if (depth > 0) --depth;
    } else if (c == '-' || IsDigit(c)) {
      const size_t end = std::min(text.find_first_not_of("0123456789+-.eE", i), text.size());
      const std::string_view number = text.substr(i, end - i);
      if (number.find_first_of(".eE") != std::string_view::npos)
        return "a number that is not an integer";
      if (std::count_if(number.begin(), number.end(), IsDigit) > 19)
        return "a number of more than 19 digits";
      i = end - 1;
    }
  }
  return "";
}

}  // namespace crossdock::core
