// Internal to sensor/: calls vigil performs itself so that a verdict rests
// on the object the kernel acts on (issue 12, docs/design.md "A performed
// call"). For the open rows (open, openat, openat2, creat; the path and
// times rows alike, path_call below) where a loaded rule can block them in
// prevent mode (Judge::enforces), the tracer hands the decoded event here
// instead of answering CONTINUE:
//   resolve the path as the caller (probes/resolve.hpp, with the caller's
//   credentials) -> the event names the resolved object (file.path, fd.dev,
//   fd.ino; fd.nameraw the path as called) -> judge -> if allowed, vigil
//   opens that very object (reopened from its O_PATH handle, or created in
//   the resolved parent with O_EXCL|O_NOFOLLOW) with the caller's
//   credentials and installs the fd in the caller (SECCOMP_IOCTL_NOTIF_ADDFD);
//   an open a lease the app holds would make wait is made on a worker
//   (env.pool), not on the tracer's thread.
// No thread of the app can change what is opened after the verdict: the
// path is never looked up again.
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "events/events.hpp"
#include "probes/probes.hpp"
#include "probes/resolve.hpp"

namespace vigil {

class Connector;
class Judge;
class Guard;

namespace perform {

// The credentials the kernel checks a path walk and an open against
// (/proc/TID/status): fsuid, fsgid, supplementary groups, effective
// capabilities; and the umask applied to a new file's mode.
struct Creds {
  uint32_t fsuid = 0, fsgid = 0;
  uint32_t euid = 0, egid = 0;  // what a peer sees (SO_PEERCRED, SCM_CREDENTIALS): AsCaller's effective_ids
  std::vector<gid_t> groups;
  uint64_t cap_eff = 0;
  mode_t umask = 022;
  bool operator==(const Creds& o) const {
    return fsuid == o.fsuid && fsgid == o.fsgid && groups == o.groups && cap_eff == o.cap_eff;
  }
};
bool read_creds(int tid, Creds* out);

// Runs the calling thread of vigil with a caller's credentials for its
// lifetime (raw setfsuid/setfsgid/setgroups/capset: per thread, unlike
// their libc wrappers), and restores vigil's own afterwards. ok() false:
// vigil cannot take them (it lacks CAP_SETUID/CAP_SETGID, or the caller
// holds a capability vigil lacks); nothing was changed.
class AsCaller {
 public:
  // effective_ids: the caller's effective uid and gid too (raw
  // setresuid/setresgid: this thread only), for calls whose credentials a
  // peer sees (an AF_UNIX connect's SO_PEERCRED, a datagram's SCM_CREDENTIALS).
  explicit AsCaller(const Creds& c, bool effective_ids = false);
  ~AsCaller();
  AsCaller(const AsCaller&) = delete;
  AsCaller& operator=(const AsCaller&) = delete;
  bool ok() const { return ok_; }
  const std::string& why() const { return why_; }

 private:
  bool ok_ = false;
  unsigned changed_ = 0;  // what was switched (perform.cpp: Changed)
  std::string why_;
};

// What a performed call needs of the tracer (perform:: and netcall::).
struct Env {
  int listener = -1;
  Judge* judge = nullptr;
  Guard* guard = nullptr;
  DriftTracker* drift = nullptr;
  Connector* pool = nullptr;  // the workers that run blocking connects and sends, and opens and truncates a lease holds
  bool* own_root = nullptr;   // the caller's root cache (probes::Caller::own_root); the tracer's thread only
  // Whether vigil holds the bytes of a file (dev, ino) for an exec of it
  // that is not over (a read lease: DecodeContext::exec_pin_fd). A write-open
  // or truncate of it is answered ETXTBSY, as the kernel answers one of a
  // running image: vigil's own would wait on its own lease.
  std::function<bool(uint64_t, uint64_t)> exec_pinned;
};

// A performed row's call, decoded with ctx.performed (raw paths read, not
// resolved): resolved, judged, performed and answered here, the event
// emitted (moved from). False: not one vigil performs (e.g. linkat with
// AT_EMPTY_PATH); the tracer goes on as usual with ev.
bool call(const Env& env, uint64_t id, int tid, int tgid, const probes::SyscallArgs& a, const probes::Probe& row,
          Event& ev);
// The parts: the open rows (open, openat, openat2, creat, open_by_handle_at:
// always answered) and the path rows (unlink*, rmdir, mkdir*, rename*,
// link*, symlink*, chmod, fchmodat*, chown, lchown, fchownat, truncate: each
// path's directory resolved to a handle (the object itself where the call
// follows a last symlink), the call made on the handles as the caller, its
// result the answer; a regular file's truncate on a worker of env.pool,
// since a lease makes it wait); and the times rows utimensat, futimesat,
// utimes, utime: the object resolved, or the caller's file taken with
// pidfd_getfd for the fd forms, its times set to the ones read once,
// probes/times.hpp).
void open_call(const Env& env, uint64_t id, int tid, int tgid, const probes::SyscallArgs& a, const probes::Probe& row,
               Event&& ev);
bool path_call(const Env& env, uint64_t id, int tid, int tgid, const probes::SyscallArgs& a, const probes::Probe& row,
               Event& ev);

// The path raw of a call of tid (relative to dirfd; AT_FDCWD: its cwd),
// walked as the caller: from its root, with its credentials (a resolver of
// probes/resolve.hpp; the sensor's /proc entries refused). For calls other
// modules perform (sensor/netcall.hpp: an AF_UNIX socket path).
probes::Resolved resolve_as_caller(const Env& env, int tid, int tgid, const Creds& creds, int dirfd,
                                   const std::string& raw, unsigned flags);

}  // namespace perform
}  // namespace vigil
