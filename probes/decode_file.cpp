// File-family decoders (OCSF 1001). Rows: probes/probes.cpp; semantics:
// probes/catalog.md.
#include <fcntl.h>
#include <linux/openat2.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <utility>
#include <vector>

#include <fmt/format.h>

#include "probes/decode_util.hpp"
#include "probes/path.hpp"
#include "probes/procfs.hpp"
#include "probes/resolve.hpp"
#include "probes/times.hpp"

namespace vigil::probes {

void add_arg(Event* ev, const char* name, std::string value) { ev->args.push_back({name, std::move(value)}); }

std::string dir_of(int tid, int dirfd) {
  std::string link = dirfd == AT_FDCWD ? fmt::format("/proc/{}/cwd", tid) : fmt::format("/proc/{}/fd/{}", tid, dirfd);
  std::vector<char> buf(4096);
  ssize_t n;
  while ((n = readlink(link.c_str(), buf.data(), buf.size())) == ssize_t(buf.size())) buf.resize(buf.size() * 2);
  if (n <= 0 || buf[0] != '/') return {};
  return std::string(buf.data(), size_t(n));
}

bool read_path(const TraceeMemory& mem, uint64_t addr, int dirfd, Event* ev, std::string* raw, std::string* path,
               bool defer) {
  if (!mem.read_string(addr, kLongPathMax, raw) && addr != 0) {
    add_arg(ev, "unreadable", "path");  // not the cwd: nothing vigil could name
    path->clear();
    return false;
  }
  if (raw->size() >= kLongPathMax) add_arg(ev, "path_truncated", "true");
  const bool absolute = !raw->empty() && (*raw)[0] == '/';
  if (defer && !raw->empty() && !absolute) {
    path->clear();
    return true;
  }
  *path = normalize_path(absolute ? std::string() : dir_of(mem.tid(), dirfd), *raw);
  return false;
}

bool resolve_path(const TraceeMemory& mem, DecodeContext& ctx, int dirfd, const std::string& raw, unsigned flags,
                  Event* ev, std::string* path, bool identity, struct stat* st, bool lexical_pending) {
  auto lexical = [&] {
    if (lexical_pending) *path = normalize_path(dir_of(mem.tid(), dirfd), raw);
    return false;
  };
  if (ctx.performed || raw.empty() || ev->arg("unreadable")) return lexical();
  Resolved r = resolve(Caller{mem.tid(), ctx.tgid ? ctx.tgid : mem.tid(),
                              ctx.is_sensor ? *ctx.is_sensor : std::function<bool(int)>(),
                              ctx.files ? &ctx.files->own_root : nullptr},
                       dirfd, raw, flags | kNoHandle);
  procfs::close_later(std::exchange(r.fd, -1));  // the handle is not used: closed after the answer, in a batch
  if (!r.ok()) {
    add_arg(ev, "unresolved", fmt::format("{}: {}", r.what, std::strerror(r.err)));
    if (r.sensor) ctx.sensor_target = fmt::format("path={} ({})", raw, r.what);
    return lexical();
  }
  *path = r.path;
  if (identity && ev->file && r.exists) ev->file->dev = r.dev, ev->file->ino = r.ino;
  if (st) {
    *st = {};
    if (r.exists) st->st_dev = dev_t(r.dev), st->st_ino = ino_t(r.ino), st->st_mode = r.mode, st->st_size = off_t(r.size);
  }
  return true;
}

size_t times_size(std::string_view type, bool compat) { return (type == "utime" ? 2 : 4) * (compat ? 4 : 8); }

Times parse_times(std::string_view type, bool compat, const void* bytes) {
  // Fields of 32 bits (i386) or 64: utimensat's {sec, nsec} twice (i386's
  // utimensat_time32 too), futimesat's and utimes' {sec, usec} twice, utime's
  // actime and modtime; signed, as the kernel reads them.
  int64_t v[4] = {};
  const size_t n = type == "utime" ? 2 : 4;
  for (size_t i = 0; i < n; ++i) {
    if (compat) {
      int32_t x;
      std::memcpy(&x, static_cast<const char*>(bytes) + 4 * i, 4);
      v[i] = x;
    } else {
      std::memcpy(&v[i], static_cast<const char*>(bytes) + 8 * i, 8);
    }
  }
  Times t;
  if (type == "utime") {
    t.ts[0].tv_sec = time_t(v[0]), t.ts[1].tv_sec = time_t(v[1]);
    return t;
  }
  for (int i = 0; i < 2; ++i) t.ts[i].tv_sec = time_t(v[2 * i]), t.ts[i].tv_nsec = long(v[2 * i + 1]);
  if (type == "utimensat") {
    t.nothing = t.ts[0].tv_nsec == UTIME_OMIT && t.ts[1].tv_nsec == UTIME_OMIT;
    return t;
  }
  // Microseconds, checked before they become nanoseconds (so UTIME_NOW and
  // UTIME_OMIT, utimensat's, are invalid here too).
  for (const auto& x : t.ts)
    if (x.tv_nsec < 0 || x.tv_nsec >= 1000000) t.err = EINVAL;
  if (!t.err)
    for (auto& x : t.ts) x.tv_nsec *= 1000;
  return t;
}

bool read_times(const TraceeMemory& mem, const SyscallArgs& a, std::string_view type, Times* out) {
  const bool compat = is_i386(a);
  unsigned char buf[32];
  if (!mem.read(a.args[type == "utimensat" || type == "futimesat" ? 2 : 1], buf, times_size(type, compat))) return false;
  *out = parse_times(type, compat, buf);
  return true;
}

std::string time_arg(const timespec& t) {
  if (t.tv_nsec == UTIME_NOW) return "now";
  if (t.tv_nsec == UTIME_OMIT) return "omit";
  return fmt::format("{}.{:09}", int64_t(t.tv_sec), int64_t(t.tv_nsec));
}

const FdInfo* fd_info(const DecodeContext& ctx, int tid, int fd) {
  if (ctx.files == nullptr || fd < 0) return nullptr;
  return ctx.files->fds->lookup(ctx.tgid ? ctx.tgid : tid, fd);
}

namespace dec {
namespace {

FileInfo& file_of(Event* ev) {
  if (!ev->file) ev->file.emplace();
  return *ev->file;
}

void note_write(DecodeContext& ctx, const std::string& path) {
  if (ctx.drift != nullptr && !path.empty() && path[0] == '/') ctx.drift->note_write(path, ctx.proc);
}

}  // namespace

// open(path, flags, mode) / openat(dirfd, path, flags, mode) /
// openat2(dirfd, path, how, size) / creat(path, mode)
void open(const SyscallArgs& a, const TraceeMemory& mem, DecodeContext& ctx, Event* ev) {
  FileInfo& f = file_of(ev);
  const bool at = ev->type == "openat" || ev->type == "openat2";
  const int dirfd = at ? arg_int(a, 0) : AT_FDCWD;
  const bool lexical_pending = read_path(mem, a.args[at ? 1 : 0], dirfd, ev, &f.raw_path, &f.path, true);
  if (ev->type == "creat") {
    f.flags = O_CREAT | O_WRONLY | O_TRUNC;
    f.mode = int64_t(a.args[1] & 07777);
  } else if (ev->type == "openat2") {
    open_how how{};
    if (!mem.read(a.args[2], &how, sizeof how)) return void(ctx.drop = true);
    f.flags = int64_t(how.flags);
    if (how.flags & (O_CREAT | O_TMPFILE)) f.mode = int64_t(how.mode);
    // No BPF check can see inside open_how: read-only openat2 ends here.
    if (!(how.flags & (O_WRONLY | O_RDWR | O_CREAT | O_TRUNC))) return void(ctx.drop = true);
  } else {
    f.flags = int64_t(uint32_t(a.args[at ? 2 : 1]));
    if (f.flags & (O_CREAT | O_TMPFILE)) f.mode = int64_t(a.args[at ? 3 : 2] & 07777);
  }
  const bool tmpfile = (f.flags & O_TMPFILE) == O_TMPFILE;
  const bool excl_create = (f.flags & O_CREAT) && (f.flags & O_EXCL);
  const bool follow = !(f.flags & O_NOFOLLOW) && !excl_create;  // O_CREAT|O_EXCL never follows a last link
  struct stat st {};
  const bool resolved = resolve_path(
      mem, ctx, dirfd, f.raw_path,
      (follow ? unsigned(kFollowLast) : 0u) | ((f.flags & O_CREAT) && !tmpfile ? unsigned(kMayNotExist) : 0u), ev, &f.path,
      true, &st, lexical_pending);
  // One look for both (the resolved object's, else a stat of the lexical
  // path): O_TRUNC of a file with data destroys it (what ransomware does; of
  // a new or empty file it does not), and drift learns the inode of what is
  // written.
  if (ctx.performed || !f.path.starts_with("/")) return;  // (sensor/perform.cpp: on the resolved object)
  const bool exists = resolved ? st.st_mode != 0 : ::stat(f.path.c_str(), &st) == 0;
  if (exists && (f.flags & O_TRUNC) && (f.flags & O_ACCMODE) != O_RDONLY && S_ISREG(st.st_mode) && st.st_size > 0)
    add_arg(ev, "overwrites", "true");
  if (ctx.drift != nullptr) ctx.drift->note_write(f.path, exists ? &st : nullptr, ctx.proc);
}

// One path, relative to a dirfd for the *at forms, plus mode/uid/gid/flags.
void path_op(const SyscallArgs& a, const TraceeMemory& mem, DecodeContext& ctx, Event* ev) {
  FileInfo& f = file_of(ev);
  const std::string& t = ev->type;
  const bool at = t.ends_with("at") || t == "fchmodat2";
  const int p = at ? 1 : 0;  // index of the path argument
  const bool lexical_pending = read_path(mem, a.args[p], at ? arg_int(a, 0) : AT_FDCWD, ev, &f.raw_path, &f.path, true);
  {
    // Which calls follow a last symlink (chmod, chown, truncate, chdir;
    // the *at forms unless AT_SYMLINK_NOFOLLOW), which may name a new entry.
    bool follow = t == "truncate" || t == "chmod" || t == "chown" || t == "chdir";
    if (t == "fchmodat2") follow = !(arg_int(a, 3) & AT_SYMLINK_NOFOLLOW);
    if (t == "fchmodat") follow = true;
    if (t == "fchownat") follow = !(arg_int(a, 4) & AT_SYMLINK_NOFOLLOW);
    const unsigned flags = (follow ? unsigned(kFollowLast) : 0u) | (t.starts_with("mkdir") ? unsigned(kMayNotExist) : 0u);
    resolve_path(mem, ctx, at ? arg_int(a, 0) : AT_FDCWD, f.raw_path, flags, ev, &f.path, true, nullptr, lexical_pending);
  }
  if (t.starts_with("mkdir") || t.starts_with("chmod") || t.starts_with("fchmodat")) {
    f.mode = int64_t(a.args[p + 1] & 07777);
  } else if (t.find("chown") != std::string::npos) {
    add_arg(ev, "uid", std::to_string(arg_int(a, p + 1)));
    add_arg(ev, "gid", std::to_string(arg_int(a, p + 2)));
  } else if (t == "unlinkat") {
    f.flags = arg_int(a, 2);
  } else if (t == "truncate") {
    add_arg(ev, "length", std::to_string(int64_t(a.args[1])));
    note_write(ctx, f.path);
  }
  // A deleted file cannot run; a new one at that path is a new write (the
  // mtime fallback still covers an unlink that then fails).
  if (t.starts_with("unlink") && ctx.drift != nullptr) ctx.drift->note_unlink(f.path);
}

// rename/renameat/renameat2/link/linkat (old -> new), symlink/symlinkat
// (target string, link path): file.path = old path or link path, file.target
// = new path or symlink contents.
void two_path(const SyscallArgs& a, const TraceeMemory& mem, DecodeContext& ctx, Event* ev) {
  FileInfo& f = file_of(ev);
  const std::string& t = ev->type;
  if (t.starts_with("symlink")) {
    mem.read_string(a.args[0], kLongPathMax, &f.target);  // contents: not a path to resolve
    const bool at = t == "symlinkat";
    const bool pending = read_path(mem, a.args[at ? 2 : 1], at ? arg_int(a, 1) : AT_FDCWD, ev, &f.raw_path, &f.path, true);
    resolve_path(mem, ctx, at ? arg_int(a, 1) : AT_FDCWD, f.raw_path, kMayNotExist, ev, &f.path, true, nullptr, pending);
    return;
  }
  const bool at = t != "rename" && t != "link";
  std::string new_raw;
  const bool old_pending = read_path(mem, a.args[at ? 1 : 0], at ? arg_int(a, 0) : AT_FDCWD, ev, &f.raw_path, &f.path, true);
  const bool new_pending = read_path(mem, a.args[at ? 3 : 1], at ? arg_int(a, 2) : AT_FDCWD, ev, &new_raw, &f.target, true);
  if (t == "renameat2" || t == "linkat") f.flags = arg_int(a, 4);
  if (ctx.performed) add_arg(ev, "raw_target", new_raw);  // resolved by the tracer (sensor/perform.cpp)
  const bool follow_old = t == "linkat" && (f.flags & AT_SYMLINK_FOLLOW);
  resolve_path(mem, ctx, at ? arg_int(a, 0) : AT_FDCWD, f.raw_path, follow_old ? unsigned(kFollowLast) : 0u, ev, &f.path,
               true, nullptr, old_pending);
  resolve_path(mem, ctx, at ? arg_int(a, 2) : AT_FDCWD, new_raw, kMayNotExist, ev, &f.target, false, nullptr, new_pending);
  if (t.starts_with("rename") && ctx.drift != nullptr) ctx.drift->note_rename(f.path, f.target, ctx.proc);
  if (t.starts_with("link") && ctx.drift != nullptr) ctx.drift->note_link(f.path, f.target, ctx.proc);
}

// utimensat(dirfd, path, times, flags) (futimens(fd, times): a null path,
// the fd's own file; so for futimesat) / futimesat(dirfd, path, times) /
// utimes(path, times) / utime(path, buf), with times set (the rows' check:
// null times set "now", which drift's mtime check sees): the app chose the
// times, maybe back to before the start, which would hide a write from that
// check. Drift counts the file as written (by inode). evt.arg.atime and
// mtime: the times asked, as read here; the kernel reads them again after
// CONTINUE (a thread can rewrite them), unless vigil performs the call
// (ctx.performed: sensor/perform.cpp reads them once, sets those, and names
// the object set).
void times(const SyscallArgs& a, const TraceeMemory& mem, DecodeContext& ctx, Event* ev) {
  FileInfo& f = file_of(ev);
  const std::string& t = ev->type;
  const bool at = t == "utimensat" || t == "futimesat";
  const int dirfd = at ? arg_int(a, 0) : AT_FDCWD;
  if (Times tm; !ctx.performed && read_times(mem, a, t, &tm)) {
    add_arg(ev, "atime", time_arg(tm.ts[0]));
    add_arg(ev, "mtime", time_arg(tm.ts[1]));
  }
  struct stat st {};
  if (at && a.args[1] == 0) {
    f.fd = dirfd;
    if (ctx.performed) return;
    if (const FdInfo* i = fd_info(ctx, mem.tid(), f.fd)) f.path = f.raw_path = i->path;
    if (ctx.drift != nullptr && ::stat(fmt::format("/proc/{}/fd/{}", mem.tid(), dirfd).c_str(), &st) == 0 &&
        S_ISREG(st.st_mode))
      ctx.drift->note_write(f.path, &st, ctx.proc);
    return;
  }
  const bool pending = read_path(mem, a.args[at ? 1 : 0], dirfd, ev, &f.raw_path, &f.path, true);
  const bool follow = !(t == "utimensat" && (arg_int(a, 3) & AT_SYMLINK_NOFOLLOW));
  const bool resolved =
      resolve_path(mem, ctx, dirfd, f.raw_path, follow ? unsigned(kFollowLast) : 0u, ev, &f.path, true, &st, pending);
  if (ctx.performed || ctx.drift == nullptr || !f.path.starts_with("/")) return;  // (performed: drift noted on the object set)
  if ((resolved ? st.st_mode != 0 : ::stat(f.path.c_str(), &st) == 0) && S_ISREG(st.st_mode))
    ctx.drift->note_write(f.path, &st, ctx.proc);
}

// fchmod(fd, mode) / fchown(fd, uid, gid) / fchdir(fd) / open_by_handle_at(mount_fd, handle, flags)
void fd_op(const SyscallArgs& a, const TraceeMemory& mem, DecodeContext& ctx, Event* ev) {
  FileInfo& f = file_of(ev);
  f.fd = arg_int(a, 0);
  if (const FdInfo* i = fd_info(ctx, mem.tid(), f.fd)) f.path = f.raw_path = i->path;
  const std::string& t = ev->type;
  if (t == "fchmod") f.mode = int64_t(a.args[1] & 07777);
  if (t == "fchown") {
    add_arg(ev, "uid", std::to_string(arg_int(a, 1)));
    add_arg(ev, "gid", std::to_string(arg_int(a, 2)));
  }
  if (t == "open_by_handle_at") {
    f.flags = arg_int(a, 2);
    // The object the handle names (a string-free open: judged by what it opens).
    std::string handle;
    if (ctx.performed) return;
    if (!read_file_handle(mem, a.args[1], &handle)) return add_arg(ev, "unreadable", "file_handle");
    const Resolved r = resolve_handle(mem.tid(), f.fd, handle);
    if (!r.ok()) return add_arg(ev, "unresolved", fmt::format("{}: {}", r.what, std::strerror(r.err)));
    f.path = r.path;
    f.dev = r.dev, f.ino = r.ino;
  }
}

// mount(source, target, fstype, flags, data) / umount2(target, flags) /
// umount(target) (i386) / move_mount(from_dfd, from, to_dfd, to, flags) /
// chroot(path) / pivot_root(new_root, put_old). Paths as called (lexical).
void mount(const SyscallArgs& a, const TraceeMemory& mem, DecodeContext&, Event* ev) {
  FileInfo& f = file_of(ev);
  const std::string& t = ev->type;
  if (t == "umount2" || t == "umount" || t == "chroot") {
    read_path(mem, a.args[0], AT_FDCWD, ev, &f.raw_path, &f.path);
    f.target = f.path;
    if (t == "umount2") f.flags = arg_int(a, 1);
    return;
  }
  if (t == "pivot_root") {  // path: the new root, target: where the old one goes
    read_path(mem, a.args[0], AT_FDCWD, ev, &f.raw_path, &f.path);
    std::string raw_old;
    read_path(mem, a.args[1], AT_FDCWD, ev, &raw_old, &f.target);
    return;
  }
  if (t == "move_mount") {  // path: what is moved (a detached tree's fd with an empty path), target: where
    read_path(mem, a.args[1], arg_int(a, 0), ev, &f.raw_path, &f.path);
    std::string raw_to;
    read_path(mem, a.args[3], arg_int(a, 2), ev, &raw_to, &f.target);
    f.flags = int64_t(uint32_t(a.args[4]));
    return;
  }
  mem.read_string(a.args[0], kPathMax, &f.path);  // source: a device, "none", a path
  f.raw_path = f.path;
  std::string raw_target, fstype;
  read_path(mem, a.args[1], AT_FDCWD, ev, &raw_target, &f.target);
  mem.read_string(a.args[2], 256, &fstype);
  add_arg(ev, "fstype", fstype);
  f.flags = int64_t(a.args[3]);
}

// memfd_create(name, flags)
void memfd(const SyscallArgs& a, const TraceeMemory& mem, DecodeContext&, Event* ev) {
  FileInfo& f = file_of(ev);
  std::string name;
  mem.read_string(a.args[0], 249, &name);  // the kernel's limit
  f.path = f.raw_path = "memfd:" + name;
  f.flags = arg_int(a, 1);
  add_arg(ev, "name", name);
}

// mmap(addr, len, prot, flags, fd, off) with PROT_EXEC of a file: only an
// event when the file is drift (a library written after start). One stat
// decides for most libraries; the fd's path is read only when needed.
void mmap_exec(const SyscallArgs& a, const TraceeMemory& mem, DecodeContext& ctx, Event* ev) {
  ctx.drop = true;
  const int fd = arg_int(a, 4);
  if (ctx.drift == nullptr || fd < 0 || (is_i386(a) && a.nr != 192)) return;  // i386's mmap takes a struct (mmap2, 192, does not)
  const std::string link = fmt::format("/proc/{}/fd/{}", mem.tid(), fd);
  struct stat st;
  if (::stat(link.c_str(), &st) != 0 || !S_ISREG(st.st_mode)) return;
  DriftReason r = ctx.drift->check_file(st, ctx.proc);
  if (r == DriftReason::None && !ctx.drift->has_paths()) return;
  char buf[kPathMax];
  const ssize_t n = readlink(link.c_str(), buf, sizeof buf);
  if (n <= 0) return;
  std::string path(buf, size_t(n));
  strip_deleted(&path, st.st_nlink);
  if (ctx.drift->written_path(path)) r = ctx.drift->check(path, st, ctx.proc);  // the exact reason wins over mtime
  if (r == DriftReason::None) return;
  ctx.drop = false;
  FileInfo& f = file_of(ev);
  f.path = f.raw_path = path;
  f.fd = fd;
  add_arg(ev, "drift", std::string(drift_reason_name(r)));
}

}  // namespace dec
}  // namespace vigil::probes
