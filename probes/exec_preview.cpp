// The exec of an execve/execveat entry notification (docs/design.md section 1):
// what the process will run, read before the kernel runs it.
#include <fcntl.h>
#include <sys/resource.h>
#include <unistd.h>

#include <algorithm>
#include <cstring>
#include <vector>

#include <fmt/format.h>

#include "probes/decode_util.hpp"
#include "probes/path.hpp"
#include "probes/probes.hpp"

namespace vigil::probes {
namespace {

// The kernel's limits on what execve copies (fs/exec.c): one string at most
// MAX_ARG_STRLEN (32 pages: longer fails with E2BIG); all of argv and envp,
// strings and pointers, at most a quarter of the caller's RLIMIT_STACK
// (between ARG_MAX, 32 pages, and 6 MiB). vigil reads argv up to that limit,
// capped at kArgvReadMaxBytes.
constexpr size_t kMaxArgStrlen = 32 * 4096;
constexpr size_t kArgMax = 32 * 4096;

size_t argv_limit(int tid) {
  rlimit r{};
  size_t limit = kArgvReadMaxBytes;
  if (prlimit(tid, RLIMIT_STACK, nullptr, &r) == 0 && r.rlim_cur != RLIM_INFINITY)
    limit = std::max<size_t>(kArgMax, std::min<size_t>(6u << 20, r.rlim_cur / 4));
  return std::min(limit, kArgvReadMaxBytes);
}

// Tracee memory read in large chunks (process_vm_readv): argv strings are
// usually next to each other, so most come from the chunk already read.
class ChunkReader {
 public:
  explicit ChunkReader(const TraceeMemory& mem) : mem_(mem) {}
  // The NUL-terminated string at addr, at most max bytes: Ok, Unreadable
  // (EFAULT, short read) or TooLong (no NUL within max).
  enum Result { Ok, Unreadable, TooLong };
  Result string(uint64_t addr, size_t max, std::string* out) {
    size_t avail = 0;
    for (;;) {
      if (addr >= base_ && addr < base_ + len_) {
        const char* from = buf_.data() + (addr - base_);
        avail = std::min(len_ - size_t(addr - base_), max + 1);
        if (const void* nul = std::memchr(from, 0, avail)) {
          out->assign(from, size_t(static_cast<const char*>(nul) - from));
          return Ok;
        }
        if (avail > max) return TooLong;
        if (short_) return Unreadable;  // the readable memory ends before the NUL
        chunk_ = std::min(chunk_ * 2, kMaxChunk);  // ran off the chunk: argv is contiguous here
      } else {
        chunk_ = kMinChunk;  // scattered strings: small reads
        avail = 0;
      }
      if (!fill(addr, std::min(max + 1, std::max(chunk_, 2 * avail)))) return Unreadable;
    }
  }

 private:
  static constexpr size_t kMinChunk = 4096, kMaxChunk = 1u << 20;
  // Reads [addr, addr+len): false if nothing is readable at addr.
  bool fill(uint64_t addr, size_t len) {
    buf_.resize(std::max(buf_.size(), len));
    size_t got = 0;
    while (got < len) {  // process_vm_readv stops at the first unreadable page
      const size_t n = mem_.read_some(addr + got, buf_.data() + got, len - got);
      if (n == 0) break;
      got += n;
    }
    base_ = addr, len_ = got, short_ = got < len;
    return got > 0;
  }
  const TraceeMemory& mem_;
  std::string buf_;
  uint64_t base_ = 0;
  size_t len_ = 0;
  bool short_ = false;
  size_t chunk_ = kMinChunk;
};

// The NULL-terminated argv array at addr, read in full up to the kernel's
// limit; else *unreadable says why ("argv": unreadable memory; "argv_too_long":
// over the limit, or a string over MAX_ARG_STRLEN) and argv_truncated is set.
void read_argv(const SyscallArgs& a, const TraceeMemory& mem, uint64_t addr, Process* p, std::string* unreadable) {
  const size_t word = is_i386(a) ? 4 : 8;
  const size_t limit = argv_limit(mem.tid());
  size_t bytes = 0;
  p->argv.clear();
  p->argv_truncated = false;
  auto fail = [&](const char* why) {
    p->argv_truncated = true;
    *unreadable = why;
  };
  ChunkReader strings(mem);
  std::vector<unsigned char> ptrs(512 * word);
  size_t have = 0;  // pointers in ptrs
  for (size_t i = 0; addr != 0; ++i) {
    if (i % 512 == 0) {  // the next block of pointers
      have = mem.read_some(addr + i * word, ptrs.data(), ptrs.size()) / word;
      if (have == 0) return fail("argv");
    }
    if (i % 512 >= have) return fail("argv");
    uint64_t ptr = 0;
    std::memcpy(&ptr, ptrs.data() + (i % 512) * word, word);
    if (ptr == 0) break;
    bytes += sizeof(void*);  // the kernel counts its own pointer size
    if (bytes >= limit) return fail("argv_too_long");
    std::string s;
    switch (strings.string(ptr, std::min(kMaxArgStrlen - 1, limit - bytes - 1), &s)) {
      case ChunkReader::Ok: break;
      case ChunkReader::Unreadable: return fail("argv");
      case ChunkReader::TooLong: return fail("argv_too_long");
    }
    bytes += s.size() + 1;
    p->argv.push_back(std::move(s));
  }
}

}  // namespace

bool exec_preview(bool execveat, const SyscallArgs& a, const TraceeMemory& mem, Process* p, int* exe_fd,
                  std::string* unreadable) {
  unreadable->clear();
  const unsigned path_arg = execveat ? 1 : 0;
  const int dirfd = execveat ? arg_int(a, 0) : AT_FDCWD;
  std::string raw;
  if (!mem.read_string(a.args[path_arg], kPathMax, &raw)) {
    if (a.args[path_arg] != 0) *unreadable = "path";
    return false;
  }
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
  read_argv(a, mem, a.args[path_arg + 1], p, unreadable);
  return true;
}

}  // namespace vigil::probes
