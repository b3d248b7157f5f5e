#include "probes/sensitive.hpp"

#include <dirent.h>
#include <fcntl.h>
#include <glob.h>
#include <sched.h>
#include <signal.h>
#include <sys/inotify.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <poll.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <climits>
#include <condition_variable>
#include <cstring>
#include <deque>
#include <filesystem>
#include <fstream>
#include <mutex>
#include <new>
#include <set>
#include <thread>
#include <tuple>
#include <unordered_set>
#include <utility>

#include <fmt/format.h>

namespace vigil {
namespace {

constexpr uint32_t kFileMask = IN_OPEN | IN_DONT_FOLLOW;
constexpr uint32_t kDirMask = IN_CREATE | IN_MOVED_TO | IN_ONLYDIR;
// A protected file's inode: written (through any name, fd or race), mode or
// owner changed. Its names are the directories' business (kProtectDirMask):
// IN_MOVE_SELF and IN_DELETE_SELF would say the same without the name.
constexpr uint32_t kWriteMask = IN_MODIFY | IN_CLOSE_WRITE | IN_ATTRIB | IN_DONT_FOLLOW;
constexpr uint32_t kProtectDirMask = IN_CREATE | IN_MOVED_TO | IN_DELETE | IN_MOVED_FROM | IN_ONLYDIR;

constexpr int64_t kRewriteNs = 2'000'000'000;

int64_t ns_of(const timespec& t) { return int64_t(t.tv_sec) * 1'000'000'000 + t.tv_nsec; }
int64_t clock_ns(clockid_t clock) {
  timespec ts{};
  clock_gettime(clock, &ts);
  return ns_of(ts);
}
int64_t realtime_ns() { return clock_ns(CLOCK_REALTIME); }

// Each entry of the directory open at fd but "." and "..", while fn(name)
// returns true; fd is taken (closed at the end).
template <class Fn>
void each_entry(int fd, Fn fn) {
  DIR* d = fdopendir(fd);
  if (d == nullptr) {
    ::close(fd);
    return;
  }
  while (dirent* e = readdir(d)) {
    const char* n = e->d_name;
    if (n[0] == '.' && (n[1] == 0 || (n[1] == '.' && n[2] == 0))) continue;
    if (!fn(n)) break;
  }
  closedir(d);
}

void append_change(std::string& s, const char* what) {
  if (s.find(what) != std::string::npos) return;
  if (!s.empty()) s += ',';
  s += what;
}

std::vector<std::string> expand(const std::string& pattern) {
  std::vector<std::string> out;
  glob_t g{};
  if (::glob(pattern.c_str(), GLOB_NOSORT, nullptr, &g) == 0)
    for (size_t i = 0; i < g.gl_pathc; ++i) out.emplace_back(g.gl_pathv[i]);
  globfree(&g);
  return out;
}

std::string parent_of(const std::string& p) {
  auto slash = p.rfind('/');
  return slash == 0 || slash == std::string::npos ? "/" : p.substr(0, slash);
}

// Releasing an inotify instance that has (had) watches waits for an SRCU grace
// period of fsnotify (fsnotify_destroy_group flushes the mark reaper): 5-20 ms
// measured on a busy 6.x host, paid by whoever drops the last reference, i.e.
// by `vigil run` between the app's exit and its own. Here a grandchild takes
// that last reference: it keeps nothing else open (nobody waiting for EOF on
// our stdout waits for it) and closes `fd` once the gate pipe reports that this
// process has closed its copies; the intermediate child exits at once, so no
// zombie is left for anyone's waitpid(-1). Both are clone(CLONE_VM) children:
// a fork of this multi-threaded process would copy its page tables and
// write-protect them (a TLB flush on every CPU running one of its threads),
// ~5 ms on a busy 2-vCPU VM (docs/bench.md, "Startup"); sharing the memory
// costs neither, and the grandchild, which holds vigil's memory after vigil
// exits, also takes its tear-down off vigil's exit. As PID 1 (whose exit waits
// for its whole namespace anyway), or if a clone fails, fd is closed in place.
struct Handover {
  int fd;
  int gate;        // read end: EOF once this process has closed the write end
  char* stack;     // the grandchild's (the intermediate child runs on ours)
  size_t stack_bytes;
};

// The children run in this process's memory with its TLS: raw system calls
// only (no errno, no cancellation state, no allocation), every signal blocked.
int hold_last_reference(void* arg) {
  const Handover h = *static_cast<const Handover*>(arg);
  unsigned from = 0;
  for (int keep : {std::min(h.fd, h.gate), std::max(h.fd, h.gate)}) {
    if (unsigned(keep) > from) syscall(SYS_close_range, from, keep - 1, 0);
    from = keep + 1;
  }
  syscall(SYS_close_range, from, ~0u, 0);
  char c;
  syscall(SYS_read, h.gate, &c, 1);  // EOF (no signal can interrupt it)
  syscall(SYS_close, h.fd);
  return 0;
}

int start_holder(void* arg) {
  const auto* h = static_cast<const Handover*>(arg);
  clone(hold_last_reference, h->stack + h->stack_bytes, CLONE_VM, arg);  // no exit signal: reaped by whoever adopts it
  return 0;  // the grandchild is adopted (by init or the nearest subreaper)
}

void close_detached(int fd, bool slow_release) {
  // The grandchild's stack stays mapped for the life of this process (64 KiB
  // of address space, a page or two touched, once per watch): the grandchild
  // may still run on it after we return.
  constexpr size_t kStack = 64 * 1024;
  int gate[2];
  if (!slow_release || getpid() == 1 || pipe2(gate, O_CLOEXEC) != 0) {
    ::close(fd);
    return;
  }
  void* stack = mmap(nullptr, kStack, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_STACK, -1, 0);
  if (stack == MAP_FAILED) {
    ::close(gate[0]);
    ::close(gate[1]);
    ::close(fd);
    return;
  }
  // The hand-over's data at the bottom of the grandchild's stack: ours is gone when it reads them.
  auto* h = new (stack) Handover{fd, gate[0], static_cast<char*>(stack), kStack};
  sigset_t all, old;
  sigfillset(&all);
  pthread_sigmask(SIG_SETMASK, &all, &old);
  // The intermediate child runs on this stack while we are suspended (CLONE_VFORK) until it exits.
  alignas(16) char mid_stack[16 * 1024];
  const pid_t mid = clone(start_holder, mid_stack + sizeof mid_stack, CLONE_VM | CLONE_VFORK | SIGCHLD, h);
  pthread_sigmask(SIG_SETMASK, &old, nullptr);
  if (mid > 0) waitpid(mid, nullptr, 0);
  else munmap(stack, kStack);
  ::close(fd);
  ::close(gate[1]);
  ::close(gate[0]);
}

}  // namespace

SensitiveWatch::~SensitiveWatch() {
  if (fd_ >= 0) close_detached(fd_, !watches_.empty() && !handed_);
}

std::vector<std::string> SensitiveWatch::default_patterns() {
  std::vector<std::string> out = {
      "/etc/shadow", "/etc/gshadow", "/etc/shadow-", "/etc/gshadow-", "/etc/sudoers",
      "/etc/sudoers.d/*", "/etc/ssh/ssh_host_*_key", "/var/run/secrets/kubernetes.io/serviceaccount/token",
      "/run/secrets/*", "/var/run/secrets/*",
  };
  // Per-user secrets, for root and every home directory.
  for (const char* home : {"/root", "/home/*"})
    for (const char* rel : {"/.ssh/id_*", "/.ssh/authorized_keys", "/.aws/credentials", "/.aws/config",
                            "/.docker/config.json", "/.kube/config", "/.config/gcloud/credentials.db",
                            "/.config/gcloud/application_default_credentials.json", "/.azure/accessTokens.json",
                            "/.netrc", "/.git-credentials", "/.pgpass"})
      out.push_back(std::string(home) + rel);
  return out;
}

bool SensitiveWatch::start(std::vector<std::string> patterns, std::string* error) {
  patterns_ = std::move(patterns);
  fd_ = inotify_init1(IN_NONBLOCK | IN_CLOEXEC);
  if (fd_ < 0) {
    *error = std::string("sensitive-file watch: inotify_init1 failed: ") + std::strerror(errno) +
             " (raise fs.inotify.max_user_instances or disable the watch)";
    return false;
  }
  rescan();
  return true;
}

SensitiveWatch::Watch* SensitiveWatch::add(const std::string& path, Kind kind, const struct stat* known,
                                           const char* target) {
  const uint32_t mask = kind == kRead ? kFileMask : kind == kWrite ? kWriteMask : kind == kRescanDir ? kDirMask : kProtectDirMask;
  struct stat st {};
  if (kind == kWrite && known) st = *known;
  else if (kind == kWrite && ::lstat(path.c_str(), &st) != 0) return nullptr;
  // IN_MASK_ADD: an inode watched already (a sensitive file also protected,
  // a hard link) keeps what it was watched for.
  int wd = inotify_add_watch(fd_, target ? target : path.c_str(), mask | IN_MASK_ADD);
  if (wd < 0) {  // gone meanwhile, not a directory, or out of watches
    out_of_watches_ += errno == ENOSPC;
    exhausted_ += errno == ENOSPC;
    return nullptr;
  }
  Watch& w = watches_[wd];
  if (w.kinds == 0) w.path = path, w.dir = kind == kRescanDir || kind == kProtectDir;
  if (kind == kWrite && !(w.kinds & kWrite))
    w.dev = st.st_dev, w.ino = st.st_ino, w.mode = st.st_mode, w.uid = st.st_uid, w.gid = st.st_gid;
  if (kind == kProtectDir && w.ino == 0)  // (recheck: a directory watched already is not new)
    if (struct stat ds {}; ::stat(target ? target : path.c_str(), &ds) == 0) w.dev = ds.st_dev, w.ino = ds.st_ino;
  if (!(w.kinds & (kRead | kWrite | kProtectDir))) ++protected_count_;
  w.kinds |= kind;
  return &w;
}

size_t SensitiveWatch::protect(const ProtectedObjects& objects, std::vector<Learnt>* learned,
                               const std::atomic<bool>* cancel) {
  auto cancelled = [&] { return cancel && cancel->load(std::memory_order_relaxed); };
  using Use = ProtectedObjects::Use;
  // inotify watches are counted per user, the app's own included (file
  // watchers of dev servers, ...): vigil takes a quarter of the limit at most.
  // The limit is the lowest of the system's and this user namespace's (a
  // container with a user namespace may have its own, lower).
  size_t limit = 0;  // 0: not known
  for (const char* path : {"/proc/sys/fs/inotify/max_user_watches", "/proc/sys/user/max_inotify_watches"})
    if (size_t v = 0; (std::ifstream(path) >> v) && v > 0) limit = limit ? std::min(limit, v) : v;
  const size_t budget = (limit ? limit : 8192) / 4;
  size_t skipped = 0;
  auto room = [&] {
    if (protected_watches() < budget) return true;
    ++skipped;
    return false;
  };
  auto file = [&](const std::string& path, uint8_t use, const struct stat* st = nullptr) {
    if ((use & Use::kWrites) && room()) add(path, kWrite, st);
    if ((use & Use::kReads) && room()) add(path, kRead);
  };
  auto dir = [&](const std::string& path, uint8_t use) {
    if (room())
      if (Watch* w = add(path, kProtectDir)) w->all |= use;
  };
  // A name in its parent's watch: made, deleted, renamed away or into place
  // (protected_entry; a directory that appears there is listed).
  auto name = [&](const std::string& path, uint8_t use) {
    if (path.size() < 2 || !room()) return;
    if (Watch* w = add(parent_of(path), kProtectDir)) w->names[path.substr(path.rfind('/') + 1)] |= use;
  };
  out_of_watches_ = 0;
  baseline_ns_ = realtime_ns();  // (before any watch: a change from now on is one an overflow can hide)
  // Names first (few, and what a rule names outright), then directories, then the files below them.
  // A name that is a directory by now (a home's .ssh: Judge::learn_identities leaves its lstat to this
  // thread) is walked as the `walk` directories are, first of them.
  std::deque<ProtectedObjects::Object> todo;
  for (const auto& n : objects.names) {
    struct stat st {};
    const bool there = ::lstat(n.path.c_str(), &st) == 0;
    if (there && S_ISREG(st.st_mode)) file(n.path, n.use);
    if (there && S_ISDIR(st.st_mode)) {
      todo.push_back(n);
      if (learned) learned->push_back({n.path, st.st_dev, st.st_ino, true});
    }
    name(n.path, n.use);
  }
  // A directory a rule names is watched by its name too, not only as the
  // inode found now: renamed away and replaced by a tree prepared elsewhere
  // (`mv cron.d old; mv prep cron.d`: no trapped call names a file below
  // it), the tree now under that name is listed and watched. (Below the
  // top, block rules' subdirectories are named by their parents' watches.)
  std::unordered_set<std::string_view> block_dirs;
  for (const auto& d : objects.dirs) block_dirs.insert(d.path);
  for (const auto& d : objects.dirs) {
    dir(d.path, d.use);
    if (!block_dirs.count(parent_of(d.path))) name(d.path, d.use);
  }
  for (const auto& d : objects.walk) name(d.path, d.use);
  // The directories only alert rules name: walked here, off the app's start
  // (~25 ms with the default rules). Each is watched before it is listed: an
  // entry made after its watch is reported, one made before is listed, none
  // falls between, and the first directories are covered while the walk goes
  // on. Stopped (the app exited) in the middle: what is left does not matter
  // any more.
  struct Found {
    ProtectedObjects::Object obj;
    struct stat st;
  };
  // Breadth first, across all of them: the cap on files takes the shallow
  // files of every directory (/usr/sbin/x) before deep ones (/usr/lib/a/b/c).
  // Every directory is watched before any file below it: what is left out
  // for lack of watches is files first.
  std::vector<Found> walked_files;
  todo.insert(todo.end(), objects.walk.begin(), objects.walk.end());
  while (!todo.empty() && walked_files.size() < objects.walk_files) {
    if (cancelled()) return skipped;
    const ProtectedObjects::Object d = std::move(todo.front());
    todo.pop_front();
    dir(d.path, d.use);
    const int fd = ::open(d.path.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0) continue;
    // Checked at every entry: the tracer joins this thread when the app exits
    // (a /bin/true would otherwise wait for a directory of thousands).
    each_entry(fd, [&](const char* name) {
      if (cancelled()) return false;
      struct stat st {};
      if (fstatat(fd, name, &st, AT_SYMLINK_NOFOLLOW) != 0) return true;
      std::string path = d.path + "/" + name;
      if (S_ISREG(st.st_mode) && walked_files.size() < objects.walk_files) walked_files.push_back({{path, d.use}, st});
      else if (S_ISDIR(st.st_mode)) todo.push_back({path, d.use});
      else return true;
      if (learned) learned->push_back({std::move(path), st.st_dev, st.st_ino, S_ISDIR(st.st_mode)});
      return true;
    });
  }
  for (const auto& d : todo)  // not listed (the cap): their entries' names still watched
    if (!cancelled()) dir(d.path, d.use);
  for (const auto& f : objects.files) file(f.path, f.use);
  for (const auto& f : walked_files)
    if (!cancelled()) file(f.obj.path, f.obj.use, &f.st);
  return skipped + out_of_watches_;
}

void SensitiveWatch::rescan() {
  std::set<std::pair<std::string, uint8_t>> have;
  for (const auto& [wd, w] : watches_)
    for (uint8_t k : {kRead, kRescanDir})
      if (w.kinds & k) have.insert({w.path, k});
  auto want = [&](const std::string& path, Kind kind) {
    if (have.insert({path, kind}).second) add(path, kind);
  };
  std::set<std::string> parents;  // patterns share parents (/etc, /home/*/.aws): glob each once
  for (const auto& pat : patterns_) {
    if (parents.insert(parent_of(pat)).second)
      for (const auto& dir : expand(parent_of(pat))) want(dir, kRescanDir);
    for (const auto& file : expand(pat)) {
      struct stat st;
      if (::lstat(file.c_str(), &st) == 0 && S_ISREG(st.st_mode)) want(file, kRead);
    }
  }
}

// An entry of a watched directory created, removed or renamed: a hit when its
// name is watched for changes (the directory's every entry, or one named by a
// rule); what now stands under that name is watched in turn (for reads too).
void SensitiveWatch::protected_entry(const Watch& dir, const inotify_event& ev, std::vector<SensitiveOpen>* out,
                                     std::unordered_map<uint32_t, size_t>* moves) {
  if (ev.len == 0 || ev.name[0] == 0) return;
  const std::string name = ev.name;
  uint8_t use = dir.all;
  if (auto n = dir.names.find(name); n != dir.names.end()) use |= n->second;
  if (use == 0) return;
  const std::string path = (dir.path == "/" ? "" : dir.path) + "/" + name;
  SensitiveOpen h;
  h.path = path;
  h.time_ns = realtime_ns();
  struct stat st {};
  const bool exists = (ev.mask & (IN_CREATE | IN_MOVED_TO)) && ::lstat(path.c_str(), &st) == 0;
  if (exists) {
    h.dev = st.st_dev, h.ino = st.st_ino;
    if (S_ISREG(st.st_mode)) {
      if (use & ProtectedObjects::kWrites) add(path, kWrite);
      if (use & ProtectedObjects::kReads) add(path, kRead);
    } else if (S_ISDIR(st.st_mode)) {
      appeared_dir(path, st, use, out);
    }
  }
  if (!(use & ProtectedObjects::kWrites)) return;  // watched for reads only: no change to report
  if (ev.mask & IN_CREATE) {
    h.change = "create";
    if (exists && S_ISDIR(st.st_mode)) h.type = "mkdir", h.mode = st.st_mode & 07777;
    else if (exists && S_ISLNK(st.st_mode)) h.type = "symlink";
    else if (exists && S_ISREG(st.st_mode) && st.st_nlink > 1) h.type = "link";
    else h.type = "open", h.flags = O_WRONLY | O_CREAT, h.mode = exists ? int64_t(st.st_mode & 07777) : -1;
  } else if (ev.mask & IN_DELETE) {
    h.change = "delete";
    h.type = (ev.mask & IN_ISDIR) ? "rmdir" : "unlink";
  } else if (ev.mask & IN_MOVED_FROM) {
    h.change = "moved_from";
    h.type = "rename";
    (*moves)[ev.cookie] = out->size();
  } else if (ev.mask & IN_MOVED_TO) {
    if (auto m = moves->find(ev.cookie); m != moves->end()) {  // both names seen: one rename
      SensitiveOpen& from = (*out)[m->second];
      from.target = path, from.dev = h.dev, from.ino = h.ino;
      append_change(from.change, "moved_to");
      return;
    }
    h.change = "moved_to";
    h.type = "rename";
    h.target = path;  // the old name is in a directory vigil does not watch
  } else {
    return;
  }
  out->push_back(std::move(h));
}

// A directory that appeared under a protected name (made, or renamed into
// place: a tree prepared elsewhere, "mv /tmp/x /root/.ssh") is watched
// (protected_entry) and only then listed: what it held already, or what was
// made in it before its watch, is watched too and reported as created (an
// `open` with O_CREAT, args.inotify "listed"), its subdirectories alike,
// breadth first, at most kMaxListed entries an appearance. The app can swap
// any directory of that tree for a symbolic link meanwhile: each is opened
// without following a link and taken only if it is the inode its parent's
// listing showed (dev, ino); its watch and its files' are added through that
// open directory (/proc/self/fd/N), never by a path that could lead elsewhere.
void SensitiveWatch::appeared_dir(const std::string& top, const struct stat& top_st, uint8_t use,
                                  std::vector<SensitiveOpen>* out) {
  constexpr size_t kMaxListed = 4096;
  size_t listed = 0;
  struct Dir {
    std::string path;
    dev_t dev;
    ino_t ino;
  };
  std::deque<Dir> todo = {{top, top_st.st_dev, top_st.st_ino}};
  while (!todo.empty() && listed < kMaxListed) {
    const Dir dir = std::move(todo.front());
    todo.pop_front();
    const int fd = ::open(dir.path.c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    struct stat st {};
    if (fd < 0) continue;
    if (fstat(fd, &st) != 0 || st.st_dev != dir.dev || st.st_ino != dir.ino) {  // swapped since it was listed
      ::close(fd);
      continue;
    }
    const std::string self = "/proc/self/fd/" + std::to_string(fd);
    if (Watch* w = add(dir.path, kProtectDir, nullptr, self.c_str())) w->all |= use;
    each_entry(fd, [&](const char* name) {
      if (fstatat(fd, name, &st, AT_SYMLINK_NOFOLLOW) != 0) return true;
      ++listed;
      std::string path = dir.path + "/" + name;
      const std::string in_dir = self + "/" + name;
      if (S_ISDIR(st.st_mode)) {
        todo.push_back({path, st.st_dev, st.st_ino});  // (watched once opened and checked)
      } else if (S_ISREG(st.st_mode)) {
        if (use & ProtectedObjects::kWrites) add(path, kWrite, &st, in_dir.c_str());
        if (use & ProtectedObjects::kReads) add(path, kRead, nullptr, in_dir.c_str());
      }
      if (!(use & ProtectedObjects::kWrites) || S_ISDIR(st.st_mode)) return listed < kMaxListed;
      SensitiveOpen& h = out->emplace_back();
      h.path = std::move(path);
      h.time_ns = realtime_ns();
      h.dev = st.st_dev, h.ino = st.st_ino;
      h.change = "listed";
      h.appeared = top;
      if (S_ISLNK(st.st_mode)) h.type = "symlink";
      else if (S_ISREG(st.st_mode) && st.st_nlink > 1) h.type = "link";
      else h.type = "open", h.flags = O_WRONLY | O_CREAT, h.mode = st.st_mode & 07777;
      return listed < kMaxListed;
    });
  }
}

std::vector<SensitiveOpen> SensitiveWatch::read_events(bool last, size_t max) {
  std::vector<SensitiveOpen> out;
  alignas(inotify_event) char buf[16384];
  bool need_rescan = false;
  std::unordered_map<int, size_t> written;     // wd -> its write hit in out (one per file per call)
  std::unordered_map<uint32_t, size_t> moves;  // rename cookie -> its hit in out
  bool overflowed = false;
  while (out.size() < max) {
    ssize_t n = ::read(fd_, buf, sizeof buf);
    if (n <= 0) break;  // EAGAIN: drained
    for (char* p = buf; p < buf + n;) {
      auto* ev = reinterpret_cast<inotify_event*>(p);
      p += sizeof(inotify_event) + ev->len;
      if (ev->mask & IN_Q_OVERFLOW) {
        need_rescan = true;
        overflowed = true;
        ++overflows_;
        continue;
      }
      auto it = watches_.find(ev->wd);
      if (it == watches_.end()) continue;
      Watch& w = it->second;
      if (ev->mask & IN_IGNORED) {  // file deleted or replaced: watch the new one
        protected_count_ -= (w.kinds & (kRead | kWrite | kProtectDir)) != 0;
        watches_.erase(it);
        need_rescan = true;
        continue;
      }
      if (w.dir) {
        if (w.kinds & kRescanDir) need_rescan = true;
        if (w.kinds & kProtectDir) protected_entry(w, *ev, &out, &moves);
        continue;
      }
      if ((w.kinds & kRead) && (ev->mask & IN_OPEN)) {
        SensitiveOpen o{w.path};
        struct stat st;
        if (::stat(o.path.c_str(), &st) == 0) o.dev = st.st_dev, o.ino = st.st_ino;
        out.push_back(std::move(o));
      }
      if (!(w.kinds & kWrite) || !(ev->mask & (IN_MODIFY | IN_CLOSE_WRITE | IN_ATTRIB))) continue;
      // The watched inode itself: renamed or linked, it keeps the rule's name (sensor/judge.cpp).
      struct stat st {};
      const bool have = ::lstat(w.path.c_str(), &st) == 0 && st.st_dev == w.dev && st.st_ino == w.ino;
      auto hit = [&](const char* type) -> SensitiveOpen& {
        SensitiveOpen& h = out.emplace_back();
        h.path = w.path, h.type = type, h.time_ns = realtime_ns(), h.dev = w.dev, h.ino = w.ino;
        return h;
      };
      // One write hit from a file's first write to its next close, or per
      // kRewriteNs of writes through a long-held fd: a write reported, its
      // close is not again; a close with no write before it (a write-open,
      // or writes through a mapping) is.
      if (ev->mask & (IN_MODIFY | IN_CLOSE_WRITE)) {
        auto at = written.find(ev->wd);
        const int64_t now = realtime_ns();
        if (at == written.end() && (!w.writing || now - w.reported_ns > kRewriteNs)) {
          at = written.emplace(ev->wd, out.size()).first;
          hit("open").flags = O_WRONLY;
          w.reported_ns = now;
        }
        if (at != written.end()) append_change(out[at->second].change, (ev->mask & IN_MODIFY) ? "modify" : "close_write");
        w.writing = (ev->mask & IN_MODIFY) != 0;
      }
      if ((ev->mask & IN_ATTRIB) && have) {
        if ((st.st_mode & 07777) != (w.mode & 07777)) {
          SensitiveOpen& h = hit("chmod");
          h.mode = st.st_mode & 07777, h.change = "attrib";
        }
        if (st.st_uid != w.uid || st.st_gid != w.gid) {
          SensitiveOpen& h = hit("chown");
          h.uid = st.st_uid, h.gid = st.st_gid, h.change = "attrib";
        }
        w.mode = st.st_mode, w.uid = st.st_uid, w.gid = st.st_gid;  // links and times: no hit
      }
    }
  }
  if (need_rescan && !patterns_.empty()) rescan();
  recheck_pending_ |= overflowed;
  const int64_t mono = clock_ns(CLOCK_MONOTONIC);
  if (recheck_pending_ && (last || mono - rechecked_mono_ns_ >= kRecheckNs)) {
    recheck(&out, &moves);
    recheck_pending_ = false;
    rechecked_mono_ns_ = mono;
  }
  return out;
}

// The queue overflowed: events were lost, the app may have filled it on
// purpose to hide a change. What the lost events would have said is found
// by change time: a watched file whose ctime is past the last look was
// written (or its mode or owner changed) meanwhile; an entry of a watched
// directory (every entry, or a name a rule gives) whose ctime is past it is
// new or changed, and is taken as created (watched, reported; a directory
// listed). The app cannot set a ctime back (only the clock, CAP_SYS_TIME).
// Reported with args.inotify "overflow", unattributed unless a holder is
// found. Not seen: an entry removed meanwhile that was not watched itself.
void SensitiveWatch::recheck(std::vector<SensitiveOpen>* out, std::unordered_map<uint32_t, size_t>* moves) {
  // (ctime comes from the kernel's coarse clock, a tick behind the fine one: a margin)
  const int64_t since = baseline_ns_ - 20'000'000;
  baseline_ns_ = realtime_ns();
  auto ctime_ns = [](const struct stat& st) { return ns_of(st.st_ctim); };
  const size_t first = out->size();
  std::set<std::tuple<dev_t, ino_t, int64_t>> reported;  // (the next recheck's rechecked_)
  auto again = [&](const struct stat& st) {  // reported by the last recheck already (the same ctime)
    const auto key = std::make_tuple(st.st_dev, st.st_ino, ctime_ns(st));
    reported.insert(key);
    return rechecked_.count(key) != 0;
  };
  std::set<std::pair<dev_t, ino_t>> files;  // the watched files' and directories' inodes: not new as entries
  std::vector<int> dirs;
  std::unordered_map<std::string, std::pair<dev_t, ino_t>> dir_ids;  // watched directories by path
  for (const auto& [wd, w] : watches_)
    if (w.dir && (w.kinds & kProtectDir)) dirs.push_back(wd), files.insert({w.dev, w.ino}), dir_ids[w.path] = {w.dev, w.ino};
  // The directory at path opened, if it is still the one watched there (or
  // not a watched one): -1 when it was replaced, by a symbolic link to a
  // decoy tree, say, whose contents are not the watched ones' (*replaced set).
  auto open_dir = [&](std::string_view path, bool* replaced) {
    *replaced = false;
    const std::string p(path);
    const int fd = ::open(p.c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    const int err = errno;
    auto it = dir_ids.find(p);
    if (it == dir_ids.end() || it->second.second == 0) return fd;
    struct stat st {};
    if (fd < 0) *replaced = err == ELOOP || err == ENOTDIR;
    else if (fstat(fd, &st) != 0 || st.st_dev != it->second.first || st.st_ino != it->second.second) *replaced = true;
    if (*replaced && fd >= 0) ::close(fd);
    return *replaced ? -1 : fd;
  };
  for (auto& [wd, w] : watches_) {
    if (w.dir || !(w.kinds & kWrite)) continue;
    files.insert({w.dev, w.ino});
    auto hit = [&](const char* type) -> SensitiveOpen& {
      SensitiveOpen& h = out->emplace_back();
      h.path = w.path, h.type = type, h.time_ns = realtime_ns(), h.dev = w.dev, h.ino = w.ino;
      return h;
    };
    struct stat st {};
    if (::lstat(w.path.c_str(), &st) != 0) {
      // (its watch went with it, or goes at the next look; not if its
      // directory was replaced: the file is then elsewhere, not removed)
      bool replaced = false;
      if (errno == ENOENT) {
        if (const int fd = open_dir(std::string_view(w.path).substr(0, w.path.rfind('/')), &replaced); fd >= 0) ::close(fd);
        if (!replaced) hit("unlink");
      }
      continue;
    }
    if (st.st_dev != w.dev || st.st_ino != w.ino || ctime_ns(st) < since || again(st)) continue;  // (replaced: its directory's look)
    // ctime moves for a write and for a mode or owner change; mtime for a
    // write, and the app can set it back (utimensat): a ctime change that no
    // mode or owner change explains is a write too.
    const bool attrs = (st.st_mode & 07777) != (w.mode & 07777) || st.st_uid != w.uid || st.st_gid != w.gid;
    if (!attrs || ns_of(st.st_mtim) >= since) hit("open").flags = O_WRONLY;
    if (attrs) {
      SensitiveOpen& a = hit((st.st_mode & 07777) != (w.mode & 07777) ? "chmod" : "chown");
      a.mode = st.st_mode & 07777, a.uid = st.st_uid, a.gid = st.st_gid;
      w.mode = st.st_mode, w.uid = st.st_uid, w.gid = st.st_gid;
    }
  }
  alignas(inotify_event) char buf[sizeof(inotify_event) + NAME_MAX + 1];
  auto* ev = reinterpret_cast<inotify_event*>(buf);
  for (int wd : dirs) {
    auto it = watches_.find(wd);
    if (it == watches_.end()) continue;
    const Watch dir = it->second;  // (a copy: protected_entry may add watches, and rehash)
    // The directory the watch is on, or none: one on the way to it replaced
    // would otherwise have a decoy listed as it (a replaced directory is its
    // parent's watch's to report, by name).
    bool replaced;
    const int fd = open_dir(dir.path, &replaced);
    if (fd < 0) continue;
    each_entry(fd, [&](const char* name) {
      const size_t len = std::strlen(name);
      if (len > NAME_MAX || (dir.all == 0 && !dir.names.count(name))) return true;
      struct stat st {};
      if (fstatat(fd, name, &st, AT_SYMLINK_NOFOLLOW) != 0 || ctime_ns(st) < since) return true;
      if (files.count({st.st_dev, st.st_ino}) || again(st)) return true;
      *ev = inotify_event{};
      ev->wd = wd, ev->mask = IN_CREATE | (S_ISDIR(st.st_mode) ? IN_ISDIR : 0), ev->len = uint32_t(len + 1);
      std::memcpy(ev->name, name, len + 1);
      protected_entry(dir, *ev, out, moves);
      return true;
    });
  }
  for (size_t i = first; i < out->size(); ++i) (*out)[i].change = "overflow";
  rechecked_ = std::move(reported);
}

size_t SensitiveWatch::watched_files() const {
  size_t n = 0;
  for (const auto& [wd, w] : watches_) n += (w.kinds & kRead) != 0;
  return n;
}

size_t SensitiveWatch::protected_watches() const { return protected_count_; }

std::vector<pid_t> attribute_open(dev_t dev, ino_t ino, const std::vector<pid_t>& candidates,
                                  const char* proc_root) {
  std::vector<pid_t> out;
  for (pid_t pid : candidates) {
    std::string dir = std::string(proc_root) + "/" + std::to_string(pid) + "/fd";
    DIR* d = opendir(dir.c_str());
    if (d == nullptr) continue;  // exited
    while (dirent* e = readdir(d)) {
      if (e->d_name[0] == '.') continue;
      struct stat st;
      if (fstatat(dirfd(d), e->d_name, &st, 0) == 0 && st.st_dev == dev && st.st_ino == ino) {
        out.push_back(pid);
        break;
      }
    }
    closedir(d);
  }
  return out;
}

bool argv_names(const Process& p, const std::string& path) {
  for (size_t i = 1; i < p.argv.size(); ++i) {
    const std::string& a = p.argv[i];
    if (a == path) return true;
    if (!a.empty() && a[0] != '/' && !p.cwd.empty() &&
        (std::filesystem::path(p.cwd) / a).lexically_normal() == std::filesystem::path(path))
      return true;
  }
  return false;
}

void RecentReaders::exited(ProcessPtr p, int64_t at_ns) {
  if (!p) return;
  exited_.emplace_back(std::move(p), at_ns);
  if (exited_.size() > kKeep) exited_.pop_front();
}

ProcessPtr RecentReaders::by_argv(const std::string& path, const std::vector<ProcessPtr>& alive,
                                  int64_t report_ns) const {
  ProcessPtr best;
  auto consider = [&](const ProcessPtr& p) {
    if (p && p->start_ns <= report_ns && (!best || p->start_ns > best->start_ns) && argv_names(*p, path)) best = p;
  };
  for (const auto& p : alive) consider(p);
  for (const auto& [p, at] : exited_)
    if (report_ns - at <= kExitedNs) consider(p);
  return best;
}

bool parse_sensitive_patterns(const std::string& value, std::vector<std::string>* out, std::string* error) {
  out->clear();
  if (value == "none") return true;
  size_t start = 0;
  while (start <= value.size()) {
    size_t comma = value.find(',', start);
    if (comma == std::string::npos) comma = value.size();
    std::string item = value.substr(start, comma - start);
    if (item == "default") {
      auto d = SensitiveWatch::default_patterns();
      out->insert(out->end(), d.begin(), d.end());
    } else if (item.empty() || item[0] != '/') {
      *error = "invalid --sensitive-files entry '" + item +
               "': use absolute glob patterns (/etc/app/*.key), 'default' or 'none', comma-separated";
      return false;
    } else {
      out->push_back(item);
    }
    start = comma + 1;
  }
  return true;
}

std::vector<pid_t> descendants(pid_t pid, const char* proc_root) {
  std::vector<pid_t> out, todo = {pid};
  std::set<pid_t> seen = {pid};
  while (!todo.empty() && out.size() < 100000) {
    pid_t p = todo.back();
    todo.pop_back();
    std::string tasks = std::string(proc_root) + "/" + std::to_string(p) + "/task";
    DIR* d = opendir(tasks.c_str());
    if (d == nullptr) continue;
    while (dirent* e = readdir(d)) {
      if (e->d_name[0] == '.') continue;
      std::ifstream in(tasks + "/" + e->d_name + "/children");
      for (pid_t c; in >> c;)
        if (seen.insert(c).second) out.push_back(c), todo.push_back(c);
    }
    closedir(d);
  }
  return out;
}

struct SensitiveMonitor::Impl {
  SensitiveWatch watch;
  int stop_pipe[2] = {-1, -1};
  std::thread thread;
  std::mutex mu;
  std::vector<Hit> hits;
  // Reports the tracer has not taken yet (drain(): when it wakes, at least
  // every second): at most about kMaxHits. Beyond, the watch reads no more
  // (drained tells it there is room again) and inotify's own queue holds the
  // rest, whose overflow is counted, alerted and rechecked by change time.
  // Before 2026-12-07 the reports past 10000 were dropped without a word: an
  // app reading two watched files in a loop hid a later read or write
  // (tests/shell/probes_watch_backlog.sh).
  static constexpr size_t kMaxHits = 10000;
  std::condition_variable drained;

  std::string warning;  // for the tracer's log (take_warning)
  size_t exhausted = 0;  // take_exhausted
  size_t overflows = 0;  // take_overflows
  std::string info;             // take_setup
  Walked walked;                // take_setup
  std::atomic<bool> set_up{false};
  std::atomic<bool> stopping{false};  // stop(): the set-up ends early

  // Holders of the file (fd scan of the descendants, listed once per batch):
  // for reads and writes; a chmod, rename or unlink is made through no fd of
  // the file, so a holder would be the wrong process.
  size_t collect(pid_t self, bool last = false) {
    size_t room = SIZE_MAX;  // (last: the app is gone, what is queued is all there is)
    if (!last) {
      std::unique_lock<std::mutex> lock(mu);
      drained.wait(lock, [&] { return hits.size() < kMaxHits || stopping.load(std::memory_order_relaxed); });
      room = kMaxHits - std::min(hits.size(), kMaxHits);
    }
    std::vector<pid_t> candidates;
    bool listed = false;
    std::vector<SensitiveOpen> seen = watch.read_events(last, room);
    for (auto& o : seen) {
      Hit h{std::move(o), {}};
      if (h.open.ino != 0 && (!h.open.type || std::strcmp(h.open.type, "open") == 0)) {
        if (!listed) candidates = descendants(self), listed = true;
        h.pids = attribute_open(h.open.dev, h.open.ino, candidates);
      }
      std::lock_guard<std::mutex> lock(mu);
      hits.push_back(std::move(h));
    }
    note_faults();  // (a new entry's watch may have been refused)
    return seen.size();
  }

  void note_faults() {
    const size_t n = watch.take_exhausted(), o = watch.take_overflows();
    if (n || o) {
      std::lock_guard<std::mutex> lock(mu);
      exhausted += n;
      overflows += o;
    }
  }

  void loop(const ProtectedObjects& protect) {
    const pid_t self = getpid();
    const int64_t t0 = clock_ns(CLOCK_MONOTONIC);
    std::vector<Learnt> found;
    const size_t lost = watch.protect(protect, &found, &stopping);
    const int64_t t1 = clock_ns(CLOCK_MONOTONIC);
    if (!protect.empty()) {
      std::lock_guard<std::mutex> lock(mu);
      info = fmt::format(
          "rule-named files: {} inotify watches for what loaded rules can match ({} names, {} directories, {} files "
          "named; {} directories walked, {} entries found below them), set up in {:.1f} ms on the watch thread{}{}",
          watch.protected_watches(), protect.names.size(), protect.dirs.size(), protect.files.size(),
          protect.walk.size(), found.size(),
          double(t1 - t0) / 1e6,
          lost ? fmt::format("; {} left out", lost) : "",
          stopping.load(std::memory_order_relaxed) ? " (stopped early: the app exited)" : "");
      walked = Walked(std::move(found));
      set_up.store(true, std::memory_order_release);
    }
    note_faults();
    if (lost) {
      std::lock_guard<std::mutex> lock(mu);
      warning = fmt::format(
          "protected files: {} files or directories not watched for changes (vigil takes at most a quarter of "
          "fs.inotify.max_user_watches, shared with the app: raise it); a write to those that a racing thread hides "
          "from vigil's read, and reads of those, are not seen",
          lost);
    }
    pollfd fds[2] = {{watch.fd(), POLLIN, 0}, {stop_pipe[0], POLLIN, 0}};
    for (;;) {
      const int n = poll(fds, 2, watch.recheck_pending() ? int(SensitiveWatch::kRecheckNs / 1'000'000) : -1);
      if (n < 0 && errno != EINTR) return;
      if (n == 0) {  // an overflow's recheck is due
        collect(self);
        continue;
      }
      if (fds[1].revents) return (void)collect(self, true);  // what is queued at stop still counts
      // A batch with nothing to report (a watched file written in a loop,
      // e.g. a log an alert rule names, after its first write was reported:
      // one IN_MODIFY per write): 10 ms without reading, in which inotify
      // merges them; at most ~100 such wake-ups a second.
      if ((fds[0].revents & POLLIN) && collect(self) == 0 && poll(&fds[1], 1, 10) > 0) return (void)collect(self, true);
    }
  }
};

SensitiveMonitor::SensitiveMonitor() = default;
SensitiveMonitor::~SensitiveMonitor() { stop(); }

bool SensitiveMonitor::hand_over(const std::function<bool(int)>& take) {
  if (!impl_) return false;
  stop();
  SensitiveWatch& w = impl_->watch;
  if (w.fd() < 0 || !w.has_watches() || !take(w.fd())) return false;
  w.handed_over();
  return true;
}

bool SensitiveMonitor::start(std::vector<std::string> patterns, std::string* error, ProtectedObjects protect) {
  return prepare(std::move(patterns), error) && start(error, std::move(protect));
}

bool SensitiveMonitor::prepare(std::vector<std::string> patterns, std::string* error) {
  impl_ = std::make_unique<Impl>();
  if (impl_->watch.start(std::move(patterns), error)) return true;
  impl_.reset();
  return false;
}

bool SensitiveMonitor::start(std::string* error, ProtectedObjects protect) {
  if (!impl_ && !prepare({}, error)) return false;
  if (pipe2(impl_->stop_pipe, O_CLOEXEC) != 0) {
    *error = std::string("sensitive-file watch: pipe: ") + std::strerror(errno);
    return false;
  }
  impl_->thread = std::thread([this, p = std::move(protect)] {
    prctl(PR_SET_NAME, "vigil-watch", 0, 0, 0);
    impl_->loop(p);
  });
  return true;
}

size_t SensitiveMonitor::take_exhausted() {
  if (!impl_) return 0;
  std::lock_guard<std::mutex> lock(impl_->mu);
  return std::exchange(impl_->exhausted, 0);
}

size_t SensitiveMonitor::take_overflows() {
  if (!impl_) return 0;
  std::lock_guard<std::mutex> lock(impl_->mu);
  return std::exchange(impl_->overflows, 0);
}

std::string SensitiveMonitor::take_warning() {
  if (!impl_) return {};
  std::lock_guard<std::mutex> lock(impl_->mu);
  return std::exchange(impl_->warning, {});
}

Walked::Walked(std::vector<Learnt> found) {
  for (auto& l : found)
    if (l.dir) dirs.push_back(std::move(l.path));
    else files.push_back(std::move(l));
  std::sort(files.begin(), files.end(), [](const Learnt& a, const Learnt& b) {
    return std::tie(a.dev, a.ino) < std::tie(b.dev, b.ino);
  });
  std::sort(dirs.begin(), dirs.end());
}

const Learnt* Walked::file(dev_t dev, ino_t ino) const {
  auto it = std::lower_bound(files.begin(), files.end(), std::pair{dev, ino}, [](const Learnt& a, const auto& k) {
    return std::tie(a.dev, a.ino) < std::tie(k.first, k.second);
  });
  return it != files.end() && it->dev == dev && it->ino == ino ? &*it : nullptr;
}

bool Walked::dir(std::string_view path) const {
  return std::binary_search(dirs.begin(), dirs.end(), path, std::less<>());
}

bool SensitiveMonitor::take_setup(std::string* info, Walked* walked) {
  if (!impl_ || !impl_->set_up.load(std::memory_order_acquire)) return false;
  std::lock_guard<std::mutex> lock(impl_->mu);
  *info = std::exchange(impl_->info, {});
  *walked = std::exchange(impl_->walked, Walked{});
  impl_->set_up.store(false, std::memory_order_relaxed);
  return true;
}

std::vector<SensitiveMonitor::Hit> SensitiveMonitor::drain() {
  std::vector<Hit> out;
  if (!impl_) return out;
  {
    std::lock_guard<std::mutex> lock(impl_->mu);
    out.swap(impl_->hits);
  }
  impl_->drained.notify_one();
  return out;
}

void SensitiveMonitor::stop() {
  if (!impl_ || !impl_->thread.joinable()) return;
  {
    std::lock_guard<std::mutex> lock(impl_->mu);  // (a collect() waiting for room sees it)
    impl_->stopping.store(true, std::memory_order_relaxed);
  }
  impl_->drained.notify_one();
  if (write(impl_->stop_pipe[1], "x", 1) != 1) {
  }
  impl_->thread.join();
  for (int& fd : impl_->stop_pipe) {
    ::close(fd);
    fd = -1;
  }
}

}  // namespace vigil
