#include <catch2/catch.hpp>

#include "sensor/sensor.hpp"

using namespace vigil;

namespace {
struct Argv {
  std::vector<std::string> words;
  std::vector<char*> ptrs;
  explicit Argv(std::vector<std::string> w) : words(std::move(w)) {
    for (auto& s : words) ptrs.push_back(s.data());
    ptrs.push_back(nullptr);
  }
  int argc() const { return int(words.size()); }
  char** argv() { return ptrs.data(); }
};
}  // namespace

TEST_CASE("argv wins over VIGIL_OPTS", "[options]") {
  Argv a({"run", "--trace=debug", "--", "/bin/true"});
  Options o;
  int rest = 0;
  std::string err;
  REQUIRE(parse_options("--trace=info --events=stderr", a.argc(), a.argv(), &o, &rest, &err));
  CHECK(o.trace == TraceLevel::Debug);
  CHECK(o.sinks.events.back() == "stderr");
  CHECK(rest == 3);
}

TEST_CASE("VIGIL_OPTS quoting and errors", "[options]") {
  Argv a({"run", "--", "x"});
  Options o;
  int rest = 0;
  std::string err;
  REQUIRE(parse_options("--events='/tmp/a b.json'", a.argc(), a.argv(), &o, &rest, &err));
  CHECK(o.sinks.events.back() == "/tmp/a b.json");
  CHECK_FALSE(parse_options("--trace=loud", a.argc(), a.argv(), &o, &rest, &err));
  CHECK(err.find("VIGIL_OPTS") != std::string::npos);
  CHECK(err.find("none, err, warn, info or debug") != std::string::npos);
  CHECK_FALSE(parse_options("--events='unterminated", a.argc(), a.argv(), &o, &rest, &err));
  CHECK_FALSE(parse_options("--nope", a.argc(), a.argv(), &o, &rest, &err));
  CHECK(err.find("unknown option '--nope'") != std::string::npos);
}

TEST_CASE("options_help lists every option the parser accepts", "[options]") {
  std::string help = options_help();
  for (const char* name : {"trace", "events", "alerts", "rules", "mode", "sensitive-files", "flush-timeout"})
    CHECK(help.find(std::string("  --") + name + " ") != std::string::npos);
  // And nothing the parser would refuse: every listed name is accepted by it.
  Argv a({"run", "--", "x"});
  size_t pos = 0;
  while ((pos = help.find("  --", pos)) != std::string::npos) {
    pos += 4;
    std::string name = help.substr(pos, help.find(' ', pos) - pos);
    Options o;
    int rest = 0;
    std::string err;
    parse_options(("--" + name + "=x").c_str(), a.argc(), a.argv(), &o, &rest, &err);
    CHECK(err.find("unknown option") == std::string::npos);
  }
}

TEST_CASE("read-deadline option: a duration from 10ms to 10s", "[options]") {
  Argv a({"run", "--", "x"});
  int rest = 0;
  std::string err;
  Options o;
  CHECK(o.read_deadline == std::chrono::milliseconds(250));
  REQUIRE(parse_options("--read-deadline=1s", a.argc(), a.argv(), &o, &rest, &err));
  CHECK(o.read_deadline == std::chrono::milliseconds(1000));
  REQUIRE(parse_options("--read-deadline=50ms", a.argc(), a.argv(), &o, &rest, &err));
  CHECK(o.read_deadline == std::chrono::milliseconds(50));
  for (const char* bad : {"--read-deadline=5ms", "--read-deadline=11s", "--read-deadline=soon"}) {
    INFO(bad);
    CHECK_FALSE(parse_options(bad, a.argc(), a.argv(), &o, &rest, &err));
    CHECK(err.find("--read-deadline") != std::string::npos);
  }
}
