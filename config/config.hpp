// vigil config: the options of `vigil run` (command line and VIGIL_OPTS)
// and logging. init and patcher use them without linking the tracer.
#pragma once

#include <chrono>
#include <cstdint>
#include <string>
#include <vector>

#include "sinks/sinks.hpp"

namespace vigil {

// --mode: detect never blocks; prevent does what rules with action block/kill
// ask, as far as the event allows (probes::Enforce, sensor/judge.hpp).
enum class Mode : uint8_t { Detect, Prevent };

enum class TraceLevel { None, Err, Warn, Info, Debug };

struct Options {
  TraceLevel trace = TraceLevel::Warn;
  SinkConfig sinks;    // --events, --alerts, --spool-*, --http-*, ... (docs/sinks.md)
  // Rules engine (rules/rules.hpp RulesConfig). Repeatable options add up.
  std::vector<std::string> rules;         // --rules=FILE|DIR; empty: rules::default_rules_dir()
  bool strict = false;                    // --strict: a rule with an unsupported field is an error
  Mode mode = Mode::Detect;               // --mode=detect|prevent (default detect: never blocks)
  std::vector<std::string> threat_intel;  // --threat-intel=FILE
  std::vector<std::string> sensitive_files;  // --sensitive-files: glob patterns; empty: watch off
  bool sensitive_default = true;             // not given: the built-in list
  bool exact_exits = false;  // --exit-codes=exact: exit_group trapped (docs/events.md)
  bool app_ptrace = false;  // --app-ptrace=keep: the app keeps CAP_SYS_PTRACE (docs/threat-model.md)
  // --read-deadline: a read of the app's memory lasting longer is ended by
  // killing the process read (sensor/watchdog.hpp, docs/threat-model.md).
  std::chrono::milliseconds read_deadline{250};
  // --alert-window: one alert per (rule, process) per window, repeats counted
  // and reported when it closes (docs/rules.md, "Rate limiting"); 0: off.
  std::chrono::milliseconds alert_window{60'000};
};

// Parses options from the VIGIL_OPTS value (split like a shell splits words,
// with '...' and "..." quoting) and then from argv; argv wins. Stops at "--"
// or at the first non-option, and returns its index in argv via *rest.
// On bad input returns false and sets *error to one line (what, where, fix).
bool parse_options(const char* vigil_opts, int argc, char** argv, Options* out, int* rest, std::string* error);

// One line per option of the table ("  --name  help"), for `vigil run --help`.
std::string options_help();

// Logging through spdlog to stderr, prefixed "vigil[PID] LEVEL:"; never stdout.
void setup_logging(TraceLevel level);

}  // namespace vigil
