// Per-process file state for the probes: the fd table.
//
// Kernel semantics modelled: fork copies the fd table; clone(CLONE_FILES)
// shares it (hence a shared_ptr); unshare(CLONE_FILES) copies; exec drops
// close-on-exec fds.
// An fd the sensor did not see being created (inherited from outside the tree,
// passed over a unix socket, opened by an untraced read-open) is resolved
// lazily from /proc by resolve_fd().
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <unordered_map>

#include "events/events.hpp"

namespace vigil {

enum class FdKind : uint8_t { Unknown, File, Socket, Pipe, Other };

struct FdInfo {
  FdKind kind = FdKind::Unknown;
  std::string path;  // File: normalised absolute path; Other: "anon_inode:[eventfd]", ...
  // Socket
  int domain = 0, type = 0, protocol = 0;
  Endpoint local, peer;
  bool dns = false;  // UDP/TCP socket that sent a DNS query (answers worth decoding)
  bool cloexec = false;
  uint64_t dev = 0, ino = 0;  // when known (0 = unknown)
};

std::string_view kind_name(FdKind k);

class FdTable {
 public:
  void set(int fd, FdInfo info) { fds_[fd] = std::move(info); }
  const FdInfo* get(int fd) const;
  // The entry for fd of (stopped) thread pid, validated against the inode now
  // behind /proc/PID/fd/N: a stale entry (fd closed and reused without the
  // sensor seeing it: close is not traced) or a missing one is re-resolved
  // with resolve_fd(). Entries with unknown identity (ino 0) are re-resolved
  // too, so set() callers should fill dev/ino. Sockets are always re-read
  // (bind/connect change their addresses, not their inode); state the sensor
  // added (dns) is kept. nullptr if fd is not open.
  const FdInfo* lookup(pid_t pid, int fd, const char* proc_root = "/proc");
  FdInfo* get_mut(int fd);
  void close(int fd) { fds_.erase(fd); }
  // close_range(lo, hi, flags): CLOSE_RANGE_CLOEXEC marks instead of closing.
  // (CLOSE_RANGE_UNSHARE: the caller unshares the table first.)
  void close_range(unsigned lo, unsigned hi, unsigned flags);
  // dup/dup2/dup3/fcntl(F_DUPFD*): newfd becomes a copy of oldfd with its own
  // cloexec flag. Returns false (and forgets newfd) if oldfd is unknown.
  bool dup(int oldfd, int newfd, bool cloexec);
  void set_cloexec(int fd, bool on);
  void exec();  // drops close-on-exec fds
  size_t size() const { return fds_.size(); }

 private:
  std::unordered_map<int, FdInfo> fds_;
};

// What a process holds, shared with other processes per clone flags. (The
// cwd is not tracked: decoders read /proc/TID/cwd at the stop, exact and
// cheaper than tracing chdir's result.)
struct FileState {
  std::shared_ptr<FdTable> fds = std::make_shared<FdTable>();
  // The path resolver's root cache (probes/resolve.hpp Caller::own_root):
  // its root was found to be vigil's. Never copied to a child (clone_for).
  bool own_root = false;

  // State of a child created by fork/vfork/clone/clone3 with these flags.
  FileState clone_for(uint64_t clone_flags) const;
  // unshare(2) with these flags: copies what stops being shared.
  void unshare(uint64_t flags);
};

// Resolves fd of process pid from /proc/PID/fd/N and /proc/PID/fdinfo/N;
// sockets additionally via pidfd_getfd(2) + getsockname/getpeername/getsockopt
// (needs ptrace access to pid, kernel >= 5.6; detected at run time: without it
// a socket is known only by kind and inode). nullopt if the fd does not exist.
std::optional<FdInfo> resolve_fd(pid_t pid, int fd, const char* proc_root = "/proc");

// Classifies a /proc/PID/fd/N link target ("socket:[123]", "pipe:[4]",
// "anon_inode:[eventfd]", "/path", "/memfd:x (deleted)"); ino from "[...]".
FdInfo classify_fd_link(std::string_view target);

}  // namespace vigil
