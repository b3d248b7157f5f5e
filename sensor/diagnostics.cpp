// `vigil check [--sink SPEC]... [run options]`: the diagnostics of
// `vigil run --trace=info`, standalone (e.g. through ECS Exec). Exit 0 when
// every check passed, 1 otherwise.
#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>

#include <nlohmann/json.hpp>
#include <spdlog/spdlog.h>

#include "sensor/sensor.hpp"
#include "sinks/sinks.hpp"

namespace vigil {
namespace {

constexpr const char* kUsage =
    "usage: vigil check [--sink SPEC]... [OPTIONS]\n"
    "  Logs the kernel features vigil uses (each probed: present or absent), fetches the ECS task metadata when\n"
    "  ECS_CONTAINER_METADATA_URI_V4 is set, and checks DNS, TCP and TLS for each\n"
    "  sink given with --sink (default: the --events/--alerts sinks from VIGIL_OPTS\n"
    "  and the command line). OPTIONS are those of 'vigil run' (--ca-file,\n"
    "  --tls-insecure, --bearer-token-env, ...). Exit status 0: all passed; 1: not.\n";

bool check_sink(const std::string& text, const SinkConfig& cfg) {
  SinkSpec spec;
  std::string err;
  if (!parse_sink_spec(text, &spec, &err)) {
    spdlog::error("sink {}: {}", text, err);
    return false;
  }
  switch (spec.kind) {
    case SinkSpec::Kind::Stderr: spdlog::info("sink stderr: ok"); return true;
    case SinkSpec::Kind::File: {
      int fd = ::open(spec.target.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0640);
      if (fd < 0) {
        spdlog::error("sink {}: cannot open for appending: {}", spec.text, std::strerror(errno));
        return false;
      }
      ::close(fd);
      spdlog::info("sink {}: file can be appended to", spec.text);
      return true;
    }
    case SinkSpec::Kind::Http:
    case SinkSpec::Kind::Falcosidekick: return check_network_sink(spec, cfg);
  }
  return false;
}

}  // namespace

int cmd_check(int argc, char** argv) {
  std::vector<std::string> sinks;
  std::vector<char*> rest{argv[0]};
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i];
    if (a == "--help" || a == "-h") {
      std::fputs(kUsage, stdout);
      return 0;
    }
    if (a == "--sink" && i + 1 < argc) sinks.push_back(argv[++i]);
    else if (a.rfind("--sink=", 0) == 0) sinks.push_back(a.substr(7));
    else rest.push_back(argv[i]);
  }
  rest.push_back(nullptr);
  Options o;
  int first = 0;
  std::string err;
  if (!parse_options(std::getenv("VIGIL_OPTS"), int(rest.size() - 1), rest.data(), &o, &first, &err)) {
    std::fprintf(stderr, "vigil check: %s\n", err.c_str());
    return 1;
  }
  if (first < int(rest.size() - 1)) {
    std::fprintf(stderr, "vigil check: unexpected argument '%s' (try 'vigil check --help')\n", rest[first]);
    return 1;
  }
  setup_logging(std::max(o.trace, TraceLevel::Info));
  int failed = 0;
  if (!log_sink_config(o.sinks, &err)) {
    spdlog::error("config: {}", err);
    ++failed;
  }

  log_kernel_features(true);

  if (const char* uri = std::getenv("ECS_CONTAINER_METADATA_URI_V4"); uri && *uri) {
    nlohmann::json m;
    if (fetch_ecs_metadata(uri, std::chrono::milliseconds(5000), &m, &err)) {
      spdlog::info("ECS metadata: {}", m.dump());
    } else {
      spdlog::error("ECS metadata: {}", err);
      ++failed;
    }
  } else {
    spdlog::info("ECS metadata: ECS_CONTAINER_METADATA_URI_V4 not set (not on ECS, or the agent is older than 1.39)");
  }

  if (sinks.empty()) {
    sinks = o.sinks.events;
    sinks.insert(sinks.end(), o.sinks.alerts.begin(), o.sinks.alerts.end());
  }
  if (sinks.empty()) spdlog::info("no sink to check: pass --sink URL, or set --events/--alerts in VIGIL_OPTS");
  for (const auto& s : sinks) failed += check_sink(s, o.sinks) ? 0 : 1;

  if (failed) spdlog::error("vigil check: {} check(s) failed", failed);
  else spdlog::info("vigil check: all checks passed");
  return failed ? 1 : 0;
}

}  // namespace vigil
