#include "probes/drift.hpp"

namespace vigil {

void DriftTracker::note_write(const std::string& path) {
  struct stat st;
  if (::stat(path.c_str(), &st) == 0 && S_ISREG(st.st_mode))
    inodes_.emplace(st.st_dev, st.st_ino);
  else
    paths_.insert(path);  // e.g. O_CREAT seen at syscall entry, before the file exists
}

void DriftTracker::note_rename(const std::string& from, const std::string& to) {
  // A tracked inode keeps its identity across rename; only path entries move.
  // Renaming an untracked file is not drift (its content did not change).
  if (paths_.erase(from) > 0) paths_.insert(to);
}

DriftReason DriftTracker::check(const std::string& path, const struct stat& st) const {
  if (inodes_.contains({st.st_dev, st.st_ino}) || paths_.contains(path)) return DriftReason::TracedWrite;
  // mtime, not ctime: entrypoints often chown -R/chmod -R their app dir at
  // start, which bumps ctime of every file without changing any content.
  const int64_t mtime_ns = int64_t{st.st_mtim.tv_sec} * 1'000'000'000 + st.st_mtim.tv_nsec;
  if (mtime_ns > start_ns_) return DriftReason::ChangedAfterStart;
  return DriftReason::None;
}

std::string_view drift_reason_name(DriftReason r) {
  switch (r) {
    case DriftReason::TracedWrite: return "traced_write";
    case DriftReason::ChangedAfterStart: return "changed_after_start";
    case DriftReason::None: break;
  }
  return "none";
}

}  // namespace vigil
