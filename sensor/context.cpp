#include <sys/random.h>
#include <unistd.h>

#include <cctype>
#include <cstring>
#include <fstream>
#include <iterator>

#include <fmt/format.h>

#include "sensor/sensor.hpp"

namespace vigil {
namespace {

std::string read_cgroup() {
  std::ifstream in("/proc/self/cgroup");
  return std::string(std::istreambuf_iterator<char>(in), {});
}

}  // namespace

std::string container_id_from_cgroup(std::string_view text) {
  std::string hex64, ecs;
  size_t start = 0;
  while (start < text.size()) {
    size_t end = text.find('\n', start);
    if (end == std::string_view::npos) end = text.size();
    std::string_view line = text.substr(start, end - start);
    start = end + 1;
    size_t colon = line.find(':', line.find(':') + 1);
    std::string_view path = colon == std::string_view::npos ? line : line.substr(colon + 1);
    size_t run = 0;
    for (size_t i = 0; i <= path.size(); ++i) {
      if (i < path.size() && std::isxdigit(static_cast<unsigned char>(path[i]))) {
        ++run;
        continue;
      }
      if (run == 64) hex64 = path.substr(i - 64, 64);
      run = 0;
    }
    if (path.starts_with("/ecs/") && path.size() > 5) ecs = path.substr(path.rfind('/') + 1);
  }
  return !hex64.empty() ? hex64 : ecs;
}

Context make_context() {
  Context ctx;
  unsigned char rnd[8] = {};
  if (getrandom(rnd, sizeof rnd, 0) != sizeof rnd) {
    uint64_t fallback = uint64_t(now_realtime_ns()) ^ uint64_t(getpid());
    std::memcpy(rnd, &fallback, sizeof rnd);
  }
  for (unsigned char c : rnd) ctx.sensor_id += fmt::format("{:02x}", c);
  char host[256] = {};
  if (gethostname(host, sizeof host - 1) == 0) ctx.hostname = host;
  ctx.container_id = container_id_from_cgroup(read_cgroup());
  return ctx;
}

}  // namespace vigil
