// Start-up and shutdown costs of `vigil run` (docs/bench.md "Startup and memory"):
// the mechanisms, not their timing (timing belongs in bench/).
#include <fcntl.h>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <cerrno>
#include <filesystem>
#include <fstream>
#include <set>
#include <string>

#include "probes/sensitive.hpp"

namespace fs = std::filesystem;
using namespace vigil;

namespace {
// This process's children, zombies included, from /proc/self/task/*/children.
std::set<std::string> children() {
  std::set<std::string> out;
  for (const auto& t : fs::directory_iterator("/proc/self/task")) {
    std::ifstream in(t.path() / "children");
    for (std::string pid; in >> pid;) out.insert(pid);
  }
  return out;
}
}  // namespace

TEST_CASE("sensitive watch: closing hands the inotify release to a detached grandchild", "[startup][sensitive]") {
  fs::path dir = fs::temp_directory_path() / ("vigil-startup-" + std::to_string(getpid()));
  fs::create_directories(dir);
  std::ofstream(dir / "shadow") << "root:*:1::::::";
  const std::set<std::string> before = children();
  int fd = -1;
  {
    SensitiveWatch w;
    std::string err;
    REQUIRE(w.start({(dir / "shadow").string()}, &err));
    REQUIRE(w.watched_files() == 1);
    fd = w.fd();
  }
  // Our copy is closed, and no child of ours is left (no zombie for a later waitpid(-1)).
  CHECK(fcntl(fd, F_GETFD) == -1);
  CHECK(errno == EBADF);
  CHECK(children() == before);
  // The watch still works after that for a new instance (nothing global was left behind).
  SensitiveWatch again;
  std::string err;
  CHECK(again.start({(dir / "shadow").string()}, &err));
  fs::remove_all(dir);
}
