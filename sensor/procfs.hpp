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
  int seccomp_filters = -1;  // filters on the task (Linux 5.9+), -1 if unknown
};
bool read_status(int pid, Status* st);

// Completes the exec of an execve entry notification, before the kernel runs
// it: probes::exec_preview set exe, argv and the memfd/deleted flags, and
// left the target open at exe_fd (O_PATH). Adds the caller's ids, ppid and
// session (an exec under no_new_privs keeps them), cwd, stdio, and the
// SHA-256 of what runs. A "#!" script: exe becomes the interpreter,
// interpreter_script the script, argv what the kernel will pass (raw_path:
// the path given to execve). *file_st: the stat of the file that was named
// (the script, or the executable), st_ino 0 if unknown.
void read_exec_entry(int tid, int exe_fd, const std::string& raw_path, Process* p, struct stat* file_st);

// The thread group and parent of thread tid: from a pidfd (Linux 6.13+,
// no /proc lookup), else /proc/TID/status. False if tid is gone.
bool thread_group(int tid, int* tgid, int* ppid);
// Tests: force the /proc path of thread_group (what kernels before 6.13 get).
void use_pidfd_info(bool on);
// The wait status of pid if it is a zombie (field 52 of /proc/PID/stat).
bool read_exit_status(int pid, int* status);
// The wait status of the reaped process of a pidfd (Linux 6.15+), else -1.
int pidfd_exit_status(int pidfd);

// Executables larger than this are not hashed (sha256 stays empty): hashing
// happens on the tracer thread while the process waits.
inline constexpr long long kHashMaxBytes = 64LL << 20;

}  // namespace vigil::procfs
