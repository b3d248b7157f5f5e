// The journal (docs/sinks.md "Durability"): records outlive a SIGKILL of
// vigil, written by the keeper (Output::recover) or by the next start.
#include <fcntl.h>
#include <linux/perf_event.h>
#include <sys/syscall.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <algorithm>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <map>
#include <thread>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "sinks/journal.hpp"
#include "sinks/sinks.hpp"
#include "free_port.hpp"
#include "temp_dir.hpp"

using namespace vigil;
using nlohmann::json;
namespace fs = std::filesystem;
using namespace std::chrono_literals;

namespace {

std::vector<json> json_lines(const fs::path& p) {  // every line must be JSON
  std::vector<json> out;
  std::ifstream in(p);
  for (std::string line; std::getline(in, line);) {
    if (line.empty()) continue;  // before an alert on stderr (docs/sinks.md, "stderr is the app's too")
    INFO(p.string() << ": " << line);
    REQUIRE(json::accept(line));
    out.push_back(json::parse(line));
  }
  return out;
}

Alert make_alert(int i) {
  Alert a;
  a.time_ns = now_realtime_ns();
  a.rule = "Test rule";
  a.priority = "Warning";
  a.output = fmt::format("alert number {}", i);
  a.output_fields = {{"proc.pid", FieldValue::num(i)}};
  return a;
}

SinkConfig config(const fs::path& dir, std::vector<std::string> alerts) {
  SinkConfig cfg;
  cfg.spool_dir = (dir / "spool").string();
  cfg.stats_interval = 0ms;
  cfg.flush_timeout = 200ms;
  cfg.alerts = std::move(alerts);
  return cfg;
}

// Lines ended by a newline: a sink may be writing the next one meanwhile.
size_t complete_lines(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  std::string all((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  return size_t(std::count(all.begin(), all.end(), '\n'));
}

void wait_lines(const fs::path& p, size_t n) {
  for (int i = 0; i < 600 && complete_lines(p) < n; ++i) std::this_thread::sleep_for(10ms);
  REQUIRE(json_lines(p).size() == n);
}

// The file sink has written n records and marked them delivered in the
// journal, and the dispatcher has marked them handed to every sink: the
// sink's lines appear before its mark, and it may deliver a record before the
// dispatcher's mark; a keeper forked (or a SIGKILL) in between writes the
// unmarked ones again (at-least-once; the tests count exact lines).
template <class Out>
void wait_marked(const Out& out, size_t n) {
  auto done = [&] { auto s = out.stats(); return s.sent == n && s.undispatched == 0; };
  for (int i = 0; i < 600 && !done(); ++i) std::this_thread::sleep_for(10ms);
  REQUIRE(out.stats().sent == n);
  REQUIRE(out.stats().undispatched == 0);
}

template <class Out>
void wait_delivered(const Out& out, const fs::path& p, size_t n) {
  wait_lines(p, n);
  wait_marked(out, n);
}

void stderr_to(const fs::path& err) {
  int fd = ::open(err.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0600);
  dup2(fd, 2);
}

// Runs fn in a child with stderr sent to err; returns its wait status.
template <class F>
int in_child(const fs::path& err, F fn) {
  pid_t pid = fork();
  if (pid == 0) {
    stderr_to(err);
    fn();
    _exit(0);
  }
  int status = 0;
  waitpid(pid, &status, 0);
  return status;
}

// The keeper's recovery, then a second one (stderr to err2) in the same
// child: this process's HTTP channel is still alive (a dead vigil's is not)
// and its retries would publish its pending records again between two children.
template <class Out>
int recover_twice(Out& out, const fs::path& err, const fs::path& err2) {
  return in_child(err, [&] {
    out.recover();
    stderr_to(err2);
    out.recover();
  });
}

std::map<std::string, int> count_by_output(const std::vector<json>& lines) {
  std::map<std::string, int> n;
  for (const auto& j : lines) n[j.value("output", "")]++;
  return n;
}

}  // namespace

TEST_CASE("journal: after vigil's death the keeper writes every undelivered alert once, then its own", "[sinks][journal]") {
  TempDir t;
  const fs::path file = t.path / "alerts.json";
  auto cfg = config(t.path, {file.string(), fmt::format("http://127.0.0.1:{}/", free_port())});
  std::string err;
  auto out = make_output(cfg, Context{"sid", "host", "", "", nullptr}, &err);
  REQUIRE(out);
  for (int i = 0; i < 20; ++i) out->alert(make_alert(i));
  wait_delivered(*out, file, 20);  // the file sink has them; the HTTP one (down) has none
  out->prepare_recovery(4242);
  const int64_t before = now_realtime_ns();
  // The keeper: a fork of this multi-threaded process, as in sensor/keeper.cpp.
  int status = recover_twice(*out, t.path / "stderr", t.path / "stderr2");
  REQUIRE(WIFEXITED(status));
  auto in_file = json_lines(file);
  auto on_stderr = json_lines(t.path / "stderr");
  REQUIRE(in_file.size() == 22);  // none twice (+ the second recovery's own alert)
  REQUIRE(on_stderr.size() == 21);
  auto nf = count_by_output(in_file), ns = count_by_output(on_stderr);
  for (int i = 0; i < 20; ++i) {
    CHECK(nf[fmt::format("alert number {}", i)] == 1);
    CHECK(ns[fmt::format("alert number {}", i)] == 1);
  }
  for (size_t i = 0; i < 20; ++i) {
    CHECK(!in_file[i].contains("recovered"));
    CHECK(on_stderr[i + 1].at("recovered") == true);  // for the HTTP sink
  }
  for (const auto& died : {in_file[20], on_stderr[0]}) {  // the keeper's alert comes first
    CHECK(died.at("rule") == "Sensor died");
    CHECK(died.at("priority") == "Critical");
    CHECK(died.at("output").get<std::string>().find("pid 4242") != std::string::npos);
    const int64_t t_ns = died.at("output_fields").at("evt.time").get<int64_t>();
    CHECK(t_ns >= before);
    CHECK(t_ns < before + 60'000'000'000);
    CHECK(died.at("time").get<std::string>() == rfc3339_ns(t_ns));
  }
  // Recovered: marked delivered, so a second keeper (or the next start) writes nothing again.
  auto again = json_lines(t.path / "stderr2");
  CHECK(again.size() == 1);  // its own alert only
  // On stderr (shared with the app, which may have left a partial line) each
  // alert starts with a newline, as the stderr sink writes it.
  std::ifstream raw(t.path / "stderr");
  std::string text((std::istreambuf_iterator<char>(raw)), std::istreambuf_iterator<char>());
  size_t alerts = 0;
  const std::string alert = "{\"hostname\"";  // (its first key)
  for (size_t at = text.find(alert); at != std::string::npos; at = text.find(alert, at + 1), ++alerts)
    CHECK((at >= 1 && text[at - 1] == '\n' && (at == 1 || text[at - 2] == '\n')));  // an empty line before it
  CHECK(alerts == 21);
}

TEST_CASE("sinks: an output made without its threads queues until started, and delivers if never started",
          "[sinks][journal]") {
  // vigil run makes its output so, forks the keeper while it is one thread,
  // then starts the output's threads (wrapper/run.cpp).
  TempDir t;
  const fs::path file = t.path / "alerts.json";
  std::string err;
  {
    auto out = make_output(config(t.path, {file.string()}), Context{"sid", "host", "", "", nullptr}, &err, false);
    REQUIRE(out);
    for (int i = 0; i < 5; ++i) out->alert(make_alert(i));
    std::this_thread::sleep_for(50ms);
    CHECK(json_lines(file).empty());  // no thread writes yet
    out->start();
    out->start();  // (once)
    wait_lines(file, 5);
  }
  {  // never started: the destructor still delivers what is queued (no hang, no lost record)
    auto out = make_output(config(t.path, {file.string()}), Context{"sid", "host", "", "", nullptr}, &err, false);
    REQUIRE(out);
    for (int i = 5; i < 8; ++i) out->alert(make_alert(i));
  }
  auto lines = json_lines(file);
  REQUIRE(lines.size() == 8);
  CHECK(count_by_output(lines).size() == 8);
}

TEST_CASE("journal: the next start delivers what a SIGKILLed run left, and says that run died", "[sinks][journal]") {
  TempDir t;
  const fs::path file = t.path / "alerts.json";
  const std::string http = fmt::format("http://127.0.0.1:{}/", free_port());
  int status = in_child(t.path / "stderr0", [&] {
    std::string err;
    auto out = make_output(config(t.path, {file.string(), http}), Context{"run1", "host", "", "", nullptr}, &err);
    for (int i = 0; i < 10; ++i) out->alert(make_alert(i));
    wait_delivered(*out, file, 10);
    raise(SIGKILL);  // vigil as PID 1: no keeper outlives it
  });
  REQUIRE(WIFSIGNALED(status));
  REQUIRE(json_lines(file).size() == 10);
  // Restarted with the file sink only: the HTTP sink's records go to stderr.
  status = in_child(t.path / "stderr", [&] {
    std::string err;
    auto out = make_output(config(t.path, {file.string()}), Context{"run2", "host", "", "", nullptr}, &err);
    out->flush(5s);
  });
  REQUIRE(WIFEXITED(status));
  auto in_file = json_lines(file);
  REQUIRE(in_file.size() == 11);
  CHECK(in_file[10].at("rule") == "Sensor died");
  CHECK(in_file[10].at("output").get<std::string>().find("earlier run") != std::string::npos);
  std::vector<json> recovered;
  for (const auto& j : json_lines(t.path / "stderr"))
    if (j.value("recovered", false)) recovered.push_back(j);
  REQUIRE(recovered.size() == 10);
  for (int i = 0; i < 10; ++i) CHECK(recovered[size_t(i)].at("output") == fmt::format("alert number {}", i));
  // Replayed once: a third start finds nothing.
  status = in_child(t.path / "stderr3", [&] {
    std::string err;
    auto out = make_output(config(t.path, {file.string()}), Context{"run3", "host", "", "", nullptr}, &err);
  });
  CHECK(json_lines(file).size() == 11);
  CHECK(json_lines(t.path / "stderr3").empty());
}

TEST_CASE("journal: a full ring never waits and counts; wrapping keeps exactly the undelivered records", "[sinks][journal]") {
  using namespace vigil::sinks_detail;
  TempDir t;
  const fs::path file = t.path / "out.json";
  Journal::Earlier earlier;
  std::string note;
  auto j = Journal::open(t.path, 4096, {{SinkSpec::Kind::File, file.string()}}, &earlier, &note);
  REQUIRE(j);
  CHECK(j->file_backed());
  CHECK(note.empty());
  const std::string big = "{\"x\":\"" + std::string(500, 'a') + "\"}";
  uint64_t s, e;
  int stored = 0;
  auto t0 = std::chrono::steady_clock::now();
  for (int i = 0; i < 100; ++i) stored += j->commit(big, 1, &s, &e);  // nothing delivered: the ring fills
  CHECK(std::chrono::steady_clock::now() - t0 < 100ms);
  CHECK(stored == 4096 / (8 + 512));
  CHECK(j->lost() == uint64_t(100 - stored));
  CHECK_FALSE(j->commit(std::string(3000, 'x'), 1, &s, &e));  // larger than half the ring: never
  // A consumer one record behind, over many wraps of records of varied sizes.
  j->set_dispatched(j->committed());
  std::vector<std::pair<uint64_t, std::string>> recs;
  for (int i = 0; i < 2000; ++i) {
    std::string line = fmt::format("{{\"i\":{},\"pad\":\"{}\"}}", i, std::string(size_t(i * 37 % 300), 'p'));
    REQUIRE(j->commit(line, 1, &s, &e));
    recs.push_back({s, line});
    j->set_dispatched(e);
    if (recs.size() >= 3) j->set_pending(0, recs[recs.size() - 3].first);  // the last 3 not delivered
  }
  j->recover("", 0);
  auto lines = json_lines(file);
  REQUIRE(lines.size() == 3);
  for (int k = 0; k < 3; ++k) {
    CHECK(lines[size_t(k)].at("i") == 1997 + k);
    CHECK(lines[size_t(k)].at("recovered") == true);
  }
}

// A start maps a journal of its own size once and resets only the header
// fields it uses (not the 16 sinks' path slots): what the next start reads
// must still be this run's sinks and context only, never an earlier run's
// leftovers in the slots or fields it did not rewrite; a journal of another
// size (--journal-size changed) is still read before it is resized.
TEST_CASE("journal: a reset leaves no earlier run's sinks or context; a resized journal is still read",
          "[sinks][journal]") {
  using namespace vigil::sinks_detail;
  TempDir t;
  // One run that dies (no destructor: the journal stays open) after committing one record for all its sinks.
  auto run_and_die = [&](uint64_t bytes, std::vector<Journal::Sink> sinks, const Context* ctx, Journal::Earlier* seen) {
    const fs::path earlier_file = t.path / "earlier.txt";
    pid_t pid = fork();
    if (pid == 0) {
      Journal::Earlier e;
      std::string note;
      auto j = Journal::open(t.path, bytes, sinks, &e, &note);
      if (!j || !j->file_backed()) _exit(3);
      if (ctx) j->set_context(*ctx);
      uint64_t s, end;
      if (!j->commit(fmt::format("{{\"run\":{}}}", sinks.size()), (1u << sinks.size()) - 1, &s, &end)) _exit(4);
      std::ofstream out(earlier_file);  // what this start found, for the parent
      out << e.sinks.size() << ' ' << e.records.size() << ' ' << e.died << '\n' << e.ctx.sensor_id << '\n';
      for (const auto& k : e.sinks) out << k.target << '\n';
      for (const auto& r : e.records) out << r.line << '\n';
      out.close();
      _exit(0);  // as if SIGKILLed: nothing closes the journal
    }
    int status = 0;
    waitpid(pid, &status, 0);
    REQUIRE(WIFEXITED(status));
    REQUIRE(WEXITSTATUS(status) == 0);
    std::ifstream in(earlier_file);
    size_t nsinks = 0, nrecords = 0;
    int died = 0;
    in >> nsinks >> nrecords >> died;
    std::string line;
    std::getline(in, line);
    std::getline(in, seen->ctx.sensor_id);
    seen->sinks.clear();
    seen->records.clear();
    for (size_t i = 0; i < nsinks && std::getline(in, line); ++i) seen->sinks.push_back({SinkSpec::Kind::File, line});
    for (size_t i = 0; i < nrecords && std::getline(in, line); ++i) seen->records.push_back({line, 0, false});
    seen->died = died != 0;
  };
  auto targets = [](const Journal::Earlier& e) {
    std::vector<std::string> v;
    for (const auto& s : e.sinks) v.push_back(s.target);
    return v;
  };
  const std::vector<Journal::Sink> three = {{SinkSpec::Kind::File, (t.path / "a.json").string()},
                                            {SinkSpec::Kind::File, (t.path / "b.json").string()},
                                            {SinkSpec::Kind::File, (t.path / "c.json").string()}};
  const std::vector<Journal::Sink> one = {{SinkSpec::Kind::File, (t.path / "d.json").string()}};
  const Context ctx1{"run1", "host1", "cid1", "img1", nullptr};
  Journal::Earlier seen;
  run_and_die(64 * 1024, three, &ctx1, &seen);  // a new file
  CHECK(seen.sinks.empty());
  // Another size: the 64 KiB journal is read before it is resized to 4 MiB.
  run_and_die(4 << 20, one, nullptr, &seen);
  CHECK(targets(seen) == std::vector<std::string>{three[0].target, three[1].target, three[2].target});
  CHECK(seen.ctx.sensor_id == "run1");
  REQUIRE(seen.records.size() == 1);
  CHECK(seen.records[0].line == "{\"run\":3}");
  CHECK(seen.died);
  // The same size: read and reset in place. Run 2 had one sink and set no
  // context: run 1's other two slots and its context are not reported.
  run_and_die(4 << 20, one, nullptr, &seen);
  CHECK(targets(seen) == std::vector<std::string>{one[0].target});
  CHECK(seen.ctx.sensor_id.empty());
  REQUIRE(seen.records.size() == 1);
  CHECK(seen.records[0].line == "{\"run\":1}");
  // A longer path in the slot than the run before: no byte of the old one survives its end.
  const std::vector<Journal::Sink> long_one = {{SinkSpec::Kind::File, (t.path / std::string(300, 'x')).string()}};
  run_and_die(4 << 20, long_one, nullptr, &seen);
  run_and_die(4 << 20, one, nullptr, &seen);
  CHECK(targets(seen) == std::vector<std::string>{long_one[0].target});
  run_and_die(4 << 20, one, nullptr, &seen);
  CHECK(targets(seen) == std::vector<std::string>{one[0].target});
}

// Events: binary records in the same journal, rendered only after vigil died,
// by the renderer the sinks use (to_json_line), with the run's own context.
namespace {

Event make_event(uint64_t seq) {
  auto sh = std::make_shared<Process>();
  sh->pid = 10, sh->exe = "/bin/sh", sh->name = "sh", sh->argv = {"sh", "-c", "run"};
  auto p = std::make_shared<Process>();
  p->pid = 42, p->ppid = 10, p->uid = p->gid = p->euid = p->egid = 0;
  p->exe = "/usr/bin/cat", p->name = "cat", p->argv = {"cat", fmt::format("/data/f{}", seq)}, p->cwd = "/app";
  p->parent = sh;
  Event ev;
  ev.seq = seq;
  ev.time_ns = now_realtime_ns();
  ev.cls = EventClass::FileSystem;
  ev.type = "openat";
  ev.tid = 42;
  ev.proc = p;
  ev.file = FileInfo{};
  ev.file->path = ev.file->raw_path = fmt::format("/data/f{}", seq);
  ev.file->flags = 0x241;
  return ev;
}

// Lines of p that are JSON records (stderr also holds vigil's log lines).
std::vector<std::string> record_lines(const fs::path& p) {
  std::vector<std::string> out;
  std::ifstream in(p);
  for (std::string line; std::getline(in, line);)
    if (!line.empty() && line[0] == '{') out.push_back(line);
  return out;
}

std::string with_mark(const std::string& line) { return line.substr(0, line.size() - 1) + ",\"recovered\":true}"; }

}  // namespace

TEST_CASE("journal: events are recovered by the keeper exactly as the sink would have written them",
          "[sinks][journal]") {
  TempDir t;
  const fs::path events = t.path / "events.json", alerts = t.path / "alerts.json";
  auto cfg = config(t.path, {alerts.string()});
  cfg.events = {events.string(), fmt::format("http://127.0.0.1:{}/", free_port())};
  std::string err;
  auto out = make_output(cfg, Context{"sid", "host", "cid", "img", nullptr}, &err);
  REQUIRE(out);
  for (uint64_t i = 1; i <= 50; ++i) out->event(make_event(i));
  wait_delivered(*out, events, 50);  // the file sink has them; the HTTP one (down) has none
  out->prepare_recovery(4242);
  int status = recover_twice(*out, t.path / "stderr", t.path / "stderr2");
  REQUIRE(WIFEXITED(status));
  const auto in_file = record_lines(events);
  REQUIRE(in_file.size() == 50);  // none twice
  std::vector<std::string> on_stderr;
  for (const auto& l : record_lines(t.path / "stderr"))
    if (l.find("\"Sensor died\"") == std::string::npos) on_stderr.push_back(l);
  REQUIRE(on_stderr.size() == 50);  // for the HTTP sink, in order
  for (size_t i = 0; i < 50; ++i) CHECK(on_stderr[i] == with_mark(in_file[i]));
  CHECK(json_lines(alerts).size() == 2);  // only "Sensor died" (once per recovery): events never go to alert sinks
  CHECK(record_lines(t.path / "stderr2").empty());  // marked delivered (its own alert goes to the alert file)
}

TEST_CASE("journal: the next start renders a SIGKILLed run's events with that run's ids", "[sinks][journal]") {
  TempDir t;
  const fs::path events = t.path / "events.json";
  const std::string http = fmt::format("http://127.0.0.1:{}/", free_port());
  auto cfg = [&](bool with_http) {
    auto c = config(t.path, {(t.path / "alerts.json").string()});
    c.events = {events.string()};
    if (with_http) c.events.push_back(http);
    return c;
  };
  int status = in_child(t.path / "stderr0", [&] {
    std::string err;
    auto out = make_output(cfg(true), Context{"run1", "host1", "cid", "img", nullptr}, &err);
    for (uint64_t i = 1; i <= 30; ++i) out->event(make_event(i));
    wait_marked(*out, 30);
    raise(SIGKILL);  // vigil as PID 1: no keeper outlives it
  });
  REQUIRE(WIFSIGNALED(status));
  const auto in_file = record_lines(events);
  REQUIRE(in_file.size() == 30);
  status = in_child(t.path / "stderr", [&] {  // the file sink only: the HTTP sink's events go to stderr
    std::string err;
    auto out = make_output(cfg(false), Context{"run2", "host2", "", "", nullptr}, &err);
    out->flush(5s);
  });
  REQUIRE(WIFEXITED(status));
  CHECK(record_lines(events) == in_file);  // the file sink had them all: nothing again
  const auto recovered = record_lines(t.path / "stderr");
  REQUIRE(recovered.size() == 30);
  for (size_t i = 0; i < 30; ++i) CHECK(recovered[i] == with_mark(in_file[i]));
  CHECK(json::parse(recovered[0]).at("metadata").at("uid") == "run1:1");
}

TEST_CASE("journal: events fill at most 3/4 of the ring, the rest stays for alerts", "[sinks][journal]") {
  using namespace vigil::sinks_detail;
  TempDir t;
  Journal::Earlier earlier;
  std::string note;
  auto j = Journal::open(t.path, 8192, {{SinkSpec::Kind::File, (t.path / "x").string()}}, &earlier, &note);
  REQUIRE(j);
  uint64_t s, e;
  int stored = 0;
  for (uint64_t i = 1; i <= 200; ++i) stored += j->commit_event(make_event(i), 1, &s, &e);  // nothing delivered
  CHECK(stored > 0);
  CHECK(stored < 200);
  CHECK(j->lost() == uint64_t(200 - stored));
  CHECK(j->committed() <= 8192 - 8192 / 4);
  const std::string alert = "{\"x\":\"" + std::string(400, 'a') + "\"}";
  int alerts = 0;
  while (j->commit(alert, 1, &s, &e)) ++alerts;
  CHECK(alerts >= 4);
}

// Cost on the tracer thread, per record (docs/sinks.md "Durability"):
//   ./tests/vigil_unit_tests '[journal-bench]'
// Time, and instructions of this thread (perf_event_open, user space: load
// does not change them; 0 when perf events are not allowed).
namespace {
struct Instructions {
  int fd;
  Instructions() {
    perf_event_attr a{};
    a.type = PERF_TYPE_HARDWARE;
    a.size = sizeof a;
    a.config = PERF_COUNT_HW_INSTRUCTIONS;
    a.exclude_kernel = 1;
    a.exclude_hv = 1;
    fd = int(syscall(SYS_perf_event_open, &a, 0, -1, -1, 0));
  }
  ~Instructions() {
    if (fd >= 0) close(fd);
  }
  uint64_t now() const {
    uint64_t v = 0;
    return fd >= 0 && read(fd, &v, sizeof v) == sizeof v ? v : 0;
  }
};
}  // namespace

TEST_CASE("journal: cost per alert and per event on the tracer thread", "[.][journal-bench]") {
  TempDir t;
  Instructions instr;
  auto per = [&](auto fn, int n) {
    const uint64_t i0 = instr.now();
    auto t0 = std::chrono::steady_clock::now();
    for (int i = 0; i < n; ++i) fn(i);
    const double ns = std::chrono::duration<double, std::nano>(std::chrono::steady_clock::now() - t0).count() / n;
    return fmt::format("{:.0f} ns, {:.0f} instructions", ns, double(instr.now() - i0) / n);
  };
  const int n = 20000;
  for (uint64_t journal : {uint64_t(0), uint64_t(4) << 20}) {
    auto cfg = config(t.path, {(t.path / fmt::format("a{}.json", journal)).string()});
    cfg.journal_bytes = journal;
    cfg.queue = 2 * n;
    std::string err;
    auto out = make_output(cfg, Context{"sid", "host", "", "", nullptr}, &err);
    REQUIRE(out);
    std::vector<Alert> alerts;
    for (int i = 0; i < n; ++i) alerts.push_back(make_alert(i));
    WARN(fmt::format("alert(): {} per alert with journal {} bytes",
                     per([&](int i) { out->alert(std::move(alerts[size_t(i)])); }, n), journal));
    std::vector<Event> evs;  // no event sink (alerts only): nothing to do
    for (int i = 0; i < n; ++i) evs.push_back(make_event(uint64_t(i)));
    WARN(fmt::format("event() without event sinks: {} per event with journal {} bytes",
                     per([&](int i) { out->event(std::move(evs[size_t(i)])); }, n), journal));
    out->flush(30s);
  }
  for (uint64_t journal : {uint64_t(0), uint64_t(4) << 20}) {  // 0: what event() cost before (a queue push)
    auto cfg = config(t.path, {(t.path / "a.json").string()});
    cfg.events = {(t.path / fmt::format("e{}.json", journal)).string()};
    cfg.journal_bytes = journal;
    cfg.queue = 2 * n;
    std::string err;
    auto out = make_output(cfg, Context{"sid", "host", "", "", nullptr}, &err);
    std::vector<Event> evs;
    for (int i = 0; i < n; ++i) evs.push_back(make_event(uint64_t(i)));
    WARN(fmt::format("event(): {} per event with journal {} bytes",
                     per([&](int i) { out->event(std::move(evs[size_t(i)])); }, n), journal));
    out->flush(30s);
  }
  using namespace vigil::sinks_detail;
  Journal::Earlier earlier;
  std::string note;
  auto j = Journal::open(t.path / "j", 4 << 20, {{SinkSpec::Kind::File, (t.path / "x").string()}}, &earlier, &note);
  const std::string line(700, 'x');
  uint64_t s, e;
  WARN(fmt::format("Journal::commit: {} per 700-byte record",
                   per([&](int) { j->commit(line, 1, &s, &e), j->set_dispatched(e); }, 200000)));
  const Event ev = make_event(1);
  WARN(fmt::format("Journal::commit_event: {} per event ({} bytes)",
                   per([&](int) { j->commit_event(ev, 1, &s, &e), j->set_dispatched(e); }, 200000),
                   event_record_size(ev)));
  Context ctx{"sid", "host", "", "", nullptr};
  WARN(fmt::format("to_json_line(event): {} per event (the dispatcher's work, off the tracer thread)",
                   per([&](int) { (void)to_json_line(ev, ctx); }, n)));
}

TEST_CASE("journal: a file truncated under vigil costs its durability, not vigil (SIGBUS guard)", "[sinks][journal]") {
  using namespace vigil::sinks_detail;
  TempDir t;
  const fs::path file = t.path / "out.json";
  Journal::Earlier earlier;
  std::string note;
  auto j = Journal::open(t.path, 1 << 16, {{SinkSpec::Kind::File, file.string()}}, &earlier, &note);
  REQUIRE(j);
  REQUIRE(j->file_backed());
  uint64_t s, e;
  REQUIRE(j->commit("{\"before\":1}", 1, &s, &e));
  CHECK_FALSE(j->cut());
  // Another writer truncates the file: every page of the mapping is gone.
  REQUIRE(::truncate((t.path / "journal").c_str(), 0) == 0);
  for (int i = 0; i < 50; ++i) j->commit("{\"after\":1}", 1, &s, &e);  // (stored or counted lost: no SIGBUS)
  j->set_dispatched(j->committed());
  j->set_pending(0, kNoPending);
  CHECK(j->cut());
  {  // another journal opened meanwhile (a slot of its own) leaves this one's state alone
    Journal::Earlier e3;
    auto j3 = Journal::open(t.path / "third", 1 << 16, {}, &e3, &note);
    REQUIRE(j3);
    CHECK_FALSE(j3->cut());
    CHECK(j->cut());
  }
  // A thread that starts with every signal blocked, as vigil's do, once it allows the journal's faults.
  std::thread([&] {
    sigset_t all;
    sigfillset(&all);
    pthread_sigmask(SIG_SETMASK, &all, nullptr);
    allow_journal_faults();
    j->set_pending(0, 0);
  }).join();
  j.reset();  // closing writes the header too
  // A SIGBUS elsewhere is not swallowed: a child touching another truncated file's mapping dies of it.
  Journal::Earlier e2;
  auto j2 = Journal::open(t.path / "again", 1 << 16, {}, &e2, &note);  // (the handler stays installed)
  REQUIRE(j2);
  const fs::path other = t.path / "other";
  int fd = ::open(other.c_str(), O_RDWR | O_CREAT, 0600);
  REQUIRE(ftruncate(fd, 4096) == 0);
  auto* p = static_cast<volatile char*>(mmap(nullptr, 4096, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0));
  REQUIRE(ftruncate(fd, 0) == 0);
  pid_t pid = fork();
  if (pid == 0) {
    p[0] = 1;
    _exit(0);
  }
  int status = 0;
  waitpid(pid, &status, 0);
  CHECK(WIFSIGNALED(status));
  CHECK(WTERMSIG(status) == SIGBUS);
  ::close(fd);
}

TEST_CASE("journal: the output says once that its journal was truncated, and delivers as before", "[sinks][journal]") {
  TempDir t;
  const fs::path file = t.path / "alerts.json";
  std::string err;
  auto out = make_output(config(t.path, {file.string()}), Context{"sid", "host", "", "", nullptr}, &err);
  REQUIRE(out);
  out->alert(make_alert(0));
  wait_delivered(*out, file, 1);
  REQUIRE(::truncate((t.path / "spool" / "journal").c_str(), 0) == 0);
  for (int i = 1; i < 20; ++i) out->alert(make_alert(i));
  wait_lines(file, 21);  // the 20 alerts and one tamper alert, from the sink thread's writes on the lost pages too
  auto lines = json_lines(file);
  auto n = count_by_output(lines);
  for (int i = 0; i < 20; ++i) CHECK(n[fmt::format("alert number {}", i)] == 1);
  int tamper = 0;
  for (const auto& l : lines)
    if (l.at("rule") == "Sensor tamper attempt") {
      ++tamper;
      CHECK(l.at("priority") == "Critical");
      CHECK(l.at("output").get<std::string>().find("truncated") != std::string::npos);
    }
  CHECK(tamper == 1);
}
