// The rules engine's rows in the option table (sensor/options.cpp).
#include <catch2/catch.hpp>

#include "sensor/sensor.hpp"

using namespace vigil;

namespace {
bool parse(std::vector<std::string> words, Options* o, std::string* err, const char* env = nullptr) {
  std::vector<char*> argv;
  for (auto& w : words) argv.push_back(w.data());
  argv.push_back(nullptr);
  int rest = 0;
  return parse_options(env, int(words.size()), argv.data(), o, &rest, err);
}
}  // namespace

TEST_CASE("rules options: --rules and --threat-intel repeat, --strict, --mode", "[rules][options]") {
  Options o;
  std::string err;
  REQUIRE(parse({"run", "--rules=/a.yaml", "--rules=/dir", "--strict", "--mode=prevent", "--threat-intel=/t.txt", "--", "x"}, &o,
                &err, "--threat-intel=/env.txt"));
  CHECK(o.rules == std::vector<std::string>{"/a.yaml", "/dir"});
  CHECK(o.threat_intel == std::vector<std::string>{"/env.txt", "/t.txt"});
  CHECK(o.strict);
  CHECK(o.mode == Mode::Prevent);
  Options d;
  REQUIRE(parse({"run", "--", "x"}, &d, &err));
  CHECK(d.mode == Mode::Detect);  // detect is the default: never blocks
  CHECK_FALSE(d.strict);
  CHECK(d.rules.empty());
}

TEST_CASE("rules options: bad values give one clear line", "[rules][options]") {
  Options o;
  std::string err;
  CHECK_FALSE(parse({"run", "--mode=block", "--", "x"}, &o, &err));
  CHECK(err == "command line: invalid --mode value 'block': use detect or prevent");
  CHECK_FALSE(parse({"run", "--rules=", "--", "x"}, &o, &err));
  CHECK(err == "command line: --rules needs a value: a rules file or a directory of *.yaml");
  CHECK_FALSE(parse({"run", "--strict=maybe", "--", "x"}, &o, &err));
  CHECK(err.find("invalid --strict value 'maybe'") != std::string::npos);
}
