// vigil sensor: options, logging, and the tracer that turns the app's
// syscalls into events.
#pragma once

#include <string>
#include <vector>

#include "sinks/sinks.hpp"

namespace vigil {

enum class TraceLevel { None, Err, Warn, Info, Debug };

struct Options {
  TraceLevel trace = TraceLevel::Warn;
  std::string events;  // the last --events value (all of them are in sinks.events)
  SinkConfig sinks;    // --events, --alerts, --spool-*, --http-*, ... (docs/sinks.md)
};

// Parses options from the VIGIL_OPTS value (split like a shell splits words,
// with '...' and "..." quoting) and then from argv; argv wins. Stops at "--"
// or at the first non-option, and returns its index in argv via *rest.
// On bad input returns false and sets *error to one line (what, where, fix).
bool parse_options(const char* vigil_opts, int argc, char** argv, Options* out, int* rest, std::string* error);

// Logging through spdlog to stderr, prefixed "vigil[PID] LEVEL:"; never stdout.
void setup_logging(TraceLevel level);

}  // namespace vigil
