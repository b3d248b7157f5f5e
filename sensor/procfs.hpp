// Internal to sensor/: what the tracer reads from /proc about a process.
#pragma once

#include <sys/stat.h>

#include <cstdint>
#include <string>

#include "events/events.hpp"

namespace vigil::procfs {

struct Status {
  int tgid = 0, ppid = 0;
  int uid = -1, euid = -1, gid = -1, egid = -1;
  int64_t cap_eff = -1;  // CapEff mask, -1 if unknown
};
bool read_status(int pid, Status* st);

// Fills exe, argv (capped at kArgvMaxBytes), cwd, ids, ppid, sha256 and the
// exe flags of a process that has just exec'd. exec_path is the path the
// process passed to execve (empty if unknown): if it names another file than
// the executable, it is recorded as the interpreted script.
// *exe_st is the executable's fstat (st_ino 0 if it could not be read).
void read_exec(int pid, const std::string& exec_path, Process* p, struct stat* exe_st);

// stdin or stdout of pid is a TCP/UDP socket (IPv4 or IPv6). Reads only
// two links unless one is a socket; then the socket tables of its netns.
bool stdio_net(int pid);

// Executables larger than this are not hashed (sha256 stays empty): hashing
// happens on the tracer thread while the process waits.
inline constexpr long long kHashMaxBytes = 64LL << 20;

}  // namespace vigil::procfs
