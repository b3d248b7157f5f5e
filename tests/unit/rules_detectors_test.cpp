// Stateful detectors (port scan, mass rewrite/rename, DGA) and threat intel.
#include <catch2/catch.hpp>

#include "rules/internal.hpp"
#include "rules_test_util.hpp"

using namespace vigil;
using namespace rt;

namespace {

std::vector<Alert> run(Engine& e, std::vector<Event> evs) {
  std::vector<Alert> out;
  for (auto& ev : evs) e.evaluate(ev, &out);
  return out;
}

const char* kDetectors =
    "- detector: port_scan\n  ports: 5\n  hosts: 4\n  window: 10s\n  priority: WARNING\n  tags: [T1046]\n"
    "- detector: mass_file_rewrite\n  files: 5\n  window: 10s\n  action: kill\n  tags: [T1486]\n"
    "- detector: dga_domain\n  tags: [T1568.002]\n";

}  // namespace

TEST_CASE("port scan: distinct ports on one host or distinct hosts within the window", "[rules][detectors]") {
  auto e = engine_text(kDetectors);
  auto scanner = proc("/tmp/scan", {"scan"}, app(), 300);
  std::vector<Event> evs;
  for (int port = 20; port < 24; ++port) evs.push_back(connect_ev("10.0.0.9", port, scanner));
  CHECK(run(*e, evs).empty());  // 4 ports: below the threshold of 5
  auto out = run(*e, {connect_ev("10.0.0.9", 25, scanner)});
  REQUIRE(out.size() == 1);
  CHECK(out[0].rule == "Port scan");
  CHECK(out[0].priority == "Warning");
  CHECK(out[0].tags == std::vector<std::string>{"T1046"});
  CHECK_THAT(out[0].output, Catch::Contains("5 distinct ports on 10.0.0.9"));
  // ports spread over time: the window forgets old ones
  auto slow = proc("/tmp/slow", {"slow"}, app(), 301);
  std::vector<Alert> all;
  for (int i = 0; i < 10; ++i) {
    Event ev = connect_ev("10.0.0.8", 1000 + i, slow);
    ev.time_ns += int64_t(i) * 5'000'000'000;  // 5s apart, window 10s
    e->evaluate(ev, &all);
  }
  CHECK(all.empty());
  // repeated connections to one port are not a scan
  auto busy = proc("/app/client", {"client"}, app(), 302);
  std::vector<Event> same(50, connect_ev("10.0.0.7", 443, busy));
  CHECK(run(*e, same).empty());
  // distinct hosts
  auto sweep = proc("/tmp/sweep", {"sweep"}, app(), 303);
  auto hosts = run(*e, {connect_ev("10.0.0.1", 22, sweep), connect_ev("10.0.0.2", 22, sweep), connect_ev("10.0.0.3", 22, sweep),
                        connect_ev("10.0.0.4", 22, sweep)});
  REQUIRE(hosts.size() == 1);
  CHECK_THAT(hosts[0].output, Catch::Contains("4 distinct hosts"));
}

TEST_CASE("mass rewrite or rename: ransomware-like activity, with its configured action", "[rules][detectors]") {
  auto e = engine_text(kDetectors);
  auto locker = proc("/tmp/locker", {"locker"}, app(), 400);
  std::vector<Alert> out;
  // the sensor marks a truncating open of a file that had data: evt.arg.overwrites
  auto overwrite = [&](const std::string& path) {
    Event ev = open_ev(path, O_WRONLY | O_TRUNC, locker);
    ev.args.push_back({"overwrites", "true"});
    return ev;
  };
  for (int i = 0; i < 3; ++i) e->evaluate(overwrite("/data/f" + std::to_string(i)), &out);
  e->evaluate(file_op("rename", "/data/a", "/data/a.locked", locker), &out);
  CHECK(out.empty());
  // rewriting the same file again does not count twice
  e->evaluate(overwrite("/data/f0"), &out);
  CHECK(out.empty());
  // new files, and renaming a file the process just created (atomic write), do not count
  for (int i = 0; i < 10; ++i) {
    std::string tmp = "/data/.new" + std::to_string(i) + ".tmp";
    e->evaluate(open_ev(tmp, O_WRONLY | O_CREAT | O_TRUNC, locker), &out);
    e->evaluate(file_op("rename", tmp, "/data/new" + std::to_string(i), locker), &out);
  }
  CHECK(out.empty());
  // reads do not count
  e->evaluate(open_ev("/data/r", O_RDONLY, locker), &out);
  CHECK(out.empty());
  Action v = e->evaluate(file_op("renameat2", "/data/b", "/data/b.locked", locker), &out);
  REQUIRE(out.size() == 1);
  CHECK(out[0].rule == "Mass file rewrite or rename");
  CHECK(out[0].action == Action::Killed);
  CHECK(v == Action::Killed);
}

TEST_CASE("DGA heuristics: random-looking registered labels only", "[rules][detectors]") {
  const auto& p = rules::detector_defaults().at("dga_domain");
  CHECK(rules::dga_like("xkqjzpwrtmvbnfh.com", p));
  CHECK(rules::dga_like("www.q7x9k2m4z8r1t5.net", p));
  CHECK(rules::dga_like("a.b.xkqjzpwrtmvbnfh.co.uk", p));
  CHECK_FALSE(rules::dga_like("googleusercontent.com", p));
  CHECK_FALSE(rules::dga_like("stackoverflow.com", p));
  CHECK_FALSE(rules::dga_like("d1a2b3c4e5f6g7.cloudfront.net", p));  // random part is not the registered label
  CHECK_FALSE(rules::dga_like("api.github.com", p));
  CHECK_FALSE(rules::dga_like("localhost", p));
  auto e = engine_text(kDetectors);
  auto out = run(*e, {dns_ev("xkqjzpwrtmvbnfh.com"), dns_ev("example.org")});
  REQUIRE(out.size() == 1);
  CHECK(out[0].rule == "DGA-like domain queried");
}

TEST_CASE("detector settings: errors name file, line and the expected value", "[rules][detectors]") {
  CHECK_THAT(load_error("- detector: port_scan\n  window: 10\n"), Catch::Contains(":2:11: detector 'port_scan': expected a duration like 60s"));
  CHECK_THAT(load_error("- detector: port_scan\n  portz: 10\n"), Catch::Contains(":2:3: detector 'port_scan': unknown setting 'portz'"));
  CHECK_THAT(load_error("- detector: nope\n"), Catch::Contains(":1:13: unknown detector 'nope'"));
  // a later item changes only what it names
  auto e = engine_text(std::string(kDetectors) + "- detector: port_scan\n  ports: 2\n");
  auto p = proc("/tmp/s", {"s"}, app(), 500);
  CHECK(run(*e, {connect_ev("10.0.0.9", 1, p), connect_ev("10.0.0.9", 2, p)}).size() == 1);
  auto off = engine_text(std::string(kDetectors) + "- detector: port_scan\n  enabled: false\n");
  CHECK(run(*off, {connect_ev("10.0.0.9", 1, p), connect_ev("10.0.0.9", 2, p), connect_ev("10.0.0.9", 3, p),
                   connect_ev("10.0.0.9", 4, p), connect_ev("10.0.0.9", 5, p)})
            .empty());
}

TEST_CASE("threat intel: IPs and CIDRs, domains and subdomains, SHA-256 hashes", "[rules][intel]") {
  std::string hash = "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08";
  std::string list = write_tmp("# known bad\n203.0.113.0/24\n2001:db8::1\n\nevil.example   # C2\n" + hash + "\n", ".txt");
  auto e = engine_from({write_tmp("[]\n")}, 0, {list});
  auto out = run(*e, {connect_ev("203.0.113.77", 443)});
  REQUIRE(out.size() == 1);
  CHECK(out[0].rule == "Threat intel IP contacted");
  CHECK(out[0].priority == "Critical");
  CHECK_THAT(out[0].output, Catch::Contains("entry=203.0.113.0/24"));
  CHECK(run(*e, {connect_ev("203.0.114.1", 443)}).empty());
  CHECK(run(*e, {connect_ev("2001:db8::1", 443)}).size() == 1);
  CHECK(run(*e, {dns_ev("evil.example")}).size() == 1);
  CHECK(run(*e, {dns_ev("cdn.EVIL.example.")}).size() == 1);
  CHECK(run(*e, {dns_ev("notevil.example")}).empty());
  CHECK(run(*e, {dns_ev("good.example", {"203.0.113.9"})}).size() == 1);
  auto bad = proc("/tmp/bad", {"bad"});
  bad->sha256 = "9F86D081884C7D659A2FEAA0C55AD015A3BF4F1B2B0B822CD15D6C15B0F00A08";
  out = run(*e, {exec_p(bad)});
  REQUIRE(out.size() == 1);
  CHECK(out[0].rule == "Threat intel malicious file executed");
  Event f = open_ev("/tmp/dl.bin", O_RDONLY);
  f.file->sha256 = hash;
  CHECK(run(*e, {f}).size() == 1);
}

TEST_CASE("threat intel: a bad entry is an error with file and line", "[rules][intel]") {
  std::string list = write_tmp("203.0.113.1\nnot a valid entry\n", ".txt");
  RulesConfig cfg;
  cfg.threat_intel = {list};
  std::string err;
  CHECK_FALSE(Engine::load(cfg, &err));
  CHECK_THAT(err, Catch::EndsWith(":2:1: expected an IP, CIDR, domain or SHA-256 hash, got 'not a valid entry'"));
  cfg.threat_intel = {"/nonexistent/intel.txt"};
  CHECK_FALSE(Engine::load(cfg, &err));
  CHECK_THAT(err, Catch::Contains("cannot read threat-intel file"));
}
