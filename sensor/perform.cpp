// Calls vigil performs itself: sensor/perform.hpp, docs/design.md "A performed call".
#include "sensor/perform.hpp"

#include <fcntl.h>
#include <linux/capability.h>
#include <linux/openat2.h>
#include <linux/seccomp.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cerrno>
#include <csignal>
#include <cstdlib>
#include <cstring>
#include <sstream>

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include "probes/procfs.hpp"
#include "probes/resolve.hpp"
#include "probes/times.hpp"
#include "sensor/connector.hpp"
#include "sensor/guard.hpp"
#include "sensor/judge.hpp"

namespace vigil::perform {
namespace {

// The value of "Key:" in a /proc/PID/status text.
std::string_view field(std::string_view status, std::string_view key) {
  for (size_t at = 0; at < status.size();) {
    size_t end = status.find('\n', at);
    if (end == std::string_view::npos) end = status.size();
    std::string_view line = status.substr(at, end - at);
    if (line.size() > key.size() && line.starts_with(key) && line[key.size()] == ':') {
      line.remove_prefix(key.size() + 1);
      while (!line.empty() && (line[0] == ' ' || line[0] == '\t')) line.remove_prefix(1);
      return line;
    }
    at = end + 1;
  }
  return {};
}

std::vector<uint64_t> numbers(std::string_view s, int base = 10) {
  std::vector<uint64_t> out;
  std::istringstream in{std::string(s)};
  for (std::string w; in >> w;) out.push_back(std::strtoull(w.c_str(), nullptr, base));
  return out;
}

struct OwnCaps {
  uint64_t eff = 0, perm = 0, inh = 0;
};
bool get_caps(OwnCaps* c) {
  __user_cap_header_struct h{_LINUX_CAPABILITY_VERSION_3, 0};
  __user_cap_data_struct d[2]{};
  if (syscall(SYS_capget, &h, d) < 0) return false;
  c->eff = d[0].effective | uint64_t(d[1].effective) << 32;
  c->perm = d[0].permitted | uint64_t(d[1].permitted) << 32;
  c->inh = d[0].inheritable | uint64_t(d[1].inheritable) << 32;
  return true;
}
bool set_caps(uint64_t eff, uint64_t perm, uint64_t inh) {
  __user_cap_header_struct h{_LINUX_CAPABILITY_VERSION_3, 0};  // pid 0: this thread only
  __user_cap_data_struct d[2]{};
  d[0] = {uint32_t(eff), uint32_t(perm), uint32_t(inh)};
  d[1] = {uint32_t(eff >> 32), uint32_t(perm >> 32), uint32_t(inh >> 32)};
  return syscall(SYS_capset, &h, d) == 0;
}
// setfsuid/setfsgid return the previous id whatever happens: asked again with -1, they tell the current one.
bool set_fsuid(uint32_t id) {
  syscall(SYS_setfsuid, id);
  return uint32_t(syscall(SYS_setfsuid, uint32_t(-1))) == id;
}
bool set_fsgid(uint32_t id) {
  syscall(SYS_setfsgid, id);
  return uint32_t(syscall(SYS_setfsgid, uint32_t(-1))) == id;
}
bool set_groups(const std::vector<gid_t>& g) { return syscall(SYS_setgroups, g.size(), g.data()) == 0; }

struct Own {
  Creds creds;
  OwnCaps caps;
  bool ok = false;
};
const Own& own() {
  static const Own o = [] {
    Own x;
    x.ok = read_creds(int(syscall(SYS_gettid)), &x.creds) && get_caps(&x.caps);
    return x;
  }();
  return o;
}

mode_t own_umask() { return own().ok ? own().creds.umask : mode_t(022); }

// The effective ids (the saved ones untouched: this thread can go back).
bool set_euid(uint32_t id) { return syscall(SYS_setresuid, -1, id, -1) == 0; }
bool set_egid(uint32_t id) { return syscall(SYS_setresgid, -1, id, -1) == 0; }

// What AsCaller changed on this thread (only that is switched and restored:
// an app that runs as vigil's uid, minus a capability or two, costs a
// capset each way instead of a dozen calls).
enum Changed : unsigned { kCaps = 1, kIds = 2, kFsIds = 4, kGroups = 8 };

// Restores vigil's own credentials on this thread; a failure would leave
// the tracer acting with an app's: vigil stops (the keeper kills the app).
void restore(unsigned changed) {
  const Own& o = own();
  // The ids and groups need CAP_SETUID/CAP_SETGID back in the effective set first.
  const bool ids = changed & (kIds | kFsIds | kGroups);
  if ((!ids || set_caps(o.caps.perm, o.caps.perm, o.caps.inh)) &&
      (!(changed & kIds) || (set_euid(o.creds.euid) && set_egid(o.creds.egid))) &&
      (!(changed & kFsIds) || (set_fsuid(o.creds.fsuid) && set_fsgid(o.creds.fsgid))) &&
      (!(changed & kGroups) || set_groups(o.creds.groups)) && set_caps(o.caps.eff, o.caps.perm, o.caps.inh))
    return;
  spdlog::critical("cannot restore vigil's own credentials after acting as an app process: {}", std::strerror(errno));
  std::abort();
}

using procfs::Fd;

}  // namespace

bool read_creds(int tid, Creds* out) {
  std::string s;
  if (!procfs::read_file(fmt::format("/proc/{}/status", tid), 8192, &s, true)) return false;
  const auto uid = numbers(field(s, "Uid")), gid = numbers(field(s, "Gid"));
  const auto cap = numbers(field(s, "CapEff"), 16), mask = numbers(field(s, "Umask"), 8);
  if (uid.size() < 4 || gid.size() < 4 || cap.empty()) return false;
  out->fsuid = uint32_t(uid[3]);
  out->fsgid = uint32_t(gid[3]);
  out->euid = uint32_t(uid[1]);
  out->egid = uint32_t(gid[1]);
  out->groups.clear();
  for (uint64_t g : numbers(field(s, "Groups"))) out->groups.push_back(gid_t(g));
  out->cap_eff = cap[0];
  out->umask = mask.empty() ? 022 : mode_t(mask[0]);
  return true;
}

AsCaller::AsCaller(const Creds& c, bool effective_ids) {
  const Own& o = own();
  if (!o.ok) {
    why_ = "vigil cannot read its own credentials";
    return;
  }
  const bool ids = effective_ids && (c.euid != o.creds.euid || c.egid != o.creds.egid);
  if (c == o.creds && o.caps.eff == c.cap_eff && !ids) {
    ok_ = true;
    return;
  }
  if (c.cap_eff & ~o.caps.perm) {
    why_ = fmt::format("the caller holds capabilities vigil lacks ({:#x})", c.cap_eff & ~o.caps.perm);
    return;
  }
  const bool groups = c.groups != o.creds.groups, fs = c.fsuid != o.creds.fsuid || c.fsgid != o.creds.fsgid;
  changed_ = kCaps | (ids ? kIds : 0u) | (fs ? kFsIds : 0u) | (groups ? kGroups : 0u);
  // Groups and ids first (they need CAP_SETGID/CAP_SETUID), then the
  // effective set (a change of fsuid or euid from 0 drops capabilities; the
  // caller's set is written last, whatever it holds). An effective id sets
  // the fs one: the fs ids come after it.
  if ((groups && !set_groups(c.groups)) || (ids && (!set_egid(c.egid) || !set_euid(c.euid))) ||
      ((fs || ids) && (!set_fsgid(c.fsgid) || !set_fsuid(c.fsuid))) || !set_caps(c.cap_eff, o.caps.perm, o.caps.inh)) {
    why_ = fmt::format("vigil cannot take the caller's credentials (fsuid {}, fsgid {}): {}", c.fsuid, c.fsgid,
                       std::strerror(errno));
    restore(changed_ | (ids ? kFsIds : 0u));
    changed_ = 0;
    return;
  }
  if (ids) changed_ |= kFsIds;  // the effective ids moved the fs ones
  ok_ = true;
}

AsCaller::~AsCaller() {
  if (changed_) restore(changed_);
}

namespace {

void answer(int listener, uint64_t id, int err) {
  seccomp_notif_resp resp{};
  resp.id = id;
  if (err) resp.error = -err;
  else resp.flags = SECCOMP_USER_NOTIF_FLAG_CONTINUE;
  if (ioctl(listener, SECCOMP_IOCTL_NOTIF_SEND, &resp) < 0 && errno != ENOENT)
    spdlog::warn("answering a seccomp notification: {}", std::strerror(errno));
}

}  // namespace

void open_call(const Env& env, uint64_t id, int tid, int tgid, const probes::SyscallArgs& a, const probes::Probe& row,
               Event&& ev) {
  Judge& judge = *env.judge;
  FileInfo& f = *ev.file;
  const int64_t flags = f.flags;
  const std::string_view type = row.type;
  // The directory the path is relative to (open_by_handle_at: its mount fd).
  const int dirfd = type == "openat" || type == "openat2" || type == "open_by_handle_at" ? int(int32_t(uint32_t(a.args[0])))
                                                                                         : AT_FDCWD;
  auto finish = [&](int err) {
    if (err) {
      ev.res = -err;
      ev.has_res = true;
    }
    answer(env.listener, id, err);
    judge.emit(std::move(ev));
  };
  // vigil's own failure (EMFILE, ENOMEM): an alert, and closed in prevent mode.
  auto fault = [&](const char* what, int err) { finish(env.guard->resource_fault(tid, what, err)); };
  // The verdict; false: denied or killed (answered).
  auto judged = [&]() {
    const Action act = judge.judge(ev, row.enforce);
    if (act == Action::None) return true;
    if (act == Action::Killed) kill(tgid, SIGKILL);
    finish(EPERM);
    return false;
  };
  // Not resolvable: the kernel's own errno (nothing was opened), or vigil's
  // refusal (the sensor's /proc entries): the built-in "Unreadable syscall
  // argument" alert, denied.
  auto unresolved = [&](const probes::Resolved& r) {
    if (r.sensor) {  // the sensor's own /proc entry: a tamper attempt (sensor/guard.hpp), whatever the verdict
      ev.args.push_back({"unresolved", fmt::format("{}: {}", r.what, std::strerror(r.err))});
      judge.judge(ev, row.enforce);
      env.guard->tamper(ev, fmt::format("path={} ({})", f.raw_path, r.what));
      return finish(EPERM);
    }
    if (r.refused) {
      ev.args.push_back({"unreadable", fmt::format("path (not resolvable for vigil: {})", r.what)});
    } else {
      ev.args.push_back({"unresolved", fmt::format("{}: {}", r.what, std::strerror(r.err))});
      if (procfs::own_resource(r.err)) return fault("resolving a path as the caller", r.err);
    }
    if (judged()) finish(r.refused ? EPERM : r.err);
  };

  Creds creds;
  if (!read_creds(tid, &creds)) return finish(ESRCH);  // the caller is gone
  const bool tmpfile = (flags & O_TMPFILE) == O_TMPFILE;
  const bool create = (flags & O_CREAT) && !tmpfile && type != "open_by_handle_at";
  const bool excl = create && (flags & O_EXCL);
  const unsigned rflags = (!(flags & O_NOFOLLOW) && !excl ? unsigned(probes::kFollowLast) : 0u) |
                          (create ? unsigned(probes::kMayNotExist) : 0u);
  uint64_t resolve_bits = 0;  // openat2's RESOLVE_*: the caller's own restrictions, checked by the kernel below
  if (type == "openat2") {
    open_how how{};
    if (!probes::TraceeMemory(tid).read(a.args[2], &how, sizeof how)) {
      ev.args.push_back({"unreadable", "open_how"});
      if (judged()) finish(EPERM);
      return;
    }
    resolve_bits = how.resolve;
  }
  const probes::Caller who{tid, tgid, [&](int pid) { return env.guard->is_sensor(pid); }, env.own_root};
  const mode_t mode = f.mode >= 0 ? mode_t(f.mode) & ~creds.umask & 07777 : 0;

  // The path walked as the caller.
  auto walk = [&](int) {
    // The caller's root and start directory: opened by vigil (the caller
    // may have made itself non-dumpable); walked with the caller's credentials.
    // Its root: vigil's own when it is the same (the root cache).
    std::string start_path = "/";
    Fd opened_root;
    const int root = probes::caller_root(who, &opened_root.fd);
    if (root < 0) {
      probes::Resolved r;
      r.err = -root, r.what = "the caller's root directory";
      return r;
    }
    Fd start(f.raw_path.starts_with("/") ? -1 : probes::open_caller_dir(tid, dirfd, &start_path));
    if (!f.raw_path.starts_with("/") && start.fd < 0) {
      const int e = -start.fd;
      probes::Resolved r;
      r.err = dirfd == AT_FDCWD || procfs::own_resource(e) ? e : EBADF;
      r.what = dirfd == AT_FDCWD ? "the caller's working directory" : fmt::format("the caller's fd {}", dirfd);
      return r;
    }
    probes::Resolved r;
    {
      AsCaller as(creds);
      if (!as.ok()) {
        r.err = EACCES, r.refused = true, r.what = as.why();
        return r;
      }
      r = f.raw_path.empty() ? probes::Resolved{} : probes::resolve_at(who, root, start.fd < 0 ? root : start.fd,
                                                                        start_path, f.raw_path, rflags);
      if (f.raw_path.empty()) r.err = ENOENT, r.what = "empty path";
      // openat2's RESOLVE_* flags: the kernel walks the path with them, from
      // the same directories, and must reach the same object.
      if (r.ok() && resolve_bits) {
        open_how how{};
        how.flags = O_PATH | O_CLOEXEC | uint64_t(rflags & probes::kFollowLast ? 0 : O_NOFOLLOW);
        how.resolve = resolve_bits;
        const bool beneath = resolve_bits & (RESOLVE_BENEATH | RESOLVE_IN_ROOT);
        Fd check(int(syscall(SYS_openat2, beneath || f.raw_path[0] != '/' ? (start.fd < 0 ? root : start.fd) : root,
                             f.raw_path[0] == '/' && !beneath ? f.raw_path.c_str() + 1 : f.raw_path.c_str(), &how,
                             sizeof how)));
        struct stat st {};
        if (check.fd < 0 && !(errno == ENOENT && !r.exists)) {
          r.err = errno, r.what = "openat2 with the caller's RESOLVE_ flags";
        } else if (check.fd >= 0 && (fstat(check.fd, &st) < 0 || !r.exists || uint64_t(st.st_dev) != r.dev ||
                                     uint64_t(st.st_ino) != r.ino)) {
          r = probes::Resolved{};
          r.err = EAGAIN, r.what = "the path changed while vigil resolved it";
        }
      }
    }
    return r;
  };

  const bool by_handle = type == "open_by_handle_at";
  std::string handle;
  if (by_handle) {
    if (!((creds.cap_eff >> CAP_DAC_READ_SEARCH) & 1)) return finish(EPERM);  // as the kernel answers
    if (!probes::read_file_handle(probes::TraceeMemory(tid), a.args[1], &handle)) {
      ev.args.push_back({"unreadable", "file_handle"});
      if (judged()) finish(EPERM);
      return;
    }
  }

  for (int attempt = 0;; ++attempt) {
    probes::Resolved r = by_handle ? probes::resolve_handle(tid, dirfd, handle) : walk(attempt);
    if (!r.ok()) return unresolved(r);
    f.path = r.path;
    f.dev = r.exists ? r.dev : 0;
    f.ino = r.exists ? r.ino : 0;
    if (std::string what; env.guard->spool_target(f, &what)) {  // vigil's journal or spool: a tamper attempt
      judge.judge(ev, row.enforce);
      env.guard->tamper(ev, what);
      return finish(EPERM);
    }
    if (r.exists && (flags & O_TRUNC) && (flags & O_ACCMODE) != O_RDONLY && S_ISREG(r.mode) && r.size > 0 &&
        !ev.arg("overwrites"))
      ev.args.push_back({"overwrites", "true"});
    if (attempt > 0) ev.args.push_back({"resolved_again", std::to_string(attempt)});  // judged anew
    if (!judged()) return;

    // The open, on the object judged.
    int fd = -1, err = 0;
    if (flags & O_PATH) {
      if (!r.exists) err = ENOENT;
      else if ((fd = fcntl(r.fd, F_DUPFD_CLOEXEC, 0)) < 0) err = errno;
    } else if (r.exists && S_ISLNK(r.mode)) {
      err = excl ? EEXIST : ELOOP;  // O_NOFOLLOW (or O_CREAT|O_EXCL) on a symlink
    } else if (r.exists && excl) {
      err = EEXIST;
    } else if (r.exists && S_ISSOCK(r.mode)) {
      err = ENXIO;  // what open(2) of a socket gives
    } else if (r.exists && S_ISREG(r.mode) && ((flags & O_ACCMODE) != O_RDONLY || (flags & O_TRUNC)) &&
               env.exec_pinned && env.exec_pinned(r.dev, r.ino)) {
      err = ETXTBSY;  // an exec of it is not over (Env::exec_pinned)
    } else if (r.exists && !S_ISREG(r.mode) && !S_ISDIR(r.mode) && !(S_ISFIFO(r.mode) && (flags & O_NONBLOCK))) {
      // A device, or a FIFO opened blocking: vigil must not block (or touch
      // a device); the kernel opens it (docs/threat-model.md: residual race).
      ev.args.push_back({"performed", "false (not a regular file)"});
      return finish(0);
    } else {
      // Reopened through vigil's own /proc/self/fd/N: the object itself, no path walk.
      const int reopen = int(flags & ~(O_CREAT | O_NOFOLLOW | (tmpfile ? 0 : O_EXCL))) | O_CLOEXEC;
      // A lease the app holds on the file (F_SETLEASE: it owns it, or is
      // root) makes any other open wait until the holder gives it up or
      // fs.lease-break-time (45 s) passes; on this thread every trapped call
      // of the app would wait with it. So the open is tried O_NONBLOCK (a
      // lease then fails it at once, EWOULDBLOCK, its break begun), and a
      // worker makes the open the caller asked for (below). Leases exist on
      // regular files only; a caller that asked O_NONBLOCK itself gets the
      // kernel's EWOULDBLOCK.
      const bool lease = env.pool && r.exists && S_ISREG(r.mode) && !(flags & O_NONBLOCK);
      bool held = false;
      {
        AsCaller as(creds);
        if (!as.ok()) {
          err = EPERM;
        } else if (r.exists) {
          fd = open(fmt::format("/proc/self/fd/{}", r.fd).c_str(), reopen | (lease ? O_NONBLOCK : 0), mode);
          if (fd < 0) err = errno;
          // The caller's file description exactly as asked: blocking. (Not
          // seen failing: then the open as asked, on the worker.)
          if (fd >= 0 && lease && fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) & ~O_NONBLOCK) < 0) {
            close(fd);
            fd = -1, err = EWOULDBLOCK;
          }
          held = lease && fd < 0 && err == EWOULDBLOCK;
        } else {
          fd = openat(r.fd, r.name.c_str(), int(flags) | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, mode);
          if (fd < 0) err = errno;
          if (fd < 0 && err == EEXIST && !excl && attempt < 3) continue;  // created meanwhile: resolve and judge again
        }
        // vigil's own umask applies too: the mode the caller asked for.
        if (fd >= 0 && (!r.exists || tmpfile) && (own_umask() & mode)) {
          struct stat st {};
          if (fstat(fd, &st) == 0 && (st.st_mode & 07777) != mode) fchmod(fd, mode);
        }
      }
      if (held) {
        // The worker (sensor/connector.hpp: outside AsCaller, so that a
        // worker this starts has vigil's credentials) gets the object judged
        // (r's O_PATH handle: nothing is looked up by path again), the
        // flags and the caller's credentials, copied; it opens, installs the
        // fd and answers (vigil's own EMFILE there is the caller's errno, no
        // "Sensor fault" alert: the call fails all the same). Noted as
        // written now (the drift tracker is the tracer's): the verdict
        // allowed the write.
        if (env.drift && f.path.starts_with("/") && (flags & O_ACCMODE) != O_RDONLY) {
          struct stat st {};
          if (fstat(r.fd, &st) == 0) env.drift->note_write(f.path, &st, ev.proc.get());
        }
        auto handle = std::make_shared<Owned>(r.fd);
        r.fd = -1;
        env.pool->run_install(
            id,
            [handle, reopen, creds]() -> int64_t {
              AsCaller as(creds);
              if (!as.ok()) return -EPERM;
              const int fd = open(fmt::format("/proc/self/fd/{}", handle->fd).c_str(), reopen);
              return fd >= 0 ? fd : -errno;
            },
            flags & O_CLOEXEC ? O_CLOEXEC : 0);
        ev.args.push_back({"performed", "on a worker (the file's lease held the open)"});
        judge.emit(std::move(ev));  // answered by the worker
        return;
      }
    }
    if (fd < 0) {
      if (procfs::own_resource(err) && !(flags & O_PATH)) return fault("opening a file for the caller", err);
      return finish(err);
    }
    Fd opened(fd);
    if (env.drift && f.path.starts_with("/") && (flags & O_ACCMODE) != O_RDONLY) {
      struct stat st {};
      if (fstat(fd, &st) == 0) env.drift->note_write(f.path, &st, ev.proc.get());
    }
    err = guard::install_fd(env.listener, id, fd, flags & O_CLOEXEC ? O_CLOEXEC : 0);
    if (err) return finish(err);
    judge.emit(std::move(ev));  // answered by install_fd
    return;
  }
}

namespace {

bool is_times_row(std::string_view t) { return t == "utimensat" || t == "futimesat" || t == "utimes" || t == "utime"; }

// The path rows vigil performs (sensor/perform.hpp), the times rows with
// them: how each path argument resolves, and the call made on the resolved handles.
bool is_path_row(std::string_view t) {
  static constexpr std::string_view kRows[] = {"unlink", "unlinkat", "rmdir", "mkdir", "mkdirat", "rename", "renameat",
                                               "renameat2", "link", "linkat", "symlink", "symlinkat", "chmod",
                                               "fchmodat", "fchmodat2", "chown", "lchown", "fchownat", "truncate"};
  for (auto r : kRows)
    if (r == t) return true;
  return is_times_row(t);
}

}  // namespace

bool path_call(const Env& env, uint64_t id, int tid, int tgid, const probes::SyscallArgs& a, const probes::Probe& row,
               Event& ev) {
  const std::string t = row.type;
  if (!is_path_row(t)) return false;
  auto reg = [&](int i) { return int(int32_t(uint32_t(a.args[i]))); };
  FileInfo& f = *ev.file;
  // Each path: its dirfd, the raw path, how it resolves.
  int d1 = AT_FDCWD, d2 = AT_FDCWD;
  unsigned r1 = probes::kParent, r2 = probes::kParent;
  const bool two = t.starts_with("rename") || t.starts_with("link");
  std::string raw2;
  if (two) {
    const std::string* rt = ev.arg("raw_target");
    if (!rt) return false;
    raw2 = *rt;
  }
  const bool at = t.ends_with("at") || t == "renameat2" || t == "fchmodat2";
  if (at) d1 = reg(t.starts_with("symlink") ? 1 : 0);
  if (at && two) d2 = reg(2);
  if (t == "linkat" && (reg(4) & AT_SYMLINK_FOLLOW)) r1 = probes::kFollowLast;
  if (t == "chmod" || t == "fchmodat" || t == "chown" || t == "truncate") r1 = probes::kFollowLast;
  if (t == "lchown") r1 = 0;
  if (t == "fchmodat2") r1 = reg(3) & AT_SYMLINK_NOFOLLOW ? 0u : unsigned(probes::kFollowLast);
  if (t == "fchownat") r1 = reg(4) & AT_SYMLINK_NOFOLLOW ? 0u : unsigned(probes::kFollowLast);
  // The times rows follow a last symlink but utimensat's AT_SYMLINK_NOFOLLOW.
  // Their fd forms (futimens: a null path, futimesat's too; an empty path
  // with AT_EMPTY_PATH) act on the caller's file itself: taken once from its
  // fd table (pidfd_getfd), never looked up by its number again.
  const bool times = is_times_row(t);
  const int tflags = t == "utimensat" ? reg(3) : 0;
  const bool null_path = times && a.args[at ? 1 : 0] == 0;
  const bool fd_form = times && (null_path ? d1 != AT_FDCWD : f.raw_path.empty() && (tflags & AT_EMPTY_PATH));
  if (times) r1 = tflags & AT_SYMLINK_NOFOLLOW ? 0u : unsigned(probes::kFollowLast);
  // AT_EMPTY_PATH (the dirfd itself): not a path; the call goes the usual way.
  if ((t == "linkat" && (reg(4) & AT_EMPTY_PATH)) || (t == "fchownat" && (reg(4) & AT_EMPTY_PATH)) ||
      (t == "fchmodat2" && (reg(3) & AT_EMPTY_PATH)))
    return false;

  Judge& judge = *env.judge;
  auto finish = [&](int err) {
    if (err) ev.res = -err, ev.has_res = true;
    seccomp_notif_resp resp{};
    resp.id = id;
    resp.error = -err;  // 0: the call returns 0 (done by vigil)
    if (ioctl(env.listener, SECCOMP_IOCTL_NOTIF_SEND, &resp) < 0 && errno != ENOENT)
      spdlog::warn("answering a seccomp notification: {}", std::strerror(errno));
    judge.emit(std::move(ev));
    return true;
  };
  auto judged = [&]() {
    const Action act = judge.judge(ev, row.enforce);
    if (act == Action::Killed) kill(tgid, SIGKILL);
    return act == Action::None;
  };
  Creds creds;
  if (!read_creds(tid, &creds)) return finish(ESRCH);
  auto resolve = [&](int dirfd, const std::string& raw, unsigned flags) {
    return resolve_as_caller(env, tid, tgid, creds, dirfd, raw, flags);
  };
  // The times, read once: vigil sets these (a rewrite after this read changes nothing).
  probes::Times tm;
  if (times) {
    if (!probes::read_times(probes::TraceeMemory(tid), a, t, &tm)) {
      ev.args.push_back({"unreadable", "times"});
      return finish(judged() ? EFAULT : EPERM);
    }
    ev.args.push_back({"atime", probes::time_arg(tm.ts[0])});
    ev.args.push_back({"mtime", probes::time_arg(tm.ts[1])});
    // What the kernel answers before it looks at the path or the fd (fs/utimes.c).
    int early = -1;
    if (tm.nothing) early = 0;  // both UTIME_OMIT
    else if (tm.err) early = tm.err;
    else if ((tflags & ~(AT_SYMLINK_NOFOLLOW | AT_EMPTY_PATH)) || (fd_form && null_path && tflags)) early = EINVAL;
    else if (null_path && !fd_form) early = EFAULT;  // no path, and no fd to act on
    if (early >= 0) return finish(judged() ? early : EPERM);
  }
  // The caller's file (fd_form): its fd N, or its cwd (AT_FDCWD with AT_EMPTY_PATH).
  auto take = [&]() {
    const int fd = d1 == AT_FDCWD ? probes::open_caller_dir(tid, AT_FDCWD, nullptr) : guard::take_fd(tid, tgid, d1);
    if (fd >= 0) return probes::resolve_fd(fd);
    probes::Resolved r;
    r.err = -fd;
    r.what = d1 == AT_FDCWD ? "the caller's working directory" : fmt::format("the caller's fd {}", d1);
    r.refused = fd != -EBADF && !procfs::own_resource(-fd);  // EBADF: not open, the kernel's answer
    return r;
  };
  auto unresolved = [&](const probes::Resolved& r) {
    if (r.sensor) {  // the sensor's own /proc entry: a tamper attempt (sensor/guard.hpp), whatever the verdict
      ev.args.push_back({"unresolved", fmt::format("{}: {}", r.what, std::strerror(r.err))});
      judge.judge(ev, row.enforce);
      env.guard->tamper(ev, fmt::format("path={} ({})", ev.file ? ev.file->raw_path : "", r.what));
      return finish(EPERM);
    }
    if (r.refused) {
      ev.args.push_back({"unreadable", fmt::format("path (not resolvable for vigil: {})", r.what)});
    } else {
      ev.args.push_back({"unresolved", fmt::format("{}: {}", r.what, std::strerror(r.err))});
      if (procfs::own_resource(r.err)) return finish(env.guard->resource_fault(tid, "resolving a path as the caller", r.err));
    }
    return finish(judged() ? (r.refused ? EPERM : r.err) : EPERM);
  };

  probes::Resolved p1 = fd_form ? take() : resolve(d1, f.raw_path, r1);
  if (!p1.ok()) return unresolved(p1);
  probes::Resolved p2;
  if (two) {
    p2 = resolve(d2, raw2, r2);
    if (!p2.ok()) return unresolved(p2);
  }
  f.path = p1.path;
  if (fd_form && null_path) f.raw_path = p1.path;  // (as the decoder names an fd's file)
  f.dev = p1.exists ? p1.dev : 0, f.ino = p1.exists ? p1.ino : 0;
  if (two) f.target = p2.path;
  if (std::string what; env.guard->spool_target(f, &what)) {  // vigil's journal or spool: a tamper attempt
    judge.judge(ev, row.enforce);
    env.guard->tamper(ev, what);
    return finish(EPERM);
  }
  if (!judged()) return finish(EPERM);

  if (t == "truncate" && env.exec_pinned && env.exec_pinned(p1.dev, p1.ino)) return finish(ETXTBSY);  // (Env::exec_pinned)
  // truncate(2) of a regular file breaks a lease the app holds on it
  // (F_SETLEASE) and waits for it as an open does (open_call), with no
  // O_NONBLOCK to try first: it is made on a worker, on the handle judged
  // with the caller's credentials (copies), which answers with its result.
  if (t == "truncate" && env.pool && S_ISREG(p1.mode)) {
    auto handle = std::make_shared<Owned>(p1.fd);
    p1.fd = -1;
    env.pool->run(id, [handle, len = off_t(a.args[1]), creds]() -> int64_t {
      AsCaller as(creds);
      if (!as.ok()) return -EPERM;
      return truncate(fmt::format("/proc/self/fd/{}", handle->fd).c_str(), len) == 0 ? 0 : -errno;
    });
    judge.emit(std::move(ev));  // answered by the worker
    return true;
  }

  // The call, on the handles judged, as the caller.
  const bool parent = r1 & probes::kParent;
  const std::string obj = fmt::format("/proc/self/fd/{}", p1.fd);  // the object itself (no path walk)
  const char* n1 = p1.name.c_str();
  int rc = 0;
  {
    AsCaller as(creds);
    if (!as.ok()) return finish(EPERM);
    if (t == "unlink" || t == "unlinkat") {
      rc = unlinkat(p1.fd, n1, t == "unlinkat" ? reg(2) : 0);
    } else if (t == "rmdir") {
      rc = unlinkat(p1.fd, n1, AT_REMOVEDIR);
    } else if (t.starts_with("mkdir")) {
      const mode_t mode = mode_t(f.mode >= 0 ? f.mode : 0777) & ~creds.umask & 07777;
      rc = mkdirat(p1.fd, n1, mode);
      if (rc == 0 && (own_umask() & mode)) fchmodat(p1.fd, n1, mode, 0);  // vigil's umask applied too
    } else if (t.starts_with("rename")) {
      rc = int(syscall(SYS_renameat2, p1.fd, n1, p2.fd, p2.name.c_str(), t == "renameat2" ? unsigned(reg(4)) : 0u));
    } else if (t.starts_with("link")) {
      rc = parent ? linkat(p1.fd, n1, p2.fd, p2.name.c_str(), 0)
                  : linkat(AT_FDCWD, obj.c_str(), p2.fd, p2.name.c_str(), AT_SYMLINK_FOLLOW);
    } else if (t.starts_with("symlink")) {
      rc = symlinkat(f.target.c_str(), p1.fd, n1);
    } else if (t == "chmod" || t.starts_with("fchmodat")) {
      if (S_ISLNK(p1.mode)) rc = -1, errno = EOPNOTSUPP;  // a symlink's mode cannot change
      else rc = fchmodat(AT_FDCWD, obj.c_str(), mode_t(f.mode >= 0 ? f.mode : 0) & 07777, 0);
    } else if (t.find("chown") != std::string::npos) {
      const int p = t == "fchownat" ? 2 : 1;
      rc = fchownat(p1.fd, "", uid_t(reg(p)), gid_t(reg(p + 1)), AT_EMPTY_PATH);
    } else if (t == "truncate") {
      rc = truncate(obj.c_str(), off_t(a.args[1]));
    } else if (times) {
      // The caller's own file with its flags (an O_PATH file and a null
      // path: EBADF, as its own call), else the resolved object through
      // /proc/self/fd/N (a null path would refuse vigil's O_PATH handle; the
      // magic link leads to the object itself, a symlink's own too).
      rc = fd_form ? int(syscall(SYS_utimensat, p1.fd, null_path ? nullptr : "", tm.ts, tflags))
                   : int(syscall(SYS_utimensat, AT_FDCWD, obj.c_str(), tm.ts, 0));
    }
  }
  const int err = rc < 0 ? errno : 0;
  struct stat st {};  // drift: a file whose times were set counts as written (probes/drift.hpp)
  if (times && !err && env.drift && f.path.starts_with("/") && fstat(p1.fd, &st) == 0 && S_ISREG(st.st_mode))
    env.drift->note_write(f.path, &st, ev.proc.get());
  if (procfs::own_resource(err)) return finish(env.guard->resource_fault(tid, "performing a call for the caller", err));
  return finish(err);
}

probes::Resolved resolve_as_caller(const Env& env, int tid, int tgid, const Creds& creds, int dirfd,
                                   const std::string& raw, unsigned flags) {
  probes::Resolved r;
  std::string start_path = "/";
  const probes::Caller who{tid, tgid, [&](int pid) { return env.guard->is_sensor(pid); }, env.own_root};
  Fd opened_root;
  const int root = probes::caller_root(who, &opened_root.fd);  // vigil's own when the same (the root cache)
  Fd start(raw.starts_with("/") ? -1 : probes::open_caller_dir(tid, dirfd, &start_path));
  if (root < 0 || (!raw.starts_with("/") && start.fd < 0)) {
    const int e = root < 0 ? -root : -start.fd;
    r.err = root < 0 || dirfd == AT_FDCWD || procfs::own_resource(e) ? e : EBADF;
    r.what = root < 0 ? "the caller's root directory" : "the caller's start directory";
    return r;
  }
  AsCaller as(creds);
  if (!as.ok()) {
    r.err = EACCES, r.refused = true, r.what = as.why();
    return r;
  }
  if (raw.empty()) {
    r.err = ENOENT, r.what = "empty path";
    return r;
  }
  return probes::resolve_at(who, root, start.fd < 0 ? root : start.fd, start_path, raw, flags);
}

bool call(const Env& env, uint64_t id, int tid, int tgid, const probes::SyscallArgs& a, const probes::Probe& row,
          Event& ev) {
  const std::string_view t = row.type;
  if (t == "open" || t == "openat" || t == "openat2" || t == "creat" || t == "open_by_handle_at") {
    open_call(env, id, tid, tgid, a, row, std::move(ev));
    return true;
  }
  return path_call(env, id, tid, tgid, a, row, ev);
}

}  // namespace vigil::perform
