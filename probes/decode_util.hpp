// Helpers shared by the decoders (probes/decode_*.cpp); internal to probes/.
#pragma once

#include <sys/stat.h>

#include <cstdint>
#include <string>
#include <string_view>

#include "probes/probes.hpp"

namespace vigil::probes {

inline int arg_int(const SyscallArgs& a, int i) { return int(int32_t(uint32_t(a.args[i]))); }
inline bool is_i386(const SyscallArgs& a) { return a.arch == 0x40000003; /* AUDIT_ARCH_I386 */ }

void add_arg(Event* ev, const char* name, std::string value);

// The kernel names an unlinked file "<path> (deleted)" (readlink of a /proc
// fd link): true, and *path without the suffix, when it ends so and the
// file has no link left (a file can be named "x (deleted)" and must not pass
// for a deleted x, docs/threat-model.md).
inline bool strip_deleted(std::string* path, nlink_t nlink) {
  constexpr std::string_view kDeleted = " (deleted)";
  if (nlink != 0 || !path->ends_with(kDeleted)) return false;
  path->resize(path->size() - kDeleted.size());
  return true;
}

// Directory that dirfd (or AT_FDCWD) of thread tid stands for, read from
// /proc at the stop (exact: the thread is stopped); "" if unknown.
std::string dir_of(int tid, int dirfd);
// Reads the path at addr and fills raw_path and the normalised path relative
// to dirfd; flags over-long paths with evt.arg.path_truncated. defer: a
// relative path's normalised form is left to resolve_path (only needed when
// it does not resolve: one readlink of the caller's cwd or dirfd saved);
// returns whether it was left (pass that to resolve_path's lexical_pending).
bool read_path(const TraceeMemory& mem, uint64_t addr, int dirfd, Event* ev, std::string* raw, std::string* path,
               bool defer = false);
// Then the object that path names for the caller (probes/resolve.hpp,
// flags: ResolveFlags): *path becomes its resolved path (aliases read as
// the true file), ev->file gets its dev and inode. Unresolvable: the lexical
// path stays and evt.arg.unresolved says why (the sensor's own /proc entries:
// ctx.sensor_target too, for the guard). Not done when the tracer
// performs the call itself (ctx.performed: it resolves as the caller).
// Returns whether it was resolved; *st (if given) then holds the object's
// type, size and identity (st_mode 0: it does not exist).
// lexical_pending: read_path deferred the lexical path (it is filled here
// wherever the resolved one is not).
bool resolve_path(const TraceeMemory& mem, DecodeContext& ctx, int dirfd, const std::string& raw, unsigned flags,
                  Event* ev, std::string* path, bool identity = true, struct stat* st = nullptr,
                  bool lexical_pending = false);
// The fd table entry of fd (validated; resolved from /proc when unknown).
const FdInfo* fd_info(const DecodeContext& ctx, int tid, int fd);

}  // namespace vigil::probes
