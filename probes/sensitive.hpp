// Sensitive-file open watch: sees opens of credential files (shadow, sudoers,
// SSH keys, cloud credentials, ...) without trapping read-opens in seccomp.
//
// Mechanism (decision and numbers in docs/design-probes.md): inotify IN_OPEN
// watches on the files matching a list of glob patterns, plus IN_CREATE /
// IN_MOVED_TO watches on their parent directories so files created later (or
// replaced by an atomic rename, as passwd does) are picked up. inotify needs no
// privilege and costs nothing for any other file. The opener is attributed
// afterwards by finding the inode among the traced processes' open fds
// (attribute_open); a reader that already closed it stays "unattributed".
// inotify cannot deny an open: this watch detects, it never blocks.
//
// The same inotify instance watches the objects loaded rules name by path
// (ProtectedObjects, from sensor/judge.cpp) for what those rules can match:
// writes (IN_MODIFY, IN_CLOSE_WRITE), mode and owner changes (IN_ATTRIB) on
// each file's inode, whatever name or race reached it, and entries created,
// removed or renamed under a named path (IN_CREATE, IN_DELETE,
// IN_MOVED_FROM/TO on their directories); IN_OPEN on the files a rule on
// read-opens names. docs/design.md, "Writes to protected files seen by inotify".
#pragma once

#include <sys/stat.h>
#include <sys/types.h>

#include <atomic>
#include <cstdint>
#include <deque>
#include <functional>
#include <memory>
#include <set>
#include <string>
#include <tuple>
#include <unordered_map>
#include <utility>
#include <vector>

#include "events/events.hpp"

struct inotify_event;

namespace vigil {

struct SensitiveOpen {
  std::string path;
  dev_t dev = 0;
  ino_t ino = 0;
  // Set for a change to a protected object (null: a read-open of a sensitive
  // file): the evt.type it is reported as: "open" (written, or created as a
  // file: flags tell), "chmod", "chown", "unlink", "rmdir", "rename",
  // "mkdir", "symlink", "link".
  const char* type = nullptr;
  std::string change;  // the inotify events seen, comma-separated ("modify,close_write")
  std::string target;  // rename: the new name (when inotify saw it); link/symlink: the new entry
  int64_t flags = 0;   // "open": O_WRONLY, | O_CREAT when the file was created
  int64_t mode = -1;   // chmod: the new permission bits
  int64_t uid = -1, gid = -1;  // chown: the new owner
  int64_t time_ns = 0;         // when vigil read it from inotify (CLOCK_REALTIME)
  std::string appeared;        // change "listed": the directory that appeared (made, or renamed into place)
};

// What loaded rules name by path (sensor/judge.cpp builds it when the rules
// load: Engine::Interest::named_paths), watched by SensitiveWatch::protect
// for what a rule can match: changes (kWrites: writes, mode and owner, entries
// created, removed or renamed) and read-opens (kReads: read-opens are never
// trapped, inotify is their only witness).
struct ProtectedObjects {
  enum Use : uint8_t { kWrites = 1, kReads = 2 };
  struct Object {
    Object(std::string p, uint8_t u = kWrites) : path(std::move(p)), use(u) {}
    std::string path;
    uint8_t use = kWrites;
    bool operator==(const Object&) const = default;
  };
  std::vector<Object> files;  // regular files (their inode is watched)
  std::vector<Object> dirs;   // directories whose every entry is named
  std::vector<Object> names;  // absolute paths named directly (existing or not): their parent is watched for that name
  // Directories only alert-only rules name: walked on the monitor's thread
  // (off the app's start-up), their entries watched as `dirs` and `files`
  // are, and learnt by identity (SensitiveMonitor::take_learned).
  std::vector<Object> walk;
  size_t walk_files = 20000;  // files taken from `walk` at most
  bool empty() const { return files.empty() && dirs.empty() && names.empty() && walk.empty(); }
};

// A file or directory found below a ProtectedObjects::walk directory.
struct Learnt {
  std::string path;
  dev_t dev = 0;
  ino_t ino = 0;
  bool dir = false;
};

// What the watch's thread found below ProtectedObjects::walk, sorted there
// for lookups: handed to the judge whole (a move, nothing rebuilt on the
// tracer's thread: ~20-30 ms for 20000 files in a hash map).
struct Walked {
  std::vector<Learnt> files;      // sorted by (dev, ino)
  std::vector<std::string> dirs;  // sorted
  explicit Walked(std::vector<Learnt> found = {});
  const Learnt* file(dev_t dev, ino_t ino) const;  // null if not found
  bool dir(std::string_view path) const;
  bool empty() const { return files.empty() && dirs.empty(); }
};

class SensitiveWatch {
 public:
  SensitiveWatch() = default;
  SensitiveWatch(const SensitiveWatch&) = delete;
  SensitiveWatch& operator=(const SensitiveWatch&) = delete;
  ~SensitiveWatch();

  // Sets up the watches for glob(3) patterns of absolute paths. false + one
  // line in *error if inotify is unavailable (patterns matching nothing are fine).
  bool start(std::vector<std::string> patterns, std::string* error);
  // Adds the watches on protected objects (after start), and walks their
  // `walk` directories (what it found: *learned). Returns how many could
  // not be added for lack of inotify watches (max_user_watches: the caller
  // warns once); objects gone meanwhile are skipped.
  // A cancel flag that turns true ends the set-up early (the app is gone).
  size_t protect(const ProtectedObjects& objects, std::vector<Learnt>* learned = nullptr,
                 const std::atomic<bool>* cancel = nullptr);
  int fd() const { return fd_; }  // poll for POLLIN, then call read_events()
  // Another process now holds a copy of fd() (SensitiveMonitor::hand_over):
  // the destructor closes this one in place.
  void handed_over() { handed_ = true; }
  bool has_watches() const { return !watches_.empty(); }
  // Adds refused with ENOSPC (out of inotify watches) since the last call.
  size_t take_exhausted() { return std::exchange(exhausted_, 0); }
  // inotify queue overflows (IN_Q_OVERFLOW: events lost) since the last call.
  size_t take_overflows() { return std::exchange(overflows_, 0); }
  // An overflow's recheck waits (at most one each kRecheckNs: it finds every
  // change since the last one, so waiting loses nothing): read_events() again
  // within that time does it.
  bool recheck_pending() const { return recheck_pending_; }
  static constexpr int64_t kRecheckNs = 250'000'000;
  // Drains pending events (non-blocking); returns the sensitive opens and the
  // changes to protected objects seen (one write hit per file per call).
  // last: the watch stops after this call (a pending recheck is done now).
  // max: stop reading once that many are found (give or take one read's
  // worth); the rest stays in the kernel's queue.
  std::vector<SensitiveOpen> read_events(bool last = false, size_t max = SIZE_MAX);
  size_t watched_files() const;
  size_t protected_watches() const;  // watches vigil added for rules (and sensitive reads)

  // shadow, sudoers, SSH keys, cloud/kube/docker credentials, service tokens.
  static std::vector<std::string> default_patterns();

 private:
  enum Kind : uint8_t { kRead = 1, kWrite = 2, kRescanDir = 4, kProtectDir = 8 };
  struct Watch {
    std::string path;
    bool dir = false;
    uint8_t kinds = 0;
    uint8_t all = 0;              // kProtectDir: what every entry is watched for (ProtectedObjects::Use; 0: only `names`)
    std::unordered_map<std::string, uint8_t> names;  // kProtectDir: entries named, and what for
    dev_t dev = 0;                // kWrite, kProtectDir: the inode watched
    ino_t ino = 0;
    bool writing = false;         // kWrite: a write reported (at reported_ns), no close since
    int64_t reported_ns = 0;
    mode_t mode = 0;              // kWrite: last seen (IN_ATTRIB: which one changed)
    uid_t uid = 0;
    gid_t gid = 0;
  };
  void rescan();
  // After an overflow: what changed since the last look (baseline_ns_) by
  // its change time, as the lost events would have said (sensitive.cpp).
  void recheck(std::vector<SensitiveOpen>* out, std::unordered_map<uint32_t, size_t>* moves);
  // Watches path for kind (merged with what its inode is watched for already;
  // known: its lstat, if taken already); the entry, or null (gone, or errno
  // ENOSPC: out of watches).
  // target: what inotify_add_watch is given instead of path (a directory
  // vigil holds open, through /proc/self/fd: the very inode it checked).
  Watch* add(const std::string& path, Kind kind, const struct stat* known = nullptr, const char* target = nullptr);
  void protected_entry(const Watch& dir, const inotify_event& ev, std::vector<SensitiveOpen>* out,
                       std::unordered_map<uint32_t, size_t>* moves);
  void appeared_dir(const std::string& path, const struct stat& st, uint8_t use, std::vector<SensitiveOpen>* out);
  int fd_ = -1;
  bool handed_ = false;
  std::vector<std::string> patterns_;
  std::unordered_map<int, Watch> watches_;  // wd -> what it watches
  size_t out_of_watches_ = 0;
  size_t exhausted_ = 0;        // adds refused for lack of watches (ENOSPC), since take_exhausted()
  size_t overflows_ = 0;        // IN_Q_OVERFLOW seen, since take_overflows()
  int64_t baseline_ns_ = 0;     // protect() or the last recheck(): changes since are unseen after an overflow
  bool recheck_pending_ = false;
  // (dev, ino, ctime) of what the last recheck reported: the margin below its
  // baseline must not report the same change twice.
  std::set<std::tuple<dev_t, ino_t, int64_t>> rechecked_;
  int64_t rechecked_mono_ns_ = 0;  // CLOCK_MONOTONIC of the last recheck()
  size_t protected_count_ = 0;  // watches with kWrite or kProtectDir
};

// SensitiveWatch on its own thread: reads inotify as events come (so the
// opener is looked for while it most likely still holds the file) and
// attributes each open among the descendants of this process. The tracer
// thread collects the results with drain() at its next wake-up.
class SensitiveMonitor {
 public:
  struct Hit {
    SensitiveOpen open;
    std::vector<pid_t> pids;  // holders found; empty = unattributed
  };
  SensitiveMonitor();
  SensitiveMonitor(const SensitiveMonitor&) = delete;
  SensitiveMonitor& operator=(const SensitiveMonitor&) = delete;
  ~SensitiveMonitor();
  // Sensitive-file patterns (may be empty) and the protected objects, whose
  // watches are added on the monitor's thread (off the app's start-up).
  bool start(std::vector<std::string> patterns, std::string* error, ProtectedObjects protect = {});
  // start() in two steps: the patterns' watches first (they need no rules:
  // the tracer adds them while the rules compile), then the thread with the
  // protected objects. start(protect) without a prepare() watches no pattern.
  bool prepare(std::vector<std::string> patterns, std::string* error);
  bool start(std::string* error, ProtectedObjects protect);
  std::vector<Hit> drain();
  // A one-line warning from the thread (out of inotify watches), once; "" if none.
  std::string take_warning();
  // Watches the kernel refused for lack of inotify watches (ENOSPC: the
  // user's fs.inotify.max_user_watches, which the app shares, is used up),
  // since the last call: files and directories not watched (an alert, not
  // just a log line: an app can use them up on purpose).
  size_t take_exhausted();
  // inotify queue overflows since the last call (the watch rechecked what
  // they may have hidden by change time: SensitiveWatch::recheck).
  size_t take_overflows();
  // Once the thread has set up the watches of rule-named objects: what they
  // cover (one line for --trace=info) and the files and directories found
  // below ProtectedObjects::walk (to learn by identity). false before that,
  // and after it was taken (no lock then: the tracer asks at every wake-up).
  bool take_setup(std::string* info, Walked* walked);
  // Ends the thread after it has collected what inotify queued so far;
  // drain() still returns those.
  void stop();
  // At the sensor's end: stops the thread, then offers the inotify fd (if it
  // has watches, whose release is slow) to take(fd), e.g. a process that
  // releases it after vigil has exited; true if taken.
  bool hand_over(const std::function<bool(int)>& take);

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

// The reader of a sensitive file that the fd scan could not attribute
// because it closed the file first (cat /etc/shadow: open, read, close,
// exit within microseconds): the most recently started process, alive or
// among the last kKeep that exited, with an argument naming the path
// (absolute, or relative to its cwd). Commands that read a credential file
// almost always name it; a program that opens it by itself usually still
// holds it at the fd scan.
class RecentReaders {
 public:
  static constexpr size_t kKeep = 64;
  // An exited process stands for reads reported up to this long after its
  // exit (the watch's report of its last open comes within milliseconds);
  // a read later than that is someone else's.
  static constexpr int64_t kExitedNs = 2'000'000'000;
  void exited(ProcessPtr p, int64_t at_ns);
  // The newest process whose argv names path: alive and started before
  // report_ns, or exited less than kExitedNs before it.
  ProcessPtr by_argv(const std::string& path, const std::vector<ProcessPtr>& alive, int64_t report_ns) const;

 private:
  std::deque<std::pair<ProcessPtr, int64_t>> exited_;  // (process, exit time)
};
bool argv_names(const Process& p, const std::string& path);

// Descendants of pid (children, grandchildren, ...) from /proc/PID/task/*/children.
std::vector<pid_t> descendants(pid_t pid, const char* proc_root = "/proc");

// Parses a --sensitive-files value: "none" (empty list), or comma-separated
// absolute glob patterns where "default" expands to default_patterns().
// false + one line in *error on bad input.
bool parse_sensitive_patterns(const std::string& value, std::vector<std::string>* out, std::string* error);

// The pids among candidates that have the file (dev, ino) open right now,
// found by stat()ing /proc/PID/fd/* (no open of the file itself).
std::vector<pid_t> attribute_open(dev_t dev, ino_t ino, const std::vector<pid_t>& candidates,
                                  const char* proc_root = "/proc");

}  // namespace vigil
