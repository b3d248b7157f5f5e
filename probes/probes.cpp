#include "probes/probes.hpp"

#include <fcntl.h>
#include <linux/audit.h>
#include <linux/sockios.h>
#include <sched.h>
#include <signal.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/ptrace.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <unistd.h>

#include <cerrno>
#include <algorithm>
#include <cstring>
#include <string>
#include <unordered_map>

#include <fmt/format.h>

#include "probes/exec.hpp"

namespace vigil::probes {
namespace {

// BPF argument checks used by the rows below.
constexpr ArgCheck has_bits(unsigned arg, uint64_t bits) { return {arg, SCMP_CMP_MASKED_EQ, bits, bits}; }
constexpr ArgCheck no_bits(unsigned arg, uint64_t bits) { return {arg, SCMP_CMP_MASKED_EQ, bits, 0}; }
// eq compares the low 32 bits only: for an int argument (socket's domain,
// prctl's option, dup2's newfd) the kernel ignores the upper half, which the
// caller controls; a full 64-bit compare would let garbage there skip the row.
constexpr ArgCheck eq(unsigned arg, uint64_t v) { return {arg, SCMP_CMP_MASKED_EQ, 0xffffffffu, v}; }
constexpr ArgCheck ne(unsigned arg, uint64_t v) { return {arg, SCMP_CMP_NE, v}; }
// Write-opens: flags has O_WRONLY, O_RDWR, O_CREAT or O_TRUNC (O_TMPFILE implies O_WRONLY/O_RDWR).
std::vector<ArgCheck> write_open(unsigned flags_arg) {
  return {has_bits(flags_arg, O_WRONLY), has_bits(flags_arg, O_RDWR), has_bits(flags_arg, O_CREAT),
          has_bits(flags_arg, O_TRUNC)};
}
std::vector<ArgCheck> one_of(unsigned arg, std::initializer_list<uint64_t> values) {
  std::vector<ArgCheck> out;
  for (uint64_t v : values) out.push_back(eq(arg, v));
  return out;
}

constexpr auto F = EventClass::FileSystem;
constexpr auto N = EventClass::Network;
constexpr auto P = EventClass::Process;
constexpr auto E = Stage::Entry;

// A row that feeds state other events read (Feed).
Probe fed(uint8_t feeds, Probe p) {
  p.feeds = feeds;
  return p;
}
constexpr uint8_t D = kFeedDrift;
// A row vigil performs itself where a rule can block it (Probe::performed).
Probe perf(Probe p) {
  p.performed = true;
  return p;
}
constexpr uint8_t G = kFeedGuard;
constexpr uint8_t R = kFeedRoot;

// The rows: probes/catalog.md explains each check and decoder. The feed
// bits say which rows the adaptive filter keeps for others (sensor/rows.cpp):
// exec rows: process identity; guard rows (the kinds of sensor/guard.cpp):
// always; writes, renames, links and unlinks: drift; connect and DNS sends:
// the DNS window and map (connect: the peek window too); accept:
// proc.accepted_conn; exit_group: exact exit codes. Invariants checked: the
// fd table needs no row (entries are validated against /proc at every
// lookup, an unseen dup or close only costs a re-resolve), nor do the cwd
// (read from /proc) or ids (read at exec, when a process is learnt, and at a
// trapped set*id or capset); a process is learnt at its first
// trapped call (exec at the latest, when it runs something).
// A guard row without G would let the app signal or renice the sensor.
const std::vector<Probe> kProbes = {
    fed(kFeedIdentity, {"execve", EventClass::Process, "exec", Stage::ExecEntry, dec::execve}),
    fed(kFeedIdentity, {"execveat", EventClass::Process, "exec", Stage::ExecEntry, dec::execveat}),
    // Process creation is not a row: a new process is learnt at its first
    // notification (its fork event then), so forks and threads cost nothing.
    // Except a clone that hides its maker (CLONE_PARENT, not a thread): the
    // caller is followed to the kernel's fork event (Stage::ParentClone).
    // clone3's flags are in memory, out of BPF's reach: the filter answers it
    // ENOSYS (build_filter), and libcs fall back to clone.
    fed(kFeedIdentity, {"clone", P, "clone", Stage::ParentClone, dec::clone_flags,
                        {{0, SCMP_CMP_MASKED_EQ, CLONE_PARENT | CLONE_THREAD, CLONE_PARENT}}}),
    // Its end comes from its pidfd; exit_group is trapped only for exact exit
    // codes (--exit-codes=exact, docs/design.md section 1).
    fed(kFeedExitCode, {"exit_group", P, "exit", Stage::Exit, dec::exit_code, {}, nullptr, {}, Enforce::Alert}),
    // File
    // Opens and path rows: performed by vigil where a rule can block them (sensor/perform.hpp; not chdir: the caller's own).
    // Write-opens are guard rows too: one of the sensor's /proc entries
    // (/proc/<vigil>/oom_score_adj: the same uid may write it) is refused by
    // the resolver and the call denied in every mode (sensor/guard.hpp tamper),
    // as is vigil's journal or spool (truncated, vigil dies of SIGBUS;
    // truncate is a guard row for it). The other path rows are checked the
    // same way where they are trapped (the default rules trap them).
    fed(D | G, perf({"open", F, "open", E, dec::open, {}, nullptr, write_open(1)})),
    fed(D | G, perf({"openat", F, "openat", E, dec::open, {}, nullptr, write_open(2)})),
    fed(D | G, perf({"openat2", F, "openat2", E, dec::open})),
    fed(D | G, perf({"creat", F, "creat", E, dec::open})),
    fed(D | G, perf({"truncate", F, "truncate", E, dec::path_op})),  // G: vigil's journal (sensor/guard.hpp protect_spool)
    fed(D, perf({"unlink", F, "unlink", E, dec::path_op})),
    fed(D, perf({"unlinkat", F, "unlinkat", E, dec::path_op})),
    perf({"rmdir", F, "rmdir", E, dec::path_op}),
    perf({"mkdir", F, "mkdir", E, dec::path_op}),
    perf({"mkdirat", F, "mkdirat", E, dec::path_op}),
    perf({"chmod", F, "chmod", E, dec::path_op}),
    perf({"fchmodat", F, "fchmodat", E, dec::path_op}),
    perf({"fchmodat2", F, "fchmodat2", E, dec::path_op}),
    perf({"chown", F, "chown", E, dec::path_op}),
    perf({"lchown", F, "lchown", E, dec::path_op}),
    perf({"fchownat", F, "fchownat", E, dec::path_op}),
    {"chdir", P, "chdir", E, dec::path_op},
    fed(D, perf({"rename", F, "rename", E, dec::two_path})),
    fed(D, perf({"renameat", F, "renameat", E, dec::two_path})),
    fed(D, perf({"renameat2", F, "renameat2", E, dec::two_path})),
    fed(D, perf({"link", F, "link", E, dec::two_path})),
    fed(D, perf({"linkat", F, "linkat", E, dec::two_path})),
    perf({"symlink", F, "symlink", E, dec::two_path}),
    perf({"symlinkat", F, "symlinkat", E, dec::two_path}),
    // Times the app sets (not "now": null times are left out): a write's
    // mtime set back would hide it from drift's mtime check (probes/drift.hpp).
    // Performed where a rule can block them, with the times read once (probes/times.hpp).
    fed(D, perf({"utimensat", F, "utimensat", E, dec::times, {ne(2, 0)}})),
    fed(D, perf({"futimesat", F, "futimesat", E, dec::times, {ne(2, 0)}})),
    fed(D, perf({"utimes", F, "utimes", E, dec::times, {ne(1, 0)}})),
    fed(D, perf({"utime", F, "utime", E, dec::times, {ne(1, 0)}})),
    {"fchmod", F, "fchmod", E, dec::fd_op},
    {"fchown", F, "fchown", E, dec::fd_op},
    {"fchdir", P, "fchdir", E, dec::fd_op},
    perf({"open_by_handle_at", F, "open_by_handle_at", E, dec::fd_op}),
    // Roots and mounts (R: the resolver's root cache ends at the first one, docs/design.md "The root cache").
    fed(R, {"mount", F, "mount", E, dec::mount}),
    fed(R, {"umount2", F, "umount2", E, dec::mount}),
    fed(R, {"umount", F, "umount", E, dec::mount}),  // i386 only (oldumount)
    fed(R, {"move_mount", F, "move_mount", E, dec::mount}),
    fed(R, {"chroot", P, "chroot", E, dec::mount}),
    fed(R, {"pivot_root", F, "pivot_root", E, dec::mount}),
    {"memfd_create", F, "memfd_create", E, dec::memfd},
    {"mmap", F, "mmap", E, dec::mmap_exec, {has_bits(2, PROT_EXEC), no_bits(3, MAP_ANONYMOUS)}},
    // i386's mmap takes a struct; its libc maps with mmap2 (registers, as x86_64's mmap).
    {"mmap2", F, "mmap", E, dec::mmap_exec, {has_bits(2, PROT_EXEC), no_bits(3, MAP_ANONYMOUS)}},
    // Network and DNS. connect and sends with a destination: performed by
    // vigil where a rule can block them (sensor/netcall.hpp).
    {"socket", N, "socket", E, dec::socket, {}, nullptr,
     {eq(0, AF_PACKET), {1, SCMP_CMP_MASKED_EQ, 0xf, SOCK_RAW}, {1, SCMP_CMP_MASKED_EQ, 0xf, SOCK_PACKET}}},
    fed(kFeedDns | kFeedPeek, perf({"connect", N, "connect", E, dec::sockaddr_op})),
    {"bind", N, "bind", E, dec::sockaddr_op},
    {"listen", N, "listen", E, dec::listen},
    fed(kFeedAccept, {"accept", N, "accept", E, dec::accept, {}, dec::accept_done}),
    fed(kFeedAccept, {"accept4", N, "accept4", E, dec::accept, {}, dec::accept_done}),
    fed(kFeedDns, perf({"sendto", N, "sendto", E, dec::sendto, {ne(4, 0)}})),
    fed(kFeedDns, perf({"sendmsg", N, "sendmsg", E, dec::sendmsg})),
    fed(kFeedDns, perf({"sendmmsg", N, "sendmmsg", E, dec::sendmmsg})),
    // Privilege and kernel surface
    {"setuid", P, "setuid", E, dec::ids},
    {"setgid", P, "setgid", E, dec::ids},
    {"setreuid", P, "setreuid", E, dec::ids},
    {"setregid", P, "setregid", E, dec::ids},
    {"setresuid", P, "setresuid", E, dec::ids},
    {"setresgid", P, "setresgid", E, dec::ids},
    {"setfsuid", P, "setfsuid", E, dec::ids},
    {"setfsgid", P, "setfsgid", E, dec::ids},
    {"capset", P, "capset", E, dec::args_only},
    {"prctl", P, "prctl", E, dec::prctl, {}, nullptr,
     one_of(0, {PR_SET_DUMPABLE, PR_SET_KEEPCAPS, PR_SET_NAME, PR_SET_SECCOMP, PR_CAPBSET_DROP, PR_SET_SECUREBITS,
                PR_SET_MM, PR_SET_NO_NEW_PRIVS, PR_CAP_AMBIENT, PR_SET_PTRACER})},
    fed(R, {"unshare", P, "unshare", E, dec::args_only}),
    fed(R, {"setns", P, "setns", E, dec::args_only}),
    // The app's own listener: its supervisor's CONTINUE would hide the calls
    // it takes (chroot included) from vigil.
    fed(R, {"seccomp", P, "seccomp", E, dec::args_only,
            {eq(0, 1 /* SECCOMP_SET_MODE_FILTER */), has_bits(1, 1u << 3 /* SECCOMP_FILTER_FLAG_NEW_LISTENER */)}}),
    fed(G, {"ptrace", P, "ptrace", E, dec::ptrace, {}, nullptr,
     one_of(0, {PTRACE_TRACEME, PTRACE_POKETEXT, PTRACE_POKEDATA, PTRACE_POKEUSER, 13 /* SETREGS, x86 */,
                15 /* SETFPREGS, x86 */, PTRACE_ATTACH, 0x4205 /* SETREGSET */, 0x4206 /* SEIZE */})}),
    fed(G, {"process_vm_writev", P, "process_vm_writev", E, dec::args_only}),
    {"init_module", P, "init_module", E, dec::module},
    {"finit_module", P, "finit_module", E, dec::module},
    {"delete_module", P, "delete_module", E, dec::module},
    {"bpf", P, "bpf", E, dec::args_only},
    {"userfaultfd", P, "userfaultfd", E, dec::args_only},
    {"memfd_secret", P, "memfd_secret", E, dec::args_only},
    {"io_uring_setup", P, "io_uring_setup", E, dec::args_only},
    // Signals: not liveness probes (kill 0), not Go's preemption (tgkill
    // SIGURG, every 10 ms). libseccomp allows one test per argument and rule,
    // hence "< SIGURG or > SIGURG" (thread liveness probes, tkill 0, are rare).
    fed(G, {"kill", P, "kill", E, dec::signal, {ne(1, 0)}}),
    fed(G, {"tkill", P, "tkill", E, dec::signal, {}, nullptr, {{1, SCMP_CMP_LT, SIGURG}, {1, SCMP_CMP_GT, SIGURG}}}),
    fed(G, {"tgkill", P, "tgkill", E, dec::signal, {}, nullptr, {{2, SCMP_CMP_LT, SIGURG}, {2, SCMP_CMP_GT, SIGURG}}}),
    fed(G, {"pidfd_send_signal", P, "pidfd_send_signal", E, dec::signal, {ne(1, 0)}}),
    {"dup2", P, "dup2", E, dec::dup, {}, nullptr, one_of(1, {0, 1, 2})},  // newfd <= 2 (an unsigned int)
    {"dup3", P, "dup3", E, dec::dup, {}, nullptr, one_of(1, {0, 1, 2})},
    // Guard rows (sensor/guard.hpp): calls that can reach another process.
    // Those aimed at the sensor (vigil, the keeper) are denied in every mode
    // and alerted. Signals with a value are events like kill; the others are
    // events only when aimed at the sensor. Calls on the caller itself (pid
    // 0: getrlimit, nice, ...) are not notified.
    fed(G, {"rt_sigqueueinfo", P, "rt_sigqueueinfo", E, dec::signal, {ne(1, 0)}}),
    fed(G, {"rt_tgsigqueueinfo", P, "rt_tgsigqueueinfo", E, dec::signal, {ne(2, 0)}}),
    fed(G, {"process_vm_readv", P, "process_vm_readv", E, dec::guarded}),
    fed(G, {"pidfd_open", P, "pidfd_open", E, dec::guarded}),
    fed(G, {"pidfd_getfd", P, "pidfd_getfd", E, dec::guarded}),
    fed(G, {"process_madvise", P, "process_madvise", E, dec::guarded}),
    fed(G, {"kcmp", P, "kcmp", E, dec::guarded}),
    fed(G, {"prlimit64", P, "prlimit64", E, dec::guarded, {ne(0, 0)}}),
    fed(G, {"sched_setaffinity", P, "sched_setaffinity", E, dec::guarded, {ne(0, 0)}}),
    fed(G, {"sched_setscheduler", P, "sched_setscheduler", E, dec::guarded, {ne(0, 0)}}),
    fed(G, {"sched_setparam", P, "sched_setparam", E, dec::guarded, {ne(0, 0)}}),
    fed(G, {"sched_setattr", P, "sched_setattr", E, dec::guarded, {ne(0, 0)}}),
    fed(G, {"setpriority", P, "setpriority", E, dec::guarded, {}, nullptr, {ne(0, 0 /* PRIO_PROCESS */), ne(1, 0)}}),
    fed(G, {"ioprio_set", P, "ioprio_set", E, dec::guarded, {}, nullptr, {ne(0, 1 /* IOPRIO_WHO_PROCESS */), ne(1, 0)}}),
    // A file's owner: who the kernel sends its SIGIO and SIGURG to (F_SETSIG:
    // any signal, SIGKILL too), with the setter's credentials.
    fed(G, {"fcntl", P, "fcntl", E, dec::guarded, {}, nullptr, one_of(1, {F_SETOWN, F_SETOWN_EX})}),
    fed(G, {"fcntl64", P, "fcntl", E, dec::guarded, {}, nullptr, one_of(1, {F_SETOWN, F_SETOWN_EX})}),  // i386 only
    fed(G, {"ioctl", P, "ioctl", E, dec::guarded, {}, nullptr, one_of(1, {FIOSETOWN, SIOCSPGRP})}),
};

}  // namespace

const Table& table() { return kProbes; }

namespace {
// i386's syscall number of a name, direct socket calls included (libseccomp
// resolves i386's "connect" to a negative socketcall pseudo-number: its
// direct number, 362, is found by resolving numbers to names).
int i386_nr(const char* name) {
  static const std::unordered_map<std::string, int> direct = [] {
    std::unordered_map<std::string, int> m;
    for (int nr = 0; nr < 1024; ++nr)
      if (char* n = seccomp_syscall_resolve_num_arch(SCMP_ARCH_X86, nr)) {
        m.emplace(n, nr);
        free(n);
      }
    return m;
  }();
  auto it = direct.find(name);
  return it == direct.end() ? -1 : it->second;
}

constexpr int kSocketcall = 102;  // i386's socketcall(call, unsigned long args[])

// The calls of socketcall vigil reads (linux/net.h SYS_*): the call each
// stands for, how many arguments its array holds, and who reads it: a row
// (unwrap_socketcall; i386 has no accept: it becomes accept4 with flags 0)
// and/or the DNS and peek windows (window_view; SEND and RECV are sendto and
// recvfrom without an address).
struct SocketCall {
  const char* name;
  unsigned nargs;
  bool row, window;
};
const SocketCall* socket_call(uint64_t call) {
  static const std::unordered_map<uint64_t, SocketCall> calls = {
      {1, {"socket", 3, true, false}},    {2, {"bind", 3, true, false}},     {3, {"connect", 3, true, false}},
      {4, {"listen", 2, true, false}},    {5, {"accept4", 3, true, false}},  {9, {"sendto", 4, false, true}},
      {10, {"recvfrom", 4, false, true}}, {11, {"sendto", 6, true, true}},   {12, {"recvfrom", 6, false, true}},
      {16, {"sendmsg", 3, true, true}},   {17, {"recvmsg", 3, false, true}}, {18, {"accept4", 4, true, false}},
      {20, {"sendmmsg", 4, true, true}},
  };
  auto it = calls.find(uint32_t(call));
  return it == calls.end() ? nullptr : &it->second;
}

// The arguments of the socketcall *a stands for (call c): its array, at
// args[1], read once into args (zero past c.nargs). False, args all zero,
// if the array cannot be read.
bool read_socketcall_args(SyscallArgs* a, const SocketCall& c, const TraceeMemory& mem) {
  uint32_t v[6] = {};
  const bool ok = mem.read(uint32_t(a->args[1]), v, c.nargs * sizeof(uint32_t));
  for (unsigned i = 0; i < 6; ++i) a->args[i] = ok ? v[i] : 0;
  return ok;
}
}  // namespace

int abi_nr(uint32_t arch, const char* name) {
  return arch == SCMP_ARCH_X86 ? i386_nr(name) : seccomp_syscall_resolve_name_arch(arch, name);
}

Index::Index(const Table& t) {
  for (const Probe& p : t)
    for (size_t i = 0; i < kAbis.size(); ++i) {
      const int nr = abi_nr(kAbis[i].arch, p.syscall);
      if (nr < 0) continue;  // not on this architecture (i386 has no accept: socketcall or accept4; aarch64 no open)
      auto& v = by_abi_[i];
      if (size_t(nr) >= v.size()) v.resize(size_t(nr) + 1, nullptr);
      v[size_t(nr)] = &p;
    }
}

bool unwrap_socketcall(SyscallArgs* a, const TraceeMemory& mem, bool* unreadable) {
  *unreadable = false;
  if (a->arch != AUDIT_ARCH_I386 || a->nr != kSocketcall) return false;
  const SocketCall* c = socket_call(a->args[0]);
  const int nr = c && c->row ? i386_nr(c->name) : -1;
  if (nr < 0) return false;
  *unreadable = !read_socketcall_args(a, *c, mem);
  a->nr = nr;
  return true;
}

void window_view(SyscallArgs* a, const TraceeMemory& mem) {
  if (a->arch != AUDIT_ARCH_I386) return;
  auto native = [](const char* name) { return int64_t(seccomp_syscall_resolve_name_arch(SCMP_ARCH_X86_64, name)); };
  if (a->nr == kSocketcall) {
    const SocketCall* c = socket_call(a->args[0]);
    if (!c || !c->window) return void(a->nr = -1);
    a->nr = read_socketcall_args(a, *c, mem) ? native(c->name) : kUnreadableCall;
    return;
  }
  static const std::unordered_map<int64_t, int64_t> direct = [&] {
    std::unordered_map<int64_t, int64_t> m;
    for (const char* n : {"read", "write", "close", "writev", "sendto", "sendmsg", "sendmmsg", "recvfrom", "recvmsg"})
      if (const int i = i386_nr(n); i >= 0) m.emplace(i, native(n));
    return m;
  }();
  auto it = direct.find(a->nr);
  a->nr = it == direct.end() ? -1 : it->second;
  for (auto& x : a->args) x = uint32_t(x);  // i386's registers
}

const Probe* Index::find(uint32_t arch, int64_t nr) const {
  const int i = abi_index(arch);
  if (i < 0) return nullptr;
  const auto& v = by_abi_[size_t(i)];
  return nr >= 0 && size_t(nr) < v.size() ? v[size_t(nr)] : nullptr;
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
  for (const Abi& abi : kAbis)  // seccomp_init added the native one
    if (int rc = seccomp_arch_add(ctx, abi.arch); rc < 0 && rc != -EEXIST) return fail(fmt::format("adding {}", abi.name), rc);
  // clone3 passes its flags in memory, where BPF cannot check them (nor
  // vigil, race-free): with the clone row in the table, clone3 fails with
  // ENOSYS in the filter itself (no notification), as on a kernel before
  // 5.3 and under Docker's default seccomp profile; glibc falls back to
  // clone, musl and Go use clone anyway.
  if (std::any_of(table.begin(), table.end(), [](const Probe& p) { return std::strcmp(p.syscall, "clone") == 0; }))
    if (int rc = seccomp_rule_add(ctx, SCMP_ACT_ERRNO(ENOSYS), seccomp_syscall_resolve_name("clone3"), 0); rc < 0)
      return fail("clone3 as ENOSYS", rc);
  for (size_t i = 0; i < table.size(); ++i) {
    const Probe& p = table[i];
    int nr = seccomp_syscall_resolve_name(p.syscall);
    if (nr == __NR_SCMP_ERROR) return fail(fmt::format("unknown syscall '{}'", p.syscall), -EINVAL);
    std::vector<scmp_arg_cmp> cmps;
    for (const auto& c : p.checks) cmps.push_back(scmp_arg_cmp{c.arg, c.op, c.datum_a, c.datum_b});
    // One rule per alternative (OR), each with the common checks (AND).
    for (size_t k = 0; k < std::max<size_t>(1, p.any_of.size()); ++k) {
      std::vector<scmp_arg_cmp> all = cmps;
      if (!p.any_of.empty()) {
        const auto& c = p.any_of[k];
        all.push_back(scmp_arg_cmp{c.arg, c.op, c.datum_a, c.datum_b});
      }
      int rc = seccomp_rule_add_array(ctx, SCMP_ACT_NOTIFY, nr, unsigned(all.size()), all.data());
      if (rc < 0) return fail(fmt::format("rule for '{}'", p.syscall), rc);
    }
  }
  return ctx;
}

bool export_filter(const Table& table, std::vector<sock_filter>* prog, std::string* error) {
  scmp_filter_ctx filter = build_filter(table, error);
  if (!filter) return false;
  int fd = memfd_create("vigil-filter", MFD_CLOEXEC);
  int rc = fd < 0 ? -errno : seccomp_export_bpf(filter, fd);
  seccomp_release(filter);
  struct stat st {};
  if (rc == 0 && fstat(fd, &st) == 0 && st.st_size > 0 && st.st_size % sizeof(sock_filter) == 0) {
    prog->resize(size_t(st.st_size) / sizeof(sock_filter));
    rc = pread(fd, prog->data(), size_t(st.st_size), 0) == st.st_size ? 0 : -EIO;
  } else if (rc == 0) {
    rc = -EIO;
  }
  if (fd >= 0) close(fd);
  if (rc != 0) *error = fmt::format("exporting the seccomp filter: {}", std::strerror(-rc));
  return rc == 0;
}

namespace {
thread_local ReadWatch* t_watch = nullptr;

// Publishes one read in the thread's ReadWatch for as long as it lasts.
class Watched {
 public:
  explicit Watched(int tid) : w_(t_watch) {
    if (!w_) return;
    // The reading thread is the only writer of `reading`.
    r_ = ((w_->reading.load(std::memory_order_relaxed) >> 32) + 1) << 32 | uint32_t(tid);
    w_->reading.store(r_, std::memory_order_release);
  }
  ~Watched() {
    if (w_) w_->reading.store(r_ & ~uint64_t(0xffffffff), std::memory_order_release);
  }
  // The watchdog acted on this read (killed the process): whatever it returned is not the caller's memory.
  bool ended_by_watchdog() const { return w_ && w_->ended.load(std::memory_order_acquire) == r_; }

 private:
  ReadWatch* w_;
  uint64_t r_ = 0;
};

size_t read_now(int tid, uint64_t addr, void* buf, size_t len) {
  iovec local{buf, len};
  iovec remote{reinterpret_cast<void*>(addr), len};
  ssize_t n = process_vm_readv(tid, &local, 1, &remote, 1, 0);
  if (n >= 0) return size_t(n);
  if (errno != ENOSYS && errno != EPERM) return 0;
  // Fallback where process_vm_readv is unavailable or refused.
  int fd = open(fmt::format("/proc/{}/mem", tid).c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return 0;
  n = pread(fd, buf, len, off_t(addr));
  close(fd);
  return n > 0 ? size_t(n) : 0;
}
}  // namespace

void watch_reads(ReadWatch* w) {
  t_watch = w;
  if (w) w->reader.store(int(gettid()), std::memory_order_relaxed);
}

void TraceeMemory::prefetch(std::initializer_list<std::pair<uint64_t, size_t>> spans) const {
  std::vector<Span> got;
  std::vector<iovec> local, remote;
  for (const auto& [addr, len] : spans) {
    if (addr == 0 || len == 0) continue;
    got.push_back({addr, std::string(len, '\0'), false});
  }
  for (Span& s : got) {
    local.push_back({s.bytes.data(), s.bytes.size()});
    remote.push_back({reinterpret_cast<void*>(s.addr), s.bytes.size()});
  }
  if (got.empty()) return;
  Watched watched(tid_);
  ssize_t n = process_vm_readv(tid_, local.data(), local.size(), remote.data(), remote.size(), 0);
  if (n <= 0 || watched.ended_by_watchdog()) return;  // (the reads are made one by one)
  for (Span& s : got) {
    if (n <= 0) break;
    if (size_t(n) < s.bytes.size()) s.bytes.resize(size_t(n)), s.short_read = true;
    n -= ssize_t(s.bytes.size());
    prefetched_.push_back(std::move(s));
    if (prefetched_.back().short_read) break;
  }
}

std::pair<uint64_t, size_t> TraceeMemory::string_head(uint64_t addr) {
  return {addr, std::min<size_t>(kStringPage - size_t(addr % kStringPage), kStringFirst)};
}

size_t TraceeMemory::read_some(uint64_t addr, void* buf, size_t len) const {
  for (const Span& s : prefetched_) {
    if (addr < s.addr || addr >= s.addr + s.bytes.size()) continue;
    const size_t at = size_t(addr - s.addr), have = s.bytes.size() - at;
    if (len > have && !s.short_read) continue;  // runs past this copy: another span, else read it all now
    std::memcpy(buf, s.bytes.data() + at, std::min(len, have));
    return std::min(len, have);
  }
  Watched watched(tid_);
  const size_t n = read_now(tid_, addr, buf, len);
  return watched.ended_by_watchdog() ? 0 : n;
}

std::string_view TraceeMemory::prefetched(uint64_t addr) const {
  for (const Span& s : prefetched_)
    if (addr >= s.addr && addr < s.addr + s.bytes.size()) return std::string_view(s.bytes).substr(size_t(addr - s.addr));
  return {};
}

bool TraceeMemory::read(uint64_t addr, void* buf, size_t len) const { return read_some(addr, buf, len) == len; }

bool TraceeMemory::read_string(uint64_t addr, size_t max, std::string* out) const {
  out->clear();
  if (!addr) return false;
  constexpr size_t kPage = kStringPage;
  char chunk[kPage];
  while (out->size() < max) {
    // Never cross a page boundary in one read: the next page may be unmapped.
    size_t len = std::min(kPage - size_t(addr % kPage), max - out->size());
    if (out->empty()) len = std::min(len, string_head(addr).second);  // most paths are shorter than a page
    size_t n = read_some(addr, chunk, len);
    if (n == 0) return false;  // EFAULT or a short read: the string is not all there
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
