// Minimal synchronous implementation: JSON lines to stderr or a file.
// (Issue 5 replaces this with queued, spooled, retried delivery.)
#include "sinks/sinks.hpp"

#include <cerrno>
#include <cstdio>
#include <cstring>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

namespace vigil {
namespace {

FILE* open_target(const std::string& where, std::string* error) {
  if (where == "stderr") return stderr;
  FILE* f = std::fopen(where.c_str(), "ae");
  if (!f) *error = fmt::format("cannot open output file '{}': {}", where, std::strerror(errno));
  return f;
}

class SimpleOutput final : public Output {
 public:
  SimpleOutput(FILE* events, FILE* alerts, Context ctx) : events_(events), alerts_(alerts), ctx_(std::move(ctx)) {}
  ~SimpleOutput() override {
    if (events_ && events_ != stderr) std::fclose(events_);
    if (alerts_ && alerts_ != stderr && alerts_ != events_) std::fclose(alerts_);
  }
  void event(Event ev) override {
    if (events_) write(events_, to_json_line(ev, ctx_));
  }
  void alert(Alert a) override {
    if (alerts_) write(alerts_, to_json(a, ctx_).dump());
  }
  void flush(std::chrono::milliseconds) override {
    if (events_) std::fflush(events_);
    if (alerts_) std::fflush(alerts_);
  }

 private:
  static void write(FILE* f, const std::string& line) {
    std::fwrite(line.data(), 1, line.size(), f);
    std::fputc('\n', f);
    if (f == stderr) std::fflush(f);
  }
  FILE* events_;
  FILE* alerts_;
  Context ctx_;
};

}  // namespace

std::unique_ptr<Output> make_output(const SinkConfig& cfg, const Context& ctx, std::string* error) {
  FILE* ev = nullptr;
  if (!cfg.events.empty() && !(ev = open_target(cfg.events, error))) return nullptr;
  FILE* al = nullptr;
  if (!cfg.alerts.empty()) {
    al = cfg.alerts == cfg.events ? ev : open_target(cfg.alerts, error);
    if (!al) return nullptr;
  }
  return std::make_unique<SimpleOutput>(ev, al, ctx);
}

int cmd_check(int, char**) {
  std::fprintf(stderr, "vigil check: not implemented yet\n");
  return 2;
}

}  // namespace vigil
