// Sink SPECs, sizes, durations and the sink options of `vigil run`.
#include <arpa/inet.h>

#include <catch2/catch.hpp>

#include "sensor/sensor.hpp"
#include "sinks/sinks.hpp"

using namespace vigil;

TEST_CASE("sinks: SPEC kinds and file options", "[sinks]") {
  SinkSpec s;
  std::string err;
  REQUIRE(parse_sink_spec("stderr", &s, &err));
  CHECK(s.kind == SinkSpec::Kind::Stderr);
  REQUIRE(parse_sink_spec("/var/log/a,b.json", &s, &err));  // bare path: commas are part of it
  CHECK(s.kind == SinkSpec::Kind::File);
  CHECK(s.target == "/var/log/a,b.json");
  REQUIRE(parse_sink_spec("file:/tmp/ev.json,max_bytes=10M,max_files=3", &s, &err));
  CHECK(s.target == "/tmp/ev.json");
  CHECK(s.max_bytes == 10ull << 20);
  CHECK(s.max_files == 3);
  REQUIRE(parse_sink_spec("https://user:pw@collector.internal:8443/ingest", &s, &err));
  CHECK(s.kind == SinkSpec::Kind::Http);
  CHECK(s.text == "https://***@collector.internal:8443/ingest");  // credentials never reach a log line
  REQUIRE(parse_sink_spec("falcosidekick+http://127.0.0.1:2801/", &s, &err));
  CHECK(s.kind == SinkSpec::Kind::Falcosidekick);
  CHECK(s.target == "http://127.0.0.1:2801/");
}

TEST_CASE("sinks: malformed SPECs fail with one clear line", "[sinks]") {
  SinkSpec s;
  std::string err;
  CHECK_FALSE(parse_sink_spec("ftp://host/x", &s, &err));
  CHECK(err.find("http://, https://") != std::string::npos);
  CHECK_FALSE(parse_sink_spec("http://", &s, &err));
  CHECK(err.find("invalid sink URL") != std::string::npos);
  CHECK_FALSE(parse_sink_spec("http://exa mple.com/", &s, &err));
  CHECK_FALSE(parse_sink_spec("falcosidekick+gopher://x", &s, &err));
  CHECK_FALSE(parse_sink_spec("file:/tmp/x,max_files=0", &s, &err));
  CHECK(err.find("max_files") != std::string::npos);
  CHECK_FALSE(parse_sink_spec("file:/tmp/x,colour=blue", &s, &err));
  CHECK_FALSE(parse_sink_spec("file:", &s, &err));
  CHECK_FALSE(parse_sink_spec("", &s, &err));
  CHECK(err.find('\n') == std::string::npos);
}

TEST_CASE("sinks: sizes and durations", "[sinks]") {
  uint64_t n = 0;
  std::chrono::milliseconds d{};
  std::string err;
  CHECK((parse_size("64M", &n, &err) && n == 64ull << 20));
  CHECK((parse_size("512k", &n, &err) && n == 512ull << 10));
  CHECK((parse_size("1000", &n, &err) && n == 1000));
  CHECK_FALSE(parse_size("12X", &n, &err));
  CHECK_FALSE(parse_size("-1", &n, &err));
  CHECK((parse_duration("5s", &d, &err) && d.count() == 5000));
  CHECK((parse_duration("250ms", &d, &err) && d.count() == 250));
  CHECK((parse_duration("2m", &d, &err) && d.count() == 120000));
  CHECK((parse_duration("3", &d, &err) && d.count() == 3000));
  CHECK_FALSE(parse_duration("soon", &d, &err));
  CHECK(err.find("ms, s, m or h") != std::string::npos);
}

TEST_CASE("sinks: run options fill the SinkConfig", "[sinks]") {
  std::vector<std::string> words{"run", "--events=stderr", "--events=file:/tmp/e.json,max_files=2",
                                 "--alerts=falcosidekick+http://127.0.0.1:2801/", "--spool-max=1M", "--queue=50",
                                 "--flush-timeout=2s", "--stats-interval=0", "--tls-insecure",
                                 "--bearer-token-env=TOKEN", "--", "/bin/true"};
  std::vector<char*> argv;
  for (auto& w : words) argv.push_back(w.data());
  argv.push_back(nullptr);
  Options o;
  int rest = 0;
  std::string err;
  REQUIRE(parse_options("--spool-dir=/var/tmp/sp", int(words.size()), argv.data(), &o, &rest, &err));
  CHECK(o.sinks.events == std::vector<std::string>{"stderr", "file:/tmp/e.json,max_files=2"});
  CHECK(o.sinks.alerts.size() == 1);
  CHECK(o.sinks.spool_dir == "/var/tmp/sp");
  CHECK(o.sinks.spool_max == 1ull << 20);
  CHECK(o.sinks.queue == 50);
  CHECK(o.sinks.flush_timeout.count() == 2000);
  CHECK(o.sinks.stats_interval.count() == 0);
  CHECK(o.sinks.tls_insecure);
  CHECK(o.sinks.bearer_token_env == "TOKEN");

  Options bad;
  CHECK_FALSE(parse_options("--events=http://", 1, argv.data(), &bad, &rest, &err));
  CHECK(err.find("VIGIL_OPTS: --events: invalid sink URL") == 0);
  CHECK_FALSE(parse_options("--flush-timeout=later", 1, argv.data(), &bad, &rest, &err));
  CHECK(err.find("--flush-timeout") != std::string::npos);
  CHECK_FALSE(parse_options("--queue=0", 1, argv.data(), &bad, &rest, &err));
}

TEST_CASE("sinks: make_output rejects what it cannot use at startup", "[sinks]") {
  std::string err;
  Context ctx;
  SinkConfig cfg;
  cfg.events = {"/nonexistent-dir/ev.json"};
  CHECK(make_output(cfg, ctx, &err) == nullptr);
  CHECK(err.find("cannot open output file '/nonexistent-dir/ev.json'") != std::string::npos);
  cfg.events = {"stderr"};
  cfg.bearer_token_env = "VIGIL_TEST_UNSET_TOKEN_VAR";
  CHECK(make_output(cfg, ctx, &err) == nullptr);
  CHECK(err.find("VIGIL_TEST_UNSET_TOKEN_VAR is not set") != std::string::npos);
}

TEST_CASE("loopback_endpoints: the loopback addresses and ports HTTP sinks deliver to", "[sinks][spec]") {
  auto eps = [](std::vector<std::string> alerts, std::vector<std::string> events = {}) {
    vigil::SinkConfig cfg;
    cfg.alerts = std::move(alerts);
    cfg.events = std::move(events);
    std::vector<std::string> out;
    for (const auto& e : vigil::loopback_endpoints(cfg)) {
      char text[INET6_ADDRSTRLEN] = "";
      inet_ntop(e.family, e.addr.data(), text, sizeof text);
      out.push_back(std::string(text) + "/" + std::to_string(e.port));
    }
    return out;
  };
  using V = std::vector<std::string>;
  CHECK(eps({"falcosidekick+http://localhost:2801/"}) == V{"127.0.0.1/2801", "::1/2801"});
  CHECK(eps({"http://LOCALHOST/x"}) == V{"127.0.0.1/80", "::1/80"});
  CHECK(eps({"https://fluent.localhost:8443/"}) == V{"127.0.0.1/8443", "::1/8443"});
  CHECK(eps({"http://127.0.0.2:9880/"}) == V{"127.0.0.2/9880"});
  CHECK(eps({"http://[::1]:9880/"}) == V{"::1/9880"});
  CHECK(eps({"http://[::ffff:127.0.0.1]:9880/"}) == V{"127.0.0.1/9880"});
  // remote collectors, files and stderr: none; duplicates once
  CHECK(eps({"https://collector.example:443/", "http://10.0.0.5:9880/", "stderr", "file:/tmp/x"}).empty());
  CHECK(eps({"http://127.0.0.1:9880/"}, {"http://127.0.0.1:9880/events"}) == V{"127.0.0.1/9880"});
}
