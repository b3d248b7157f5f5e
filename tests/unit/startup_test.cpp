// Start-up and shutdown costs of `vigil run` (docs/bench.md "Startup and memory"):
// the mechanisms, not their timing (timing belongs in bench/).
#include <fcntl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <cerrno>
#include <filesystem>
#include <fstream>

#include "probes/sensitive.hpp"

namespace fs = std::filesystem;
using namespace vigil;

TEST_CASE("sensitive watch: closing hands the inotify release to a detached grandchild", "[startup][sensitive]") {
  fs::path dir = fs::temp_directory_path() / ("vigil-startup-" + std::to_string(getpid()));
  fs::create_directories(dir);
  std::ofstream(dir / "shadow") << "root:*:1::::::";
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
  int status = 0;
  CHECK(waitpid(-1, &status, WNOHANG | __WALL) == -1);
  CHECK(errno == ECHILD);
  // The watch still works after that for a new instance (nothing global was left behind).
  SensitiveWatch again;
  std::string err;
  CHECK(again.start({(dir / "shadow").string()}, &err));
  fs::remove_all(dir);
}
