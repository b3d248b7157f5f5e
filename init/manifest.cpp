// Parser of the rootfs MANIFEST (format: init/init.hpp, docs/rootfs.md).
#include <sstream>

#include <fmt/format.h>

#include "init/init.hpp"

namespace vigil {
namespace {

constexpr const char* kMagic = "# vigil-rootfs-manifest 1";

bool is_sha256_hex(const std::string& s) {
  if (s.size() != 64) return false;
  for (char c : s)
    if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'))) return false;
  return true;
}

// A safe relative path: no leading '/', no empty, "." or ".." components.
bool is_safe_relative(const std::string& p) {
  if (p.empty() || p.front() == '/' || p.back() == '/') return false;
  size_t start = 0;
  while (start <= p.size()) {
    size_t end = p.find('/', start);
    if (end == std::string::npos) end = p.size();
    std::string part = p.substr(start, end - start);
    if (part.empty() || part == "." || part == "..") return false;
    start = end + 1;
  }
  return true;
}

}  // namespace

bool parse_manifest(const std::string& text, RootfsManifest* out, std::string* error) {
  std::istringstream in(text);
  std::string line;
  int n = 0;
  RootfsManifest m;
  while (std::getline(in, line)) {
    ++n;
    if (n == 1) {
      if (line != kMagic) {
        *error = fmt::format("line 1: expected '{}', got '{}'", kMagic, line);
        return false;
      }
      continue;
    }
    if (line.rfind("# version ", 0) == 0) {
      m.version = line.substr(10);
      continue;
    }
    if (line.empty() || line[0] == '#') continue;
    auto sep = line.find("  ");
    RootfsManifest::File f;
    if (sep != std::string::npos) {
      f.sha256 = line.substr(0, sep);
      f.path = line.substr(sep + 2);
    }
    if (!is_sha256_hex(f.sha256) || !is_safe_relative(f.path) || f.path == "MANIFEST") {
      *error = fmt::format("line {}: expected '<64 hex digits>  <relative path>', got '{}'", n, line);
      return false;
    }
    if (!m.files.empty() && !(m.files.back().path < f.path)) {
      *error = fmt::format("line {}: '{}' is duplicated or out of order (paths must be sorted)", n, f.path);
      return false;
    }
    m.files.push_back(std::move(f));
  }
  if (n == 0) {
    *error = "empty manifest";
    return false;
  }
  if (m.version.empty()) {
    *error = "no '# version ...' line";
    return false;
  }
  if (m.files.empty()) {
    *error = "lists no files";
    return false;
  }
  *out = std::move(m);
  return true;
}

}  // namespace vigil
