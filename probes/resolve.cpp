// The caller's path resolution: probes/resolve.hpp.
#include "probes/resolve.hpp"

#include <fcntl.h>
#include <linux/magic.h>
#include <linux/openat2.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/sysmacros.h>
#include <sys/statfs.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <charconv>
#include <cstdio>
#include <cstring>
#include <optional>
#include <vector>

#include <fmt/format.h>

#include "probes/decode_util.hpp"
#include "probes/path.hpp"
#include "probes/probes.hpp"
#include "probes/procfs.hpp"

namespace vigil::probes {

Resolved& Resolved::operator=(Resolved&& o) noexcept {
  if (this != &o) {
    if (fd >= 0) close(fd);
    fd = std::exchange(o.fd, -1);
    exists = o.exists;
    name = std::move(o.name);
    path = std::move(o.path);
    dev = o.dev, ino = o.ino, mode = o.mode;
    err = o.err;
    what = std::move(o.what);
    refused = o.refused;
    sensor = o.sensor;
    size = o.size;
  }
  return *this;
}

Resolved::~Resolved() {
  if (fd >= 0) close(fd);
}

namespace {

constexpr int kMaxLinks = 40;  // the kernel's MAXSYMLINKS
constexpr ino_t kProcRootIno = 1;  // PROC_ROOT_INO

using procfs::Fd;

Resolved failed(int err, std::string what) {
  Resolved r;
  r.err = err;
  r.what = std::move(what);
  return r;
}
// vigil's own refusal (a /proc entry it cannot tell is not the sensor's): EACCES.
Resolved refuse(std::string what) {
  Resolved r = failed(EACCES, std::move(what));
  r.refused = true;
  return r;
}
// The refusal of the sensor's own /proc entries (vigil, its threads, the keeper): a tamper attempt.
Resolved refuse_sensor(std::string what) {
  Resolved r = refuse(std::move(what));
  r.sensor = true;
  return r;
}
// A refusal passed on as it is (sensor or not).
Resolved refuse(const Resolved& bad) { return bad.sensor ? refuse_sensor(bad.what) : refuse(bad.what); }

std::string read_link_at(int fd, const char* name) {
  std::vector<char> buf(256);
  for (;;) {
    const ssize_t n = readlinkat(fd, name, buf.data(), buf.size());
    if (n < 0) return {};
    if (size_t(n) < buf.size()) return std::string(buf.data(), size_t(n));
    buf.resize(buf.size() * 2);
  }
}

bool is_number(std::string_view s) {
  if (s.empty() || s.size() > 10) return false;
  for (char c : s)
    if (c < '0' || c > '9') return false;
  return true;
}

int to_int(std::string_view s) {
  int v = 0;
  std::from_chars(s.data(), s.data() + s.size(), v);
  return v;
}

// The device of vigil's own procfs (/proc): the one whose numbers are vigil's.
dev_t own_proc_dev() {
  static const dev_t dev = [] {
    struct stat st {};
    return stat("/proc/self", &st) == 0 ? st.st_dev : dev_t(-1);
  }();
  return dev;
}

// A "procfs root" directory fd? (cached per device: fstatfs once per mount)
struct ProcCheck {
  dev_t dev = dev_t(-1);
  bool proc = false;
  bool is_proc(int fd, const struct stat& st) {
    if (st.st_dev != dev) {
      struct statfs sf {};
      proc = fstatfs(fd, &sf) == 0 && sf.f_type == PROC_SUPER_MAGIC;
      dev = st.st_dev;
    }
    return proc;
  }
};

void split_into(std::string_view s, std::vector<std::string>* work) {
  // work is a stack: the next component is at the back.
  std::vector<std::string> parts;
  size_t i = 0;
  while (i <= s.size()) {
    size_t j = s.find('/', i);
    if (j == std::string_view::npos) j = s.size();
    if (j > i) parts.emplace_back(s.substr(i, j - i));
    i = j + 1;
  }
  for (auto it = parts.rbegin(); it != parts.rend(); ++it) work->push_back(std::move(*it));
}

std::string join(const std::vector<std::string>& parts) {
  if (parts.empty()) return "/";
  std::string out;
  for (const auto& p : parts) out.append("/").append(p);
  return out;
}

// The process whose /proc/N directory holds directory fd (with stat st) of
// a procfs: > 0 its thread group (vigil's numbers); 0 none (the procfs root,
// /proc/sys, ...); -1 unknown (another procfs instance, unreadable).
int proc_owner(int fd, const struct stat& st) {
  if (st.st_ino == kProcRootIno) return 0;
  Fd dir(fcntl(fd, F_DUPFD_CLOEXEC, 0));
  struct stat dst = st;
  for (int depth = 0; depth < 8 && dir.fd >= 0; ++depth) {
    Fd up(openat(dir.fd, "..", O_PATH | O_DIRECTORY | O_CLOEXEC));
    struct stat ust {};
    if (up.fd < 0 || fstat(up.fd, &ust) < 0) return -1;
    if (ust.st_ino == kProcRootIno && ust.st_dev == dst.st_dev) {
      if (dst.st_dev != own_proc_dev()) return -1;
      Fd sfd(openat(dir.fd, "status", O_RDONLY | O_CLOEXEC));
      if (sfd.fd < 0) return 0;  // not a process directory (/proc/sys, /proc/net's target, ...)
      char buf[1024];
      const ssize_t n = read(sfd.fd, buf, sizeof buf - 1);
      if (n <= 0) return -1;
      buf[n] = 0;
      const char* t = std::strstr(buf, "\nTgid:");
      return t ? std::atoi(t + 6) : -1;
    }
    dir = std::move(up);
    dst = ust;
  }
  return -1;
}

template <class IsSensor>
Resolved check_proc_dir(int fd, const struct stat& st, ProcCheck& proc, const IsSensor& is_sensor) {
  if (!S_ISDIR(st.st_mode) || !proc.is_proc(fd, st)) return {};
  const int owner = proc_owner(fd, st);
  if (owner < 0) return refuse("a directory of another procfs instance (its pid numbers are not vigil's)");
  if (owner > 0 && is_sensor(owner)) return refuse_sensor(fmt::format("/proc/{} is the sensor's", owner));
  return {};
}

// The fast path (docs/design.md, "Path resolution"): when the caller's root
// is vigil's own (the same mount, the same directory: one container), the
// kernel walks the directory part with openat2 and vigil looks up only the
// last component, in ~6 system calls instead of ~4 per component. It never
// decides anything the slow walk would decide differently; it gives up
// (false) wherever they could differ: a procfs directory on the way out
// (self, thread-self, the sensor's own entries), a magic link (ELOOP under
// RESOLVE_NO_MAGICLINKS), a last component that is a symlink to follow, a
// trailing slash, "." or ".." last, any error but ENOENT.
struct RootId {
  uint64_t mnt_id = 0, dev = 0, ino = 0;
  bool ok = false;
};

RootId root_id(int fd) {
  struct statx sx {};
  RootId id;
  if (statx(fd, "", AT_EMPTY_PATH | AT_STATX_DONT_SYNC, STATX_INO | STATX_MNT_ID, &sx) != 0 ||
      !(sx.stx_mask & STATX_MNT_ID))
    return id;
  id.mnt_id = sx.stx_mnt_id;
  id.dev = makedev(sx.stx_dev_major, sx.stx_dev_minor);
  id.ino = sx.stx_ino;
  id.ok = true;
  return id;
}

// vigil's own root: an O_PATH fd kept open, its identity, and whether it is
// a procfs (never in practice; then RESOLVE_NO_XDEV proves nothing).
struct OwnRoot {
  int fd = -1;
  RootId id;
  bool proc = true;
};
const OwnRoot& own_root() {
  static const OwnRoot own = [] {
    OwnRoot o;
    o.fd = open("/", O_PATH | O_DIRECTORY | O_CLOEXEC);
    struct statfs sf {};
    if (o.fd >= 0) o.id = root_id(o.fd), o.proc = fstatfs(o.fd, &sf) != 0 || sf.f_type == PROC_SUPER_MAGIC;
    return o;
  }();
  return own;
}

std::atomic<bool> g_root_cache{true};  // probes/resolve.hpp root_cache_off()

bool same_root(const RootId& id) {
  const RootId& own = own_root().id;
  return own.ok && id.ok && id.mnt_id == own.mnt_id && id.dev == own.dev && id.ino == own.ino;
}

bool is_own_root(int root_fd) { return root_fd == own_root().fd || same_root(root_id(root_fd)); }

// The caller's root directory is vigil's: its process record's root cache
// while the cache is on, else one statx of the magic link (no fd). The flag
// is read before the statx: if it goes off meanwhile, what is stored here is
// never read again.
bool caller_root_is_own(const Caller& who) {
  if (own_root().fd < 0) return false;
  const bool cache = who.own_root != nullptr && g_root_cache.load();
  if (cache && *who.own_root) return true;
  struct statx sx {};
  if (statx(AT_FDCWD, fmt::format("/proc/{}/root", who.tid).c_str(), AT_STATX_DONT_SYNC, STATX_INO | STATX_MNT_ID, &sx) !=
          0 ||
      !(sx.stx_mask & STATX_MNT_ID))
    return false;
  const bool own = same_root(RootId{sx.stx_mnt_id, makedev(sx.stx_dev_major, sx.stx_dev_minor), sx.stx_ino, true});
  if (cache && own) *who.own_root = true;
  return own;
}

// Where procfs is mounted in vigil's mount namespace (/proc/self/mountinfo,
// read once; nullopt if it cannot be). While the root cache is on, no
// traced process has changed a mount (every call that can turned it off
// before it was answered), so a symlink-free absolute path is on a procfs
// exactly when one of these is a prefix of it.
const std::optional<std::vector<std::string>>& proc_mounts() {
  static const std::optional<std::vector<std::string>> mounts = []() -> std::optional<std::vector<std::string>> {
    std::string text;
    if (!procfs::read_file("/proc/self/mountinfo", 1 << 20, &text) || text.size() == 1 << 20) return std::nullopt;
    return proc_mount_points(text);
  }();
  return mounts;
}

// The kernel's path of a procfs file (a magic link's target): whether it is
// below a process directory of the sensor's, /proc/<pid>/... or
// /proc/<pid>/task/<tid>/... under a procfs mount point; where no mount
// point is a prefix of it (mounts not known), any number in it counts.
template <class IsSensor>
bool names_sensor(const std::string& target, const IsSensor& is_sensor) {
  std::string_view rest;
  if (const auto& mounts = proc_mounts())
    for (const std::string& m : *mounts)
      if (m != "/" && target.starts_with(m) && target.size() > m.size() + 1 && target[m.size()] == '/')
        rest = std::string_view(target).substr(m.size() + 1);
  std::vector<std::string> names;
  split_into(rest.empty() ? std::string_view(target) : rest, &names);
  if (rest.empty()) {
    for (const auto& n : names)
      if (to_int(n) > 0 && is_sensor(to_int(n))) return true;
    return false;
  }
  // split_into gives the components last first (a work stack).
  std::reverse(names.begin(), names.end());
  if (names.size() >= 1 && to_int(names[0]) > 0 && is_sensor(to_int(names[0]))) return true;
  return names.size() >= 3 && names[1] == "task" && to_int(names[2]) > 0 && is_sensor(to_int(names[2]));
}

bool under_proc_mount(const std::vector<std::string>& mounts, std::string_view path) {
  for (const std::string& m : mounts)
    if (m == "/" || path == m || (path.starts_with(m) && path.size() > m.size() && path[m.size()] == '/')) return true;
  return false;
}

// The last directory (absolute, as called) whose openat2 with
// RESOLVE_NO_XDEV failed with EXDEV on this thread: the next call in it goes
// straight to the check it needs (a hint for cost only, never a verdict).
thread_local std::string t_exdev_dir;

bool fast_resolve(int root_fd, int start_fd, std::string_view start_path, std::string_view raw, unsigned flags,
                  Resolved* out) {
  static std::atomic<bool> have_openat2{true};  // (resolutions also run on worker threads)
  if (!have_openat2.load(std::memory_order_relaxed) || raw.back() == '/' || !is_own_root(root_fd)) return false;
  const size_t slash = raw.rfind('/');
  const std::string name(slash == std::string_view::npos ? raw : raw.substr(slash + 1));
  if (name == "." || name == "..") return false;
  const bool absolute = raw[0] == '/';
  const std::string dir(slash == std::string_view::npos ? std::string_view(".")
                        : slash == 0                   ? std::string_view("/")
                                                       : raw.substr(0, slash));
  open_how how{};
  how.flags = O_PATH | O_DIRECTORY | O_CLOEXEC;
  // Absolute: from the caller's root (== vigil's). Relative: from its start;
  // an absolute symlink on the way goes to vigil's root, the caller's too.
  // First with no symlink at all: the directory's path is then the lexical
  // one; else (ELOOP) with them, and its path is what the kernel says.
  // Absolute, and vigil's root is no procfs: RESOLVE_NO_XDEV too. Its
  // success proves the directory is on the root's mount, hence no procfs
  // (no fstatfs); EXDEV: again without it, and that directory is remembered
  // so that a workload writing in another mount (a tmpfs, a volume) does not
  // pay the failed try on every call.
  const int from = absolute ? root_fd : start_fd;
  // Absolute and the mount table known (root cache on): no symlink on the
  // way proves the directory is the lexical path, and the table says
  // whether that is on a procfs: no RESOLVE_NO_XDEV, no fstatfs.
  const std::vector<std::string>* table =
      absolute && g_root_cache.load() && proc_mounts() ? &*proc_mounts() : nullptr;
  const bool no_xdev_proves = absolute && !own_root().proc && t_exdev_dir != dir;
  bool same_mount = no_xdev_proves && !table;
  auto open_dir = [&](uint64_t resolve) {
    how.resolve = resolve | (absolute ? RESOLVE_IN_ROOT : 0) | (same_mount ? RESOLVE_NO_XDEV : 0);
    int fd = int(syscall(SYS_openat2, from, dir.c_str(), &how, sizeof how));
    if (fd < 0 && errno == EXDEV && same_mount) {
      same_mount = false;
      t_exdev_dir = dir;
      how.resolve &= ~uint64_t(RESOLVE_NO_XDEV);
      fd = int(syscall(SYS_openat2, from, dir.c_str(), &how, sizeof how));
    }
    return fd;
  };
  bool lexical = absolute || start_path.starts_with("/");
  Fd d(lexical ? open_dir(RESOLVE_NO_SYMLINKS) : -1);
  if (d.fd < 0 && (!lexical || errno == ELOOP)) {
    lexical = false;
    same_mount = no_xdev_proves;  // (the table needs a lexical path)
    d = Fd(open_dir(RESOLVE_NO_MAGICLINKS));
  }
  if (d.fd < 0) {
    if (errno == ENOSYS) have_openat2.store(false, std::memory_order_relaxed);
    return false;
  }
  std::string dir_path = lexical ? normalize_path(absolute ? std::string_view() : start_path, dir)
                                 : read_link_at(AT_FDCWD, fmt::format("/proc/self/fd/{}", d.fd).c_str());
  if (dir_path.empty() || dir_path[0] != '/' || dir_path.ends_with(" (deleted)")) return false;
  struct statfs sf {};
  if (table && lexical ? under_proc_mount(*table, dir_path)
                       : !same_mount && (fstatfs(d.fd, &sf) != 0 || sf.f_type == PROC_SUPER_MAGIC))
    return false;
  const std::string path = dir_path == "/" ? "/" + name : dir_path + "/" + name;
  struct stat st {};
  if (fstatat(d.fd, name.c_str(), &st, AT_SYMLINK_NOFOLLOW) != 0) {
    if (errno != ENOENT) return false;
    if (!(flags & (kMayNotExist | kParent))) {
      *out = failed(ENOENT, fmt::format("'{}' in {}", name, dir_path));
      return true;
    }
    Resolved r;
    r.fd = d.release();
    r.name = name;
    r.path = path;
    *out = std::move(r);
    return true;
  }
  Resolved r;
  if (flags & kParent) {
    r.exists = true;
    r.dev = uint64_t(st.st_dev), r.ino = uint64_t(st.st_ino), r.mode = st.st_mode, r.size = int64_t(st.st_size);
    r.fd = d.release();
    r.name = name;
    r.path = path;
    *out = std::move(r);
    return true;
  }
  if (S_ISLNK(st.st_mode) && (flags & kFollowLast)) return false;
  if ((flags & kNoHandle) && !S_ISDIR(st.st_mode)) {  // (a directory: its procfs check needs a handle)
    procfs::close_later(d.release());  // (after the answer, in a batch)
    r.exists = true;
    r.path = path;
    r.dev = uint64_t(st.st_dev), r.ino = uint64_t(st.st_ino), r.mode = st.st_mode, r.size = int64_t(st.st_size);
    *out = std::move(r);
    return true;
  }
  Fd obj(openat(d.fd, name.c_str(), O_PATH | O_NOFOLLOW | O_CLOEXEC));
  // fstat of what was opened decides (the entry may have changed since fstatat).
  if (obj.fd < 0 || fstat(obj.fd, &st) != 0) return false;
  if (S_ISLNK(st.st_mode) && (flags & kFollowLast)) return false;
  if (S_ISDIR(st.st_mode) && (fstatfs(obj.fd, &sf) != 0 || sf.f_type == PROC_SUPER_MAGIC)) return false;
  r.fd = obj.release();
  r.exists = true;
  r.path = path;
  r.dev = uint64_t(st.st_dev), r.ino = uint64_t(st.st_ino), r.mode = st.st_mode, r.size = int64_t(st.st_size);
  *out = std::move(r);
  return true;
}

}  // namespace

std::optional<std::vector<std::string>> proc_mount_points(std::string_view mountinfo) {
  std::vector<std::string> out;
  for (size_t at = 0; at < mountinfo.size();) {
    size_t eol = mountinfo.find('\n', at);
    if (eol == std::string_view::npos) eol = mountinfo.size();
    const std::string_view l = mountinfo.substr(at, eol - at);
    at = eol + 1;
    if (l.empty()) continue;
    // id parent major:minor root mount-point options [optional...] - type source super-options
    std::vector<std::string_view> w;
    for (size_t i = 0; i < l.size();) {
      const size_t end = std::min(l.find(' ', i), l.size());
      if (end > i) w.push_back(l.substr(i, end - i));
      i = end + 1;
    }
    size_t dash = 6;
    while (dash < w.size() && w[dash] != "-") ++dash;
    if (w.size() < 6 || dash + 1 >= w.size()) return std::nullopt;
    if (w[dash + 1] != "proc") continue;
    const std::string_view m = w[4];
    std::string mp;  // \ooo escapes (space, tab, newline, backslash)
    for (size_t i = 0; i < m.size(); ++i) {
      auto oct = [&](size_t k) { return k < m.size() && m[k] >= '0' && m[k] <= '7' ? m[k] - '0' : -1; };
      if (m[i] == '\\' && oct(i + 1) >= 0 && oct(i + 2) >= 0 && oct(i + 3) >= 0) {
        mp += char(oct(i + 1) << 6 | oct(i + 2) << 3 | oct(i + 3));
        i += 3;
      } else {
        mp += m[i];
      }
    }
    if (mp.empty() || mp[0] != '/') return std::nullopt;
    out.push_back(std::move(mp));
  }
  return out;
}

bool read_file_handle(const TraceeMemory& mem, uint64_t addr, std::string* out) {
  struct {
    uint32_t handle_bytes;
    int32_t handle_type;
  } head{};
  if (!mem.read(addr, &head, sizeof head) || head.handle_bytes > MAX_HANDLE_SZ) return false;
  out->resize(sizeof head + head.handle_bytes);
  std::memcpy(out->data(), &head, sizeof head);
  return mem.read(addr + sizeof head, out->data() + sizeof head, head.handle_bytes);
}

Resolved resolve_handle(int tid, int mount_fd, const std::string& handle) {
  Fd where(open_caller_dir(tid, mount_fd, nullptr));
  if (where.fd < 0) return failed(-where.fd, fmt::format("the caller's mount fd {}", mount_fd));
  // open_by_handle_at takes no O_PATH fd: a directory or regular file of that mount, opened for reading.
  struct stat mst {};
  if (fstat(where.fd, &mst) < 0) return failed(errno, "fstat");
  Fd mount(S_ISDIR(mst.st_mode)   ? openat(where.fd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC)
           : S_ISREG(mst.st_mode) ? open(fmt::format("/proc/self/fd/{}", where.fd).c_str(), O_RDONLY | O_CLOEXEC)
                                  : -1);
  if (mount.fd < 0) return failed(mount.fd == -1 && errno ? errno : EBADF, fmt::format("the caller's mount fd {}", mount_fd));
  std::string copy = handle;  // (the kernel may write handle_bytes back)
  const int obj = open_by_handle_at(mount.fd, reinterpret_cast<file_handle*>(copy.data()), O_PATH | O_CLOEXEC);
  if (obj < 0) return failed(errno, "open_by_handle_at");
  return resolve_fd(obj);
}

Resolved resolve_fd(int fd) {
  Fd obj(fd);
  struct stat st {};
  if (fstat(obj.fd, &st) < 0) return failed(errno, "fstat");
  Resolved r;
  r.path = read_link_at(AT_FDCWD, fmt::format("/proc/self/fd/{}", obj.fd).c_str());
  strip_deleted(&r.path, st.st_nlink);
  r.fd = obj.release();
  r.exists = true;
  r.dev = uint64_t(st.st_dev);
  r.ino = uint64_t(st.st_ino);
  r.mode = st.st_mode;
  r.size = int64_t(st.st_size);
  return r;
}

int open_caller_root(int tid) {
  const int fd = open(fmt::format("/proc/{}/root", tid).c_str(), O_PATH | O_DIRECTORY | O_CLOEXEC);
  return fd < 0 ? -errno : fd;
}

int open_caller_dir(int tid, int dirfd, std::string* path) {
  const std::string link = dirfd == AT_FDCWD ? fmt::format("/proc/{}/cwd", tid) : fmt::format("/proc/{}/fd/{}", tid, dirfd);
  const int fd = open(link.c_str(), O_PATH | O_CLOEXEC);
  if (fd < 0) return -errno;
  if (path) {
    *path = read_link_at(AT_FDCWD, link.c_str());
    if (struct stat st {}; path->ends_with(" (deleted)") && fstat(fd, &st) == 0) strip_deleted(path, st.st_nlink);
  }
  return fd;
}

bool root_cache_off() { return g_root_cache.exchange(false); }
bool root_cache_on() { return g_root_cache.load(); }

bool caller_root_is_vigils(const Caller& who) { return caller_root_is_own(who); }

int caller_root(const Caller& who, int* opened) {
  *opened = -1;
  // The caller's root is vigil's (one container): vigil's own root fd serves.
  if (caller_root_is_own(who)) return own_root().fd;
  const int fd = open_caller_root(who.tid);
  if (fd >= 0) *opened = fd;
  return fd;
}

Resolved resolve(const Caller& who, int dirfd, std::string_view raw, unsigned flags) {
  if (raw.empty()) return failed(ENOENT, "empty path");
  Fd opened;
  const int root = caller_root(who, &opened.fd);
  if (root < 0) return failed(-root, "the caller's root directory");
  if (raw[0] == '/') return resolve_at(who, root, root, "/", raw, flags);
  std::string start_path;
  Fd start(open_caller_dir(who.tid, dirfd, &start_path));
  if (start.fd < 0) {
    const int e = -start.fd;
    return failed(e == ENOENT && dirfd != AT_FDCWD ? EBADF : e,
                  dirfd == AT_FDCWD ? "the caller's working directory" : fmt::format("the caller's fd {}", dirfd));
  }
  // A dirfd may be any file; a cwd is always a directory (no fstat for it).
  struct stat st {};
  if (dirfd != AT_FDCWD && (fstat(start.fd, &st) < 0 || !S_ISDIR(st.st_mode)))
    return failed(ENOTDIR, fmt::format("dirfd {} is no directory", dirfd));
  if (start_path.empty() || start_path[0] != '/') return failed(ENOENT, "the caller's start directory has no path");
  return resolve_at(who, root, start.fd, start_path, raw, flags);
}

Resolved resolve_at(const Caller& who, int root_fd, int start_fd, std::string_view start_path, std::string_view raw,
                    unsigned flags) {
  if (raw.empty()) return failed(ENOENT, "empty path");
  if (Resolved fast; !(flags & kWalk) && fast_resolve(root_fd, start_fd, start_path, raw, flags, &fast)) return fast;
  struct stat root_st {};
  if (fstat(root_fd, &root_st) < 0) return failed(errno, "the caller's root directory");
  auto is_sensor = [&](int pid) {
    if (who.is_sensor) return who.is_sensor(pid);
    return pid == getpid() || access(fmt::format("/proc/self/task/{}", pid).c_str(), F_OK) == 0;
  };

  const bool from_root = raw[0] == '/';
  Fd cur(fcntl(from_root ? root_fd : start_fd, F_DUPFD_CLOEXEC, 0));
  if (cur.fd < 0) return failed(errno, "dup");
  // Paths are named in vigil's view, as rules name them: a caller that
  // chrooted into /etc and opens "/ld.so.preload" opens /etc/ld.so.preload
  // (its cwd, dirfds and magic links read from /proc are in vigil's view
  // already; its root is the one path that is not).
  std::vector<std::string> root_parts;
  if (!is_own_root(root_fd)) {
    const std::string root_path = procfs::read_link(fmt::format("/proc/self/fd/{}", root_fd));
    if (root_path.empty() || root_path[0] != '/') return failed(ENOENT, "the caller's root directory has no path");
    std::vector<std::string> rev;
    split_into(root_path, &rev);
    root_parts.assign(rev.rbegin(), rev.rend());
  }
  std::vector<std::string> parts = root_parts;  // the path of cur, in vigil's view
  if (!from_root) {
    std::vector<std::string> rev;
    split_into(start_path, &rev);
    parts.assign(rev.rbegin(), rev.rend());
  }
  struct stat cur_st {};
  if (fstat(cur.fd, &cur_st) < 0) return failed(errno, "fstat");
  std::vector<std::string> work;  // components left (a stack)
  split_into(raw, &work);
  const bool trailing_slash = raw.back() == '/';
  bool must_be_dir = trailing_slash;  // or a last symlink whose target ends in '/'
  int links = 0;
  ProcCheck proc;
  // A start (or root) inside a process directory of procfs (a dirfd or cwd
  // there): never the sensor's.
  if (const Resolved bad = check_proc_dir(cur.fd, cur_st, proc, is_sensor); !bad.ok()) return refuse(bad);

  while (!work.empty()) {
    std::string comp = std::move(work.back());
    work.pop_back();
    const bool last = work.empty();
    if (comp == ".") continue;
    if (comp == "..") {
      if (cur_st.st_dev == root_st.st_dev && cur_st.st_ino == root_st.st_ino) continue;  // clamped at the caller's root
      Fd up(openat(cur.fd, "..", O_PATH | O_DIRECTORY | O_CLOEXEC));
      if (up.fd < 0 || fstat(up.fd, &cur_st) < 0) return failed(errno, fmt::format("'..' of {}", join(parts)));
      cur = std::move(up);
      if (!parts.empty()) parts.pop_back();
      continue;
    }
    if (last && (flags & kParent)) {
      // The entry itself is not looked up beyond its directory.
      Resolved r;
      struct stat st {};
      if (fstatat(cur.fd, comp.c_str(), &st, AT_SYMLINK_NOFOLLOW) == 0) {
        r.exists = true;
        r.dev = uint64_t(st.st_dev), r.ino = uint64_t(st.st_ino), r.mode = st.st_mode, r.size = int64_t(st.st_size);
      } else if (errno != ENOENT) {
        return failed(errno, fmt::format("'{}' in {}", comp, join(parts)));
      }
      if (trailing_slash && r.exists && !S_ISDIR(st.st_mode)) return failed(ENOTDIR, fmt::format("{} is no directory", comp));
      r.fd = cur.release();
      r.name = std::move(comp);
      parts.push_back(r.name);
      r.path = join(parts);
      return r;
    }
    // In a procfs root: "self" and "thread-self" are the caller; a process
    // directory is never the sensor's.
    const bool in_proc_root = cur_st.st_ino == kProcRootIno && proc.is_proc(cur.fd, cur_st);
    if (in_proc_root) {
      const bool own_procfs = cur_st.st_dev == own_proc_dev();
      if (comp == "self" || comp == "thread-self" || is_number(comp)) {
        if (!own_procfs)
          return refuse("a process directory of another procfs instance (its pid numbers are not vigil's)");
        if (comp == "self") {
          comp = std::to_string(who.tgid);
        } else if (comp == "thread-self") {
          comp = std::to_string(who.tgid);
          work.push_back(std::to_string(who.tid));
          work.push_back("task");
        }
        if (is_sensor(to_int(comp))) return refuse_sensor(fmt::format("/proc/{} is the sensor's", comp));
      }
    }
    Fd next(openat(cur.fd, comp.c_str(), O_PATH | O_NOFOLLOW | O_CLOEXEC));
    if (next.fd < 0) {
      const int e = errno;
      if (e == ENOENT && last && (flags & kMayNotExist)) {
        Resolved r;
        r.fd = cur.release();
        r.name = std::move(comp);
        parts.push_back(r.name);
        r.path = join(parts);
        return r;
      }
      return failed(e, fmt::format("'{}' in {}", comp, join(parts)));
    }
    struct stat st {};
    if (fstat(next.fd, &st) < 0) return failed(errno, "fstat");
    if (S_ISLNK(st.st_mode) && (!last || (flags & kFollowLast) || trailing_slash)) {
      if (++links > kMaxLinks) return failed(ELOOP, fmt::format("more than {} symbolic links", kMaxLinks));
      std::string target = read_link_at(next.fd, "");
      if (target.empty()) return failed(errno ? errno : ENOENT, fmt::format("link '{}' in {}", comp, join(parts)));
      // procfs: relative targets are plain links ("self" -> "123", "mounts"
      // -> "self/mounts"); absolute or "type:[n]" targets are magic links,
      // opened as the kernel does (they jump to the object itself).
      if (proc.is_proc(next.fd, st) && target[0] != '/' && target.find(":[") == std::string::npos &&
          !target.starts_with("anon_inode:")) {
        split_into(target, &work);
        continue;
      }
      if (proc.is_proc(next.fd, st)) {
        const int owner = proc_owner(cur.fd, cur_st);
        if (owner < 0) return refuse(fmt::format("magic link '{}': its process is not known", comp));
        if (owner > 0 && is_sensor(owner)) return refuse_sensor(fmt::format("magic link of /proc/{} (the sensor's)", owner));
        Fd obj(openat(cur.fd, comp.c_str(), O_PATH | O_CLOEXEC));
        if (obj.fd < 0 || fstat(obj.fd, &cur_st) < 0) return failed(errno, fmt::format("magic link '{}' -> {}", comp, target));
        // A procfs file behind the link (a read-only fd of /proc/<vigil>/oom_score_adj,
        // reopened for writing): the kernel's path of it names its process.
        if (!S_ISDIR(cur_st.st_mode) && proc.is_proc(obj.fd, cur_st) && target[0] == '/' &&
            names_sensor(target, is_sensor))
          return refuse_sensor(fmt::format("magic link '{}' -> {} (the sensor's)", comp, target));
        cur = std::move(obj);
        parts.clear();
        if (target[0] == '/') {
          std::vector<std::string> rev;
          strip_deleted(&target, cur_st.st_nlink);
          split_into(target, &rev);
          parts.assign(rev.rbegin(), rev.rend());
        } else {
          parts.push_back(target);  // pipe:[n], socket:[n], anon_inode:...: no path
        }
        if (!S_ISDIR(cur_st.st_mode) && !last) return failed(ENOTDIR, fmt::format("{} is no directory", target));
        if (const Resolved bad = check_proc_dir(cur.fd, cur_st, proc, is_sensor); !bad.ok()) return refuse(bad);
        continue;
      }
      if (last && target.back() == '/') must_be_dir = true;
      if (target[0] == '/') {
        cur = Fd(fcntl(root_fd, F_DUPFD_CLOEXEC, 0));
        if (cur.fd < 0) return failed(errno, "dup");
        cur_st = root_st;
        parts = root_parts;
      }
      split_into(target, &work);
      continue;
    }
    if (!last && !S_ISDIR(st.st_mode)) return failed(ENOTDIR, fmt::format("'{}' in {} is no directory", comp, join(parts)));
    cur = std::move(next);
    cur_st = st;
    parts.push_back(std::move(comp));
  }
  if (must_be_dir && !S_ISDIR(cur_st.st_mode)) return failed(ENOTDIR, fmt::format("{} is no directory", join(parts)));
  if (flags & kParent) return failed(EINVAL, "the path ends in '.' or '..' (or is '/')");
  Resolved r;
  r.fd = cur.release();
  r.exists = true;
  r.path = join(parts);
  r.dev = uint64_t(cur_st.st_dev);
  r.ino = uint64_t(cur_st.st_ino);
  r.mode = cur_st.st_mode;
  r.size = int64_t(cur_st.st_size);
  return r;
}

}  // namespace vigil::probes
