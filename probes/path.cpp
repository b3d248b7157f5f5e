#include "probes/path.hpp"

#include <vector>

namespace vigil {

std::string normalize_path(std::string_view base, std::string_view raw) {
  const bool raw_abs = !raw.empty() && raw[0] == '/';
  const bool absolute = raw_abs || (!base.empty() && base[0] == '/');
  std::vector<std::string_view> parts;
  size_t leading_up = 0;  // ".." that climb above a relative start
  auto walk = [&](std::string_view s) {
    size_t i = 0;
    while (i <= s.size()) {
      size_t j = s.find('/', i);
      if (j == std::string_view::npos) j = s.size();
      std::string_view c = s.substr(i, j - i);
      if (c.empty() || c == ".") {
      } else if (c == "..") {
        if (!parts.empty()) parts.pop_back();
        else if (!absolute) ++leading_up;
      } else {
        parts.push_back(c);
      }
      i = j + 1;
    }
  };
  if (!raw_abs) walk(base);
  walk(raw);
  std::string out;
  size_t total = 1;
  for (auto p : parts) total += p.size() + 1;
  out.reserve(total + leading_up * 3);
  for (size_t k = 0; k < leading_up; ++k) {
    if (k > 0) out.push_back('/');
    out.append("..");
  }
  for (auto p : parts) {
    if (absolute || !out.empty()) out += '/';
    out += p;
  }
  if (out.empty()) out.push_back(absolute ? '/' : '.');
  return out;
}

}  // namespace vigil
