// vigil sensor: the tracer that turns the app's syscalls into events, and
// the kernel-feature probing of `vigil check` (options and logging:
// config/config.hpp).
#pragma once

#include <atomic>

#include <functional>
#include <memory>
#include <span>
#include <string>
#include <vector>

#include "config/config.hpp"
#include "events/events.hpp"
#include "probes/probes.hpp"
#include "sensor/judge.hpp"
#include "sinks/sinks.hpp"

namespace vigil {

// The kernel features vigil uses, each probed at run time (sensor/kernel.cpp).
struct KernelFeature {
  std::string name;
  bool available = false;
  std::string detail;
};
// may_fork: allowed to fork short-lived children for the probes that need one
// (`vigil check`; not `vigil run`, whose PID 1 reaps every child): they are
// then listed as not probed.
std::vector<KernelFeature> detect_kernel_features(bool may_fork);
// Logs them at info ("kernel: NAME: present|absent|not probed (detail)"), absent ones at warn.
void log_kernel_features(bool may_fork);

// `vigil check [--sink URL]... [run options]` (sensor/diagnostics.cpp).
int cmd_check(int argc, char** argv);

}  // namespace vigil

// ---- The tracer (sensor/tracer.cpp) -------------------------------------
namespace vigil {

// The fail-closed keeper (sensor/keeper.hpp), forked now, while vigil is
// small and before its rules are loaded: a fork shares vigil's memory
// copy-on-write for as long as the child lives, and each later write of
// vigil's to a shared page then costs a fault, a copy and a TLB flush on the
// CPUs running vigil's other threads. Makes vigil not dumpable first (the
// keeper inherits it). Recovers out's journal if vigil dies. Null with
// *error if it cannot be started.
class Keeper;
std::shared_ptr<Keeper> start_keeper(Output* out, std::string* error);

struct TracerConfig {
  // The keeper from start_keeper; null: the tracer forks one at the spawn.
  std::shared_ptr<Keeper> keeper;
  // The main process entered a group-stop with this signal (job control).
  std::function<void(int sig)> main_stopped;
  // The traced syscalls; null: probes::table(). (Tests use their own.)
  const probes::Table* table = nullptr;
  // Credential files whose reads are watched (glob patterns); empty: off.
  std::vector<std::string> sensitive_patterns;
  // A read of the app's memory lasting longer ends: its process is killed
  // (--read-deadline, sensor/watchdog.hpp).
  int read_deadline_ms = 250;
};

// The seccomp program of the default probes table, generated at build time
// (probes/gen/filter_bpf.cpp; equal to probes::export_filter(probes::table())).
std::span<const sock_filter> default_filter_program();

// The app's process, forked early (before vigil starts its threads: a fork
// of a multi-threaded process costs TLB-shootdown interrupts on every CPU).
// It waits on a pipe until a Tracer takes it (Tracer::spawn); if vigil goes
// away first, it exits 127 without running anything.
struct PendingApp {
  int pid = -1;
  int to_child = -1;    // the filter program, then "listener taken"
  int from_child = -1;  // the listener's fd number in the child
};
// The app's process drops CAP_SYS_PTRACE before its exec unless keep_ptrace
// (docs/threat-model.md): call prepare_app_caps before fork_app and pass
// app_child_setup as its child_setup (sensor/guard.cpp).
void prepare_app_caps(bool keep_ptrace);
void app_child_setup();
// /proc/PID/environ and cmdline of a process that is not dumpable are still
// readable by its uid (Linux 6.x): vigil's options (argv[1] up to rest, as
// noted by note_secrets) and the values of VIGIL_* variables are overwritten
// in place by scrub_secrets: by vigil once it has read them all, and by each
// process forked before that (the keeper, the app's process before its exec)
// right after its fork, in its own copy. Async-signal-safe.
void note_secrets(int argc, char** argv, int rest);
void scrub_secrets();
// Forks the app's process for path/argv/env; the child runs child_setup
// (async-signal-safe code only; may be null) and waits. pid -1 and *error on failure.
PendingApp fork_app(const std::string& path, const std::vector<std::string>& argv,
                    const std::vector<std::string>& env, void (*child_setup)(), std::string* error);

// The tracer: seccomp user notification, ptrace only to follow a thread through a
// syscall (docs/design.md). One instance, one thread (the caller's), which must
// be the thread that calls spawn() (ptrace ties tracees to it, the app's
// PR_SET_PDEATHSIG to its creator).
class Tracer {
 public:
  // Every event goes to judge: judged once, answered, emitted.
  Tracer(Judge& judge, TracerConfig cfg);
  ~Tracer();
  Tracer(const Tracer&) = delete;
  Tracer& operator=(const Tracer&) = delete;

  // Sends a forked app the filter of the probes table; the child sets
  // no_new_privs, installs the filter, hands over its listener and execs.
  // Starts the keeper (fail-closed if vigil dies, sensor/keeper.hpp).
  // Returns the child's pid, or -1 and sets *error (the child is gone then).
  int spawn(PendingApp& app, std::string* error);
  // spawn() in two steps, for a caller that learns its rules meanwhile
  // (wrapper/run.cpp): install() sends the child the filter of cfg.table,
  // takes its listener and arms the keeper (fail-closed from then on), and
  // needs nothing of the judge's rules; release() reads what the rules ask
  // for (exec verification, connect emulation, the objects the inotify watch
  // protects, the exec facts rules read) and lets the child exec. Until then
  // nothing of the app has run. install() returns as spawn(); release() after
  // an install() that failed, or twice, does nothing.
  int install(PendingApp& app, std::string* error);
  void release(PendingApp& app);
  // fork_app + spawn.
  int spawn(const std::string& path, const std::vector<std::string>& argv, const std::vector<std::string>& env,
            void (*child_setup)(), std::string* error);
  // Services notifications until the main process (the spawned one) has exited;
  // reaps every child of this process meanwhile (PID-1 duty). Returns the
  // main process's wait status.
  int run();
  // Stands the keeper down (handing it the inotify instance to release after
  // vigil's exit, sensor/keeper.hpp), SIGKILLs every app process still known,
  // then collects their exits (emitting exit events) for at most timeout_ms.
  void kill_all(int timeout_ms);
  // Number of notifications and ptrace stops serviced so far (read by the sinks' stats record).
  const std::atomic<uint64_t>& stops() const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace vigil
