// Drift: an executable or shared library created or modified after the
// container (the sensor) started. Known exactly from the writes vigil traced
// (write-opens, creat, rename targets of written files, truncate), with the
// file's mtime against the start time as the fallback for writes vigil could
// not see (a process outside the tree, a shared volume). A chmod +x of an old
// file is not drift by itself (content unchanged); rules see the chmod event.
//
// Checked at exec (the executable, and the script of a "#!" interpreter) and
// at mmap(PROT_EXEC) of a file (shared libraries, see docs/design-probes.md).
//
// Each traced write remembers its writer: a file last written by a compiler
// or linker (cc, ld, rustc, go, ...) and run by a process that shares an
// ancestor with that writer is ToolchainBuild (a `make check` running what it
// just linked), reported but not as an attack; anything else written (a
// download, a copy) stays TracedWrite.
#pragma once

#include <sys/stat.h>

#include <cstdint>
#include <deque>
#include <map>
#include <set>
#include <string>
#include <string_view>
#include <unordered_set>
#include <unordered_map>
#include <utility>
#include <vector>

#include "events/events.hpp"

namespace vigil {

enum class DriftReason : uint8_t { None, TracedWrite, ChangedAfterStart, ToolchainBuild };

// Is this process (by its name) a compiler, linker or build driver that writes executables?
bool is_toolchain(std::string_view name);

class DriftTracker {
 public:
  // At most `cap` inodes and `cap` paths are remembered (oldest forgotten
  // first); a forgotten file is still caught by the mtime fallback and, once
  // anything was forgotten, by its ctime (the app can set an mtime back,
  // never a ctime: an app that writes `cap` files to push one out, then
  // resets its mtime, would otherwise run it as an image file). Paths are
  // kept as 64-bit hashes (a few MB at most).
  explicit DriftTracker(int64_t start_realtime_ns, size_t cap = 50000) : start_ns_(start_realtime_ns), cap_(cap) {}

  // A traced write to path (normalised absolute) by `writer` (null: unknown).
  // The path is stat()ed now to learn its inode when it exists; later renames
  // of that inode stay known.
  void note_write(const std::string& path, const Process* writer);
  void note_write(const std::string& path) { note_write(path, static_cast<const Process*>(nullptr)); }
  // The same when the caller has just stat()ed the path (st null: it does not exist).
  void note_write(const std::string& path, const struct stat* st, const Process* writer = nullptr);
  // A traced unlink: a file written then deleted is forgotten.
  void note_unlink(const std::string& path) { paths_.erase(hash(path)); }
  // A traced rename or hard link: drift follows a written file to its new
  // name (cargo links its build output into place), and any file put under a
  // new name after the start is drift there, whatever it holds: an image's
  // interpreter linked or moved to /usr/local/lib/x/sshd is not the image's
  // sshd (rules trust an image program by its path, docs/threat-model.md).
  // The old name of an untracked file stays as it was (not drift).
  void note_rename(const std::string& from, const std::string& to, const Process* writer = nullptr);
  void note_link(const std::string& from, const std::string& to, const Process* writer = nullptr);

  // Is the file at path (with st from stat/fstat of what actually runs) drift,
  // when `runner` (null: unknown) runs or maps it?
  DriftReason check(const std::string& path, const struct stat& st, const Process* runner = nullptr) const {
    auto it = paths_.find(hash(path));
    return it != paths_.end() ? reason(it->second, runner) : check_file(st, runner);
  }
  // The same from the inode and mtime alone, and from the path alone: a
  // caller can then skip resolving the path while no path is remembered.
  DriftReason check_file(const struct stat& st, const Process* runner = nullptr) const;
  bool written_path(const std::string& path) const { return paths_.contains(hash(path)); }
  bool has_paths() const { return !paths_.empty(); }
  int64_t start_ns() const { return start_ns_; }
  size_t size() const { return inodes_.size() + paths_.size(); }

 private:
  // Who last wrote a file: for a toolchain writer, its pid and its
  // ancestors' (the tree that may run the result); empty otherwise.
  using Writer = std::vector<int>;
  static Writer writer_of(const Process* p);
  static DriftReason reason(const Writer& w, const Process* runner);
  void remember_path(uint64_t h, Writer w);
  static uint64_t hash(const std::string& path) { return std::hash<std::string>{}(path); }
  int64_t start_ns_;
  size_t cap_;
  bool forgot_ = false;  // an inode or path was pushed out: ctime is checked too
  std::map<std::pair<uint64_t, uint64_t>, Writer> inodes_;  // (dev, ino)
  std::deque<std::pair<uint64_t, uint64_t>> inode_order_;
  std::unordered_map<uint64_t, Writer> paths_;  // hashes of paths written before they existed
  std::deque<uint64_t> path_order_;
};

std::string_view drift_reason_name(DriftReason r);

}  // namespace vigil
