// Internal to sensor/: the sensor's self-protection (docs/threat-model.md).
// The app may run as root with CAP_SYS_PTRACE in vigil's pid namespace. The
// kernel keeps it off vigil's memory and files (vigil and the keeper are not
// dumpable, the app's process lacks CAP_SYS_PTRACE: seal_sensor(),
// drop_app_ptrace()); the Guard denies, in every mode and whatever the rules,
// the calls the kernel would still let through: signals, priorities, limits
// and pidfds aimed at vigil or the keeper (or their threads). Each attempt is
// an event (action Denied) and a Critical alert "Sensor tamper attempt".
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "events/events.hpp"
#include "probes/probes.hpp"
#include "sinks/sinks.hpp"

namespace vigil {

class Output;
class Keeper;

namespace guard {
// Rule name of the alerts raised by the guard (not a rule file's: no rule can
// switch it off).
inline constexpr const char* kTamperRule = "Sensor tamper attempt";
inline constexpr const char* kFaultRule = "Sensor fault";

// vigil itself: not dumpable (its threads and the keeper it forks inherit it),
// so without CAP_SYS_PTRACE nobody can ptrace it, read or write its memory
// (process_vm_*, /proc/PID/mem), read /proc/PID/environ|fd or take its fds
// (pidfd_getfd), even as the same uid.
void seal_sensor();

// The app's process, before its exec: keep_ptrace false drops CAP_SYS_PTRACE
// from its bounding, permitted, effective, inheritable and ambient sets
// (libcap), so that the kernel keeps it and its descendants off the sensor.
// Prepared in vigil (prepare_app_caps, before the fork), applied in the
// forked child (app_child_setup: no allocation).
void prepare_app_caps(bool keep_ptrace);
void app_child_setup();

// An fd of thread tid (of process tgid), duplicated into vigil (pidfd_getfd:
// the same open file, whatever the app does to its fd table afterwards).
// -errno on failure.
int take_fd(int tid, int tgid, int fd);
// Installs vigil's fd in the notifying caller and answers its call with the
// new fd number (SECCOMP_IOCTL_NOTIF_ADDFD with SECCOMP_ADDFD_FLAG_SEND,
// Linux 5.14+; before: ADDFD, then the answer). newfd_flags: O_CLOEXEC or 0.
// Returns 0, or the errno to answer the call with (not answered yet).
int install_fd(int listener, uint64_t id, int fd, unsigned newfd_flags);
}  // namespace guard

class Guard {
 public:
  // make_event: the decoded event of the notification, numbered and judged
  // by the rules (the tracer's usual path). *drop in: judge it even if its
  // row drops it; out: the row drops it (no event unless the guard denies);
  // emit: hands an event to the output.
  using MakeEvent = std::function<Event(bool* drop)>;
  using Emit = std::function<void(Event&&)>;

  Guard();
  void set_output(Output* out) { out_ = out; }
  void set_keeper(int pid);
  void set_prevent(bool on) { prevent_ = on; }

  // Every notification goes through here before the tracer decodes it.
  // True: the guard answered it (a call aimed at the sensor, denied with
  // EPERM and reported; or a call on a pidfd, checked and performed by vigil
  // on the very file it checked, so that no thread of the app can swap the fd
  // in between). False: not the guard's; the tracer goes on as usual.
  bool on_notify(int listener, uint64_t id, int tid, int tgid, const probes::SyscallArgs& a, const MakeEvent& make,
                 const Emit& emit);

  // A call whose path the resolver found to be the sensor's own /proc entry
  // (probes::DecodeContext::sensor_target, probes::Resolved::sensor: e.g. a
  // write-open of /proc/<vigil>/oom_score_adj by any alias): marks the
  // decoded, judged event denied and raises the Critical alert, before the
  // caller answers the call EPERM. In every mode, whatever the rules.
  void tamper(Event& ev, const std::string& what);

  // What vigil keeps in its spool directory (--spool-dir: Output::spool_paths):
  // the journal, a file vigil maps (the app truncating it kills vigil with
  // SIGBUS; writing it forges records), and the sinks' spool segment
  // directories (forged records). spool_target: whether a trapped file
  // call's object (its resolved path, or its identity: the journal through
  // any hard link) is one of them, and *what says which.
  void protect_spool(std::vector<std::string> paths, int journal_fd);
  bool spool_target(const FileInfo& f, std::string* what) const;

  // The loopback addresses and ports vigil's HTTP sinks deliver to
  // (Output::sink_endpoints; the bind row is trapped with any: sensor/rows.hpp
  // RowWants::guard_binds). Every bind of the app is then the guard's: one
  // aimed at them (that address, or a wildcard one, with that port: the
  // app would answer vigil's deliveries itself) is denied; any other is
  // performed by vigil on its copy of the socket with the address it
  // checked, as the caller (an AF_UNIX path resolved as the caller's), so
  // that no thread can swap the socket or rewrite the address in between.
  // (A port in the kernel's ephemeral range can still be taken by a listen()
  // without bind, which picks a free port itself: said at set-up, once.)
  void protect_sinks(std::vector<LocalEndpoint> endpoints);

  // vigil, one of its threads or the keeper (numbers of vigil's pid namespace).
  bool is_sensor(int pid) const { return sensor_task(pid); }

  // vigil's own resource failure (EMFILE, ENOMEM, ...) while handling a call
  // of tid: an alert "Sensor fault". Returns the errno to answer with: EPERM
  // in prevent mode (fail closed), 0 in detect mode (the call goes on, seen).
  int resource_fault(int tid, const std::string& what, int err);
  // The same alert for a fault no call waits on (e.g. inotify watches used
  // up): what failed, why (errno), and what it costs (consequence).
  void fault(const std::string& what, int err, const std::string& consequence, int tid = 0, bool denied = false);

  // The keeper is gone (wait status): an alert, and a new keeper started
  // with the listener. False if none could be started: the caller fails
  // closed (kills the app).
  bool keeper_died(Keeper& keeper, int listener, int status);

  // vigil's and the keeper's oom_score_adj (1000: the OOM killer takes that
  // process first), as vigil's was when the guard took the keeper
  // (set_keeper, before the app runs). A write-open of
  // /proc/<sensor>/oom_score_adj is denied (tamper), but one whose path a
  // thread rewrote after vigil's read gets through where the open is
  // CONTINUEd (detect mode): check_oom, called from the tracer's loop (it
  // looks at most every kOomCheckMs), finds the value changed, sets it back
  // and raises the Critical "Sensor tamper attempt".
  static constexpr int64_t kOomCheckMs = 250;
  void check_oom();

 private:
  enum class Kind : uint8_t;
  struct Target;
  Kind kind_of(const probes::SyscallArgs& a) const;
  bool sensor_task(int tid) const;
  bool forwarded(int target, int sig) const;
  bool group_has_sensor(int pgid, int sig) const;
  bool same_pidns(int tid) const;
  std::string sensor_name(int tid) const;
  bool check(int tid, int tgid, Kind k, const probes::SyscallArgs& a, std::string* what) const;
  bool on_pidfd(int listener, uint64_t id, int tid, int tgid, Kind k, const probes::SyscallArgs& a, std::string* what,
                bool* answered, const MakeEvent& make, const Emit& emit);
  bool on_owner(int listener, uint64_t id, int tid, int tgid, Kind k, const probes::SyscallArgs& a, std::string* what,
                bool* answered, const MakeEvent& make, const Emit& emit);
  bool on_bind(int listener, uint64_t id, int tid, int tgid, const probes::SyscallArgs& a, std::string* what,
               bool* answered, const MakeEvent& make, const Emit& emit);
  bool sink_target(const void* addr, size_t len, std::string* what) const;
  // Before vigil performs a call itself: its usual event, and the rules'
  // verdict. False: denied (or killed) by a rule, answered here.
  bool rules_allow(int listener, uint64_t id, int tgid, const MakeEvent& make, const Emit& emit);
  void deny(int listener, uint64_t id, const std::string& what, const MakeEvent& make, const Emit& emit);

  std::array<std::vector<Kind>, probes::kAbis.size()> by_abi_;  // by syscall number, per probes::kAbis
  Output* out_ = nullptr;
  int vigil_ = 0;
  int keeper_ = -1;
  bool prevent_ = false;
  uint64_t own_pidns_ = 0;
  std::vector<std::string> spool_;              // protect_spool: vigil's paths there
  std::vector<LocalEndpoint> sinks_;            // protect_sinks
  uint64_t journal_dev_ = 0, journal_ino_ = 0;  // and the journal's identity (0: none)
  static constexpr int kNoOom = -10000;         // (oom_score_adj is -1000 to 1000)
  int oom_ = kNoOom;                            // check_oom: the sensor's value
  int64_t oom_checked_ns_ = 0;
  int oom_said_[2] = {kNoOom, kNoOom};          // check_oom: a value alerted and not set back (vigil, keeper)
};

}  // namespace vigil
