// The judging stage (sensor/judge.hpp): the mode and what the event allows
// (probes::Enforce) decide what is done about what the rules ask.
#include <sys/stat.h>

#include <cstdlib>
#include <fstream>

#include <catch2/catch.hpp>

#include "sensor/sensor.hpp"
#include "sinks/sinks.hpp"
#include "tests/unit/rules_test_util.hpp"
#include "tests/unit/temp_dir.hpp"

using namespace vigil;

namespace {
struct Capture final : Output {
  std::vector<Event> events;
  std::vector<Alert> alerts;
  void event(Event ev) override { events.push_back(std::move(ev)); }
  void alert(Alert a) override { alerts.push_back(std::move(a)); }
  void flush(std::chrono::milliseconds) override {}
};

const char* kRules =
    "- rule: b\n  desc: d\n  condition: evt.type = openat and fd.name = /etc/shadow\n  output: o\n  priority: CRITICAL\n"
    "  action: block\n"
    "- rule: k\n  desc: d\n  condition: evt.type = openat and fd.name = /etc/shadow and proc.name = evil\n  output: o\n"
    "  priority: CRITICAL\n  action: kill\n";

// A write-open of an existing file, resolved to its object (dev, inode) as the decoders do.
Event ev_of(const std::string& path) {
  Event ev = rt::open_ev(path, O_WRONLY);
  struct stat st {};
  REQUIRE(stat(path.c_str(), &st) == 0);
  ev.file->dev = st.st_dev, ev.file->ino = st.st_ino;
  return ev;
}

// Judges one event in a fresh judge; returns the action and the alerts' actions.
std::pair<Action, std::vector<Action>> judged(Mode mode, probes::Enforce may, Event ev) {
  Capture out;
  Judge j(out, mode);
  j.set_rules(rt::engine_text(kRules));
  Action a = j.judge(ev, may);
  CHECK(ev.action == a);
  CHECK(ev.seq == 1);
  std::vector<Action> acts;
  for (const auto& al : out.alerts) acts.push_back(al.action);
  return {a, acts};
}
}  // namespace

TEST_CASE("judge: detect mode never acts, and its alerts say so", "[judge]") {
  auto [a, alerts] = judged(Mode::Detect, probes::Enforce::Deny, rt::open_ev("/etc/shadow", O_RDONLY));
  CHECK(a == Action::None);
  CHECK(alerts == std::vector<Action>{Action::None});
}

TEST_CASE("judge: prevent mode does what the rules ask, within what the event allows", "[judge]") {
  using E = probes::Enforce;
  auto evil = [] { return rt::open_ev("/etc/shadow", O_RDONLY, rt::proc("/tmp/evil", {"evil"})); };
  // before the call: block denies, kill kills
  CHECK(judged(Mode::Prevent, E::Deny, rt::open_ev("/etc/shadow", O_RDONLY)) ==
        std::pair{Action::Denied, std::vector<Action>{Action::Denied}});
  CHECK(judged(Mode::Prevent, E::Deny, evil()) ==
        std::pair{Action::Killed, std::vector<Action>{Action::Denied, Action::Killed}});
  // the call is done (a fork learnt afterwards): both kill
  CHECK(judged(Mode::Prevent, E::Kill, rt::open_ev("/etc/shadow", O_RDONLY)) ==
        std::pair{Action::Killed, std::vector<Action>{Action::Killed}});
  // past the point of no return: alerts only, saying nothing was done
  CHECK(judged(Mode::Prevent, E::Alert, evil()) ==
        std::pair{Action::None, std::vector<Action>{Action::None, Action::None}});
  // nothing matches: nothing done, no alert
  CHECK(judged(Mode::Prevent, E::Deny, rt::open_ev("/etc/hosts", O_RDONLY)) == std::pair{Action::None, std::vector<Action>{}});
}

TEST_CASE("judge: events are numbered when judged and emitted as given; no rules, no verdict", "[judge]") {
  Capture out;
  Judge j(out, Mode::Prevent);
  Event a = rt::open_ev("/etc/shadow", O_RDONLY), b = rt::open_ev("/etc/hosts", O_RDONLY);
  CHECK(j.judge(a, probes::Enforce::Deny) == Action::None);
  CHECK(j.judge(b, probes::Enforce::Deny) == Action::None);
  CHECK(a.seq == 1);
  CHECK(b.seq == 2);
  j.emit(std::move(b));
  j.emit(std::move(a));
  REQUIRE(out.events.size() == 2);
  CHECK(out.events[0].seq == 2);
  CHECK(out.alerts.empty());
}

TEST_CASE("judge: an argument vigil could not read is denied in prevent mode, whatever the rules", "[judge]") {
  auto unreadable = [] {
    Event ev = rt::open_ev("", O_WRONLY);
    ev.args.push_back({"unreadable", "path"});
    return ev;
  };
  CHECK(judged(Mode::Detect, probes::Enforce::Deny, unreadable()) ==
        std::pair{Action::None, std::vector<Action>{Action::None}});
  CHECK(judged(Mode::Prevent, probes::Enforce::Deny, unreadable()) ==
        std::pair{Action::Denied, std::vector<Action>{Action::Denied}});
  Capture out;  // without rules too; the alert names the rule and what was unreadable
  Judge j(out, Mode::Prevent);
  Event ev = unreadable();
  CHECK(j.judge(ev, probes::Enforce::Deny) == Action::Denied);
  REQUIRE(out.alerts.size() == 1);
  CHECK(out.alerts[0].rule == "Unreadable syscall argument");
  CHECK(out.alerts[0].priority == "Critical");
  CHECK(out.alerts[0].output.find("argument=path") != std::string::npos);
}

TEST_CASE("judge: another name of a file a block rule names is judged under the rule's name", "[judge]") {
  char tmpl[] = "/tmp/vigil-judge-XXXXXX";
  const std::string d = mkdtemp(tmpl);
  REQUIRE(std::system(("mkdir " + d + "/protected && echo s >" + d + "/protected/x && ln " + d + "/protected/x " + d +
                       "/hard && echo o >" + d + "/other")
                          .c_str()) == 0);
  const std::string rules = "- rule: p\n  desc: d\n  condition: evt.type = openat and fd.name startswith " + d +
                            "/protected\n  output: o\n  priority: CRITICAL\n  action: block\n";
  Capture out;
  Judge j(out, Mode::Prevent);
  j.set_rules(rt::engine_text(rules));
  Event hard = ev_of(d + "/hard");  // a hard link made before the rules were loaded
  CHECK(j.judge(hard, probes::Enforce::Deny) == Action::Denied);
  CHECK(hard.file->path == d + "/protected/x");
  CHECK(*hard.arg("resolved_path") == d + "/hard");
  Event other = ev_of(d + "/other");
  CHECK(j.judge(other, probes::Enforce::Deny) == Action::None);
  CHECK(other.file->path == d + "/other");
  Event unknown = rt::open_ev(d + "/hard", O_WRONLY);  // no identity (not resolved): its name only
  CHECK(j.judge(unknown, probes::Enforce::Deny) == Action::None);
  std::system(("rm -rf " + d).c_str());
}

TEST_CASE("judge: a file renamed within the directory a rule names keeps its new name (log rotation)", "[judge]") {
  char tmpl[] = "/tmp/vigil-judge-XXXXXX";
  const std::string d = mkdtemp(tmpl);
  REQUIRE(std::system(("mkdir " + d + "/logs && echo l >" + d + "/logs/app.log && echo s >" + d + "/logs/key && mkdir " +
                       d + "/away")
                          .c_str()) == 0);
  // Like the default "Log file cleared or removed": a rotated copy may go, the live log may not.
  const std::string rules = "- rule: p\n  desc: d\n  condition: evt.type = openat and fd.name startswith " + d +
                            "/logs/ and not fd.name endswith .1\n  output: o\n  priority: CRITICAL\n  action: block\n"
                            "- rule: k\n  desc: d\n  condition: evt.type = openat and fd.name = " + d +
                            "/logs/key\n  output: o\n  priority: CRITICAL\n  action: block\n";
  Capture out;
  Judge j(out, Mode::Prevent);
  j.set_rules(rt::engine_text(rules));
  REQUIRE(std::rename((d + "/logs/app.log").c_str(), (d + "/logs/app.log.1").c_str()) == 0);
  Event rotated = ev_of(d + "/logs/app.log.1");  // known as logs/app.log: renamed in place, its name now
  CHECK(j.judge(rotated, probes::Enforce::Deny) == Action::None);
  CHECK(rotated.file->path == d + "/logs/app.log.1");
  CHECK(rotated.arg("resolved_path") == nullptr);
  REQUIRE(std::rename((d + "/logs/app.log.1").c_str(), (d + "/away/app.log.1").c_str()) == 0);
  Event moved = ev_of(d + "/away/app.log.1");  // out of the directory: judged as what it was
  CHECK(j.judge(moved, probes::Enforce::Deny) == Action::Denied);
  CHECK(moved.file->path == d + "/logs/app.log");
  REQUIRE(std::rename((d + "/logs/key").c_str(), (d + "/logs/key.1").c_str()) == 0);
  Event key = ev_of(d + "/logs/key.1");  // a rule names it exactly: that name under any other
  CHECK(j.judge(key, probes::Enforce::Deny) == Action::Denied);
  CHECK(key.file->path == d + "/logs/key");
  CHECK(*key.arg("resolved_path") == d + "/logs/key.1");
  std::system(("rm -rf " + d).c_str());
}

TEST_CASE("judge: a directory only alert rules name is walked by the watch's thread, then known by identity",
          "[judge]") {
  char tmpl[] = "/tmp/vigil-judge-XXXXXX";
  const std::string d = mkdtemp(tmpl);
  REQUIRE(std::system(("mkdir " + d + "/alerted && echo s >" + d + "/alerted/x && ln " + d + "/alerted/x " + d +
                       "/hard && echo k >" + d + "/key")
                          .c_str()) == 0);
  const std::string rules = "- rule: a\n  desc: d\n  condition: evt.type = openat and evt.is_open_write = true and "
                            "fd.name startswith " + d + "/alerted\n  output: o\n  priority: WARNING\n"
                            "- rule: r\n  desc: d\n  condition: evt.type = openat and evt.is_open_read = true and "
                            "fd.name = " + d + "/key\n  output: o\n  priority: NOTICE\n";
  Capture out;
  Judge j(out, Mode::Prevent);
  j.set_rules(rt::engine_text(rules));
  const ProtectedObjects& objs = j.protected_objects();
  CHECK(objs.walk == std::vector<ProtectedObjects::Object>{{d + "/alerted", ProtectedObjects::kWrites}});
  CHECK(objs.dirs.empty());  // not walked when the rules load (an alert rule's: off the app's start)
  CHECK(objs.names == std::vector<ProtectedObjects::Object>{{d + "/key", ProtectedObjects::kReads}});
  Event before = ev_of(d + "/hard");  // not walked yet: its own name
  CHECK(j.judge(before, probes::Enforce::Deny) == Action::None);
  CHECK(before.file->path == d + "/hard");
  CHECK(out.alerts.empty());
  // What the watch's thread found (SensitiveWatch::protect): adopted whole.
  ProtectedObjects walk_only;
  walk_only.walk = objs.walk;
  SensitiveWatch w;
  std::string err;
  REQUIRE(w.start({}, &err));
  std::vector<Learnt> found;
  w.protect(walk_only, &found);
  j.adopt(Walked(std::move(found)));
  Event after = ev_of(d + "/hard");
  CHECK(j.judge(after, probes::Enforce::Deny) == Action::None);  // alert only: never denied
  CHECK(after.file->path == d + "/alerted/x");
  CHECK(*after.arg("resolved_path") == d + "/hard");
  REQUIRE(out.alerts.size() == 1);
  CHECK(out.alerts[0].rule == "a");
  std::system(("rm -rf " + d).c_str());
}

TEST_CASE("judge: the home directories whose dot-directories rules name anywhere", "[judge]") {
  TempDir t;
  const std::string d = t.path.string();
  std::filesystem::create_directories(d + "/home/app");
  std::filesystem::create_directories(d + "/home/ann");
  std::ofstream(d + "/home/file") << "not a directory\n";
  std::filesystem::create_directory_symlink("/etc", d + "/home/link");
  std::ofstream(d + "/passwd") << "root:x:0:0:root:/root:/bin/bash\n"
                                  "svc:x:999:999:a service:/srv/svc/:/bin/sh\n"
                                  "nobody:x:65534:65534:nobody:/nonexistent:/usr/sbin/nologin\n"
                                  "odd:x:1:1::relative/home:/bin/sh\n"
                                  "up:x:2:2::/srv/../etc:/bin/sh\n"
                                  "short:x:3\n"
                                  "\n";
  CHECK(home_directories((d + "/passwd").c_str(), (d + "/home").c_str()) ==
        std::vector<std::string>{"/nonexistent", "/root", "/srv/svc", d + "/home/ann", d + "/home/app"});
  // No passwd (scratch images), no /home: root's alone.
  CHECK(home_directories((d + "/none").c_str(), (d + "/none").c_str()) == std::vector<std::string>{"/root"});
}

TEST_CASE("judge: what a glob operand's directory part names when the rules load", "[judge]") {
  TempDir t;
  const std::string d = t.path.string();
  for (const char* p : {"/home/a", "/home/b/.ssh", "/etc/x.d", "/etc/y.d"}) std::filesystem::create_directories(d + p);
  std::ofstream(d + "/etc/z.d") << "a file\n";
  auto sorted = [](std::vector<std::string> v) { return std::sort(v.begin(), v.end()), v; };
  // The last component literal: below each match of the rest, there yet or not.
  CHECK(sorted(glob_directories(d + "/home/*/.ssh")) == std::vector<std::string>{d + "/home/a/.ssh", d + "/home/b/.ssh"});
  // The last component a pattern: what matches now (directories).
  CHECK(sorted(glob_directories(d + "/etc/*.d")) == std::vector<std::string>{d + "/etc/x.d", d + "/etc/y.d"});
  CHECK(glob_directories(d + "/etc/x.d") == std::vector<std::string>{d + "/etc/x.d"});
  CHECK(glob_directories(d + "/none/*/.ssh").empty());
  CHECK(glob_directories("relative/*").empty());
  CHECK(glob_directories("/*/").empty());
  CHECK(glob_directories("/.ssh") == std::vector<std::string>{"/.ssh"});
}
