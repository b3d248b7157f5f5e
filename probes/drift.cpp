#include "probes/drift.hpp"

namespace vigil {

void DriftTracker::note_write(const std::string& path) {
  struct stat st;
  note_write(path, ::stat(path.c_str(), &st) == 0 ? &st : nullptr);
}

void DriftTracker::note_write(const std::string& path, const struct stat* st) {
  if (st != nullptr && S_ISREG(st->st_mode)) {
    if (!inodes_.emplace(st->st_dev, st->st_ino).second) return;
    inode_order_.emplace_back(st->st_dev, st->st_ino);
    if (inode_order_.size() > cap_) {
      inodes_.erase(inode_order_.front());
      inode_order_.pop_front();
    }
  } else {
    remember_path(path);  // e.g. O_CREAT seen at syscall entry, before the file exists
  }
}

void DriftTracker::remember_path(const std::string& path) {
  const uint64_t h = hash(path);
  if (!paths_.insert(h).second) return;
  path_order_.push_back(h);
  if (path_order_.size() > cap_) {
    paths_.erase(path_order_.front());  // (a no-op if it was renamed away meanwhile)
    path_order_.pop_front();
  }
}

void DriftTracker::note_rename(const std::string& from, const std::string& to) {
  // A tracked inode keeps its identity across rename; only path entries move.
  // Renaming an untracked file is not drift (its content did not change).
  if (paths_.erase(hash(from)) > 0) remember_path(to);
}

DriftReason DriftTracker::check_file(const struct stat& st) const {
  if (inodes_.contains({st.st_dev, st.st_ino})) return DriftReason::TracedWrite;
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
