// Delivery against real servers on 127.0.0.1 (tests/sinks/collector.py):
// outages and SIGKILL of the collector, spool and drops, TLS, falcosidekick,
// file rotation, stats records, ECS metadata, secrets.
#include <netinet/in.h>
#include <signal.h>
#include <spawn.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <catch2/catch.hpp>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <functional>
#include <optional>
#include <regex>
#include <set>
#include <sstream>
#include <thread>

#include <fmt/format.h>
#include <nlohmann/json.hpp>
#include <spdlog/sinks/ostream_sink.h>
#include <spdlog/spdlog.h>

#include "sinks/sinks.hpp"
#include "free_port.hpp"
#include "temp_dir.hpp"

using namespace vigil;
using nlohmann::json;
namespace fs = std::filesystem;
using namespace std::chrono_literals;

extern char** environ;

namespace {

const fs::path kTests = fs::path(__FILE__).parent_path().parent_path();

// python3 tests/sinks/collector.py, killed with SIGKILL when destroyed.
struct Collector {
  pid_t pid = -1;
  int port = 0;
  Collector(const fs::path& dir, int want_port, std::vector<std::string> extra = {}) {
    auto port_file = dir / fmt::format("port.{}", want_port);
    fs::remove(port_file);
    std::vector<std::string> args{"python3", (kTests / "sinks/collector.py").string(), "--port", std::to_string(want_port),
                                  "--port-file", port_file.string(), "--out", (dir / "received.ndjson").string(),
                                  "--requests", (dir / "requests.ndjson").string(), "--lifetime", "240"};
    args.insert(args.end(), extra.begin(), extra.end());
    std::vector<char*> argv;
    for (auto& a : args) argv.push_back(a.data());
    argv.push_back(nullptr);
    REQUIRE(posix_spawnp(&pid, "python3", nullptr, nullptr, argv.data(), environ) == 0);
    for (int i = 0; i < 600 && !fs::exists(port_file); ++i) std::this_thread::sleep_for(50ms);
    REQUIRE(fs::exists(port_file));
    std::ifstream(port_file) >> port;
  }
  void kill9() {
    if (pid > 0) {
      ::kill(pid, SIGKILL);
      waitpid(pid, nullptr, 0);
      pid = -1;
    }
  }
  ~Collector() { kill9(); }
};

// Lines that do not parse are skipped: a collector SIGKILLed mid-write
// leaves a partial line (that batch is sent again).
std::vector<json> read_json_lines(const fs::path& p) {
  std::vector<json> out;
  std::ifstream in(p);
  for (std::string line; std::getline(in, line);)
    if (auto j = json::parse(line, nullptr, false); !line.empty() && !j.is_discarded()) out.push_back(std::move(j));
  return out;
}

Event make_event(uint64_t seq) {
  Event ev;
  ev.seq = seq;
  ev.time_ns = now_realtime_ns();
  ev.type = "exec";
  auto p = std::make_shared<Process>();
  p->pid = 100 + int(seq % 50);
  p->exe = "/usr/bin/true";
  p->argv = {"true", std::to_string(seq)};
  ev.proc = p;
  return ev;
}

Context test_context() {
  Context ctx;
  ctx.sensor_id = "s" + std::to_string(getpid());
  ctx.hostname = "test-host";
  return ctx;
}

SinkConfig base_config(const fs::path& dir) {
  SinkConfig cfg;
  cfg.spool_dir = (dir / "spool").string();
  cfg.stats_interval = 0ms;
  cfg.alerts = {(dir / "alerts.json").string()};
  return cfg;
}

// flush() and report whether everything was delivered.
bool flushed(Output& out, std::chrono::milliseconds deadline) {
  out.flush(deadline);
  return out.stats().queue_depth == 0;
}

std::set<std::string> ids_of(const std::vector<json>& lines) {
  std::set<std::string> ids;
  for (const auto& j : lines) ids.insert(j.at("metadata").at("uid").get<std::string>());
  return ids;
}

void wait_for(const std::function<bool()>& cond, std::chrono::seconds limit = 60s) {
  for (auto until = std::chrono::steady_clock::now() + limit; !cond() && std::chrono::steady_clock::now() < until;)
    std::this_thread::sleep_for(50ms);
}

}  // namespace

TEST_CASE("sinks: collector down at start, up, SIGKILLed mid-stream, back: no event lost", "[sinks][net]") {
  TempDir t;
  int port = free_port();
  auto cfg = base_config(t.path);
  cfg.events = {fmt::format("http://127.0.0.1:{}/ingest", port)};
  std::string err;
  auto ctx = test_context();
  auto out = make_output(cfg, ctx, &err);
  REQUIRE(out);
  const uint64_t kPhase = 1500;
  uint64_t seq = 0;
  auto send = [&] {
    for (uint64_t i = 0; i < kPhase; ++i) out->event(make_event(++seq));
  };
  send();  // collector down
  std::optional<Collector> c;
  c.emplace(t.path, port);
  send();
  auto received = [&] { return read_json_lines(t.path / "received.ndjson").size(); };
  wait_for([&] { return received() > 0; });
  send();
  c->kill9();  // mid-stream
  send();
  c.emplace(t.path, port);
  send();
  REQUIRE(flushed(*out, 120s));
  auto lines = read_json_lines(t.path / "received.ndjson");
  auto ids = ids_of(lines);
  CHECK(ids.size() == 5 * kPhase);
  for (uint64_t i = 1; i <= 5 * kPhase; ++i) REQUIRE(ids.count(fmt::format("{}:{}", ctx.sensor_id, i)) == 1);
  auto s = out->stats();
  CHECK(s.dropped == 0);
  CHECK(s.failures > 0);  // the outages were seen and retried
  INFO("duplicates (at-least-once): " << lines.size() - ids.size());
  std::set<uint64_t> seen;  // first deliveries come in order; retries may repeat a batch
  uint64_t last = 0;
  for (const auto& j : lines)
    if (auto seq = j["metadata"]["sequence"].get<uint64_t>(); seen.insert(seq).second) {
      REQUIRE(seq > last);
      last = seq;
    }
  auto requests = read_json_lines(t.path / "requests.ndjson");
  REQUIRE_FALSE(requests.empty());
  CHECK(requests[0]["content_type"] == "application/json");  // what Fluent Bit's http input requires
}

TEST_CASE("sinks: a full queue spills to the spool, beyond its cap drops are counted, the spool is sent later",
          "[sinks][net]") {
  TempDir t;
  int port = free_port();  // nothing listens yet
  auto cfg = base_config(t.path);
  cfg.events = {fmt::format("http://127.0.0.1:{}/", port)};
  cfg.queue = 20;
  cfg.spool_max = 64 << 10;
  std::string err;
  auto out = make_output(cfg, test_context(), &err);
  REQUIRE(out);
  const uint64_t n = 2000;  // ~400 bytes each: far more than memory + 64 kB of spool
  for (uint64_t i = 1; i <= n; ++i) out->event(make_event(i));
  CHECK_FALSE(flushed(*out, 300ms));
  // Once the dispatcher has handed everything over, every record is either
  // waiting (memory, spool, in flight) or counted as dropped.
  wait_for([&] {
    auto s = out->stats();
    return s.dropped + s.queue_depth == n;
  });
  auto s = out->stats();
  CHECK(s.sent == 0);
  CHECK(s.spooled > 0);
  CHECK(s.dropped > 0);
  CHECK(s.dropped + s.queue_depth == n);
  uint64_t spool_bytes = 0;
  for (const auto& e : fs::recursive_directory_iterator(t.path / "spool"))
    if (e.is_regular_file() && e.path().filename() != "journal") spool_bytes += e.file_size();  // (not the alerts' journal)
  CHECK(spool_bytes > 0);
  CHECK(spool_bytes <= uint64_t(cfg.spool_max));

  Collector c(t.path, port);
  bool all = flushed(*out, 120s);
  INFO("after flush: sent " << out->stats().sent << ", dropped " << out->stats().dropped << ", waiting "
                            << out->stats().queue_depth);
  REQUIRE(all);
  auto received = read_json_lines(t.path / "received.ndjson");
  auto ids = ids_of(received);
  CHECK(ids.size() == n - s.dropped);
  uint64_t last = 0;  // memory first, then the spool: the order is kept
  for (const auto& j : received) {
    CHECK(j["metadata"]["sequence"].get<uint64_t>() > last);
    last = j["metadata"]["sequence"].get<uint64_t>();
  }
  CHECK(out->stats().sent >= n - s.dropped);
  for (const auto& e : fs::recursive_directory_iterator(t.path / "spool")) CHECK(e.path().extension() != ".ndjson");
}

TEST_CASE("sinks: what is undelivered at exit stays in the spool and the next run sends it", "[sinks][net]") {
  TempDir t;
  int port = free_port();
  auto cfg = base_config(t.path);
  cfg.events = {fmt::format("http://127.0.0.1:{}/", port)};
  cfg.flush_timeout = 300ms;
  std::string err;
  auto ctx = test_context();
  {
    auto out = make_output(cfg, ctx, &err);
    REQUIRE(out);
    for (uint64_t i = 1; i <= 300; ++i) out->event(make_event(i));
  }  // destroyed with the collector down: flush times out, records go to the spool
  // As if the run had been killed mid-write: a partial last line.
  std::vector<fs::path> segments;
  for (const auto& e : fs::recursive_directory_iterator(t.path / "spool"))
    if (e.path().extension() == ".ndjson") segments.push_back(e.path());
  REQUIRE_FALSE(segments.empty());
  std::sort(segments.begin(), segments.end());
  std::ofstream(segments.back(), std::ios::app) << "{\"id\":\"partial";
  Collector c(t.path, port);
  auto out = make_output(cfg, ctx, &err);
  REQUIRE(out);
  REQUIRE(flushed(*out, 60s));
  CHECK(ids_of(read_json_lines(t.path / "received.ndjson")).size() == 300);  // parses every line received
  CHECK(out->stats().dropped == 1);
}

TEST_CASE("sinks: two sensors with the same sink and spool directory do not mix their spools", "[sinks][net]") {
  TempDir t;
  int port = free_port();
  auto cfg = base_config(t.path);
  cfg.events = {fmt::format("http://127.0.0.1:{}/", port)};
  cfg.queue = 5;
  std::string err;
  auto ctx_a = test_context(), ctx_b = test_context();
  ctx_a.sensor_id += "a";
  ctx_b.sensor_id += "b";
  auto a = make_output(cfg, ctx_a, &err);
  auto b = make_output(cfg, ctx_b, &err);
  REQUIRE((a && b));
  for (uint64_t i = 1; i <= 200; ++i) {
    a->event(make_event(i));
    b->event(make_event(i));
  }
  wait_for([&] { return a->stats().spooled > 0 && b->stats().spooled > 0; });
  std::set<fs::path> dirs;  // the second one spools in a pid-* sub-directory
  for (const auto& e : fs::recursive_directory_iterator(t.path / "spool"))
    if (e.path().extension() == ".ndjson") dirs.insert(e.path().parent_path());
  CHECK(dirs.size() == 2);
  Collector c(t.path, port);
  REQUIRE(flushed(*a, 60s));
  REQUIRE(flushed(*b, 60s));
  CHECK(a->stats().spooled > 0);
  CHECK(b->stats().spooled > 0);
  auto ids = ids_of(read_json_lines(t.path / "received.ndjson"));
  CHECK(ids.size() == 400);
}

TEST_CASE("sinks: HTTPS with a self-signed CA, verification on and off", "[sinks][net]") {
  TempDir t;
  auto sh = [&](const std::string& cmd) { REQUIRE(std::system(("cd " + t.path.string() + " && " + cmd + " >/dev/null 2>&1").c_str()) == 0); };
  sh("openssl req -x509 -newkey rsa:2048 -nodes -keyout ca.key -out ca.pem -days 2 -subj /CN=vigil-test-ca");
  sh("openssl req -newkey rsa:2048 -nodes -keyout srv.key -out srv.csr -subj /CN=127.0.0.1");
  sh("printf 'subjectAltName=IP:127.0.0.1\\n' > ext && openssl x509 -req -in srv.csr -CA ca.pem -CAkey ca.key "
     "-CAcreateserial -out srv.pem -days 2 -extfile ext");
  Collector c(t.path, 0, {"--tls", (t.path / "srv.pem").string(), (t.path / "srv.key").string()});
  std::string url = fmt::format("https://127.0.0.1:{}/", c.port);
  std::string err;
  auto run = [&](SinkConfig cfg, uint64_t first) {
    cfg.events = {url};
    auto out = make_output(cfg, test_context(), &err);
    REQUIRE(out);
    for (uint64_t i = first; i < first + 10; ++i) out->event(make_event(i));
    bool ok = flushed(*out, 5s);
    return std::pair{ok, out->stats()};
  };
  auto cfg = base_config(t.path);
  cfg.ca_file = (t.path / "ca.pem").string();
  auto [ok, s] = run(cfg, 1);
  CHECK(ok);
  CHECK(s.sent == 10);

  cfg.ca_file.clear();  // system bundle: the test CA is unknown, nothing may be sent
  std::tie(ok, s) = run(cfg, 100);
  CHECK_FALSE(ok);
  CHECK(s.sent == 0);
  CHECK(s.failures > 0);

  cfg.tls_insecure = true;
  std::tie(ok, s) = run(cfg, 200);
  CHECK(ok);
  CHECK(s.sent == 20);  // its own 10, and the 10 the failed run left in the spool
  CHECK(ids_of(read_json_lines(t.path / "received.ndjson")).size() == 30);
}

TEST_CASE("sinks: falcosidekick mode posts one alert JSON per request, with secrets as headers", "[sinks][net]") {
  TempDir t;
  Collector c(t.path, 0);
  auto cfg = base_config(t.path);
  cfg.alerts = {fmt::format("falcosidekick+http://127.0.0.1:{}/", c.port)};
  setenv("VIGIL_TEST_TOKEN", "s3cr3t-t0ken", 1);
  setenv("VIGIL_TEST_HEADERS", "X-Tenant: blue\n# comment\n", 1);
  cfg.bearer_token_env = "VIGIL_TEST_TOKEN";
  cfg.header_env = "VIGIL_TEST_HEADERS";
  std::ostringstream log;
  auto logger = std::make_shared<spdlog::logger>("capture", std::make_shared<spdlog::sinks::ostream_sink_mt>(log));
  logger->set_level(spdlog::level::info);
  auto previous = spdlog::default_logger();
  spdlog::set_default_logger(logger);
  std::string err;
  {
    auto out = make_output(cfg, test_context(), &err);
    REQUIRE(out);
    for (int i = 1; i <= 5; ++i) {
      Alert a;
      a.time_ns = now_realtime_ns();
      a.rule = "Terminal shell in container";
      a.priority = "Notice";
      a.output = "A shell was spawned";
      a.output_fields = {{"proc.name", "sh"}};
      a.event_seq = uint64_t(i);
      out->alert(a);
    }
    REQUIRE(flushed(*out, 30s));
  }
  spdlog::set_default_logger(previous);
  auto requests = read_json_lines(t.path / "requests.ndjson");
  REQUIRE(requests.size() == 5);
  for (const auto& r : requests) {
    CHECK(r["lines"] == 1);
    CHECK(r["content_type"] == "application/json");
    CHECK(r["authorization"] == "Bearer s3cr3t-t0ken");
    CHECK(r["x_tenant"] == "blue");
  }
  auto alerts = read_json_lines(t.path / "received.ndjson");
  REQUIRE(alerts.size() == 5);
  std::set<std::string> uuids;
  for (const auto& a : alerts) {
    CHECK(a["rule"] == "Terminal shell in container");
    CHECK(a["output_fields"]["proc.name"] == "sh");
    uuids.insert(a["uuid"].get<std::string>());
  }
  CHECK(uuids.size() == 5);
  CHECK(log.str().find("bearer token from $VIGIL_TEST_TOKEN (masked)") != std::string::npos);
  CHECK(log.str().find("s3cr3t") == std::string::npos);
  CHECK(log.str().find("blue") == std::string::npos);
}

TEST_CASE("sinks: file rotation keeps at most max_files files, newest records last", "[sinks]") {
  TempDir t;
  auto cfg = base_config(t.path);
  auto path = t.path / "ev.json";
  cfg.events = {fmt::format("file:{},max_bytes=4k,max_files=3", path.string())};
  std::string err;
  auto ctx = test_context();
  auto out = make_output(cfg, ctx, &err);
  REQUIRE(out);
  const uint64_t n = 200;
  for (uint64_t i = 1; i <= n; ++i) out->event(make_event(i));
  REQUIRE(flushed(*out, 30s));
  CHECK(fs::exists(path));
  CHECK(fs::exists(path.string() + ".1"));
  CHECK(fs::exists(path.string() + ".2"));
  CHECK_FALSE(fs::exists(path.string() + ".3"));
  uint64_t last = 0;
  for (const auto& p : {path.string() + ".2", path.string() + ".1", path.string()}) {
    CHECK(fs::file_size(p) <= 4096);
    for (const auto& j : read_json_lines(p)) {
      CHECK(j["metadata"]["sequence"].get<uint64_t>() > last);  // in order across the files
      last = j["metadata"]["sequence"].get<uint64_t>();
    }
  }
  CHECK(last == n);
}

TEST_CASE("sinks: each string field of an alert is cut to kAlertValueMaxBytes, whoever built it", "[sinks][alert-cap]") {
  // The sensor's own alerts (the guard's, the tracer's) carry proc.cmdline
  // as the app gave it: up to 2 MiB.
  TempDir t;
  auto cfg = base_config(t.path);
  std::string err;
  auto out = make_output(cfg, test_context(), &err);
  REQUIRE(out);
  Alert a;
  a.time_ns = now_realtime_ns();
  a.rule = "Sensor tamper attempt";
  a.priority = "Critical";
  a.output = "Sensor tamper attempt denied";
  a.output_fields = {{"proc.cmdline", "sh " + std::string(2'000'000, 'x')}, {"proc.pid", FieldValue::num(7)}};
  out->alert(std::move(a));
  REQUIRE(flushed(*out, 30s));
  auto lines = read_json_lines(t.path / "alerts.json");
  REQUIRE(lines.size() == 1);
  const std::string v = lines[0]["output_fields"]["proc.cmdline"];
  REQUIRE(v.size() <= kAlertValueMaxBytes);  // (before the regex: std::regex recurses per character)
  CHECK_THAT(v, Catch::Matches("sh x+\\.\\.\\.\\[\\d+ bytes cut\\]"));
  CHECK(lines[0]["output_fields"]["proc.pid"] == 7);
  CHECK(lines[0].dump().size() < 2 * kAlertValueMaxBytes);
}

TEST_CASE("sinks: periodic stats records report counters and tracer stops per second", "[sinks]") {
  TempDir t;
  auto cfg = base_config(t.path);
  auto path = t.path / "ev.json";
  cfg.events = {path.string()};
  cfg.stats_interval = 200ms;
  std::string err;
  auto out = make_output(cfg, test_context(), &err);
  REQUIRE(out);
  std::atomic<uint64_t> stops{0};
  out->set_stop_counter(&stops);
  for (uint64_t i = 1; i <= 20; ++i) {
    out->event(make_event(i));
    stops += 1000;
  }
  json stats;
  wait_for([&] {
    flushed(*out, 1s);
    for (const auto& j : read_json_lines(path))
      if (j["unmapped"]["type"] == "stats" && j["unmapped"]["stats"]["sent"].get<uint64_t>() >= 20) stats = j;
    return !stats.is_null();
  });
  REQUIRE_FALSE(stats.is_null());
  CHECK(stats["class_uid"] == 0);
  CHECK(stats["metadata"]["uid"].get<std::string>().find(":stats:") != std::string::npos);
  const auto& st = stats["unmapped"]["stats"];
  CHECK(st["dropped"] == 0);
  CHECK(st.contains("queue_depth"));
  CHECK(st.contains("spooled"));
  CHECK(st["sinks"].size() == 2);  // events file + alerts file
  bool saw_rate = false;
  for (const auto& j : read_json_lines(path))
    if (j["unmapped"]["type"] == "stats" && j["unmapped"]["stats"]["tracer_stops_per_sec"].get<double>() > 0)
      saw_rate = true;
  CHECK(saw_rate);
}

TEST_CASE("sinks: ECS task metadata is fetched once and stamped on events and alerts", "[sinks][net]") {
  TempDir t;
  Collector c(t.path, 0, {"--ecs", (kTests / "sinks/ecs-metadata.json").string()});
  setenv("ECS_CONTAINER_METADATA_URI_V4", fmt::format("http://127.0.0.1:{}/v4/cd189a93-2495160603", c.port).c_str(), 1);
  auto cfg = base_config(t.path);
  cfg.events = {(t.path / "ev.json").string()};
  std::string err;
  {
    auto out = make_output(cfg, test_context(), &err);
    unsetenv("ECS_CONTAINER_METADATA_URI_V4");
    REQUIRE(out);
    out->event(make_event(1));
    Alert a;
    a.rule = "r";
    a.priority = "Warning";
    out->alert(a);
    REQUIRE(flushed(*out, 30s));
  }
  auto events = read_json_lines(t.path / "ev.json");
  REQUIRE(events.size() == 1);
  const auto& ecs = events[0]["unmapped"]["ecs"];
  CHECK(ecs["cluster"] == "arn:aws:ecs:eu-west-1:123456789012:cluster/prod");
  CHECK(ecs["task_arn"] == "arn:aws:ecs:eu-west-1:123456789012:task/prod/cd189a933e5849daa93386466019ab50");
  CHECK(ecs["task_family"] == "shop-web");
  CHECK(ecs["task_revision"] == "42");
  CHECK(ecs["container_name"] == "app");
  CHECK(ecs["image"] == "123456789012.dkr.ecr.eu-west-1.amazonaws.com/shop/web:1.4.2");
  CHECK(ecs["availability_zone"] == "eu-west-1b");
  CHECK(events[0]["unmapped"]["container_image"] == "123456789012.dkr.ecr.eu-west-1.amazonaws.com/shop/web:1.4.2");
  auto alerts = read_json_lines(t.path / "alerts.json");
  REQUIRE(alerts.size() == 1);
  CHECK(alerts[0]["output_fields"]["ecs.task_family"] == "shop-web");
  CHECK(alerts[0]["output_fields"]["ecs.availability_zone"] == "eu-west-1b");

  // Without the variable: hostname (and cgroup id when there is one), no ecs.
  auto out = make_output(cfg, test_context(), &err);
  out->event(make_event(2));
  REQUIRE(flushed(*out, 30s));
  events = read_json_lines(t.path / "ev.json");
  REQUIRE(events.size() == 2);
  CHECK_FALSE(events[1]["unmapped"].contains("ecs"));
  CHECK(events[1]["device"]["hostname"] == "test-host");
}

// A loopback server that behaves like Fluent Bit's http input (FireLens):
// only Content-Type application/json, a connection closed without a status
// on a body over its buffer (collector.py --fluentbit).
namespace {
// A record about `bytes` larger than make_event's: a long file path (argv
// would not do: a record carries at most kArgvMaxBytes of it).
Event sized_event(uint64_t seq, size_t bytes) {
  Event ev = make_event(seq);
  FileInfo f;
  f.path = f.raw_path = "/" + std::string(bytes, 'a');  // in unmapped.file of this exec event
  ev.file = std::move(f);
  return ev;
}
struct Captured {
  std::ostringstream log;
  std::shared_ptr<spdlog::logger> previous = spdlog::default_logger();
  Captured() {
    auto logger = std::make_shared<spdlog::logger>("capture", std::make_shared<spdlog::sinks::ostream_sink_mt>(log));
    logger->set_level(spdlog::level::info);
    spdlog::set_default_logger(logger);
  }
  ~Captured() { spdlog::set_default_logger(previous); }
};
}  // namespace

TEST_CASE("sinks: Fluent Bit http input: JSON type, byte cap, oversize record dropped and counted", "[sinks][net]") {
  TempDir t;
  Collector c(t.path, 0, {"--fluentbit", "65536"});
  auto cfg = base_config(t.path);
  cfg.events = {fmt::format("http://127.0.0.1:{}/", c.port)};
  cfg.batch_bytes = 16384;
  Captured cap;
  std::string err;
  DeliveryStats s;
  {
    auto out = make_output(cfg, test_context(), &err);
    REQUIRE(out);
    for (uint64_t i = 1; i <= 200; ++i) out->event(sized_event(i, i == 77 ? 20000 : 400));
    out->flush(30s);
    s = out->stats();
  }
  CHECK(s.queue_depth == 0);
  CHECK(s.sent == 199);
  CHECK(s.dropped == 1);  // the 20 kB record: larger than the 16 kB cap
  CHECK(cap.log.str().find("larger than the batch cap of 16384 bytes") != std::string::npos);
  auto reqs = read_json_lines(t.path / "requests.ndjson");
  REQUIRE(reqs.size() >= 199 * 400 / 16384);
  for (const auto& r : reqs) {
    CHECK(r["result"] == "ok");
    CHECK(r["content_type"] == "application/json");
    CHECK(r["bytes"].get<uint64_t>() <= 16384);
  }
  auto got = ids_of(read_json_lines(t.path / "received.ndjson"));
  CHECK(got.size() == 199);
  CHECK(got.count(fmt::format("{}:77", test_context().sensor_id)) == 0);
}

TEST_CASE("sinks: Fluent Bit closing the connection without a status: bounded retries, split, drop", "[sinks][net]") {
  TempDir t;
  Collector c(t.path, 0, {"--fluentbit", "8192"});  // buffer below vigil's cap: the receiver closes
  auto cfg = base_config(t.path);
  cfg.events = {fmt::format("http://127.0.0.1:{}/", c.port)};
  Captured cap;
  std::string err;
  DeliveryStats s;
  auto start = std::chrono::steady_clock::now();
  {
    auto out = make_output(cfg, test_context(), &err);
    REQUIRE(out);
    for (uint64_t i = 1; i <= 100; ++i) out->event(sized_event(i, i == 50 ? 10000 : 300));
    out->flush(60s);
    s = out->stats();
  }
  CHECK(std::chrono::steady_clock::now() - start < 50s);
  CHECK(s.queue_depth == 0);
  CHECK(s.sent == 99);
  CHECK(s.dropped == 1);  // the 10 kB record, refused by closing even alone
  CHECK(cap.log.str().find("connection closed without a status 3 times: sending batches of") != std::string::npos);
  CHECK(cap.log.str().find("for one record of") != std::string::npos);
  int closed = 0;
  for (const auto& r : read_json_lines(t.path / "requests.ndjson")) closed += r["result"] == "closed";
  CHECK(closed > 0);
  CHECK(closed <= 3 * 12);  // log2(100) halvings of 3 tries, then the drop: never endless
  CHECK(ids_of(read_json_lines(t.path / "received.ndjson")).size() == 99);
}

TEST_CASE("sinks: an HTTP 400 is logged and counted as dropped", "[sinks][net]") {
  TempDir t;
  Collector c(t.path, 0, {"--fluentbit", "65536"});
  auto cfg = base_config(t.path);
  cfg.events = {fmt::format("http://127.0.0.1:{}/", c.port)};
  setenv("VIGIL_TEST_HEADERS_400", "Content-Type: application/x-ndjson\n", 1);  // Fluent Bit refuses it
  cfg.header_env = "VIGIL_TEST_HEADERS_400";
  Captured cap;
  std::string err;
  DeliveryStats s;
  {
    auto out = make_output(cfg, test_context(), &err);
    REQUIRE(out);
    for (uint64_t i = 1; i <= 10; ++i) out->event(make_event(i));
    out->flush(20s);
    s = out->stats();
  }
  CHECK(s.sent == 0);
  CHECK(s.dropped == 10);
  CHECK(s.queue_depth == 0);
  // The sender may take the first record alone before the other nine are queued: the 10
  // records may arrive in more than one batch, each logged with its own count.
  const std::string log = cap.log.str();
  std::regex line(R"(receiver rejected (\d+) records, dropped: POST[^\n]*HTTP 400)");
  int logged = 0;
  for (auto m = std::sregex_iterator(log.begin(), log.end(), line); m != std::sregex_iterator(); ++m)
    logged += std::stoi((*m)[1].str());
  CHECK(logged == 10);
}
