#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdlib>
#include <string>
#include <vector>

#include <catch2/catch.hpp>

#include "rules/rules.hpp"
#include "sensor/sensor.hpp"
#include "sinks/sinks.hpp"
#include "tests/unit/rules_test_util.hpp"

using namespace vigil;

namespace {
struct Capture final : Output {
  std::vector<Event> events;
  void event(Event ev) override { events.push_back(std::move(ev)); }
  std::vector<Alert> alerts;
  void alert(Alert a) override { alerts.push_back(std::move(a)); }
  void flush(std::chrono::milliseconds) override {}
};
}  // namespace

TEST_CASE("a kill rule kills an exec before the program runs", "[tracer]") {
  char dir[] = "/tmp/vigil-verdict-XXXXXX";
  REQUIRE(mkdtemp(dir));
  std::string marker = std::string(dir) + "/ran";
  Capture out;
  Judge judge(out, Mode::Prevent);
  judge.set_rules(rt::engine_text("- rule: no touch\n  desc: d\n  condition: evt.type = execve and proc.exe endswith /touch\n"
                                  "  output: o\n  priority: CRITICAL\n  action: kill\n"));
  Tracer tracer(judge, {});
  std::string err;
  int pid = tracer.spawn("/bin/sh", {"sh", "-c", "/usr/bin/touch \"$1\"; exit 3", "sh", marker},
                         {"PATH=/usr/bin:/bin"}, nullptr, &err);
  REQUIRE(pid > 0);
  int status = tracer.run();
  CHECK(WIFEXITED(status));
  CHECK(WEXITSTATUS(status) == 3);
  struct stat st {};
  CHECK(stat(marker.c_str(), &st) != 0);  // touch never ran
  rmdir(dir);

  int blocked_pid = 0;
  for (const auto& ev : out.events)
    if (ev.type == "exec" && ev.proc->exe.ends_with("/touch")) {
      CHECK(ev.action == Action::Killed);
      blocked_pid = ev.proc->pid;
    }
  REQUIRE(blocked_pid != 0);
  bool exit_seen = false;
  for (const auto& ev : out.events)
    if (ev.type == "exit" && ev.proc->pid == blocked_pid) {
      exit_seen = true;
      CHECK(ev.exit_signal == SIGKILL);
    }
  CHECK(exit_seen);
  REQUIRE(out.alerts.size() == 1);
  CHECK(out.alerts[0].action == Action::Killed);
}

TEST_CASE("entry rows: a denied syscall fails with EPERM, a row with on_return gets the result", "[tracer]") {
  // A table of our own: uname (judged at entry) and getppid (needs its return value).
  const probes::Table table = {
      {"uname", EventClass::Sensor, "uname", probes::Stage::Entry, [](const probes::SyscallArgs&, const probes::TraceeMemory&, probes::DecodeContext&, Event*) {}},
      {"getppid", EventClass::Sensor, "getppid", probes::Stage::Entry,
       [](const probes::SyscallArgs&, const probes::TraceeMemory&, probes::DecodeContext&, Event* ev) { ev->args.push_back({"seen", "entry"}); },
       {},
       [](int64_t ret, const probes::SyscallArgs&, const probes::TraceeMemory&, probes::DecodeContext&, Event* ev) { ev->args.push_back({"ret", std::to_string(ret)}); }},
  };
  Capture out;
  Judge judge(out, Mode::Prevent);
  judge.set_rules(rt::engine_text("- rule: no uname\n  desc: d\n  condition: evt.type = uname\n"
                                  "  output: o\n  priority: CRITICAL\n  action: block\n"));
  TracerConfig cfg;
  cfg.table = &table;
  Tracer tracer(judge, std::move(cfg));
  std::string err;
  // dash reads $PPID with getppid() at start; uname(1) fails if uname(2) does.
  int pid = tracer.spawn("/bin/dash", {"dash", "-c", "echo $PPID >/dev/null; uname >/dev/null 2>&1; exit $?"},
                         {"PATH=/usr/bin:/bin"}, nullptr, &err);
  REQUIRE(pid > 0);
  int status = tracer.run();
  REQUIRE(WIFEXITED(status));
  CHECK(WEXITSTATUS(status) == 1);  // uname(1) saw EPERM

  int unames = 0, getppids = 0;
  for (const auto& ev : out.events) {
    if (ev.type == "uname") {
      ++unames;
      CHECK(ev.action == Action::Denied);
      CHECK_FALSE(ev.has_res);
    }
    if (ev.type == "getppid" && ev.proc->pid == pid) {
      ++getppids;
      CHECK(ev.has_res);
      CHECK(ev.res == getpid());  // the tracer is the parent of the spawned process
      REQUIRE(ev.arg("seen"));
      REQUIRE(ev.arg("ret"));
      CHECK(*ev.arg("ret") == std::to_string(getpid()));
    }
  }
  CHECK(unames >= 1);
  CHECK(getppids >= 1);
}
