#include <sys/random.h>
#include <unistd.h>

#include <cctype>
#include <cstring>
#include <fstream>

#include <fmt/format.h>

#include "sensor/sensor.hpp"

namespace vigil {
namespace {

// A container id is the last run of 64 hex digits in /proc/self/cgroup
// (docker/containerd: .../docker-<id>.scope, /docker/<id>, ECS: /ecs/<task>/<id>).
std::string container_id_from_cgroup() {
  std::ifstream in("/proc/self/cgroup");
  std::string line, found;
  while (std::getline(in, line)) {
    size_t run = 0;
    for (size_t i = 0; i <= line.size(); ++i) {
      if (i < line.size() && std::isxdigit(static_cast<unsigned char>(line[i]))) {
        ++run;
        continue;
      }
      if (run == 64) found = line.substr(i - 64, 64);
      run = 0;
    }
  }
  return found;
}

}  // namespace

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
  ctx.container_id = container_id_from_cgroup();
  return ctx;
}

}  // namespace vigil
