// The /proc reads of the sensor (probes and the tracer): what it learns of a
// process it did not see being created, or that died without exit_group.
#pragma once

#include <sys/ioctl.h>
#include <unistd.h>

#include <cstdint>
#include <cerrno>
#include <string>
#include <utility>

#include "events/events.hpp"

namespace vigil::procfs {

// An fd of vigil's own, closed when it goes out of scope (moved, never copied).
struct Fd {
  int fd = -1;
  Fd() = default;
  explicit Fd(int f) : fd(f) {}
  Fd(Fd&& o) noexcept : fd(std::exchange(o.fd, -1)) {}
  Fd& operator=(Fd&& o) noexcept {
    if (this != &o) {
      if (fd >= 0) close(fd);
      fd = std::exchange(o.fd, -1);
    }
    return *this;
  }
  ~Fd() {
    if (fd >= 0) close(fd);
  }
  int release() { return std::exchange(fd, -1); }
};

// PIDFD_GET_INFO (Linux 6.13+; exit status 6.15+), include/uapi/linux/pidfd.h:
// read here, and probed by sensor/kernel.cpp.
struct PidfdInfo {
  uint64_t mask, cgroupid;
  uint32_t pid, tgid, ppid, ruid, rgid, euid, egid, suid, sgid, fsuid, fsgid;
  int32_t exit_code;
};
inline constexpr unsigned long kPidfdGetInfo = _IOWR(0xFF, 11, PidfdInfo);
inline constexpr uint64_t kPidfdInfoExit = 1 << 3;

struct Status {
  int tgid = 0, ppid = 0;
  int uid = -1, euid = -1, gid = -1, egid = -1;
  int64_t cap_eff = -1;  // CapEff mask, -1 if unknown
  int seccomp_filters = -1;  // filters on the task (Linux 5.9+), -1 if unknown
};
bool read_status(int pid, Status* st);
// The status of process pid, read with a pidfd of it opened first and found
// alive after the read: what was read is that process's, never another's
// given its pid in between (before Linux 6.13 no call ties a /proc read to
// a pidfd). *pidfd: that pidfd (the caller's to keep or close); -1 where pid
// leads no thread group (read as is). False: gone, or exited (a zombie:
// errno ESRCH); or vigil's own shortage (errno: own_resource).
bool read_status_pinned(int pid, Status* st, int* pidfd);

// Reads up to max bytes of a file; false if it cannot be opened. short_is_eof:
// a short read ends the file (true of /proc/PID/{status,stat,cmdline}, whose
// reads fill the buffer while there is more): saves the read that returns 0.
// later: its fd is closed by close_deferred(), not here.
bool read_file(const std::string& path, size_t max, std::string* out, bool short_is_eof = false, bool later = false);
// An fd this thread need not wait to close (an O_PATH handle of a
// resolution, a /proc file read): closed off the caller's wait and in
// batches, by close_deferred(true) or once kCloseBatch are waiting (then
// one close_range per run of consecutive numbers, mostly one call). The
// tracer flushes them when it goes idle and before any call that could
// need them gone (umount: a handle keeps a mount busy). Negative: ignored.
// The batch is smaller under a low file limit (RLIMIT_NOFILE / 32, read
// once): held handles must not be what makes vigil run out of fds.
inline constexpr size_t kCloseBatch = 32;
void close_later(int fd);
// all=false: only once a batch is waiting.
void close_deferred(bool all = true);
bool closes_deferred();  // any waiting on this thread?
// The target of a symbolic link ("" if none).
std::string read_link(const std::string& path);

// Whether an errno is vigil's own shortage (its file limit, the system's,
// memory), not the app's doing: a check that fails so fails closed
// (Guard::resource_fault), never as "the object is not there".
inline bool own_resource(int err) { return err == EMFILE || err == ENFILE || err == ENOMEM; }

// The thread group and parent of thread tid: from a pidfd (Linux 6.13+,
// no /proc lookup), else /proc/TID/status. False if tid is gone, or if vigil
// ran short (errno then says so: own_resource).
// ids (optional): tid's ids as read by the same call: ppid, uid/euid/gid/egid
// (both paths) and cap_eff (/proc path only: -1 from a pidfd). pidfd
// (optional): where tid leads its thread group and the pidfd path was taken,
// the pidfd of that process (the caller's to keep or close), else -1.
bool thread_group(int tid, int* tgid, int* ppid, Status* ids = nullptr, int* pidfd = nullptr);
// CapEff of thread tid (capget: one system call), -1 if unknown.
int64_t cap_effective(int tid);
// Tests: force the /proc paths of thread_group and of exit statuses (what
// kernels before 6.13 get: no PIDFD_GET_INFO).
void use_pidfd_info(bool on);
// The wait status of pid if it is a zombie (field 52 of /proc/PID/stat).
bool read_exit_status(int pid, int* status);
// The wait status of the reaped process of a pidfd (Linux 6.15+), else -1.
int pidfd_exit_status(int pidfd);

}  // namespace vigil::procfs
