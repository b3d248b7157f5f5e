#include "probes/drift.hpp"

#include <algorithm>
#include <array>

namespace vigil {

bool is_toolchain(std::string_view name) {
  // Compiler drivers, linkers and the build tools that copy or link their
  // output into place (go build, cargo).
  static constexpr std::array<std::string_view, 26> kNames = {
      "cc",    "c++",   "gcc",      "g++",     "clang", "clang++", "tcc",    "collect2", "ld",
      "ld.bfd", "ld.gold", "ld.lld", "lld",    "rust-lld", "mold",  "rustc", "cargo",    "go",
      "link",  "gccgo", "zig",      "swiftc",  "ghc",   "ldc2",    "gfortran", "wasm-ld"};
  if (std::find(kNames.begin(), kNames.end(), name) != kNames.end()) return true;
  // cross and versioned drivers: x86_64-linux-gnu-gcc-12, gcc-12, clang-16
  for (std::string_view base : {"gcc", "g++", "clang", "ld"}) {
    const size_t at = name.find(base);
    if (at == std::string_view::npos) continue;
    const bool start = at == 0 || name[at - 1] == '-';
    const size_t end = at + base.size();
    if (start && (end == name.size() || name[end] == '-' || name[end] == '.')) return true;
  }
  return false;
}

DriftTracker::Writer DriftTracker::writer_of(const Process* p) {
  Writer w;
  // (A toolchain by its name, and the image's: a `cp` linked or copied as
  // `ld` is drift itself, and what it writes is no build output.)
  if (p == nullptr || p->exe_drift || !is_toolchain(p->name)) return w;
  for (const Process* a = p; a != nullptr && w.size() < 32; a = a->parent.get()) w.push_back(a->pid);
  return w;
}

DriftReason DriftTracker::reason(const Writer& w, const Process* runner) {
  if (w.empty() || runner == nullptr) return DriftReason::TracedWrite;
  // The runner, or one of its ancestors, is the toolchain writer or one of its ancestors.
  for (const Process* a = runner; a != nullptr; a = a->parent.get())
    if (a->pid != 0 && std::find(w.begin(), w.end(), a->pid) != w.end()) return DriftReason::ToolchainBuild;
  return DriftReason::TracedWrite;
}

void DriftTracker::note_write(const std::string& path, const Process* writer) {
  struct stat st;
  note_write(path, ::stat(path.c_str(), &st) == 0 ? &st : nullptr, writer);
}

void DriftTracker::note_write(const std::string& path, const struct stat* st, const Process* writer) {
  if (st != nullptr && S_ISREG(st->st_mode)) {
    auto [it, fresh] = inodes_.insert_or_assign({st->st_dev, st->st_ino}, writer_of(writer));
    if (!fresh) return;
    inode_order_.push_back(it->first);
    if (inode_order_.size() > cap_) {
      inodes_.erase(inode_order_.front());
      inode_order_.pop_front();
      forgot_ = true;
    }
  } else {
    remember_path(hash(path), writer_of(writer));  // e.g. O_CREAT seen at syscall entry, before the file exists
  }
}

void DriftTracker::remember_path(uint64_t h, Writer w) {
  auto [it, fresh] = paths_.insert_or_assign(h, std::move(w));
  if (!fresh) return;
  path_order_.push_back(h);
  if (path_order_.size() > cap_) {
    forgot_ |= paths_.erase(path_order_.front()) != 0;  // (a no-op if it was renamed away meanwhile)
    path_order_.pop_front();
  }
}

void DriftTracker::note_rename(const std::string& from, const std::string& to, const Process* writer) {
  // A tracked inode keeps its identity across rename; a path entry moves.
  auto it = paths_.find(hash(from));
  if (it == paths_.end()) return remember_path(hash(to), writer_of(writer));
  Writer w = std::move(it->second);
  paths_.erase(it);
  remember_path(hash(to), std::move(w));
}

void DriftTracker::note_link(const std::string& from, const std::string& to, const Process* writer) {
  auto it = paths_.find(hash(from));
  remember_path(hash(to), it != paths_.end() ? Writer(it->second) : writer_of(writer));
}

DriftReason DriftTracker::check_file(const struct stat& st, const Process* runner) const {
  if (auto it = inodes_.find({st.st_dev, st.st_ino}); it != inodes_.end()) return reason(it->second, runner);
  // mtime, not ctime: entrypoints often chown -R/chmod -R their app dir at
  // start, which bumps ctime of every file without changing any content.
  const int64_t mtime_ns = int64_t{st.st_mtim.tv_sec} * 1'000'000'000 + st.st_mtim.tv_nsec;
  if (mtime_ns > start_ns_) return DriftReason::ChangedAfterStart;
  const int64_t ctime_ns = int64_t{st.st_ctim.tv_sec} * 1'000'000'000 + st.st_ctim.tv_nsec;
  if (forgot_ && ctime_ns > start_ns_) return DriftReason::ChangedAfterStart;
  return DriftReason::None;
}

std::string_view drift_reason_name(DriftReason r) {
  switch (r) {
    case DriftReason::TracedWrite: return "traced_write";
    case DriftReason::ChangedAfterStart: return "changed_after_start";
    case DriftReason::ToolchainBuild: return "toolchain_build";
    case DriftReason::None: break;
  }
  return "none";
}

}  // namespace vigil
