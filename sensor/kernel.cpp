// The kernel features vigil uses, each probed at run time (never inferred from
// the kernel version): `vigil check` and `vigil run --trace=info` list them.
#include <fcntl.h>
#include <linux/seccomp.h>
#include <sys/ioctl.h>
#include <sys/prctl.h>
#include <sys/ptrace.h>
#include <sys/syscall.h>
#include <sys/utsname.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <csignal>
#include <cstring>
#include <fstream>

#include <fmt/format.h>
#include <seccomp.h>
#include <spdlog/spdlog.h>

#include "probes/procfs.hpp"
#include "sensor/connect_check.hpp"
#include "sensor/sensor.hpp"
#include "sensor/uapi.hpp"

namespace vigil {
namespace {

long seccomp_call(unsigned op, unsigned flags, const void* arg) { return syscall(SYS_seccomp, op, flags, arg); }

std::string status_field(const char* key) {
  std::ifstream in("/proc/self/status");
  for (std::string line; std::getline(in, line);)
    if (line.rfind(key, 0) == 0 && line.size() > std::strlen(key) && line[std::strlen(key)] == ':')
      return line.substr(line.find_first_not_of(" \t", std::strlen(key) + 1));
  return "";
}

std::string why(int err) { return fmt::format("probe: {}", std::strerror(err)); }

// Runs fn in a child and returns its one-byte result (-1: the child died,
// *sig its signal). Only where nothing else reaps our children.
int in_child(int (*fn)(), int* sig = nullptr) {
  int p[2];
  if (pipe2(p, O_CLOEXEC) < 0) return -1;
  pid_t pid = fork();
  if (pid == 0) {
    close(p[0]);
    unsigned char r = static_cast<unsigned char>(fn());
    if (write(p[1], &r, 1) != 1) _exit(1);
    _exit(0);
  }
  close(p[1]);
  unsigned char r = 0;
  const bool got = pid > 0 && read(p[0], &r, 1) == 1;
  close(p[0]);
  int st = 0;
  if (pid > 0) waitpid(pid, &st, 0);
  if (sig) *sig = pid > 0 && WIFSIGNALED(st) ? WTERMSIG(st) : 0;
  return got ? r : -1;
}

// The user-notification features, on a real listener: a child installs a
// filter (built by libseccomp) that notifies getppid, a grandchild calls it,
// and the child answers that notification. Bits of the result:
constexpr int kListener = 1, kSyncWakeUp = 2, kAddFd = 4, kContinue = 8;
int probe_listener() {
  scmp_filter_ctx ctx = seccomp_init(SCMP_ACT_ALLOW);
  if (!ctx || seccomp_rule_add(ctx, SCMP_ACT_NOTIFY, SCMP_SYS(getppid), 0) < 0 ||
      prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0 || seccomp_load(ctx) < 0)
    return 0;
  const int fd = seccomp_notify_fd(ctx);
  if (fd < 0) return 0;
  int out = kListener;
  if (ioctl(fd, SECCOMP_IOCTL_NOTIF_SET_FLAGS, SECCOMP_USER_NOTIF_FD_SYNC_WAKE_UP) == 0) out |= kSyncWakeUp;
  pid_t pid = fork();
  if (pid == 0) _exit(getppid() > 0 ? 0 : 1);
  seccomp_notif req{};
  if (pid > 0 && ioctl(fd, SECCOMP_IOCTL_NOTIF_RECV, &req) == 0) {
    seccomp_notif_addfd add{};
    add.id = req.id;
    add.srcfd = uint32_t(open("/dev/null", O_RDONLY | O_CLOEXEC));
    if (int(add.srcfd) >= 0 && ioctl(fd, SECCOMP_IOCTL_NOTIF_ADDFD, &add) >= 0) out |= kAddFd;
    seccomp_notif_resp resp{};
    resp.id = req.id;
    resp.flags = SECCOMP_USER_NOTIF_FLAG_CONTINUE;
    if (ioctl(fd, SECCOMP_IOCTL_NOTIF_SEND, &resp) == 0) out |= kContinue;
    else kill(pid, SIGKILL);
  }
  if (pid > 0) waitpid(pid, nullptr, 0);
  return out;
}

using procfs::kPidfdGetInfo;  // PIDFD_GET_INFO and its exit status (a child that has exited and been reaped)
using procfs::kPidfdInfoExit;
using procfs::PidfdInfo;

#if defined(__x86_64__)
int probe_ia32() {  // getpid through int $0x80: dies of SIGSEGV without ia32 emulation
  long ret = 20;    // __NR_getpid on i386
  __asm__ volatile("int $0x80" : "+a"(ret) : : "memory");
  return ret == getpid() ? 1 : 0;
}
#endif

int probe_syscall_info() {  // a grandchild stopped under PTRACE_TRACEME
  pid_t pid = fork();
  if (pid == 0) {
    ptrace(PTRACE_TRACEME, 0, nullptr, nullptr);
    raise(SIGSTOP);
    _exit(0);
  }
  int st = 0;
  if (pid < 0 || waitpid(pid, &st, 0) != pid || !WIFSTOPPED(st)) return 2;
  unsigned char info[128];
  const int ok = ptrace(static_cast<__ptrace_request>(PTRACE_GET_SYSCALL_INFO), pid, sizeof info, info) > 0;
  kill(pid, SIGKILL);
  waitpid(pid, &st, 0);
  return ok;
}

}  // namespace

std::vector<KernelFeature> detect_kernel_features(bool may_fork) {
  std::vector<KernelFeature> out;
  utsname u{};
  uname(&u);
  out.push_back({"release", true, fmt::format("{} {}", u.sysname, u.release)});
  const std::string not_probed = "not probed here (the probe forks): see vigil check";

  static const std::pair<const char*, uint32_t> kActions[] = {
      {"kill_process", SECCOMP_RET_KILL_PROCESS}, {"kill_thread", SECCOMP_RET_KILL_THREAD},
      {"trap", SECCOMP_RET_TRAP},                 {"errno", SECCOMP_RET_ERRNO},
      {"user_notif", SECCOMP_RET_USER_NOTIF},     {"trace", SECCOMP_RET_TRACE},
      {"log", SECCOMP_RET_LOG},                   {"allow", SECCOMP_RET_ALLOW}};
  std::string have, missing;
  for (auto [name, action] : kActions) {
    uint32_t a = action;
    (seccomp_call(SECCOMP_GET_ACTION_AVAIL, 0, &a) == 0 ? have : missing) += std::string(" ") + name;
  }
  out.push_back({"seccomp actions", !have.empty(),
                 fmt::format("available:{}{}", have.empty() ? " none" : have, missing.empty() ? "" : "; missing:" + missing)});

  // A known flag with a NULL program fails with EFAULT, an unknown one with
  // EINVAL; nothing is installed either way (libseccomp probes the same way).
  auto flag_known = [](unsigned flag) { return seccomp_call(SECCOMP_SET_MODE_FILTER, flag, nullptr) != 0 && errno == EFAULT; };
  static const std::pair<const char*, unsigned> kFlags[] = {
      {"tsync", SECCOMP_FILTER_FLAG_TSYNC},
      {"log", SECCOMP_FILTER_FLAG_LOG},
      {"spec_allow", SECCOMP_FILTER_FLAG_SPEC_ALLOW},
      {"new_listener", SECCOMP_FILTER_FLAG_NEW_LISTENER},
      {"tsync_esrch", SECCOMP_FILTER_FLAG_TSYNC | (1u << 4)}};  // only valid together
  have.clear();
  missing.clear();
  for (auto [name, flag] : kFlags) (flag_known(flag) ? have : missing) += std::string(" ") + name;
  out.push_back({"seccomp filter flags", !have.empty(),
                 fmt::format("available:{}{}", have.empty() ? " none" : have, missing.empty() ? "" : "; missing:" + missing)});
  // Optional: a notified thread waits killably once its notification is received.
  const bool waitkill = flag_known(SECCOMP_FILTER_FLAG_NEW_LISTENER | (1u << 5));
  out.push_back({"WAIT_KILLABLE_RECV filter flag", waitkill, waitkill ? "probed" : why(errno)});

  seccomp_notif_sizes sizes{};
  const bool notif = seccomp_call(SECCOMP_GET_NOTIF_SIZES, 0, &sizes) == 0;
  out.push_back({"seccomp user notification", notif,
                 notif ? fmt::format("notif {} bytes, resp {} bytes, data {} bytes", sizes.seccomp_notif,
                                     sizes.seccomp_notif_resp, sizes.seccomp_data)
                       : why(errno)});
  if (may_fork) {
    const int l = notif ? in_child(probe_listener) : 0;
    const bool listener = l > 0 && (l & kListener);
    out.push_back({"user-notif listener", listener, listener ? "probed on a real filter" : "probe failed"});
    out.push_back({"user-notif flag CONTINUE", listener && (l & kContinue), "probed on a real notification"});
    // Optional: without it a notification wakes the sensor on another CPU (slower, still correct).
    out.push_back({"user-notif SYNC_WAKE_UP", listener && (l & kSyncWakeUp), "probed on a real listener; optional: speed only"});
    out.push_back({"user-notif ADDFD", listener && (l & kAddFd), "probed on a real notification"});
  } else {
    for (const char* name : {"user-notif flag CONTINUE", "user-notif SYNC_WAKE_UP", "user-notif ADDFD"})
      out.push_back({name, false, not_probed});
  }
  // How vigil run takes the filter's listener from the app's first process (EBADF: the call exists).
  errno = 0;
  const bool getfd = syscall(SYS_pidfd_getfd, -1, 0, 0) < 0 && errno == EBADF;
  out.push_back({"pidfd_getfd", getfd, getfd ? "probed" : why(errno)});
  // The thread group of a notifying thread without /proc (probes/procfs.cpp).
  const int self = int(syscall(SYS_pidfd_open, getpid(), 0));
  PidfdInfo info{};
  const bool getinfo = self >= 0 && ioctl(self, kPidfdGetInfo, &info) == 0;
  out.push_back({"PIDFD_GET_INFO", getinfo, getinfo ? "probed; optional: /proc is read instead" : why(errno)});
  if (self >= 0) close(self);
  // The status of a process killed by a signal, once reaped (sensor/tracer.cpp on_pidfd).
  if (may_fork && getinfo) {
    pid_t pid = fork();
    if (pid == 0) _exit(7);
    const int fd = pid > 0 ? int(syscall(SYS_pidfd_open, pid, 0)) : -1;
    if (pid > 0) waitpid(pid, nullptr, 0);
    PidfdInfo ex{};
    ex.mask = kPidfdInfoExit;
    const bool exit_info = fd >= 0 && ioctl(fd, kPidfdGetInfo, &ex) == 0 && (ex.mask & kPidfdInfoExit);
    if (fd >= 0) close(fd);
    out.push_back({"PIDFD_INFO_EXIT", exit_info, "probed; optional: /proc is read instead while a zombie"});
  } else {
    out.push_back({"PIDFD_INFO_EXIT", false, may_fork ? "needs PIDFD_GET_INFO" : not_probed});
  }
  if (may_fork) {
#if defined(__x86_64__)
    int sig = 0;
    const bool ia32 = in_child(probe_ia32, &sig) == 1;
    out.push_back({"ia32 emulation (int $0x80)", ia32,
                   ia32 ? "probed" : sig ? fmt::format("probe died of {}", strsignal(sig)) : std::string("probe failed")});
#else
    out.push_back({"ia32 emulation (int $0x80)", false, "not an x86_64 kernel"});
#endif
    const int si = in_child(probe_syscall_info);
    out.push_back({"PTRACE_GET_SYSCALL_INFO", si == 1,
                   si == 1 ? "probed" : si == 2 ? "probe: PTRACE_TRACEME did not stop the child (ptrace not permitted?)"
                                                : "probe failed"});
  } else {
    out.push_back({"ia32 emulation (int $0x80)", false, not_probed});
    out.push_back({"PTRACE_GET_SYSCALL_INFO", false, not_probed});
  }
  // Optional: detect mode's check of AF_UNIX connects (sensor/connect_check.hpp).
  std::string diag_why;
  const bool diag = ConnectCheck::unix_diag_answers(&diag_why);
  out.push_back({"unix_diag (NETLINK_SOCK_DIAG)", diag,
                 diag ? "probed; optional: AF_UNIX connects let through are checked by the peer's file"
                      : diag_why + "; optional: AF_UNIX connects let through are not checked after the fact"});
  out.push_back({"libseccomp API level", seccomp_api_get() > 0, std::to_string(seccomp_api_get())});

  std::string cap = status_field("CapEff");
  bool sys_ptrace = !cap.empty() && (std::strtoull(cap.c_str(), nullptr, 16) >> 19) & 1;
  out.push_back({"CAP_SYS_PTRACE", sys_ptrace, "effective capabilities " + cap});
  std::ifstream yama("/proc/sys/kernel/yama/ptrace_scope");
  int scope = -1;
  if (yama >> scope) out.push_back({"yama ptrace_scope", scope < 3, std::to_string(scope)});
  out.push_back({"seccomp mode of this process", true,
                 fmt::format("Seccomp {}, filters {}, NoNewPrivs {}", status_field("Seccomp"),
                             status_field("Seccomp_filters"), status_field("NoNewPrivs"))});
  return out;
}

void log_kernel_features(bool may_fork) {
  for (const auto& f : detect_kernel_features(may_fork)) {
    const bool probed = !f.detail.starts_with("not probed");
    spdlog::log(f.available || !probed ? spdlog::level::info : spdlog::level::warn, "kernel: {}: {}{}", f.name,
                f.available ? "present" : probed ? "absent" : "not probed", f.detail.empty() ? "" : " (" + f.detail + ")");
  }
}

}  // namespace vigil
