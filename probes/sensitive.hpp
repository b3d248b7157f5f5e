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
#pragma once

#include <sys/stat.h>
#include <sys/types.h>

#include <cstdint>
#include <deque>
#include <memory>
#include <string>
#include <unordered_map>
#include <vector>

#include "events/events.hpp"

namespace vigil {

struct SensitiveOpen {
  std::string path;
  dev_t dev = 0;
  ino_t ino = 0;
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
  int fd() const { return fd_; }  // poll for POLLIN, then call read_events()
  // Drains pending events (non-blocking); returns the sensitive opens seen.
  std::vector<SensitiveOpen> read_events();
  size_t watched_files() const;

  // shadow, sudoers, SSH keys, cloud/kube/docker credentials, service tokens.
  static std::vector<std::string> default_patterns();

 private:
  void rescan();
  int fd_ = -1;
  std::vector<std::string> patterns_;
  struct Watch {
    std::string path;
    bool dir = false;
  };
  std::unordered_map<int, Watch> watches_;  // wd -> what it watches
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
  bool start(std::vector<std::string> patterns, std::string* error);
  std::vector<Hit> drain();
  // Ends the thread after it has collected what inotify queued so far;
  // drain() still returns those.
  void stop();

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
  void exited(ProcessPtr p);
  ProcessPtr by_argv(const std::string& path, const std::vector<ProcessPtr>& alive) const;

 private:
  std::deque<ProcessPtr> exited_;
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
