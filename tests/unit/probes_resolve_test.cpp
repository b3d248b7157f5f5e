// probes/resolve: paths resolved as the caller sees them (issue 12): the
// object reached, not the string (symlinks, "..", /proc/self/*, magic links),
// and never the sensor's own /proc entries.
#include <fcntl.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cstdlib>
#include <fstream>
#include <iterator>
#include <string>
#include <vector>

#include <catch2/catch.hpp>

#include "probes/resolve.hpp"

using namespace vigil::probes;

namespace {

struct TempTree {
  std::string dir;
  int fd = -1;
  TempTree() {
    char tmpl[] = "/tmp/vigil-resolve-XXXXXX";
    dir = mkdtemp(tmpl);
    auto sh = [&](const std::string& cmd) { REQUIRE(std::system(("cd " + dir + " && " + cmd).c_str()) == 0); };
    sh("mkdir -p etc/protected sub/deep && echo secret > etc/protected/x && echo d > decoy");
    sh("ln -s /etc/protected/x lnk && ln -s etc/protected d && ln -s l2 l1 && ln -s l1 l2");
    sh("ln -s ../etc sub/up && ln etc/protected/x hard && ln -s /etc/protected/x/ slash");
    fd = open(dir.c_str(), O_PATH | O_DIRECTORY | O_CLOEXEC);
    REQUIRE(fd >= 0);
  }
  ~TempTree() {
    close(fd);
    std::system(("rm -rf " + dir).c_str());
  }
  ino_t ino(const std::string& rel) const {
    struct stat st {};
    REQUIRE(lstat((dir + "/" + rel).c_str(), &st) == 0);
    return st.st_ino;
  }
};

Caller me() { return Caller{int(getpid()), int(getpid()), nullptr}; }

}  // namespace

TEST_CASE("resolve_at: symlinks, '..' and missing names as the kernel resolves them", "[resolve]") {
  TempTree t;
  const int sub = openat(t.fd, "sub", O_PATH | O_DIRECTORY | O_CLOEXEC);
  REQUIRE(sub >= 0);
  const ino_t x = t.ino("etc/protected/x");
  // (t.dir stands for a chrooted caller's root: paths are named in vigil's view, below it)
  auto at = [&](std::string_view raw, unsigned flags) { return resolve_at(me(), t.fd, sub, t.dir + "/sub", raw, flags); };

  Resolved r = at("/lnk", kFollowLast);  // an absolute symlink: from the CALLER's root (t.dir)
  REQUIRE(r.ok());
  CHECK(r.exists);
  CHECK(r.path == t.dir + "/etc/protected/x");
  CHECK(r.ino == x);
  CHECK(S_ISREG(r.mode));

  r = at("/lnk", 0);  // O_NOFOLLOW: the link itself
  REQUIRE(r.ok());
  CHECK(r.path == t.dir + "/lnk");
  CHECK(S_ISLNK(r.mode));

  r = at("../../../../etc/protected/x", kFollowLast);  // '..' stops at the caller's root
  REQUIRE(r.ok());
  CHECK(r.path == t.dir + "/etc/protected/x");
  CHECK(r.ino == x);

  r = at("/d/../protected/x", kFollowLast);  // '..' of a dir symlink: the target's parent, not the lexical one
  REQUIRE(r.ok());
  CHECK(r.path == t.dir + "/etc/protected/x");
  CHECK(r.ino == x);

  r = at("up/protected/./x", kFollowLast);  // a relative symlink, relative to the start
  REQUIRE(r.ok());
  CHECK(r.path == t.dir + "/etc/protected/x");

  r = at("/hard", kFollowLast);  // a hard link: its own name, the same inode
  REQUIRE(r.ok());
  CHECK(r.path == t.dir + "/hard");
  CHECK(r.ino == x);

  r = at("/l1", kFollowLast);
  CHECK(r.err == ELOOP);
  r = at("/l1", 0);  // not followed: the link
  CHECK(r.ok());

  r = at("/d/new", kFollowLast | kMayNotExist);
  REQUIRE(r.ok());
  CHECK_FALSE(r.exists);
  CHECK(r.name == "new");
  CHECK(r.path == t.dir + "/etc/protected/new");
  struct stat st {};
  REQUIRE(fstat(r.fd, &st) == 0);
  CHECK(st.st_ino == t.ino("etc/protected"));

  CHECK(at("/nope/new", kMayNotExist).err == ENOENT);
  CHECK(at("/decoy/x", kFollowLast).err == ENOTDIR);
  CHECK(at("/decoy/", kFollowLast).err == ENOTDIR);
  CHECK(at("/slash", kFollowLast).err == ENOTDIR);  // a link to "x/" of a file
  CHECK(at("", kFollowLast).err == ENOENT);
  r = at("/", kFollowLast);
  REQUIRE(r.ok());
  CHECK(r.path == t.dir);
  close(sub);
}

TEST_CASE("resolve: /proc/self, /dev/fd and magic links mean the caller, never vigil", "[resolve]") {
  TempTree t;
  int ready[2];
  REQUIRE(pipe(ready) == 0);
  const pid_t child = fork();
  if (child == 0) {
    // The caller: cwd in the tree, fd 20 an O_PATH of the protected file, fd 21 read-only of it.
    if (chdir(t.dir.c_str()) < 0) _exit(1);
    dup2(open("etc/protected/x", O_PATH), 20);
    dup2(open("etc/protected/x", O_RDONLY), 21);
    // fd 22: read-only, vigil's (the parent's) oom_score_adj; fd 23: its own status.
    dup2(open(("/proc/" + std::to_string(getppid()) + "/oom_score_adj").c_str(), O_RDONLY), 22);
    dup2(open("/proc/self/status", O_RDONLY), 23);
    if (write(ready[1], "r", 1) != 1) _exit(1);
    pause();
    _exit(0);
  }
  char c;
  REQUIRE(read(ready[0], &c, 1) == 1);
  const Caller who{child, child, nullptr};
  const ino_t x = t.ino("etc/protected/x");
  const std::string real = t.dir + "/etc/protected/x";

  for (const char* raw : {"/proc/self/cwd/etc/protected/x", "/proc/thread-self/cwd/etc/protected/x", "/proc/self/fd/20",
                          "/proc/self/fd/21", "/dev/fd/21", "/proc/self/root/proc/self/cwd/d/../protected/x", "etc/../d/x"}) {
    INFO(raw);
    if (std::string_view(raw).starts_with("/dev/fd") && access("/dev/fd", F_OK) != 0) continue;
    Resolved r = resolve(who, AT_FDCWD, raw, kFollowLast);
    REQUIRE(r.ok());
    CHECK(r.ino == x);
  }
  // /proc/self/cwd: its path as the caller sees it (the magic link's target)
  Resolved r = resolve(who, AT_FDCWD, "/proc/self/cwd/etc/protected/x", kFollowLast);
  char buf[4096];
  REQUIRE(realpath(real.c_str(), buf));
  CHECK(r.path == buf);
  // relative to the caller's fd 20 (an O_PATH of a file): ENOTDIR
  CHECK(resolve(who, 20, "x", kFollowLast).err == ENOTDIR);

  // vigil's own /proc entries: never, whatever the way there
  const std::string self = std::to_string(getpid());
  for (std::string raw : {"/proc/" + self + "/mem", "/proc/" + self + "/fd/0", "/proc/" + self + "/root/etc",
                          "/proc/self/root/proc/" + self + "/status", "/proc/" + self + "/task/" + self + "/mem"}) {
    INFO(raw);
    Resolved s = resolve(who, AT_FDCWD, raw, kFollowLast);
    CHECK(s.err == EACCES);
    CHECK(s.sensor);  // a tamper attempt for the guard, not just unresolvable
  }
  // a procfs file of vigil's held open by the caller (read-only opens are not
  // trapped), reopened through its fd: the sensor's too; its own are its own
  Resolved reopen = resolve(who, AT_FDCWD, "/proc/self/fd/22", kFollowLast);
  CHECK(reopen.err == EACCES);
  CHECK(reopen.sensor);
  CHECK(resolve(who, AT_FDCWD, "/proc/self/fd/23", kFollowLast).ok());
  // a start inside /proc/<vigil> (a dirfd there)
  const int vdir = open(("/proc/" + self).c_str(), O_PATH | O_DIRECTORY | O_CLOEXEC);
  const int root = open("/", O_PATH | O_DIRECTORY | O_CLOEXEC);
  CHECK(resolve_at(who, root, vdir, "/proc/" + self, "mem", kFollowLast).err == EACCES);
  CHECK(resolve_at(who, root, vdir, "/proc/" + self, "oom_score_adj", kFollowLast).sensor);
  // the caller's own /proc entries are its own
  Resolved own = resolve(who, AT_FDCWD, "/proc/self/status", kFollowLast);
  REQUIRE(own.ok());
  CHECK(own.path == "/proc/" + std::to_string(child) + "/status");
  close(vdir);
  close(root);
  kill(child, SIGKILL);
  waitpid(child, nullptr, 0);
  close(ready[0]);
  close(ready[1]);
}

TEST_CASE("resolve_at: kParent gives the directory and the entry, links not followed", "[resolve]") {
  TempTree t;
  auto at = [&](std::string_view raw, unsigned flags) { return resolve_at(me(), t.fd, t.fd, t.dir, raw, flags); };
  Resolved r = at("/d/x", kParent);  // the dir symlink is followed, the entry is not looked up further
  REQUIRE(r.ok());
  CHECK(r.exists);
  CHECK(r.name == "x");
  CHECK(r.path == t.dir + "/etc/protected/x");
  CHECK(r.ino == t.ino("etc/protected/x"));
  struct stat st {};
  REQUIRE(fstat(r.fd, &st) == 0);
  CHECK(st.st_ino == t.ino("etc/protected"));
  r = at("/lnk", kParent);  // a symlink entry: itself
  REQUIRE(r.ok());
  CHECK(S_ISLNK(r.mode));
  CHECK(r.path == t.dir + "/lnk");
  r = at("sub/missing", kParent);
  REQUIRE(r.ok());
  CHECK_FALSE(r.exists);
  CHECK(r.path == t.dir + "/sub/missing");
  CHECK(at("sub/..", kParent).err == EINVAL);
  CHECK(at("decoy/", kParent).err == ENOTDIR);
  CHECK(at("nope/x", kParent).err == ENOENT);
}

// The fast path (openat2 for the directory part, when the caller's root is
// vigil's) must decide exactly what the component walk decides, on every
// kind of path: compare both on a corpus under the real root.
TEST_CASE("resolve: the fast path and the component walk agree", "[resolve]") {
  TempTree t;  // under /tmp of vigil's own root: the fast path applies
  auto sh = [&](const std::string& cmd) { REQUIRE(std::system(("cd " + t.dir + " && " + cmd).c_str()) == 0); };
  sh("ln -s " + t.dir + "/etc/protected/x abs && ln -s " + t.dir + "/etc absdir && ln -s missing dangling");
  sh("ln -s sub/deep deeplink && mkdir -p 'sp ace' && touch 'sp ace/f' && ln -s /proc/self/status procself");
  const int root = open("/", O_PATH | O_DIRECTORY | O_CLOEXEC);
  const int sub = openat(t.fd, "sub", O_PATH | O_DIRECTORY | O_CLOEXEC);
  REQUIRE(root >= 0);
  REQUIRE(sub >= 0);
  const std::string d = t.dir;
  const std::string shm = "vigil-resolve-" + std::to_string(getpid());  // a file on another mount (if /dev/shm is one)
  if (int f = open(("/dev/shm/" + shm).c_str(), O_WRONLY | O_CREAT | O_CLOEXEC, 0600); f >= 0) close(f);
  const std::vector<std::string> paths = {
      d + "/etc/protected/x", d + "/lnk", d + "/abs", d + "/absdir/protected/x", d + "/d/x", d + "/d/../etc/protected/x",
      d + "/sub/up/protected/x", d + "/sub/../sub/./deep", d + "/dangling", d + "/l1", d + "/slash", d + "/decoy/",
      d + "/missing", d + "/missing/x", d + "/decoy/x", d + "/hard", d + "/deeplink", d + "/deeplink/..", d + "/.",
      d + "/sp ace/f", d + "/procself", "/proc/self/status", "/proc/self", "/", "/..", "/../../" + d.substr(1) + "/lnk",
      // Other mounts (RESOLVE_NO_XDEV fails: EXDEV, the check falls back; twice: the remembered directory)
      "/proc/self/status", "/proc/1/status", "/dev/null", "/dev/shm/" + shm, "/dev/shm/" + shm, "/dev/shm/missing", "/dev/shm",
      "up/protected/x", "deep", "../lnk", "../d/x", "missing", ".", "..", "../abs", "../../../../../etc/hostname"};
  const unsigned flag_sets[] = {0, kFollowLast, kMayNotExist, kFollowLast | kMayNotExist, kParent, kNoHandle,
                                kFollowLast | kNoHandle, kMayNotExist | kNoHandle};
  int without_handle = 0;
  int fast_applies = 0;
  for (const auto& raw : paths) {
    for (unsigned flags : flag_sets) {
      INFO(raw << " flags " << flags);
      const bool rel = raw[0] != '/';
      Resolved fast = resolve_at(me(), root, rel ? sub : root, rel ? d + "/sub" : "/", raw, flags);
      Resolved walk = resolve_at(me(), root, rel ? sub : root, rel ? d + "/sub" : "/", raw, flags | kWalk);
      CHECK(fast.err == walk.err);
      CHECK(fast.exists == walk.exists);
      CHECK(fast.refused == walk.refused);
      if (!walk.ok()) continue;
      ++fast_applies;
      CHECK(fast.path == walk.path);
      CHECK(fast.name == walk.name);
      CHECK(fast.dev == walk.dev);
      CHECK(fast.ino == walk.ino);
      CHECK(fast.mode == walk.mode);
      if (fast.fd < 0) {  // kNoHandle: an existing non-directory only, named and identified all the same
        CHECK((flags & kNoHandle));
        CHECK(fast.exists);
        CHECK(!S_ISDIR(fast.mode));
        ++without_handle;
        continue;
      }
      struct stat a {}, b {};
      REQUIRE(fstat(fast.fd, &a) == 0);
      REQUIRE(fstat(walk.fd, &b) == 0);
      CHECK(a.st_ino == b.st_ino);
      CHECK(a.st_dev == b.st_dev);
    }
  }
  CHECK(fast_applies > 50);
  CHECK(without_handle > 5);
  unlink(("/dev/shm/" + shm).c_str());
  close(sub);
  close(root);
}

// The root cache (probes/resolve.hpp): a process record's "its root is
// vigil's" is trusted while the cache is on, never after root_cache_off().
// A child chroots into a temporary tree; its record's slot claims vigil's
// root (what a missed chroot would leave behind): with the cache on the
// resolver believes it; once off, it looks again and finds the true file.
TEST_CASE("resolve: the root cache is trusted until root_cache_off, then every call looks", "[resolve]") {
  if (geteuid() != 0) {
    WARN("not root: chroot refused, root cache test skipped");
    return;
  }
  TempTree t;
  int ready[2], go[2];
  REQUIRE(pipe(ready) == 0);
  REQUIRE(pipe(go) == 0);
  const pid_t child = fork();
  REQUIRE(child >= 0);
  if (child == 0) {
    char c = chroot(t.dir.c_str()) == 0 ? 'y' : 'n';
    (void)!write(ready[1], &c, 1);
    (void)!read(go[0], &c, 1);
    _exit(0);
  }
  char c = 0;
  REQUIRE(read(ready[0], &c, 1) == 1);
  REQUIRE(c == 'y');
  const ino_t truth = t.ino("etc/protected/x");
  bool slot = false;
  Caller who{child, child, nullptr, &slot};
  REQUIRE(root_cache_on());
  // Looked up: the child's root is not vigil's; the slot stays empty.
  Resolved r = resolve(who, AT_FDCWD, "/etc/protected/x", kNoHandle);
  REQUIRE(r.ok());
  CHECK(r.ino == truth);
  CHECK(!slot);
  // vigil's own root: found once, then cached in the record's slot.
  bool own = false;
  CHECK(resolve(Caller{int(getpid()), int(getpid()), nullptr, &own}, AT_FDCWD, t.dir + "/decoy", kNoHandle).ok());
  CHECK(own);
  // A stale slot is believed while the cache is on (vigil's own /etc/protected/x: none).
  slot = true;
  r = resolve(who, AT_FDCWD, "/etc/protected/x", kNoHandle);
  CHECK((!r.ok() || r.ino != truth));
  // Off for good: the slot is ignored, the root looked up on every call.
  CHECK(root_cache_off());
  CHECK(!root_cache_off());
  CHECK(!root_cache_on());
  r = resolve(who, AT_FDCWD, "/etc/protected/x", kNoHandle);
  REQUIRE(r.ok());
  CHECK(r.ino == truth);
  // vigil's own root is not cached either once off (its record's slot is never set again).
  bool mine = false;
  CHECK(resolve(Caller{int(getpid()), int(getpid()), nullptr, &mine}, AT_FDCWD, t.dir + "/decoy", kNoHandle).ok());
  CHECK(!mine);
  (void)!write(go[1], "x", 1);
  waitpid(child, nullptr, 0);
  for (int fd : {ready[0], ready[1], go[0], go[1]}) close(fd);
}

// The fast path's table of procfs mounts (a symlink-free path under one of
// them goes to the component walk; resolve_at's tests above show the walk
// refusing vigil's entries through it).
TEST_CASE("proc_mount_points: procfs mount points of a mountinfo text, escapes decoded", "[resolve]") {
  const std::string text =
      "22 1 0:21 / /proc rw,nosuid,nodev,noexec,relatime shared:5 - proc proc rw\n"
      "23 1 0:22 / /sys rw,nosuid - sysfs sysfs rw\n"
      "40 23 0:21 /sys /tmp/p\\040ace/sys ro master:1 - proc proc rw\n"  // a procfs directory bound elsewhere
      "41 1 0:30 / /dev/shm rw - tmpfs shm rw,size=65536k\n"
      "42 1 0:31 / /a\\134b rw - proc none rw\n";
  const auto m = proc_mount_points(text);
  REQUIRE(m);
  CHECK(*m == std::vector<std::string>{"/proc", "/tmp/p ace/sys", "/a\\b"});
  CHECK(proc_mount_points("")->empty());
  CHECK(!proc_mount_points("22 1 0:21 / /proc rw shared:5 proc proc rw\n"));  // no separator: not mountinfo
  CHECK(!proc_mount_points("22 1 0:21 / proc rw - proc proc rw\n"));          // a relative mount point
  // this process's own: /proc is there (the tests run with /proc mounted)
  std::ifstream in("/proc/self/mountinfo");
  const std::string own((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  const auto mine = proc_mount_points(own);
  REQUIRE(mine);
  CHECK(std::find(mine->begin(), mine->end(), "/proc") != mine->end());
}

TEST_CASE("resolve: a name ending ' (deleted)' is kept unless the object is gone", "[resolve]") {
  // The kernel names an unlinked file or removed directory "<path> (deleted)"
  // in /proc links; a directory the app names "d (deleted)" is no removed d.
  TempTree t;
  REQUIRE(std::system(("mkdir -p '" + t.dir + "/d (deleted)' '" + t.dir + "/gone' && echo y > '" + t.dir +
                       "/d (deleted)/x'").c_str()) == 0);
  int ready[2];
  REQUIRE(pipe(ready) == 0);
  const pid_t child = fork();
  if (child == 0) {
    // fd 20: the directory named "d (deleted)"; fd 21: "gone", removed; cwd: "d (deleted)".
    dup2(open((t.dir + "/d (deleted)").c_str(), O_PATH | O_DIRECTORY), 20);
    dup2(open((t.dir + "/gone").c_str(), O_PATH | O_DIRECTORY), 21);
    if (rmdir((t.dir + "/gone").c_str()) < 0 || chdir((t.dir + "/d (deleted)").c_str()) < 0) _exit(1);
    if (write(ready[1], "r", 1) != 1) _exit(1);
    pause();
    _exit(0);
  }
  char c;
  REQUIRE(read(ready[0], &c, 1) == 1);
  const Caller who{child, child, nullptr};
  char buf[4096];
  REQUIRE(realpath(t.dir.c_str(), buf));
  const std::string real = buf;
  for (auto [dirfd, raw] : {std::pair{AT_FDCWD, "x"}, {20, "x"}, {AT_FDCWD, "/proc/self/cwd/x"}, {AT_FDCWD, "/proc/self/fd/20/x"}}) {
    INFO(raw << " from " << dirfd);
    Resolved r = resolve(who, dirfd, raw, kFollowLast);
    REQUIRE(r.ok());
    CHECK(r.ino == t.ino("d (deleted)/x"));
    CHECK(r.path == real + "/d (deleted)/x");
  }
  // a directory truly removed: its name without the kernel's suffix
  Resolved gone = resolve(who, AT_FDCWD, "/proc/self/fd/21", kFollowLast);
  INFO("err " << gone.err);
  CHECK(gone.path == real + "/gone");
  kill(child, SIGKILL);
  waitpid(child, nullptr, 0);
  close(ready[0]);
  close(ready[1]);
}
