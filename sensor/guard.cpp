// The sensor's self-protection: see sensor/guard.hpp and docs/threat-model.md.
#include "sensor/guard.hpp"

#include <fcntl.h>
#include <linux/audit.h>
#include <linux/magic.h>
#include <linux/seccomp.h>
#include <linux/sockios.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/capability.h>
#include <sys/ioctl.h>
#include <sys/prctl.h>
#include <sys/ptrace.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <climits>
#include <csignal>
#include <cstring>
#include <fstream>
#include <optional>
#include <sstream>
#include <utility>

#include <fmt/format.h>
#include <fmt/ranges.h>
#include <spdlog/spdlog.h>

#include "probes/procfs.hpp"
#include "probes/sockaddr.hpp"
#include "sensor/keeper.hpp"
#include "sensor/perform.hpp"
#include "sensor/sensor.hpp"
#include "sinks/sinks.hpp"

namespace vigil {

namespace guard {
namespace {
cap_t g_app_caps = nullptr;  // the app's capability sets (null: unchanged)
bool g_drop_ptrace = false;
}  // namespace

void seal_sensor() {
  if (prctl(PR_SET_DUMPABLE, 0, 0, 0, 0) < 0) spdlog::warn("PR_SET_DUMPABLE 0: {}", std::strerror(errno));
}

void prepare_app_caps(bool keep_ptrace) {
  g_drop_ptrace = !keep_ptrace;
  if (keep_ptrace) return;
  g_app_caps = cap_get_proc();
  const cap_value_t ptrace[] = {CAP_SYS_PTRACE};
  if (g_app_caps)
    for (cap_flag_t f : {CAP_EFFECTIVE, CAP_PERMITTED, CAP_INHERITABLE}) cap_set_flag(g_app_caps, f, 1, ptrace, CAP_CLEAR);
}

int take_fd(int tid, int tgid, int fd) {
  int pidfd = int(syscall(SYS_pidfd_open, tid, O_EXCL /* PIDFD_THREAD, 6.9+: the thread's fd table */));
  if (pidfd < 0) pidfd = int(syscall(SYS_pidfd_open, tgid, 0));
  if (pidfd < 0) return -errno;
  int copy = int(syscall(SYS_pidfd_getfd, pidfd, fd, 0));
  const int err = errno;
  close(pidfd);
  return copy < 0 ? -err : copy;
}

void app_child_setup() {
  if (!g_drop_ptrace) return;
  // Ambient first (it needs the capability in permitted and inheritable),
  // then the bounding set (no exec can bring it back), then the process's sets.
  if (CAP_IS_SUPPORTED(CAP_SYS_PTRACE)) {
    cap_set_ambient(CAP_SYS_PTRACE, CAP_CLEAR);
    // EPERM: vigil runs unprivileged (an ECS "user": it lacks CAP_SETPCAP).
    // Then the bounding set cannot matter: the app runs under no_new_privs
    // (set before its exec), so no setuid or file-capability exec can raise
    // CAP_SYS_PTRACE, and cap_set_proc below clears what this process holds.
    if (cap_drop_bound(CAP_SYS_PTRACE) < 0 && errno != EINVAL && errno != EPERM) {
      dprintf(2, "vigil run: cannot drop CAP_SYS_PTRACE from the app's bounding set: %s\n", std::strerror(errno));
      _exit(126);
    }
  }
  if (g_app_caps && cap_set_proc(g_app_caps) < 0) {
    dprintf(2, "vigil run: cannot drop CAP_SYS_PTRACE from the app: %s\n", std::strerror(errno));
    _exit(126);
  }
}
int install_fd(int listener, uint64_t id, int fd, unsigned newfd_flags) {
  seccomp_notif_addfd add{};
  add.id = id;
  add.flags = SECCOMP_ADDFD_FLAG_SEND;
  add.srcfd = uint32_t(fd);
  add.newfd_flags = newfd_flags;
  if (ioctl(listener, SECCOMP_IOCTL_NOTIF_ADDFD, &add) >= 0) return 0;
  if (errno != EINVAL) return errno;
  // Linux < 5.14: no SEND flag; add, then answer with the number.
  add.flags = 0;
  const int got = ioctl(listener, SECCOMP_IOCTL_NOTIF_ADDFD, &add);
  if (got < 0) return errno;
  seccomp_notif_resp resp{};
  resp.id = id;
  resp.val = got;
  if (ioctl(listener, SECCOMP_IOCTL_NOTIF_SEND, &resp) < 0 && errno != ENOENT)
    spdlog::warn("answering a seccomp notification: {}", std::strerror(errno));
  return 0;
}
}  // namespace guard

void prepare_app_caps(bool keep_ptrace) { guard::prepare_app_caps(keep_ptrace); }

namespace {
int g_secret_argc = 0, g_secret_rest = 0;  // note_secrets
char** g_secret_argv = nullptr;
}  // namespace

void note_secrets(int argc, char** argv, int rest) {
  g_secret_argc = argc, g_secret_argv = argv, g_secret_rest = rest;
}

void scrub_secrets() {
  for (int i = 1; g_secret_argv && i < g_secret_rest && i < g_secret_argc; ++i)
    std::memset(g_secret_argv[i], 0, std::strlen(g_secret_argv[i]));
  for (char** e = environ; e && *e; ++e)
    if (std::strncmp(*e, "VIGIL_", 6) == 0)
      if (char* eq = std::strchr(*e, '=')) std::memset(eq + 1, 0, std::strlen(eq + 1));
}
void app_child_setup() { guard::app_child_setup(); }

namespace {

// A line "Key:\tvalue" of /proc/PID/status ("" if absent).
std::string status_field(int pid, std::string_view key) {
  std::ifstream in(fmt::format("/proc/{}/status", pid));
  for (std::string line; std::getline(in, line);)
    if (line.starts_with(key) && line.size() > key.size() && line[key.size()] == ':')
      return line.substr(line.find_first_not_of(" \t", key.size() + 1));
  return "";
}
uint64_t status_mask(int pid, std::string_view key) { return std::strtoull(status_field(pid, key).c_str(), nullptr, 16); }
// The ids of a "Uid:" / "Gid:" line: real, effective, saved, fs.
std::vector<long> status_ids(int pid, std::string_view key) {
  std::istringstream in(status_field(pid, key));
  std::vector<long> ids;
  for (long v; in >> v;) ids.push_back(v);
  return ids;
}
uint64_t ns_inode(int pid, const char* ns) {
  struct stat st {};
  return stat(fmt::format("/proc/{}/ns/{}", pid, ns).c_str(), &st) == 0 ? uint64_t(st.st_ino) : 0;
}

bool default_ignored(int sig) { return sig == SIGCHLD || sig == SIGCONT || sig == SIGURG || sig == SIGWINCH; }
bool in_mask(uint64_t mask, int sig) { return sig >= 1 && sig <= 64 && (mask >> (sig - 1)) & 1; }

// Would signal sig do anything to process pid but run its handler (or nothing)?
bool harmful(int pid, int sig) {
  if (pid <= 0 || sig == 0 || default_ignored(sig)) return false;
  if (sig == SIGKILL || sig == SIGSTOP) return true;
  return !in_mask(status_mask(pid, "SigCgt") | status_mask(pid, "SigIgn"), sig);
}

std::string sig_name(int sig) {
  const char* n = sigabbrev_np(sig);
  return n ? fmt::format("SIG{}", n) : std::to_string(sig);
}

int arg(const probes::SyscallArgs& a, int i) { return int(int32_t(uint32_t(a.args[i]))); }

// The process a pidfd (or a /proc/PID directory fd) of ours refers to, in
// vigil's pid namespace: > 0; 0: not a pidfd (the kernel will say EBADF);
// -1: a process-directory of a procfs that is not vigil's (unknown target).
int pidfd_target(int fd) {
  std::ifstream in(fmt::format("/proc/self/fdinfo/{}", fd));
  for (std::string line; std::getline(in, line);)
    if (line.starts_with("Pid:")) return std::max(0, std::atoi(line.c_str() + 4));
  struct statfs sf {};
  struct stat st {}, proc {};
  if (fstatfs(fd, &sf) < 0 || sf.f_type != PROC_SUPER_MAGIC || fstat(fd, &st) < 0 || !S_ISDIR(st.st_mode)) return 0;
  if (stat("/proc/self", &proc) < 0 || proc.st_dev != st.st_dev) return -1;
  int status = openat(fd, "status", O_RDONLY | O_CLOEXEC);
  if (status < 0) return 0;
  char buf[4096];
  const ssize_t n = read(status, buf, sizeof buf - 1);
  close(status);
  if (n <= 0) return 0;
  buf[n] = 0;
  const char* t = std::strstr(buf, "\nTgid:");
  return t ? std::atoi(t + 6) : 0;
}

}  // namespace

enum class Guard::Kind : uint8_t {
  None,
  Kill,          // kill(pid, sig): a process, 0 = the caller's group, -1 = all, < -1 = a group
  Thread1,       // tkill(tid, sig)
  Thread2,       // tgkill(tgid, tid, sig), rt_tgsigqueueinfo(tgid, tid, sig, info)
  SigQueue,      // rt_sigqueueinfo(tgid, sig, info)
  PidfdSignal,   // pidfd_send_signal(pidfd, sig, info, flags)
  Ptrace,        // ptrace(request, pid, ...)
  Task,          // the first argument is a process or thread (0: the caller)
  Kcmp,          // kcmp(pid1, pid2, ...)
  PidfdGetfd,    // pidfd_getfd(pidfd, fd, flags)
  PidfdMadvise,  // process_madvise(pidfd, ...)
  Priority,      // setpriority(which, who, prio)
  IoPriority,    // ioprio_set(which, who, ioprio)
  FcntlOwner,    // fcntl(fd, F_SETOWN, owner) / fcntl(fd, F_SETOWN_EX, &f_owner_ex) (BPF: those two only)
  IoctlOwner,    // ioctl(fd, FIOSETOWN | SIOCSPGRP, &owner) (BPF: those two only)
  Bind,          // bind(fd, addr, len): only with sinks on loopback (protect_sinks)
};

Guard::Guard() : vigil_(int(getpid())), own_pidns_(ns_inode(int(getpid()), "pid")) {
  static const std::pair<const char*, Kind> kRows[] = {
      {"kill", Kind::Kill},
      {"tkill", Kind::Thread1},
      {"tgkill", Kind::Thread2},
      {"rt_tgsigqueueinfo", Kind::Thread2},
      {"rt_sigqueueinfo", Kind::SigQueue},
      {"pidfd_send_signal", Kind::PidfdSignal},
      {"ptrace", Kind::Ptrace},
      {"process_vm_readv", Kind::Task},
      {"process_vm_writev", Kind::Task},
      {"pidfd_open", Kind::Task},
      {"prlimit64", Kind::Task},
      {"sched_setaffinity", Kind::Task},
      {"sched_setscheduler", Kind::Task},
      {"sched_setparam", Kind::Task},
      {"sched_setattr", Kind::Task},
      {"kcmp", Kind::Kcmp},
      {"pidfd_getfd", Kind::PidfdGetfd},
      {"process_madvise", Kind::PidfdMadvise},
      {"setpriority", Kind::Priority},
      {"ioprio_set", Kind::IoPriority},
      {"fcntl", Kind::FcntlOwner},
      {"fcntl64", Kind::FcntlOwner},  // i386
      {"ioctl", Kind::IoctlOwner},
      {"bind", Kind::Bind},
  };
  for (const auto& [name, kind] : kRows)
    for (size_t i = 0; i < probes::kAbis.size(); ++i) {
      const int nr = probes::abi_nr(probes::kAbis[i].arch, name);  // (i386's bind: its direct number, 361)
      if (nr < 0) continue;
      auto& v = by_abi_[i];
      if (size_t(nr) >= v.size()) v.resize(size_t(nr) + 1, Kind::None);
      v[size_t(nr)] = kind;
    }
}

Guard::Kind Guard::kind_of(const probes::SyscallArgs& a) const {
  const int i = probes::abi_index(a.arch);
  if (i < 0) return Kind::None;
  const auto& v = by_abi_[size_t(i)];
  const Kind k = a.nr >= 0 && size_t(a.nr) < v.size() ? v[size_t(a.nr)] : Kind::None;
  return k == Kind::Bind && sinks_.empty() ? Kind::None : k;
}

// vigil, the keeper, or one of vigil's threads (numbers of vigil's pid namespace).
bool Guard::sensor_task(int tid) const {
  if (tid <= 0) return false;
  if (tid == vigil_ || tid == keeper_) return true;
  return access(fmt::format("/proc/{}/task/{}", vigil_, tid).c_str(), F_OK) == 0;
}

// A signal vigil catches: one it forwards to the app (PID-1 duty, wrapper/pid1.cpp).
bool Guard::forwarded(int target, int sig) const {
  return target != keeper_ && sig > 0 && in_mask(status_mask(vigil_, "SigCgt"), sig);
}

std::string Guard::sensor_name(int tid) const {
  if (tid == keeper_) return "vigil-keeper";
  return tid == vigil_ ? "vigil" : "a vigil thread";
}

// Does process group pgid hold vigil or the keeper, for which signal sig
// (< 0: any effect, e.g. a priority) is more than a handler run? pgid 0: a
// group whose leader is outside vigil's pid namespace (getpgid cannot name
// it, e.g. `unshare -pf` without setsid): the sensor's may be that one, and
// is if its own group cannot be named either (a group vigil can name is
// another one).
bool Guard::group_has_sensor(int pgid, int sig) const {
  auto hit = [&](int pid) { return pid > 0 && getpgid(pid) == pgid && (sig < 0 || harmful(pid, sig)); };
  // (The pid namespace's init gets no signal it has no handler for.)
  return pgid >= 0 && (((vigil_ != 1 || sig < 0) && hit(vigil_)) || hit(keeper_));
}

// Numbers in a call's registers name vigil's processes only if the caller is
// in vigil's pid namespace (an app process may be in a nested one).
bool Guard::same_pidns(int tid) const {
  const uint64_t ns = ns_inode(tid, "pid");
  return ns == 0 || ns == own_pidns_;
}

// Is this call aimed at the sensor? *what says how (for the event and alert).
bool Guard::check(int tid, int tgid, Kind k, const probes::SyscallArgs& a, std::string* what) const {
  auto direct = [&](int target, int sig) {
    if (!sensor_task(target) || sig == 0 || forwarded(target, sig)) return false;
    *what = fmt::format("target={} ({}){}", target, sensor_name(target), sig > 0 ? " sig=" + sig_name(sig) : "");
    return true;
  };
  switch (k) {
    case Kind::Kill: {
      const int pid = arg(a, 0), sig = arg(a, 1);
      if (pid > 0) return direct(pid, sig);
      if (pid == -1) {
        if (!(harmful(keeper_, sig) || (vigil_ != 1 && harmful(vigil_, sig)))) return false;
        *what = fmt::format("target=-1 (every process, the sensor's included) sig={}", sig_name(sig));
        return true;
      }
      const int pgid = pid == 0 ? getpgid(tgid) : -pid;
      if (!group_has_sensor(pgid, sig)) return false;
      *what = fmt::format("target={} (process group {}, the sensor's) sig={}", pid, pgid, sig_name(sig));
      return true;
    }
    case Kind::Thread1: return direct(arg(a, 0), arg(a, 1));
    case Kind::Thread2: return direct(arg(a, 0), arg(a, 2)) || direct(arg(a, 1), arg(a, 2));
    case Kind::SigQueue: return direct(arg(a, 0), arg(a, 1));
    case Kind::Ptrace: return arg(a, 0) != PTRACE_TRACEME && direct(arg(a, 1), -1);
    case Kind::Task: return direct(arg(a, 0), -1);
    case Kind::Kcmp: return direct(arg(a, 0), -1) || direct(arg(a, 1), -1);
    case Kind::Priority:
    case Kind::IoPriority: {
      const bool io = k == Kind::IoPriority;
      const int which = arg(a, 0) - (io ? 1 : 0), who = arg(a, 1);  // 0 process, 1 group, 2 user
      if (which == 0) return direct(who, -1);
      if (which == 1) {
        const int pgid = who == 0 ? getpgid(tgid) : who;
        if (!group_has_sensor(pgid, -1)) return false;
        *what = fmt::format("target=process group {} (the sensor's)", pgid);
        return true;
      }
      if (which == 2) {
        const long uid = who == 0 ? (status_ids(tid, "Uid").empty() ? -1 : status_ids(tid, "Uid")[0]) : long(uint32_t(who));
        const auto own = status_ids(vigil_, "Uid");
        if (own.empty() || own[0] != uid) return false;
        *what = fmt::format("target=user {} (the sensor's)", uid);
        return true;
      }
      return false;
    }
    default: return false;
  }
}

// Calls that name their target by a pidfd: the fd is taken into vigil and
// checked there; where a swap of the fd (dup2 from another thread) could
// turn the checked call against the sensor, vigil performs it on the file it
// checked and answers with its result. *answered: done so.
bool Guard::rules_allow(int listener, uint64_t id, int tgid, const MakeEvent& make, const Emit& emit) {
  bool drop = false;
  Event ev = make(&drop);
  const Action act = drop ? Action::None : ev.action;
  if (act == Action::Killed) kill(tgid, SIGKILL);
  if (!drop) emit(std::move(ev));
  if (act == Action::None) return true;
  seccomp_notif_resp resp{};
  resp.id = id;
  resp.error = -EPERM;
  ioctl(listener, SECCOMP_IOCTL_NOTIF_SEND, &resp);
  return false;
}

bool Guard::on_pidfd(int listener, uint64_t id, int tid, int tgid, Kind k, const probes::SyscallArgs& a,
                     std::string* what, bool* answered, const MakeEvent& make, const Emit& emit) {
  *answered = false;
  const int copy = guard::take_fd(tid, tgid, arg(a, 0));
  if (procfs::own_resource(-copy)) {  // vigil's own: cannot check it
    if (resource_fault(tid, "taking a pidfd to check it", -copy) == 0) return false;
    *what = "target=unknown (vigil could not take the pidfd to check it)";
    return true;
  }
  if (copy < 0) return false;  // not an fd of the caller (the call fails by itself), or the caller is gone
  struct Closer {
    int fd;
    ~Closer() { close(fd); }
  } closer{copy};
  const int target = pidfd_target(copy);
  if (target < 0) {
    *what = "target=a process directory of another procfs instance (not resolvable)";
    return true;
  }
  const int sig = k == Kind::PidfdSignal ? arg(a, 1) : -1;
  const unsigned flags = k == Kind::PidfdSignal ? unsigned(a.args[3]) : 0;
  constexpr unsigned kGroup = 1u << 2;  // PIDFD_SIGNAL_PROCESS_GROUP (6.9)
  if (target > 0 && (flags & kGroup ? group_has_sensor(getpgid(target), sig)
                                    : sensor_task(target) && sig != 0 && !forwarded(target, sig))) {
    *what = fmt::format("target=pidfd {} -> {} ({}){}", arg(a, 0), target, sensor_name(target),
                        sig > 0 ? " sig=" + sig_name(sig) : "");
    return true;
  }
  // Could the caller reach the sensor at all? If not, the kernel refuses
  // whatever fd the call finally uses: it may go on.
  const uint64_t caps = status_mask(tid, "CapEff");
  const bool same_userns = ns_inode(tid, "user") == ns_inode(vigil_, "user");
  if (k == Kind::PidfdMadvise) return false;  // (a race there pages the sensor out at worst: docs/threat-model.md)
  if (k == Kind::PidfdGetfd) {
    if (!(same_userns && (caps >> CAP_SYS_PTRACE) & 1)) return false;
    *answered = true;
    if (!rules_allow(listener, id, tgid, make, emit)) return false;
    int got = int(syscall(SYS_pidfd_getfd, copy, arg(a, 1), unsigned(a.args[2])));
    seccomp_notif_resp resp{};
    resp.id = id;
    if (got < 0) {
      resp.error = -errno;
    } else {
      const int err = guard::install_fd(listener, id, got, O_CLOEXEC);  // as pidfd_getfd does
      resp.id = err ? id : 0;  // answered by install_fd
      resp.error = -err;
      close(got);
    }
    if (resp.id) ioctl(listener, SECCOMP_IOCTL_NOTIF_SEND, &resp);
    return false;
  }
  // pidfd_send_signal
  const auto uids = status_ids(tid, "Uid");
  auto uid_match = [&](int pid) {
    const auto t = status_ids(pid, "Uid");
    return uids.size() >= 2 && t.size() >= 3 && (uids[0] == t[0] || uids[0] == t[2] || uids[1] == t[0] || uids[1] == t[2]);
  };
  const bool cap_kill = same_userns && (caps >> CAP_KILL) & 1;
  if (!cap_kill && !uid_match(vigil_) && !(keeper_ > 0 && uid_match(keeper_))) return false;
  *answered = true;
  if (!rules_allow(listener, id, tgid, make, emit)) return false;
  int err = 0;
  if (target > 0 && !cap_kill && (flags & kGroup || !uid_match(target))) {
    err = EPERM;  // what the kernel would answer for a process of another user
  } else {
    siginfo_t info{};
    if (a.args[2] != 0) {
      if (!probes::TraceeMemory(tid).read(a.args[2], &info, sizeof info)) err = EFAULT;
    } else {
      // As the kernel fills it for the caller (si_code SI_QUEUE: the kernel
      // accepts SI_USER only from the sender itself).
      info.si_signo = sig;
      info.si_code = SI_QUEUE;
      info.si_pid = tgid;
      info.si_uid = uids.empty() ? 0 : uid_t(uids[0]);
    }
    if (!err && syscall(SYS_pidfd_send_signal, copy, sig, &info, flags) < 0) err = errno;
  }
  seccomp_notif_resp resp{};
  resp.id = id;
  resp.error = -err;
  ioctl(listener, SECCOMP_IOCTL_NOTIF_SEND, &resp);
  return false;
}

// A file's owner gets its SIGIO and SIGURG (F_SETSIG: any signal, SIGKILL
// too), sent by the kernel with the credentials of whoever set the owner.
// The sensor as owner: denied. F_SETOWN's owner is a register; F_SETOWN_EX's
// and the socket ioctls' are in the caller's memory, read once here: where
// the kernel would record for vigil the credentials it records for the
// caller (the same real and effective uid) and vigil's pid numbers are the
// caller's, vigil sets the owner it checked itself, on its copy of the file
// (pidfd_getfd: the same open file); a caller whose ids cannot signal the
// sensor goes on (the kernel refuses that SIGIO whatever owner it ends up
// with); one with other ids goes on after the check (docs/threat-model.md).
bool Guard::on_owner(int listener, uint64_t id, int tid, int tgid, Kind k, const probes::SyscallArgs& a,
                     std::string* what, bool* answered, const MakeEvent& make, const Emit& emit) {
  *answered = false;
  const int cmd = arg(a, 1);
  if (!same_pidns(tid)) return false;  // its numbers cannot name the sensor
  constexpr auto kTid = F_OWNER_TID, kPid = F_OWNER_PID, kPgrp = F_OWNER_PGRP;
  f_owner_ex owner{kPid, 0};
  const bool in_memory = k == Kind::IoctlOwner || cmd == F_SETOWN_EX;
  if (!in_memory) {
    const int n = arg(a, 2);
    if (n == INT_MIN) return false;  // EINVAL from the kernel
    owner = n < 0 ? f_owner_ex{kPgrp, -n} : f_owner_ex{kPid, n};
  } else {
    int n = 0;
    const bool read = k == Kind::IoctlOwner ? probes::TraceeMemory(tid).read(a.args[2], &n, sizeof n)
                                            : probes::TraceeMemory(tid).read(a.args[2], &owner, sizeof owner);
    if (!read) {  // what the kernel answers for an address it cannot read either
      seccomp_notif_resp resp{};
      resp.id = id;
      resp.error = -EFAULT;
      ioctl(listener, SECCOMP_IOCTL_NOTIF_SEND, &resp);
      return *answered = true, false;
    }
    if (k == Kind::IoctlOwner && n == INT_MIN) return false;  // EINVAL from the kernel
    if (k == Kind::IoctlOwner) owner = n < 0 ? f_owner_ex{kPgrp, -n} : f_owner_ex{kPid, n};
  }
  const char* how = k == Kind::IoctlOwner ? (cmd == FIOSETOWN ? "FIOSETOWN" : "SIOCSPGRP")
                                          : (cmd == F_SETOWN ? "F_SETOWN" : "F_SETOWN_EX");
  if (owner.type == kPgrp && owner.pid > 0 && group_has_sensor(owner.pid, -1)) {
    *what = fmt::format("{} owner=process group {} (the sensor's)", how, owner.pid);
    return true;
  }
  if ((owner.type == kPid || owner.type == kTid) && sensor_task(owner.pid)) {
    *what = fmt::format("{} owner={} ({})", how, owner.pid, sensor_name(owner.pid));
    return true;
  }
  if (!in_memory) return false;  // a register: what the kernel reads is what was checked
  const auto ids = status_ids(tid, "Uid"), own = status_ids(vigil_, "Uid");
  if (ids.size() < 2 || own.size() < 3) return false;  // the caller is gone
  auto is_own = [&](long uid) { return uid == own[0] || uid == own[2]; };
  if (!(ids[1] == 0 || is_own(ids[1]) || is_own(ids[0]))) return false;  // no SIGIO of its reaches the sensor
  if (ids[0] != own[0] || ids[1] != own[1]) return false;  // other credentials: checked only
  const int copy = guard::take_fd(tid, tgid, arg(a, 0));
  if (procfs::own_resource(-copy)) {  // vigil's own: cannot set it
    if (resource_fault(tid, "taking a file to set its owner", -copy) == 0) return false;
    *what = fmt::format("{} owner={} (vigil could not take the file to set it)", how, owner.pid);
    return true;
  }
  *answered = true;
  seccomp_notif_resp resp{};
  resp.id = id;
  if (copy < 0) {  // not an fd of the caller: the kernel's answer
    resp.error = copy == -EBADF || copy == -ESRCH ? copy : -EBADF;
  } else {
    if (!rules_allow(listener, id, tgid, make, emit)) return close(copy), false;
    int n = owner.type == kPgrp ? -owner.pid : owner.pid;
    const long rc = k == Kind::IoctlOwner ? ioctl(copy, unsigned(cmd), &n) : fcntl(copy, F_SETOWN_EX, &owner);
    if (rc < 0) resp.error = -errno;
    close(copy);
  }
  ioctl(listener, SECCOMP_IOCTL_NOTIF_SEND, &resp);
  return false;
}

void Guard::protect_sinks(std::vector<LocalEndpoint> endpoints) {
  sinks_ = std::move(endpoints);
  int lo = 0, hi = 0;
  if (std::ifstream f("/proc/sys/net/ipv4/ip_local_port_range"); !sinks_.empty() && f >> lo >> hi)
    for (const LocalEndpoint& e : sinks_)
      if (e.port >= lo && e.port <= hi) {
        spdlog::warn("sink port {} is in the kernel's ephemeral range ({}-{}): an app process that listens without "
                     "binding first may be given it while the collector is down; give the collector a port below {}",
                     e.port, lo, hi, lo);
        break;
      }
}

bool Guard::sink_target(const void* addr, size_t len, std::string* what) const {
  // The address the kernel's bind takes from these bytes: AF_INET (AF_UNSPEC
  // too, which an IPv4 socket takes for INADDR_ANY), AF_INET6 (an IPv4-mapped
  // address as IPv4). A wildcard address takes the port on every address.
  sockaddr_storage ss{};
  std::memcpy(&ss, addr, std::min(len, sizeof ss));
  int family = ss.ss_family;
  uint16_t port = 0;
  std::array<uint8_t, 16> a{};
  bool any = false;
  if ((family == AF_INET || family == AF_UNSPEC) && len >= sizeof(sockaddr_in)) {
    const auto* in = reinterpret_cast<const sockaddr_in*>(&ss);
    family = AF_INET, port = ntohs(in->sin_port), any = in->sin_addr.s_addr == htonl(INADDR_ANY);
    std::memcpy(a.data(), &in->sin_addr, 4);
  } else if (family == AF_INET6 && len >= sizeof(sockaddr_in6)) {
    const auto* in6 = reinterpret_cast<const sockaddr_in6*>(&ss);
    port = ntohs(in6->sin6_port), any = IN6_IS_ADDR_UNSPECIFIED(&in6->sin6_addr);
    if (IN6_IS_ADDR_V4MAPPED(&in6->sin6_addr)) family = AF_INET, std::memcpy(a.data(), &in6->sin6_addr.s6_addr[12], 4);
    else std::memcpy(a.data(), &in6->sin6_addr, 16);
  } else {
    return false;
  }
  for (const LocalEndpoint& e : sinks_)
    if (e.port == port && port != 0 && (any || (e.family == family && e.addr == a))) {
      char text[INET6_ADDRSTRLEN] = "?";
      inet_ntop(e.family, e.addr.data(), text, sizeof text);
      *what = fmt::format("bind {}port {} (vigil's HTTP sink delivers to {}{}{}:{}: the app would receive its records)",
                          any ? "any address, " : "", port, e.family == AF_INET6 ? "[" : "", text,
                          e.family == AF_INET6 ? "]" : "", e.port);
      return true;
    }
  return false;
}

bool Guard::on_bind(int listener, uint64_t id, int tid, int tgid, const probes::SyscallArgs& a, std::string* what,
                    bool* answered, const MakeEvent& make, const Emit& emit) {
  *answered = false;
  auto answer = [&](int err) {
    seccomp_notif_resp resp{};
    resp.id = id;
    resp.error = -err;
    if (ioctl(listener, SECCOMP_IOCTL_NOTIF_SEND, &resp) < 0 && errno != ENOENT)
      spdlog::warn("answering a seccomp notification: {}", std::strerror(errno));
    *answered = true;
    return false;
  };
  // The address, read once: what is checked is what vigil binds.
  const int len = int(uint32_t(a.args[2]));
  sockaddr_storage addr{};
  // (Answered here, not let through: an i386 socketcall's array would be read again.)
  if (len < 0 || size_t(len) > sizeof addr) return answer(EINVAL);  // the kernel's answer: it reads nothing
  if (len > 0 && !probes::TraceeMemory(tid).read(a.args[1], &addr, size_t(len))) return answer(EFAULT);
  if (sink_target(&addr, size_t(len), what)) return true;
  const int copy = guard::take_fd(tid, tgid, arg(a, 0));
  if (procfs::own_resource(-copy)) {  // vigil's own: cannot perform it
    if (resource_fault(tid, "taking a socket to bind it", -copy) == 0) return false;
    *what = "bind (vigil could not take the socket to bind it)";
    return true;
  }
  if (copy < 0) return answer(copy == -ESRCH ? ESRCH : EBADF);  // not an fd of the caller: the kernel's answer
  procfs::Fd sock(copy);
  perform::Creds creds;
  if (!perform::read_creds(tid, &creds)) return answer(ESRCH);  // the caller is gone
  // The event, judged by the rules (rules_allow's steps): its decoder reads
  // the address again, so the verdict holds for the bytes vigil binds only
  // if both reads agree. A thread that rewrote it in between is the attack
  // itself (no program rewrites an address during its own bind): denied.
  bool drop = false;
  Event ev = make(&drop);
  if (ev.net && !drop) {
    const Endpoint read = decode_sockaddr(&addr, size_t(len)), &judged = ev.net->local;
    if (read.family != judged.family || read.addr != judged.addr || read.port != judged.port) {
      *what = fmt::format("bind (the address changed while vigil read it: {} then {})", judged.addr, read.addr);
      return true;
    }
  }
  const Action act = drop ? Action::None : ev.action;
  if (act == Action::Killed) kill(tgid, SIGKILL);
  if (!drop) emit(std::move(ev));
  if (act != Action::None) return answer(EPERM);
  int domain = 0;
  socklen_t dl = sizeof domain;
  if (getsockopt(sock.fd, SOL_SOCKET, SO_DOMAIN, &domain, &dl) < 0) return answer(errno);  // ENOTSOCK, as bind's
  constexpr size_t kPath = offsetof(sockaddr_un, sun_path);
  const auto* un = reinterpret_cast<const sockaddr_un*>(&addr);
  if (domain != AF_UNIX || size_t(len) <= kPath || un->sun_path[0] == 0) {  // an address, not a path
    perform::AsCaller as(creds);  // (a port below 1024: the caller's CAP_NET_BIND_SERVICE, not vigil's)
    if (!as.ok()) return answer(EPERM);
    return answer(bind(sock.fd, reinterpret_cast<const sockaddr*>(&addr), socklen_t(len)) < 0 ? errno : 0);
  }
  // A socket file: made in the directory the path names as the caller sees
  // it (its root, cwd and credentials; never one of the sensor's /proc
  // entries), through vigil's handle of that directory, with the mode the
  // caller's umask gives (the kernel applies vigil's: set after).
  const std::string path(un->sun_path, strnlen(un->sun_path, size_t(len) - kPath));
  const probes::Resolved dir = perform::resolve_as_caller({listener, nullptr, this, nullptr, nullptr, nullptr}, tid, tgid,
                                                          creds, AT_FDCWD, path, probes::kParent);
  if (!dir.ok()) return answer(dir.refused ? EACCES : dir.err);
  if (dir.exists) return answer(EADDRINUSE);
  sockaddr_un at{};
  at.sun_family = AF_UNIX;
  const int n = std::snprintf(at.sun_path, sizeof at.sun_path, "/proc/self/fd/%d/%s", dir.fd, dir.name.c_str());
  if (n < 0 || size_t(n) >= sizeof at.sun_path) return answer(ENAMETOOLONG);
  struct stat st {};
  const mode_t mode = (fstat(sock.fd, &st) == 0 ? st.st_mode : 0777) & 0777 & ~creds.umask;
  perform::AsCaller as(creds);
  if (!as.ok()) return answer(EPERM);
  if (bind(sock.fd, reinterpret_cast<const sockaddr*>(&at), socklen_t(kPath + size_t(n) + 1)) < 0) return answer(errno);
  fchmodat(dir.fd, dir.name.c_str(), mode, 0);
  return answer(0);
}

bool Guard::on_notify(int listener, uint64_t id, int tid, int tgid, const probes::SyscallArgs& a, const MakeEvent& make,
                      const Emit& emit) {
  const Kind k = kind_of(a);
  if (k == Kind::None) return false;
  std::string what;
  bool answered = false;
  bool hit = false;
  if (k == Kind::PidfdSignal || k == Kind::PidfdGetfd || k == Kind::PidfdMadvise) {
    if (k == Kind::PidfdSignal && arg(a, 1) == 0) return false;  // an existence probe
    hit = on_pidfd(listener, id, tid, tgid, k, a, &what, &answered, make, emit);
    // kill(0, sig): the caller's group is read now; another thread or its
    // parent could move it into vigil's group before the kernel acts.
  } else if (k == Kind::FcntlOwner || k == Kind::IoctlOwner) {
    hit = on_owner(listener, id, tid, tgid, k, a, &what, &answered, make, emit);
  } else if (k == Kind::Bind) {
    hit = on_bind(listener, id, tid, tgid, a, &what, &answered, make, emit);
  } else if (k == Kind::Kill && arg(a, 0) == 0 && !check(tid, tgid, k, a, &what) && same_pidns(tid)) {
    const int sig = arg(a, 1), pgid = getpgid(tgid);
    if (sig <= 0 || !(harmful(vigil_, sig) && vigil_ != 1) || pgid <= 0) return false;
    // vigil signals the group it checked (the caller may signal the sensor
    // only with CAP_KILL or vigil's uid: then it may signal that group too).
    const uint64_t caps = status_mask(tid, "CapEff");
    if (!((caps >> CAP_KILL) & 1) || ns_inode(tid, "user") != ns_inode(vigil_, "user")) return false;
    if (!rules_allow(listener, id, tgid, make, emit)) return true;
    seccomp_notif_resp resp{};
    resp.id = id;
    if (kill(-pgid, sig) < 0) resp.error = -errno;
    ioctl(listener, SECCOMP_IOCTL_NOTIF_SEND, &resp);
    answered = true;
  } else {
    hit = check(tid, tgid, k, a, &what) && same_pidns(tid);
  }
  if (answered) return true;
  if (!hit) return false;
  deny(listener, id, what, make, emit);
  return true;
}

void Guard::deny(int listener, uint64_t id, const std::string& what, const MakeEvent& make, const Emit& emit) {
  bool drop = true;  // judged even where the row has no event otherwise
  Event ev = make(&drop);
  tamper(ev, what);
  emit(std::move(ev));
  seccomp_notif_resp resp{};
  resp.id = id;
  resp.error = -EPERM;
  if (ioctl(listener, SECCOMP_IOCTL_NOTIF_SEND, &resp) < 0 && errno != ENOENT)
    spdlog::warn("answering a seccomp notification: {}", std::strerror(errno));
}

void Guard::protect_spool(std::vector<std::string> paths, int journal_fd) {
  spool_ = std::move(paths);
  struct stat st {};
  if (journal_fd >= 0 && fstat(journal_fd, &st) == 0) journal_dev_ = st.st_dev, journal_ino_ = st.st_ino;
}

bool Guard::spool_target(const FileInfo& f, std::string* what) const {
  if (journal_ino_ && f.ino == journal_ino_ && f.dev == journal_dev_) {
    *what = fmt::format("path={} (vigil's journal)", f.path);
    return true;
  }
  for (const std::string* p : {&f.path, &f.target})
    for (const std::string& s : spool_)
      if (*p == s || (p->size() > s.size() && p->starts_with(s) && (*p)[s.size()] == '/')) {
        *what = fmt::format("path={} (vigil's spool: {})", *p, s);
        return true;
      }
  return false;
}

void Guard::tamper(Event& ev, const std::string& what) {
  ev.args.push_back({"guard", what});
  ev.action = Action::Denied;
  Alert al;
  al.time_ns = ev.time_ns;
  al.rule = guard::kTamperRule;
  al.priority = "Critical";
  al.output = fmt::format("Sensor tamper attempt denied (syscall={} {} process={} pid={} command={})", ev.type,
                          output_value(what), ev.proc ? output_value(ev.proc->name) : "",
                          ev.proc ? ev.proc->pid : ev.tid, ev.proc ? output_value(ev.proc->cmdline()) : "");
  al.output_fields = {{"evt.type", ev.type},
                      {"proc.name", ev.proc ? FieldValue(ev.proc->name) : FieldValue()},
                      {"proc.pid", FieldValue::num(ev.proc ? ev.proc->pid : ev.tid)},
                      {"proc.cmdline", ev.proc ? FieldValue(ev.proc->cmdline()) : FieldValue()},
                      {"vigil.guard", what}};
  al.source = "syscall";
  al.tags = {"sensor", "mitre_defense_evasion", "T1562.001"};
  al.action = Action::Denied;
  al.event_seq = ev.seq;
  spdlog::warn("{}", al.output);
  // Reported before the call is answered.
  if (out_) out_->alert(std::move(al));
}

namespace {
// /proc/PID/oom_score_adj (pid 0: this process).
std::string oom_path(int pid) { return pid ? fmt::format("/proc/{}/oom_score_adj", pid) : "/proc/self/oom_score_adj"; }
// Its value; none if unreadable (the process is gone).
std::optional<int> read_oom(int pid) {
  std::string s;
  if (!procfs::read_file(oom_path(pid), 16, &s, true) || s.empty()) return std::nullopt;
  return std::atoi(s.c_str());
}
// Writes v there; 0 or errno.
int write_oom(int pid, int v) {
  const int fd = open(oom_path(pid).c_str(), O_WRONLY | O_CLOEXEC);
  if (fd < 0) return errno;
  const std::string s = std::to_string(v);
  const int err = write(fd, s.data(), s.size()) == ssize_t(s.size()) ? 0 : errno;
  close(fd);
  return err;
}

int64_t mono_ns() {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(std::chrono::steady_clock::now().time_since_epoch())
      .count();
}
}  // namespace

void Guard::set_keeper(int pid) {
  keeper_ = pid;
  if (oom_ == kNoOom)
    if (const std::optional<int> v = read_oom(0)) oom_ = *v, oom_checked_ns_ = mono_ns();  // (first look: not on the start's path)
}

void Guard::check_oom() {
  if (oom_ == kNoOom) return;
  const int64_t now = mono_ns();
  if (now - oom_checked_ns_ < kOomCheckMs * 1'000'000) return;
  oom_checked_ns_ = now;
  for (int i = 0; i < 2; ++i) {
    const int pid = i ? keeper_ : 0;  // (0: this process)
    if (pid < 0) continue;
    const std::optional<int> got = read_oom(pid);
    if (!got) continue;  // (a keeper gone meanwhile: its death is reported)
    const int v = *got;
    if (v == oom_) {
      oom_said_[i] = kNoOom;
      continue;
    }
    const int err = write_oom(pid, oom_);
    // Said once a value: one that could not be set back (an unprivileged vigil
    // cannot write the keeper's) is not alerted again at every look.
    if (std::exchange(oom_said_[i], err ? v : kNoOom) == v && err) continue;
    const int who = pid ? pid : vigil_;
    Alert al;
    al.time_ns = now_realtime_ns();
    al.rule = guard::kTamperRule;
    al.priority = "Critical";
    al.output = fmt::format("{} (pid {}) oom_score_adj was changed from {} to {} (a write that raced vigil's check of "
                            "its open: the OOM killer would take the sensor first): {}",
                            pid ? "The sensor's keeper" : "The sensor", who, oom_, v,
                            err ? fmt::format("could not set it back: {}", std::strerror(err))
                                : fmt::format("set back to {}", oom_));
    al.output_fields = {{"evt.type", FieldValue()},
                        {"proc.name", pid ? "vigil-keeper" : "vigil"},
                        {"proc.pid", FieldValue::num(who)},
                        {"vigil.guard", fmt::format("oom_score_adj {} -> {}", oom_, v)}};
    al.tags = {"sensor", "mitre_defense_evasion", "T1562.001"};
    spdlog::error("{}", al.output);
    if (out_) out_->alert(std::move(al));
  }
}

bool Guard::keeper_died(Keeper& keeper, int listener, int status) {
  const int old = keeper.pid();
  std::string error;
  const bool again = keeper.start(listener, &error);
  keeper_ = again ? keeper.pid() : -1;
  Alert al;
  al.time_ns = now_realtime_ns();
  al.rule = guard::kTamperRule;
  al.priority = "Critical";
  al.output = again ? fmt::format("Sensor keeper died (pid {}, wait status {:#x}): a new keeper (pid {}) took over", old,
                                  status, keeper_)
                    : fmt::format("Sensor keeper died (pid {}, wait status {:#x}) and none could be started ({}): "
                                  "killing the app (fail-closed)", old, status, error);
  al.output_fields = {{"evt.type", FieldValue()},
                      {"proc.name", "vigil-keeper"},
                      {"proc.pid", FieldValue::num(old)},
                      {"vigil.keeper_status", FieldValue::num(status)},
                      {"vigil.new_keeper_pid", again ? FieldValue::num(keeper_) : FieldValue()}};
  al.tags = {"sensor", "mitre_defense_evasion", "T1562.001"};
  al.action = again ? Action::None : Action::Killed;
  spdlog::error("{}", al.output);
  if (out_) out_->alert(std::move(al));
  return again;
}

int Guard::resource_fault(int tid, const std::string& what, int err) {
  fault(what, err, fmt::format("tid={}; {}", tid, prevent_ ? "the call is denied" : "the call goes on unchecked"), tid,
        prevent_);
  return prevent_ ? EPERM : 0;
}

void Guard::fault(const std::string& what, int err, const std::string& consequence, int tid, bool denied) {
  Alert al;
  al.time_ns = now_realtime_ns();
  al.rule = guard::kFaultRule;
  al.priority = "Critical";
  al.output = fmt::format("Sensor fault: {}: {} ({})", what, std::strerror(err), consequence);
  al.output_fields = {{"evt.type", FieldValue()},
                      {"proc.name", FieldValue()},
                      {"proc.pid", FieldValue()},
                      {"thread.tid", tid ? FieldValue::num(tid) : FieldValue()},
                      {"vigil.fault", what},
                      {"vigil.errno", FieldValue::num(err)}};
  al.tags = {"sensor"};
  al.action = denied ? Action::Denied : Action::None;
  spdlog::error("{}", al.output);
  if (out_) out_->alert(std::move(al));
}

}  // namespace vigil
