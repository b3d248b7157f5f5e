#include "probes/probes.hpp"

#include <fcntl.h>
#include <sys/uio.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include <fmt/format.h>

namespace vigil::probes {
namespace {

// execve(path, argv, envp) / execveat(dirfd, path, argv, envp, flags): only the
// path is read here; the rest comes from /proc at PTRACE_EVENT_EXEC.
void decode_exec_path(unsigned path_arg, const SyscallArgs& a, const TraceeMemory& mem, Event* ev) {
  FileInfo f;
  mem.read_string(a.args[path_arg], kPathMax, &f.raw_path);
  f.path = f.raw_path;
  if (path_arg == 1) f.fd = int(int32_t(a.args[0]));
  ev->file = std::move(f);
}

const std::vector<Probe> kProbes = {
    {"execve", EventClass::Process, "exec", Stage::ExecEntry,
     [](const SyscallArgs& a, const TraceeMemory& m, Event* ev) { decode_exec_path(0, a, m, ev); }},
    {"execveat", EventClass::Process, "exec", Stage::ExecEntry,
     [](const SyscallArgs& a, const TraceeMemory& m, Event* ev) { decode_exec_path(1, a, m, ev); }},
};

}  // namespace

const std::vector<Probe>& table() { return kProbes; }

const Probe* lookup(const Table& t, uint16_t data) {
  if (data < kDataBase || size_t(data - kDataBase) >= t.size()) return nullptr;
  return &t[data - kDataBase];
}

scmp_filter_ctx build_filter(const Table& table, std::string* error) {
  scmp_filter_ctx ctx = seccomp_init(SCMP_ACT_ALLOW);
  if (!ctx) {
    *error = "seccomp_init failed";
    return nullptr;
  }
  auto fail = [&](const std::string& what, int rc) {
    *error = fmt::format("building the seccomp filter: {}: {}", what, std::strerror(-rc));
    seccomp_release(ctx);
    return nullptr;
  };
  // Syscalls of an architecture not in the filter (x32, anything else) fail
  // with ENOSYS, as on a kernel without that ABI.
  if (int rc = seccomp_attr_set(ctx, SCMP_FLTATR_ACT_BADARCH, SCMP_ACT_ERRNO(ENOSYS)); rc < 0)
    return fail("bad-arch action", rc);
  // Binary tree of syscall numbers: O(log n) for syscalls outside the table.
  seccomp_attr_set(ctx, SCMP_FLTATR_CTL_OPTIMIZE, 2);
  // Our filter observes, it does not sandbox: do not let it force the
  // Speculative Store Bypass mitigation on the app (kernels before 5.16 do
  // that for every seccomp'd task by default), which would slow it down.
  seccomp_attr_set(ctx, SCMP_FLTATR_CTL_SSB, 1);
  if (seccomp_arch_native() == SCMP_ARCH_X86_64)
    if (int rc = seccomp_arch_add(ctx, SCMP_ARCH_X86); rc < 0 && rc != -EEXIST) return fail("adding i386", rc);
  for (size_t i = 0; i < table.size(); ++i) {
    const Probe& p = table[i];
    int nr = seccomp_syscall_resolve_name(p.syscall);
    if (nr == __NR_SCMP_ERROR) return fail(fmt::format("unknown syscall '{}'", p.syscall), -EINVAL);
    std::vector<scmp_arg_cmp> cmps;
    for (const auto& c : p.checks) cmps.push_back(scmp_arg_cmp{c.arg, c.op, c.datum_a, c.datum_b});
    int rc = seccomp_rule_add_array(ctx, SCMP_ACT_TRACE(kDataBase + i), nr, unsigned(cmps.size()), cmps.data());
    if (rc < 0) return fail(fmt::format("rule for '{}'", p.syscall), rc);
  }
  return ctx;
}

size_t TraceeMemory::read_some(uint64_t addr, void* buf, size_t len) const {
  iovec local{buf, len};
  iovec remote{reinterpret_cast<void*>(addr), len};
  ssize_t n = process_vm_readv(tid_, &local, 1, &remote, 1, 0);
  if (n >= 0) return size_t(n);
  if (errno != ENOSYS && errno != EPERM) return 0;
  // Fallback where process_vm_readv is unavailable or refused.
  int fd = open(fmt::format("/proc/{}/mem", tid_).c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return 0;
  n = pread(fd, buf, len, off_t(addr));
  close(fd);
  return n > 0 ? size_t(n) : 0;
}

bool TraceeMemory::read(uint64_t addr, void* buf, size_t len) const { return read_some(addr, buf, len) == len; }

bool TraceeMemory::read_string(uint64_t addr, size_t max, std::string* out) const {
  out->clear();
  if (!addr) return false;
  constexpr size_t kPage = 4096;
  char chunk[kPage];
  while (out->size() < max) {
    // Never cross a page boundary in one read: the next page may be unmapped.
    size_t len = std::min(kPage - size_t(addr % kPage), max - out->size());
    size_t n = read_some(addr, chunk, len);
    if (n == 0) return !out->empty();
    if (const void* nul = std::memchr(chunk, 0, n)) {
      out->append(chunk, static_cast<const char*>(nul) - chunk);
      return true;
    }
    out->append(chunk, n);
    addr += n;
  }
  return true;
}

}  // namespace vigil::probes
