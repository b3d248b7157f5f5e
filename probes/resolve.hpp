// Path resolution as the CALLER sees it (issue 12): a path an app passes is
// walked from the caller's root (/proc/TID/root) and cwd or dirfd, one
// component at a time with O_PATH|O_NOFOLLOW, so that what vigil judges is
// the object the kernel acts on, not a string:
// - symlinks are followed by the resolver itself (at most 40: ELOOP), ".."
//   stops at the caller's root;
// - /proc/self and /proc/thread-self (and any symlink leading there, e.g.
//   /dev/fd -> /proc/self/fd) mean the CALLER, never vigil;
// - procfs magic links (/proc/N/fd/M, cwd, root, exe, map_files) are opened
//   as the kernel opens them: they give the true object;
// - the sensor's own /proc/N directories (vigil, its threads, the keeper)
//   are never entered: EACCES (vigil reaches its own /proc entries whatever
//   its credentials, the app must not reach them through vigil).
// The result is an O_PATH handle vigil can act on (probes -> sensor: the
// performed open, sensor/perform.cpp).
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace vigil::probes {

struct Resolved {
  int fd = -1;         // O_PATH: the object (exists), else the directory it would be created in
  bool exists = false;
  std::string name;    // !exists: the last component (to create in fd)
  std::string path;    // absolute, as the caller sees it (the new name included when !exists)
  uint64_t dev = 0, ino = 0;  // of the object (exists)
  mode_t mode = 0;            // st_mode of the object (exists)
  int err = 0;                // not resolved: an errno, and `what` says where
  std::string what;
  bool refused = false;       // err is vigil's refusal (the sensor's /proc entries), not what the kernel would say
  bool sensor = false;        // refused: the object is the sensor's own (/proc/<vigil|its thread|keeper>/...)
  int64_t size = 0;           // st_size of the object (exists)

  Resolved() = default;
  Resolved(Resolved&& o) noexcept { *this = std::move(o); }
  Resolved& operator=(Resolved&& o) noexcept;
  Resolved(const Resolved&) = delete;
  Resolved& operator=(const Resolved&) = delete;
  ~Resolved();
  bool ok() const { return err == 0; }
};

// How the last component is treated.
enum ResolveFlags : unsigned {
  kFollowLast = 1u << 0,   // a symlink as the last component is followed (open without O_NOFOLLOW, chmod)
  kMayNotExist = 1u << 1,  // a missing last component is not an error (O_CREAT, mkdir, rename's new name)
  // The directory holding the last component and its name (unlink, rename,
  // mkdir, link, symlink: calls on a directory entry): fd is that directory,
  // name the entry, exists whether it is there (dev/ino/mode then its own,
  // a symlink not followed). "." or ".." as the last component: EINVAL.
  kParent = 1u << 2,
  // Always the component walk (tests compare it with the fast path).
  kWalk = 1u << 3,
  // Only the path and identity are wanted (a decoder's event, not a
  // performed call): an existing object that is no directory may come back
  // with fd -1, its identity that of the entry the lookup found (the fast
  // path then saves an open, an fstat and a close).
  kNoHandle = 1u << 4,
};

// Who resolves: the calling thread and process (numbers of vigil's pid
// namespace), and which processes are the sensor's (their /proc/N
// directories are refused).
struct Caller {
  int tid = 0;
  int tgid = 0;
  std::function<bool(int pid)> is_sensor;  // null: only vigil itself (getpid())
  // The root cache of the caller's process record (null: none, e.g. off the
  // tracer thread): set once its root was found to be vigil's, trusted while
  // root_cache_on() (see there). Owned by vigil's record of the process (a
  // new record starts false: pid reuse inherits nothing).
  bool* own_root = nullptr;
};

// The root cache (docs/design.md, "The root cache"). Whether the caller's
// root is vigil's is looked up (one statx of /proc/TID/root) once per process
// record, then remembered, for as long as no app thread has made a call that
// could change a root, a mount namespace or a mount, or hide such a call
// (chroot, pivot_root, setns, unshare, mount, umount, umount2, move_mount,
// seccomp with NEW_LISTENER: probes::kFeedRoot rows, always trapped). The
// tracer calls root_cache_off() when one is notified, before answering it:
// from then on every resolution looks the root up again, for good.
// root_cache_off: true if it was on (the first such call).
bool root_cache_off();
bool root_cache_on();

// The path `raw` of a call of `who`, relative to dirfd (AT_FDCWD: its cwd);
// the caller's root, cwd and dirfd are opened through /proc/TID. An empty
// raw is ENOENT (AT_EMPTY_PATH is not a path). Runs with the credentials of
// the calling thread of vigil (sensor/perform.cpp switches them to the
// caller's for a performed call).
Resolved resolve(const Caller& who, int dirfd, std::string_view raw, unsigned flags);

// The walk itself, from root_fd (the caller's root) and start_fd (where a
// relative raw starts; start_path: its path as the caller sees it).
// The fds are borrowed. When the caller's root is vigil's own (the same
// mount and directory) the kernel walks the directory part (openat2,
// RESOLVE_NO_MAGICLINKS) and vigil the last component; wherever the two
// could differ (procfs, magic links, a last symlink to follow, a trailing
// slash, errors but ENOENT) the component walk decides.
Resolved resolve_at(const Caller& who, int root_fd, int start_fd, std::string_view start_path, std::string_view raw,
                    unsigned flags);

// The mount points of every procfs in a /proc/PID/mountinfo text (escapes
// decoded); nullopt if a line is not mountinfo's. The fast path reads
// vigil's own once: while the root cache is on, a symlink-free absolute
// path is on a procfs exactly when one of them is a prefix of it (no
// RESOLVE_NO_XDEV try, no fstatfs).
std::optional<std::vector<std::string>> proc_mount_points(std::string_view mountinfo);

// open_by_handle_at: the struct file_handle at addr of tid's memory (header
// and handle bytes, MAX_HANDLE_SZ at most), read once; false if unreadable.
class TraceeMemory;
bool read_file_handle(const TraceeMemory& mem, uint64_t addr, std::string* out);
// The object a file handle names on the mount of tid's mount_fd (AT_FDCWD:
// its cwd), opened O_PATH by vigil (CAP_DAC_READ_SEARCH: vigil's own; the
// caller's is checked by the caller of this function) and named by its path.
Resolved resolve_handle(int tid, int mount_fd, const std::string& handle);

// The object an fd of vigil's refers to (a caller's file taken with
// pidfd_getfd, a handle opened for it), named by its path in vigil's view;
// takes fd (the result holds it).
Resolved resolve_fd(int fd);

// The caller's root directory (/proc/TID/root) as an O_PATH fd; -errno.
int open_caller_root(int tid);
// The caller's root for a walk: vigil's own root fd (borrowed: *opened stays
// -1) when the caller's root is vigil's (the root cache, else one statx),
// else /proc/TID/root opened into *opened (the caller closes it); -errno.
int caller_root(const Caller& who, int* opened);
// Whether the caller's root directory is vigil's (the root cache, else one
// statx): else (a chroot) its absolute paths are not vigil's, and paths are
// resolved from its root and named in vigil's view (resolve_at).
bool caller_root_is_vigils(const Caller& who);

// Opens the directory a call of tid is relative to (AT_FDCWD: its cwd, else
// its fd dirfd) as an O_PATH fd; *path: that directory as tid sees it.
// -errno on failure.
int open_caller_dir(int tid, int dirfd, std::string* path);

}  // namespace vigil::probes
