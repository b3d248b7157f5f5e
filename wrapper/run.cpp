// `vigil run [OPTIONS] -- ENTRYPOINT [ARGS...]`: resolve the entrypoint like
// exec would inside the app image, start it under the tracer, do PID-1 duty
// (wrapper/pid1.cpp) and exit with the app's status. See docs/design.md.
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include "probes/sensitive.hpp"
#include "sensor/sensor.hpp"
#include "sinks/sinks.hpp"
#include "wrapper/pid1.hpp"
#include "wrapper/wrapper.hpp"

extern char** environ;

namespace vigil {
namespace {

constexpr const char* kUsage =
    "usage: vigil run [OPTIONS] -- ENTRYPOINT [ARGS...]\n"
    "Runs ENTRYPOINT under the sensor and exits with its status (128+N if killed by signal N).\n"
    "Options (also from the VIGIL_OPTS variable; the command line wins):\n"
    "  --trace=none|err|warn|info|debug  sensor log level on stderr (default warn)\n"
    "  --events=PATH|stderr              write process events as JSON lines (docs/events.md)\n"
    "  --sensitive-files=LIST            credential files whose reads are reported: 'none', or\n"
    "                                    comma-separated absolute globs, 'default' = built-in list\n";

constexpr const char* kDefaultPath = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";

// The app's environment: ours without vigil's own VIGIL_* variables.
std::vector<std::string> app_environment() {
  std::vector<std::string> env;
  for (char** e = environ; *e; ++e)
    if (std::strncmp(*e, "VIGIL_", 6) != 0) env.emplace_back(*e);
  return env;
}

bool executable_file(const std::string& path, int* err) {
  struct stat st {};
  if (stat(path.c_str(), &st) < 0) {
    *err = errno;
    return false;
  }
  if (!S_ISREG(st.st_mode) || access(path.c_str(), X_OK) < 0) {
    *err = EACCES;
    return false;
  }
  return true;
}

// Like execvp inside the app image (and runc): a name with '/' is used as is;
// otherwise PATH from the app's environment is searched. Returns 0, or the
// exit status to use (127 not found, 126 not executable) with *error set.
int resolve_entrypoint(const std::string& name, const std::vector<std::string>& env, std::string* path,
                       std::string* error) {
  int err = 0;
  if (name.find('/') != std::string::npos) {
    *path = name;
    if (executable_file(name, &err)) return 0;
    *error = fmt::format("cannot execute '{}': {}", name, std::strerror(err));
    return err == ENOENT || err == ENOTDIR ? 127 : 126;
  }
  std::string search = kDefaultPath;
  for (const auto& e : env)
    if (e.starts_with("PATH=")) search = e.substr(5);
  bool denied = false;
  size_t start = 0;
  for (;;) {
    size_t end = search.find(':', start);
    std::string dir = search.substr(start, end == std::string::npos ? std::string::npos : end - start);
    std::string candidate = (dir.empty() ? std::string(".") : dir) + "/" + name;
    if (executable_file(candidate, &err)) {
      *path = candidate;
      return 0;
    }
    if (err == EACCES) denied = true;
    if (end == std::string::npos) break;
    start = end + 1;
  }
  *error = denied ? fmt::format("'{}' found in PATH but not executable (PATH={})", name, search)
                  : fmt::format("'{}': executable file not found in PATH={}", name, search);
  return denied ? 126 : 127;
}

}  // namespace

int cmd_run(int argc, char** argv) {
  if (argc >= 2 && (!std::strcmp(argv[1], "--help") || !std::strcmp(argv[1], "-h"))) {
    std::fputs(kUsage, stdout);
    return 0;
  }
  Options opts;
  int rest = 0;
  std::string error;
  if (!parse_options(std::getenv("VIGIL_OPTS"), argc, argv, &opts, &rest, &error)) {
    std::fprintf(stderr, "vigil run: %s\n", error.c_str());
    return 2;
  }
  if (rest >= argc) {
    std::fprintf(stderr, "vigil run: missing ENTRYPOINT (usage: vigil run [OPTIONS] -- ENTRYPOINT [ARGS...])\n");
    return 2;
  }
  setup_logging(opts.trace);

  std::vector<std::string> env = app_environment();
  std::vector<std::string> app_argv(argv + rest, argv + argc);
  std::string path;
  if (int rc = resolve_entrypoint(app_argv[0], env, &path, &error); rc != 0) {
    std::fprintf(stderr, "vigil run: %s\n", error.c_str());
    return rc;
  }

  Context ctx = make_context();
  std::unique_ptr<Output> out = make_output(opts.sinks, ctx, &error);
  if (!out) {
    std::fprintf(stderr, "vigil run: %s\n", error.c_str());
    return 2;
  }

  pid1::install();
  TracerHooks hooks;
  hooks.out = out.get();
  hooks.main_stopped = pid1::on_app_stopped;
  hooks.sensitive_patterns = opts.sensitive_default ? SensitiveWatch::default_patterns() : opts.sensitive_files;
  Tracer tracer(std::move(hooks));
  if (out) out->set_stop_counter(&tracer.stops());
  int pid = tracer.spawn(path, app_argv, env, pid1::restore_in_child, &error);
  if (pid < 0) {
    std::fprintf(stderr, "vigil run: %s\n", error.c_str());
    return 126;
  }
  pid1::set_target(pid);
  spdlog::info("sensor {} tracing {} (pid {})", ctx.sensor_id, path, pid);
  int status = tracer.run();
  // Container semantics: when the main process is gone, so is the app.
  tracer.kill_all(1000);
  out->flush(opts.sinks.flush_timeout);  // docs/sinks.md: exit and ECS stopTimeout
  int code = pid1::exit_code(status);
  spdlog::info("app exited with status {}", code);
  return code;
}

}  // namespace vigil
