// vigil sensor: options, logging, and the tracer that turns the app's
// syscalls into events.
#pragma once

#include <string>
#include <vector>

namespace vigil {

enum class TraceLevel { None, Err, Warn, Info, Debug };

struct Options {
  TraceLevel trace = TraceLevel::Warn;
  std::string events;  // --events=PATH|stderr; empty: no event output
  // Rules engine (rules/rules.hpp RulesConfig). Repeatable options add up.
  std::vector<std::string> rules;         // --rules=FILE|DIR; empty: rules::default_rules_dir()
  bool strict = false;                    // --strict: a rule with an unsupported field is an error
  bool prevent = false;                   // --mode=detect|prevent (default detect: never blocks)
  std::vector<std::string> threat_intel;  // --threat-intel=FILE
};

// Parses options from the VIGIL_OPTS value (split like a shell splits words,
// with '...' and "..." quoting) and then from argv; argv wins. Stops at "--"
// or at the first non-option, and returns its index in argv via *rest.
// On bad input returns false and sets *error to one line (what, where, fix).
bool parse_options(const char* vigil_opts, int argc, char** argv, Options* out, int* rest, std::string* error);

// Logging through spdlog to stderr, prefixed "vigil[PID] LEVEL:"; never stdout.
void setup_logging(TraceLevel level);

}  // namespace vigil
