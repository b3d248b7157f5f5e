// `vigil run [OPTIONS] -- ENTRYPOINT [ARGS...]`: resolve the entrypoint like
// exec would inside the app image, start it under the tracer, do PID-1 duty
// (wrapper/pid1.cpp) and exit with the app's status. See docs/design.md.
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <csignal>
#include <cstdio>
#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <future>
#include <latch>
#include <optional>
#include <string_view>
#include <utility>

#include <fmt/format.h>
#include <fmt/ranges.h>
#include <spdlog/spdlog.h>

#include "events/events.hpp"
#include "probes/sensitive.hpp"
#include "rules/rules.hpp"
#include "sensor/rows.hpp"
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
    "Options, as --name=value (also from the VIGIL_OPTS variable; the command line wins):\n";

constexpr const char* kDefaultPath = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";

// The app's environment: ours without vigil's own VIGIL_* variables, and with
// the variables vigil-launch moved out of vigil's way (VIGIL_APPENV_NAME=value,
// wrapper/launch.c) back under their own names, in their original places.
std::vector<std::string> app_environment() {
  constexpr std::string_view kMoved = "VIGIL_APPENV_";
  std::vector<std::string> env;
  for (char** e = environ; *e; ++e) {
    std::string_view v = *e;
    if (v.starts_with(kMoved))
      env.emplace_back(v.substr(kMoved.size()));
    else if (!v.starts_with("VIGIL_"))
      env.emplace_back(v);
  }
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

// Where rules come from when no --rules is given: the rootfs' etc/vigil/rules/,
// else, for a binary run from its CMake build tree, the source's rules/default.
std::string default_rules() {
  std::string dir = default_rules_dir();
  if (!dir.empty()) return dir;
  std::error_code ec;
  auto build = std::filesystem::read_symlink("/proc/self/exe", ec).parent_path();
  std::ifstream cache(build / "CMakeCache.txt");
  for (std::string line; std::getline(cache, line);)
    if (line.starts_with("CMAKE_HOME_DIRECTORY:INTERNAL=")) {
      auto src = std::filesystem::path(line.substr(line.find('=') + 1)) / "rules" / "default";
      if (std::filesystem::is_directory(src, ec)) return src.string();
    }
  return "";
}

// The calling thread's malloc arena, grown once to about `bytes` and faulted
// in with one madvise(MADV_POPULATE_WRITE) (Linux 5.14) instead of one page
// fault per page as the rules are compiled: a fresh thread arena grows a page
// at a time (an mprotect each) and each page's first touch is a fault, ~15 us
// apiece on a paravirtualised VM (docs/bench.md, "Startup, third pass"). The
// arena is grown with blocks below malloc's mmap threshold; the highest block
// (the lid) stays allocated until the caller frees it, so that the freed ones
// below it are not trimmed away at once but serve the allocations that follow.
// Best effort: on an older kernel the pages are faulted in as before.
constexpr size_t kRulesHeap = 1024 * 1024;  // the default rules' peak is ~850 KiB

struct HeapPrefault {
  static constexpr size_t kBlock = 96 * 1024;  // below M_MMAP_THRESHOLD's 128 KiB default
  void* lid = nullptr;
  explicit HeapPrefault(size_t bytes) {
    std::vector<void*> blocks;
    for (size_t got = 0; got < bytes; got += kBlock) blocks.push_back(std::malloc(kBlock));
    lid = std::malloc(kBlock);
    const long page = sysconf(_SC_PAGESIZE);
    for (void* b : blocks) {
      if (!b) continue;
      auto lo = (uintptr_t(b) + page - 1) & ~uintptr_t(page - 1);
      auto hi = (uintptr_t(b) + kBlock) & ~uintptr_t(page - 1);
      if (hi > lo) madvise(reinterpret_cast<void*>(lo), hi - lo, MADV_POPULATE_WRITE);
    }
    for (void* b : blocks) std::free(b);
  }
  ~HeapPrefault() { std::free(lid); }
};

double thread_cpu_ms() {
  timespec t{};
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &t);
  return double(t.tv_sec) * 1e3 + double(t.tv_nsec) / 1e6;
}

long thread_faults() {
  rusage r{};
  getrusage(RUSAGE_THREAD, &r);
  return r.ru_minflt + r.ru_majflt;
}

// The rules paths: --rules, else the default rules' directory; none if
// there are no default rules either.
std::vector<std::string> rules_paths(const Options& opts) {
  if (!opts.rules.empty()) return opts.rules;
  if (std::string dir = default_rules(); !dir.empty()) return {dir};
  return {};
}

// Loads the rules engine from the options and paths (rules_paths); null with
// *error on a load error, and also null (no error) when there are no rules at all.
// texts: the files read already (read_rules), or null.
std::unique_ptr<Engine> load_rules(const Options& opts, const std::vector<std::string>& paths,
                                   const std::vector<RulesText>* texts, const Context& ctx, std::string* error) {
  RulesConfig cfg;
  cfg.files = paths;
  cfg.texts = texts;
  cfg.strict = opts.strict;
  cfg.threat_intel = opts.threat_intel;
  cfg.rate_limit_ns = int64_t(opts.alert_window.count()) * 1'000'000;
  if (cfg.files.empty()) {
    spdlog::info("no --rules and no etc/vigil/rules/ next to the binary: rules engine off");
    return nullptr;
  }
  std::vector<std::string> warnings;
  auto engine = Engine::load(cfg, error, &warnings);
  if (!engine) return nullptr;
  for (const auto& w : warnings) spdlog::info("rules: {}", w);
  size_t active = 0;
  for (const auto& r : engine->rules()) active += r.active;
  spdlog::info("rules: {} active, {} not active, mode {} (from {})", active, engine->rules().size() - active,
               opts.mode == Mode::Prevent ? "prevent" : "detect", fmt::join(cfg.files, ", "));
  engine->set_context(ctx);
  return engine;
}

// The rows to trap (sensor/rows.hpp): what the rules, the sinks and
// --exit-codes need.
std::vector<RowChoice> trapped_rows(const Options& opts, const Engine* rules) {
  RowWants w;
  w.all_events = !opts.sinks.events.empty();
  w.exact_exits = opts.exact_exits;
  w.guard_binds = !loopback_endpoints(opts.sinks).empty();
  w.rules = rules ? &rules->interest() : nullptr;
  return choose_rows(probes::table(), w);
}

// The rows the rules will choose, where they are known before the rules are
// compiled: with an event sink every row whatever the rules; without rules
// none of theirs; with the default rules (their files the build's, byte for
// byte: is_default() says, once the rules thread has read them; and no
// threat-intel list) the row set the build computed. Else none: the filter
// waits for the compile.
template <typename IsDefault>
std::optional<std::vector<RowChoice>> rows_before_rules(const Options& opts, const std::vector<std::string>& paths,
                                                        IsDefault is_default, std::string* why) {
  if (!opts.sinks.events.empty()) return *why = "an event sink takes every row", trapped_rows(opts, nullptr);
  if (paths.empty()) return *why = "no rules", trapped_rows(opts, nullptr);
  if (!opts.threat_intel.empty() || !is_default()) return std::nullopt;
  std::vector<RowChoice> rows = default_rules_rows(opts.exact_exits);
  if (!loopback_endpoints(opts.sinks).empty()) {  // the guard's bind row too (a filter compiled at the install)
    for (const RowChoice& r : trapped_rows(opts, nullptr))
      if (std::string_view(r.row->type) == "bind") rows.push_back(r);
    std::stable_sort(rows.begin(), rows.end(), [](const RowChoice& a, const RowChoice& b) { return a.row < b.row; });
  }
  return *why = "the default rules (the build's files, byte for byte)", rows;
}

// Every row of `rows` is one of `installed`'s (rows of probes::table()).
bool covers(const std::vector<RowChoice>& installed, const std::vector<RowChoice>& rows) {
  return std::all_of(rows.begin(), rows.end(), [&](const RowChoice& r) {
    return std::any_of(installed.begin(), installed.end(), [&](const RowChoice& i) { return i.row == r.row; });
  });
}

void log_trapped(const std::vector<RowChoice>& rows, const Engine* rules) {
  if (!spdlog::should_log(spdlog::level::info)) return;
  if (rules && rules->interest().any)
    spdlog::info("trapped: every row, for rules without an evt.type condition ({}): add one to trap less",
                 fmt::join(rules->interest().any_who, ", "));
  std::vector<std::string> names;
  for (const auto& r : rows) names.emplace_back(r.row->syscall);
  spdlog::info("trapped: {} of {} syscalls: {} (why: vigil syscalls)", rows.size(), probes::table().size(),
               fmt::join(names, " "));
}

int run(int argc, char** argv) {
  if (argc >= 2 && (!std::strcmp(argv[1], "--help") || !std::strcmp(argv[1], "-h"))) {
    std::fputs(kUsage, stdout);
    std::fputs(options_help().c_str(), stdout);
    return 0;
  }
  Options opts;
  int rest = 0;
  std::string error;
  auto fail = [&](int code) {  // error's message, then the exit code
    std::fprintf(stderr, "vigil run: %s\n", error.c_str());
    return code;
  };
  if (!parse_options(std::getenv("VIGIL_OPTS"), argc, argv, &opts, &rest, &error)) return fail(2);
  note_secrets(argc, argv, rest);  // wiped once read (scrub_secrets), the keeper's and the app's copies too
  if (rest >= argc) {
    std::fprintf(stderr, "vigil run: missing ENTRYPOINT (usage: vigil run [OPTIONS] -- ENTRYPOINT [ARGS...])\n");
    return 2;
  }
  setup_logging(opts.trace);
  const auto t0 = std::chrono::steady_clock::now();
  auto phase = [&](const char* what) {
    spdlog::debug("startup: {} at {:.2f} ms", what,
                  std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count());
  };

  std::vector<std::string> env = app_environment();
  std::vector<std::string> app_argv(argv + rest, argv + argc);
  std::string path;
  if (int rc = resolve_entrypoint(app_argv[0], env, &path, &error); rc != 0) return fail(rc);

  // The app's process is forked now, while vigil is still one thread (a fork
  // of a multi-threaded process interrupts every CPU to flush TLBs); it waits
  // until the tracer takes it (sensor/sensor.hpp PendingApp). Signal
  // dispositions are still the ones vigil was started with.
  prepare_app_caps(opts.app_ptrace);
  PendingApp app = fork_app(path, app_argv, env, app_child_setup, &error);
  if (app.pid < 0) return fail(126);
  phase("app forked");

  Context ctx = make_context();
  const std::vector<std::string> paths = rules_paths(opts);
  // The rules are parsed and compiled on a second thread while this one
  // makes the sinks, forks the keeper, initialises OpenSSL and, where the
  // filter's rows are known without the rules (rows_before_rules), installs
  // the app's filter; else the app gets its filter once they are loaded. The
  // thread is created now but starts its work only after the keeper's fork
  // (`go`): the rules' memory (a new malloc arena) is then never shared
  // copy-on-write with the keeper, and the thread, made while the CPUs are
  // free, runs at once when let go (docs/bench.md, "Startup", "startup,
  // fourth pass" and "fifth pass").
  std::latch go(1);
  std::atomic<bool> abandoned{false};  // an error return before the keeper's fork: nothing to compile
  std::string rules_error;
  // The rules thread reads the files first and says at once whether they are
  // the default rules (rows_before_rules), then compiles what it read.
  std::promise<bool> default_rules;
  // Made with every signal blocked, as vigil's other threads: a signal for
  // the app that comes during the compile stays pending until the app is
  // started (pid1::set_target), instead of reaching this thread's handler
  // before there is an app to forward it to (tests/shell/run_signals.sh).
  sigset_t all, mask;
  sigfillset(&all);
  pthread_sigmask(SIG_SETMASK, &all, &mask);
  auto rules = std::async(std::launch::async, [&]() -> std::unique_ptr<Engine> {
    struct Say {  // the answer is given on every path, an exception's too (never a main thread waiting for good)
      std::promise<bool>& p;
      bool said = false;
      void operator()(bool v) {
        if (!std::exchange(said, true)) p.set_value(v);
      }
      ~Say() { (*this)(false); }
    } say{default_rules};
    prctl(PR_SET_NAME, "vigil-rules", 0, 0, 0);
    go.wait();
    if (abandoned.load()) return nullptr;
    phase("rules thread started");
    // (Measured for --trace=debug only: the thread's CPU clock and getrusage are system calls on the start's path.)
    const bool measure = spdlog::should_log(spdlog::level::debug);
    const double cpu0 = measure ? thread_cpu_ms() : 0;
    const long faults0 = measure ? thread_faults() : 0;
    HeapPrefault heap(kRulesHeap);
    const double cpu1 = measure ? thread_cpu_ms() : 0;
    const long faults1 = measure ? thread_faults() : 0;
    std::vector<RulesText> texts;
    std::string read_error;
    const bool read = !paths.empty() && read_rules(paths, &texts, &read_error);
    // VIGIL_TEST_RULES_AS_DEFAULT=1 (tests): the rules are taken for the default ones.
    const char* as_default = std::getenv("VIGIL_TEST_RULES_AS_DEFAULT");
    say(read && ((as_default && std::strcmp(as_default, "1") == 0) || are_default_rules(texts)));
    auto engine = load_rules(opts, paths, read ? &texts : nullptr, ctx, &rules_error);
    if (measure)
      spdlog::debug("startup: rules compiled, {:.2f} ms of the thread's CPU ({:.2f} ms for {} pages of heap made "
                    "beforehand), {} page faults", thread_cpu_ms() - cpu0, cpu1 - cpu0, faults1 - faults0,
                    thread_faults() - faults1);
    phase("rules compiled");
    return engine;
  });
  pthread_sigmask(SIG_SETMASK, &mask, nullptr);
  struct LetGo {  // on every return below too (rules' destructor waits for the thread)
    std::latch& go;
    std::atomic<bool>& abandoned;
    bool done = false;
    void operator()() {
      if (!std::exchange(done, true)) go.count_down();
    }
    ~LetGo() {
      if (!done) abandoned = true;
      (*this)();
    }
  } let_go{go, abandoned};
  // The sinks without their threads (their journal is the keeper's to recover).
  std::unique_ptr<Output> out = make_output(opts.sinks, ctx, &error, /*start=*/false);
  if (!out) return fail(2);
  phase("sinks made");
  // The keeper (fail-closed, journal recovery) now, while vigil is small and
  // its only other thread (the rules') sleeps: a fork of a process whose
  // threads run interrupts their CPUs to flush TLBs, and their writes after it
  // are copy-on-write faults. It gets the filter's listener at the spawn
  // (sensor/sensor.hpp start_keeper).
  std::shared_ptr<Keeper> keeper = start_keeper(out.get(), &error);
  if (!keeper) return fail(126);
  phase("keeper started");
  let_go();
  if (spdlog::should_log(spdlog::level::info)) log_kernel_features(false);
  // The filter's rows, if known before the rules are compiled.
  std::string early_why;
  Judge judge(*out, opts.mode);
  pid1::install();
  std::optional<std::vector<RowChoice>> early =
      rows_before_rules(opts, paths, [&] { return default_rules.get_future().get(); }, &early_why);
  probes::Table chosen;  // the installed filter's rows
  std::unique_ptr<Tracer> tracer;
  auto install = [&](const std::vector<RowChoice>& rows) {
    // The filter's program: generated at build time for the common row sets
    // (an event sink, the default rules), else compiled at the install.
    chosen = chosen_table(rows);
    TracerConfig cfg;
    cfg.keeper = std::move(keeper);  // (null the second time: the tracer forks its own)
    cfg.main_stopped = pid1::on_app_stopped;
    cfg.sensitive_patterns = opts.sensitive_default ? SensitiveWatch::default_patterns() : opts.sensitive_files;
    cfg.table = &chosen;
    cfg.read_deadline_ms = int(opts.read_deadline.count());
    tracer = std::make_unique<Tracer>(judge, std::move(cfg));
    out->set_stop_counter(&tracer->stops());
    return tracer->install(app, &error);
  };
  int pid = -1;
  if (early) {
    pid = install(*early);
    if (pid < 0) return fail(126);
    spdlog::debug("startup: filter installed before the rules were compiled: {}", early_why);
    phase("filter installed");
  }
  // The sinks' threads now: creating them while the rules thread faults its
  // heap in waits on the mmap lock (docs/bench.md, "startup, fifth pass").
  out->start();
  phase("sinks started");
  // The first exec's SHA-256 (events/events.hpp Sha256) initialises OpenSSL
  // (its lazy init and the digest fetch, ~1 ms) while the app waits for the
  // answer: done here instead, while this thread would only wait for the rules.
  if (rules.wait_for(std::chrono::seconds(0)) != std::future_status::ready) Sha256().hex();
  judge.set_rules(rules.get());
  phase("rules loaded");
  // A child that took its filter (install) and is not let go: killed before it runs anything.
  auto drop_app = [&] {
    out->set_stop_counter(nullptr);
    tracer.reset();  // stands the keeper down
    if (app.pid < 0) return;
    kill(app.pid, SIGKILL);
    close(app.to_child);
    close(app.from_child);
    waitpid(app.pid, nullptr, 0);
    app = PendingApp{};
  };
  if (!rules_error.empty()) {
    std::fprintf(stderr, "vigil run: rules: %s\n", rules_error.c_str());
    drop_app();
    return 2;
  }
  const Engine* engine = judge.rules();
  const std::vector<RowChoice> rows = trapped_rows(opts, engine);
  log_trapped(rows, engine);
  if (early && !covers(*early, rows)) {
    // Rules equal to the default ones byte for byte choose their rows, so only
    // a test's knob gets here; kept as the check that the installed filter is
    // never short of a row. The child has run nothing yet: it is replaced by
    // one with the rules' own filter.
    spdlog::warn("the rules need rows the filter installed before their compile lacks: the app's process is "
                 "forked again with their own filter (a start slower by a few milliseconds, nothing missed)");
    drop_app();  // the new tracer forks its own keeper
    app = fork_app(path, app_argv, env, app_child_setup, &error);
    if (app.pid < 0) return fail(126);
    early.reset();
  }
  if (!early) {
    pid = install(rows);
    if (pid < 0) return fail(126);
  }
  phase("tracer ready");
  tracer->release(app);
  // Every option and VIGIL_* variable has been read (sinks, tracer, test knobs):
  // their values are wiped from /proc/<vigil>/cmdline|environ (docs/threat-model.md).
  scrub_secrets();
  phase("app spawned");
  pid1::set_target(pid);
  spdlog::info("sensor {} tracing {} (pid {})", ctx.sensor_id, path, pid);
  int status = tracer->run();
  phase("app exited");
  spdlog::info("{} notifications and ptrace stops serviced", tracer->stops().load());
  // Container semantics: when the main process is gone, so is the app.
  tracer->kill_all(1000);
  judge.finish();
  out->flush(opts.sinks.flush_timeout);  // docs/sinks.md: exit and ECS stopTimeout
  phase("sinks flushed");
  int code = pid1::exit_code(status);
  spdlog::info("app exited with status {}", code);
  judge.leak_rules();
  return code;
}

}  // namespace

// `vigil syscalls [RUN OPTIONS]`: what `vigil run` with these options (and
// VIGIL_OPTS) traps, one syscall a line with why, then what it leaves out.
int cmd_syscalls(int argc, char** argv) {
  if (argc >= 2 && (!std::strcmp(argv[1], "--help") || !std::strcmp(argv[1], "-h"))) {
    std::fputs("usage: vigil syscalls [--bpf=FILE] [RUN OPTIONS]\nLists the syscalls `vigil run` with these options traps, "
               "and why (rules, sinks, --exit-codes, state they feed). docs/design-probes.md\n"
               "--bpf=FILE: also writes the seccomp filter it would load (struct sock_filter[], x86_64 and i386\n"
               "or aarch64), for bench/micro/notify_floor's floor of the same filter (docs/bench.md)\n",
               stdout);
    return 0;
  }
  std::string bpf_file;  // (not a run option: taken out before they are parsed)
  std::vector<char*> args(argv, argv + argc);
  for (auto it = args.begin() + 1; it != args.end(); ++it)
    if (std::string_view(*it).starts_with("--bpf=")) {
      bpf_file = *it + 6;
      args.erase(it);
      if (bpf_file.empty()) {
        std::fprintf(stderr, "vigil syscalls: --bpf= needs a file name (e.g. --bpf=/tmp/vigil.bpf)\n");
        return 2;
      }
      break;
    }
  argc = int(args.size());
  argv = args.data();
  Options opts;
  int rest = 0;
  std::string error;
  if (!parse_options(std::getenv("VIGIL_OPTS"), argc, argv, &opts, &rest, &error)) {
    std::fprintf(stderr, "vigil syscalls: %s\n", error.c_str());
    return 2;
  }
  if (rest < argc) {
    std::fprintf(stderr, "vigil syscalls: unexpected argument '%s' (only vigil run's options are read)\n", argv[rest]);
    return 2;
  }
  setup_logging(TraceLevel::Err);
  std::unique_ptr<Engine> engine = load_rules(opts, rules_paths(opts), nullptr, Context{}, &error);
  if (!error.empty()) {
    std::fprintf(stderr, "vigil syscalls: rules: %s\n", error.c_str());
    return 2;
  }
  const std::vector<RowChoice> rows = trapped_rows(opts, engine.get());
  std::printf("%zu of %zu syscalls trapped\n", rows.size(), probes::table().size());
  for (const auto& r : rows) std::printf("  %-20s %s\n", r.row->syscall, r.why.c_str());
  std::vector<std::string> left;
  for (const auto& p : probes::table())
    if (std::none_of(rows.begin(), rows.end(), [&](const RowChoice& r) { return r.row == &p; }))
      left.emplace_back(p.syscall);
  std::printf("not trapped (nothing loaded reads them): %s\n", left.empty() ? "none" : fmt::format("{}", fmt::join(left, " ")).c_str());
  if (!bpf_file.empty()) {
    std::vector<sock_filter> prog;
    if (!probes::export_filter(chosen_table(rows), &prog, &error)) {
      std::fprintf(stderr, "vigil syscalls: %s\n", error.c_str());
      return 1;
    }
    std::ofstream out(bpf_file, std::ios::binary | std::ios::trunc);
    out.write(reinterpret_cast<const char*>(prog.data()), std::streamsize(prog.size() * sizeof(sock_filter)));
    if (!out.flush()) {
      std::fprintf(stderr, "vigil syscalls: --bpf=%s: cannot write the filter there: %s\n", bpf_file.c_str(),
                   std::strerror(errno));
      return 2;
    }
    std::printf("filter: %zu instructions written to %s\n", prog.size(), bpf_file.c_str());
  }
  return 0;
}

int cmd_run(int argc, char** argv) {
  const int code = run(argc, argv);
  // The app is gone, every record is delivered or spooled and vigil's threads
  // and helpers are stopped (run()'s locals are destroyed by now): skip the
  // exit-time cleanup of the libraries (OpenSSL's atexit handler, spdlog's
  // registry, static destructors), ~0.5 ms that nobody needs.
  std::fflush(nullptr);
  _exit(code);
}

}  // namespace vigil
