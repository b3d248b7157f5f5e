// Start-up and shutdown costs of `vigil run` (docs/bench.md "Startup and memory"):
// the mechanisms, not their timing (timing belongs in bench/).
#include <fcntl.h>
#include <poll.h>
#include <sys/wait.h>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <cerrno>
#include <filesystem>
#include <fstream>
#include <set>
#include <string>

#include "probes/sensitive.hpp"
#include "sensor/keeper.hpp"

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

TEST_CASE("keeper: stood down with an fd to hold, it holds it until the sensor has exited", "[startup][keeper]") {
  // vigil's exit hands the inotify instance to the keeper (sensor/tracer.cpp
  // kill_all): here a pipe's read end, whose release the test can see.
  int data[2], said[2], go[2];
  REQUIRE(pipe(data) == 0);
  REQUIRE(pipe(said) == 0);
  REQUIRE(pipe(go) == 0);
  const pid_t sensor = fork();
  REQUIRE(sensor >= 0);
  if (sensor == 0) {
    close(data[1]), close(said[0]), close(go[1]);
    char ok = 'n';
    {
      Keeper k;
      std::string err;
      if (k.start(-1, &err) && k.stand_down(data[0]) && !k.stand_down(data[0])) ok = 'y';
    }  // (the keeper's socket stays open: it is closed by this process's exit)
    close(data[0]);
    if (write(said[1], &ok, 1) != 1) _exit(1);
    char c;
    if (read(go[0], &c, 1) < 0) _exit(1);
    _exit(0);
  }
  close(data[0]), close(said[1]), close(go[0]);
  char ok = 0;
  REQUIRE(read(said[0], &ok, 1) == 1);
  CHECK(ok == 'y');
  pollfd p{data[1], 0, 0};
  CHECK(poll(&p, 1, 300) == 0);  // the sensor closed its copy; the keeper's still reads: no POLLERR
  close(go[1]);                   // the sensor exits
  int status = 0;
  REQUIRE(waitpid(sensor, &status, 0) == sensor);
  CHECK(WIFEXITED(status));
  CHECK(WEXITSTATUS(status) == 0);
  REQUIRE(poll(&p, 1, 5000) == 1);  // then the keeper exits: no reader is left
  CHECK((p.revents & POLLERR) != 0);
  close(data[1]), close(said[0]);
}
