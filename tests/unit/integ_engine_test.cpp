// Engine::evaluate(..., blocking_only): how `vigil run` judges a provisional
// exec at its entry notification (docs/rules.md "Prevention").
#include <catch2/catch.hpp>

#include "tests/unit/rules_test_util.hpp"

using namespace vigil;
using namespace rt;

namespace {
const char* kRules =
    "- rule: Tool seen\n  desc: d\n  condition: evt.type = execve and proc.name = nmap\n  output: seen\n  priority: WARNING\n"
    "- rule: Tool blocked\n  desc: d\n  condition: evt.type = execve and proc.name = nmap and proc.args contains -sS\n"
    "  output: blocked\n  priority: CRITICAL\n  action: block\n";
}

TEST_CASE("blocking_only runs only block/kill rules, and leaves the rest for the real event", "[integ]") {
  auto e = engine_text(kRules, 60'000'000'000);
  std::vector<Alert> out;
  // provisional exec that no block rule matches: no alert, allowed
  Event quiet = exec_ev("/usr/bin/nmap", {"nmap", "-sT", "host"});
  CHECK(e->evaluate(quiet, &out, true) == Action::None);
  CHECK(out.empty());
  // the real exec event then raises the detect-only alert (not rate-limited away)
  CHECK(e->evaluate(quiet, &out) == Action::None);
  REQUIRE(out.size() == 1);
  CHECK(out[0].rule == "Tool seen");
  out.clear();
  // a provisional exec a block rule matches: denied, one alert saying so
  Event bad = exec_ev("/usr/bin/nmap", {"nmap", "-sS", "host"});
  CHECK(e->evaluate(bad, &out, true) == Action::Denied);
  REQUIRE(out.size() == 1);
  CHECK(out[0].rule == "Tool blocked");
  CHECK(out[0].action == Action::Denied);
}
