#include "probes/procfs.hpp"

#include <fcntl.h>
#include <poll.h>
#include <linux/capability.h>
#include <sys/ioctl.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <algorithm>
#include <cstring>
#include <vector>

#include <fmt/format.h>

namespace vigil::procfs {

std::string read_link(const std::string& path) {
  char buf[4096];
  ssize_t n = readlink(path.c_str(), buf, sizeof buf);
  return n > 0 ? std::string(buf, size_t(n)) : std::string();
}

// Reads up to max bytes of a file; false if it cannot be opened. short_is_eof:
// a short read ends the file (true of /proc/PID/{status,stat,cmdline}, whose
// reads fill the buffer while there is more): saves the read that returns 0.
namespace {
thread_local std::vector<int> t_to_close;

size_t close_batch() {
  static const size_t batch = [] {
    rlimit rl{};
    if (getrlimit(RLIMIT_NOFILE, &rl) != 0 || rl.rlim_cur == RLIM_INFINITY) return kCloseBatch;
    return std::clamp<size_t>(size_t(rl.rlim_cur / 32), 1, kCloseBatch);
  }();
  return batch;
}
}  // namespace

void close_later(int fd) {
  if (fd < 0) return;
  t_to_close.push_back(fd);
  if (t_to_close.size() >= close_batch()) close_deferred();
}

bool closes_deferred() { return !t_to_close.empty(); }

// Every fd in the list is still this process's (none was closed yet), so a
// run of consecutive numbers holds nothing else: one close_range per run.
// (Lowest-free allocation makes most of the list one run.)
void close_deferred(bool all) {
  if (t_to_close.empty() || (!all && t_to_close.size() < close_batch())) return;
  std::sort(t_to_close.begin(), t_to_close.end());
  for (size_t i = 0; i < t_to_close.size();) {
    size_t j = i;
    while (j + 1 < t_to_close.size() && t_to_close[j + 1] == t_to_close[j] + 1) ++j;
    if (j == i || syscall(SYS_close_range, unsigned(t_to_close[i]), unsigned(t_to_close[j]), 0u) != 0)
      for (size_t k = i; k <= j; ++k) close(t_to_close[k]);  // (close_range: Linux 5.9+)
    i = j + 1;
  }
  t_to_close.clear();
}

bool read_file(const std::string& path, size_t max, std::string* out, bool short_is_eof, bool later) {
  int fd = open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return false;
  out->resize(max);
  size_t len = 0;
  while (len < max) {
    ssize_t n = read(fd, out->data() + len, max - len);
    if (n <= 0) break;
    len += size_t(n);
    if (short_is_eof) break;
  }
  if (later) close_later(fd);
  else close(fd);
  out->resize(len);
  return true;
}

bool read_status(int pid, Status* st) {
  std::string s;
  if (!read_file(fmt::format("/proc/{}/status", pid), 4096, &s, true)) return false;
  auto field = [&](const char* name) -> const char* {
    size_t at = s.find(name);
    return at == std::string::npos ? nullptr : s.c_str() + at + std::strlen(name);
  };
  if (const char* v = field("\nTgid:")) st->tgid = std::atoi(v);
  if (const char* v = field("\nPPid:")) st->ppid = std::atoi(v);
  if (const char* v = field("\nUid:")) std::sscanf(v, "%d %d", &st->uid, &st->euid);
  if (const char* v = field("\nGid:")) std::sscanf(v, "%d %d", &st->gid, &st->egid);
  if (const char* v = field("\nCapEff:")) st->cap_eff = std::strtoll(v, nullptr, 16);
  if (const char* v = field("\nSeccomp_filters:")) st->seccomp_filters = std::atoi(v);
  return st->tgid != 0;
}

bool read_exit_status(int pid, int* status) {
  std::string s;
  if (!read_file(fmt::format("/proc/{}/stat", pid), 1024, &s, true)) return false;
  size_t at = s.rfind(')');
  if (at == std::string::npos || at + 2 >= s.size() || s[at + 2] != 'Z') return false;  // not (or no longer) a zombie
  // Fields after the comm: state is field 3, exit_code field 52.
  const char* c = s.c_str() + at + 2;
  for (int field = 3; field < 52 && *c; ++field) {
    c = std::strchr(c, ' ');
    if (!c) return false;
    ++c;
  }
  *status = std::atoi(c);
  return true;
}

namespace {
constexpr unsigned kPidfdThread = O_EXCL;  // pidfd_open flag (Linux 6.9+)
bool have_pidfd_info = true;  // pidfd_open(PIDFD_THREAD) and PIDFD_GET_INFO work, until one fails
// pidfd_open(tid, 0)'s errno for a thread that leads no group: EINVAL (ENOENT on recent kernels, 6.18 here).
bool not_leader(int err) { return err == EINVAL || err == ENOENT; }
}  // namespace

int pidfd_exit_status(int pidfd) {
  PidfdInfo info{};
  info.mask = kPidfdInfoExit;
  if (pidfd < 0 || !have_pidfd_info || ioctl(pidfd, kPidfdGetInfo, &info) < 0 || !(info.mask & kPidfdInfoExit)) return -1;
  return info.exit_code;
}

void use_pidfd_info(bool on) { have_pidfd_info = on; }

bool thread_group(int tid, int* tgid, int* ppid, Status* ids, int* pidfd) {
  if (pidfd) *pidfd = -1;
  if (have_pidfd_info) {
    // A process pidfd first: tid is usually its group's leader (a new
    // process's first trapped call), and that pidfd can then watch its exit
    // too. not_leader: tid is another thread of its group.
    bool process = true;
    int fd = int(syscall(SYS_pidfd_open, tid, 0));
    if (fd < 0 && not_leader(errno)) process = false, fd = int(syscall(SYS_pidfd_open, tid, kPidfdThread));
    if (fd < 0 && (errno == ESRCH || own_resource(errno))) return false;  // gone; or vigil's own shortage (errno kept)
    PidfdInfo info{};
    const bool ok = fd >= 0 && ioctl(fd, kPidfdGetInfo, &info) == 0;
    const int err = errno;
    if (ok) {
      *tgid = int(info.tgid), *ppid = int(info.ppid);
      if (ids) {
        *ids = Status{};
        ids->tgid = *tgid, ids->ppid = *ppid;
        ids->uid = int(info.ruid), ids->euid = int(info.euid), ids->gid = int(info.rgid), ids->egid = int(info.egid);
      }
      if (pidfd && process) return *pidfd = fd, true;
      close(fd);
      return true;
    }
    if (fd >= 0) close(fd);
    // EINVAL from pidfd_open (no PIDFD_THREAD, < 6.9) or ENOTTY/EINVAL from
    // the ioctl (< 6.13): the kernel lacks it, /proc from now on. ESRCH: the
    // thread went away between the two calls.
    if (err != ESRCH) have_pidfd_info = false;
  }
  Status st;
  int fd = -1;
  if (!(pidfd ? read_status_pinned(tid, &st, &fd) : read_status(tid, &st))) return false;
  if (pidfd) *pidfd = fd;
  *tgid = st.tgid, *ppid = st.ppid;
  if (ids) *ids = st;
  return true;
}

bool read_status_pinned(int pid, Status* st, int* pidfd) {
  *pidfd = -1;
  const int fd = int(syscall(SYS_pidfd_open, pid, 0));
  if (fd < 0 && !not_leader(errno)) return false;  // ESRCH: gone; or vigil's own shortage (errno kept)
  if (!read_status(pid, st)) {
    const int err = errno;
    if (fd >= 0) close(fd);
    errno = err;
    return false;
  }
  if (fd < 0) return true;  // pid is a thread, not a process (its group holds its id)
  pollfd p{fd, POLLIN, 0};
  if (poll(&p, 1, 0) != 0) {  // exited since the open: the pid may be another process's by now
    close(fd);
    errno = ESRCH;
    return false;
  }
  *pidfd = fd;
  return true;
}

int64_t cap_effective(int tid) {
  __user_cap_header_struct hdr{_LINUX_CAPABILITY_VERSION_3, tid};
  __user_cap_data_struct data[2]{};
  if (syscall(SYS_capget, &hdr, data) != 0) return -1;
  return int64_t(data[0].effective) | int64_t(data[1].effective) << 32;
}

}  // namespace vigil::procfs
