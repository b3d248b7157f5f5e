// The exec of an execve/execveat entry notification (docs/design.md section 1):
// what the process will run, read before the kernel runs it.
#include <fcntl.h>
#include <unistd.h>

#include <cstring>

#include <fmt/format.h>

#include "probes/decode_util.hpp"
#include "probes/path.hpp"
#include "probes/probes.hpp"

namespace vigil::probes {
namespace {

// The NULL-terminated argv array at addr, capped like procfs argv.
void read_argv(const SyscallArgs& a, const TraceeMemory& mem, uint64_t addr, Process* p) {
  const size_t word = is_i386(a) ? 4 : 8;
  size_t bytes = 0;
  p->argv.clear();
  p->argv_truncated = false;
  for (size_t i = 0; addr != 0; ++i) {
    uint64_t ptr = 0;
    if (!mem.read(addr + i * word, &ptr, word) || ptr == 0) break;
    std::string s;
    if (bytes >= kArgvMaxBytes || !mem.read_string(ptr, kArgvMaxBytes - bytes, &s)) {
      p->argv_truncated = true;
      break;
    }
    const bool capped = s.size() >= kArgvMaxBytes - bytes;  // no NUL within the cap
    bytes += s.size() + 1;
    p->argv.push_back(std::move(s));
    if (capped) {
      p->argv_truncated = true;
      break;
    }
  }
}

}  // namespace

bool exec_preview(bool execveat, const SyscallArgs& a, const TraceeMemory& mem, Process* p, int* exe_fd) {
  const unsigned path_arg = execveat ? 1 : 0;
  const int dirfd = execveat ? arg_int(a, 0) : AT_FDCWD;
  std::string raw;
  if (!mem.read_string(a.args[path_arg], kPathMax, &raw)) return false;
  std::string path;
  if (execveat && raw.empty()) {  // AT_EMPTY_PATH: fexecve of an fd (memfd, ...)
    path = fmt::format("/proc/{}/fd/{}", mem.tid(), dirfd);
  } else {
    path = normalize_path(raw[0] == '/' ? std::string() : dir_of(mem.tid(), dirfd), raw);
    if (path.empty() || path[0] != '/') return false;
    for (const char* self : {"/proc/self/", "/proc/thread-self/"})  // the tracee's, not ours
      if (path.starts_with(self)) path = fmt::format("/proc/{}/{}", mem.tid(), path.substr(std::strlen(self)));
  }
  // Follow symlinks and /proc magic links as the kernel will: open the file
  // (O_PATH: no read permission needed, nothing runs) and name what we got.
  int fd = open(path.c_str(), O_PATH | O_CLOEXEC);
  if (fd < 0) return false;  // execve will fail on its own
  p->exe = dir_of(int(getpid()), fd);  // the link /proc/OURPID/fd/FD names the file
  *exe_fd = fd;
  static constexpr std::string_view kDeleted = " (deleted)";
  p->exe_deleted = p->exe.ends_with(kDeleted);
  if (p->exe_deleted) p->exe.resize(p->exe.size() - kDeleted.size());
  p->exe_from_memfd = p->exe.starts_with("/memfd:");
  p->name = p->exe.substr(p->exe.rfind('/') + 1);
  p->interpreter_script.clear();
  p->sha256.clear();
  p->exe_drift = false;
  read_argv(a, mem, a.args[path_arg + 1], p);
  return true;
}

}  // namespace vigil::probes
