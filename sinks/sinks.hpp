// vigil sinks: event and alert delivery. The tracer hands records to an
// Output; delivery happens elsewhere and never stalls the traced app.
#pragma once

#include <chrono>
#include <memory>
#include <string>

#include "events/events.hpp"

namespace vigil {

struct SinkConfig {
  std::string events;            // "", "stderr" or a file path
  std::string alerts = "stderr"; // "stderr" or a file path
};

class Output {
 public:
  virtual ~Output() = default;
  // Both calls return at once; they may be called from the tracer thread only.
  virtual void event(Event ev) = 0;
  virtual void alert(Alert a) = 0;
  // Deliver what is pending, waiting at most `deadline`.
  virtual void flush(std::chrono::milliseconds deadline) = 0;
};

// Builds the outputs described by cfg. On bad configuration returns null and
// sets *error to one line (what, where, how to fix).
std::unique_ptr<Output> make_output(const SinkConfig& cfg, const Context& ctx, std::string* error);

int cmd_check(int argc, char** argv);

}  // namespace vigil
