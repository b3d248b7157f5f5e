// vigil probes: the single table of traced syscalls. Each row yields the
// seccomp filter rule (with optional BPF argument checks), the decoder and the
// event it produces. Syscalls that are not in the table are allowed by the
// filter without a stop (cost: a few BPF instructions).
//
// Adding a syscall = adding one row to kProbes in probes/probes.cpp.
#pragma once

#include <array>
#include <atomic>
#include <cstdint>
#include <functional>
#include <initializer_list>
#include <string>
#include <utility>
#include <vector>

#include <linux/audit.h>
#include <linux/filter.h>
#include <seccomp.h>

#include "events/events.hpp"
#include "probes/dnsmap.hpp"
#include "probes/drift.hpp"
#include "probes/fdtable.hpp"

namespace vigil::procfs {
struct Status;  // probes/procfs.hpp
}

namespace vigil {
struct MsgHdr;  // probes/sockaddr.hpp
}

namespace vigil::probes {

// The syscall ABIs the filter covers, by build target: the one place where
// x86_64 and aarch64 builds differ (docs/arm64.md). Rows resolve per ABI by
// name (libseccomp); a row an ABI lacks (aarch64 has no open, dup2, mkdir,
// ...: their *at forms are rows too) is left out of that ABI. Calls of any
// other ABI fail with ENOSYS (x32 on x86_64; 32-bit ARM tasks on aarch64).
struct Abi {
  uint32_t arch;  // AUDIT_ARCH_* (seccomp_data.arch) = SCMP_ARCH_* (libseccomp)
  const char* name;
};
#if defined(__x86_64__)
inline constexpr std::array<Abi, 2> kAbis = {{{AUDIT_ARCH_X86_64, "x86_64"}, {AUDIT_ARCH_I386, "i386"}}};  // i386: int 0x80
#elif defined(__aarch64__)
inline constexpr std::array<Abi, 1> kAbis = {{{AUDIT_ARCH_AARCH64, "aarch64"}}};
#else
#error "vigil is built for x86_64 and aarch64 only (the ABI list in probes/probes.hpp)"
#endif
// Position of an AUDIT_ARCH_* in kAbis, -1 if the filter does not cover it.
constexpr int abi_index(uint32_t audit_arch) {
  for (size_t i = 0; i < kAbis.size(); ++i)
    if (kAbis[i].arch == audit_arch) return int(i);
  return -1;
}

// The number of syscall `name` on ABI arch (one of kAbis), -1 if it has none
// there. i386's socket calls are their direct numbers (connect: 362), which
// an unwrapped socketcall has too (libseccomp names them by pseudo-numbers).
int abi_nr(uint32_t arch, const char* name);

// A syscall as seen at a seccomp notification (struct seccomp_data) or a
// ptrace syscall stop (PTRACE_GET_SYSCALL_INFO).
struct SyscallArgs {
  uint32_t arch = 0;  // AUDIT_ARCH_*, one of kAbis
  int64_t nr = 0;
  uint64_t args[6] = {};
};

// A read of tracee memory can stall in the kernel (a page backed by a
// userfaultfd that holds kernel-mode faults, a file page on a hung
// filesystem), and with it the thread that reads. A thread that must never
// stall publishes its reads in a ReadWatch (watch_reads): the watchdog
// (sensor/watchdog.hpp) acts on a read that lasts too long. Cost per read:
// two stores and a load, no clock, no system call.
struct ReadWatch {
  // The read in progress: (number of reads started << 32) | the tid whose
  // memory is read; low half 0: none. One store at each end of a read.
  std::atomic<uint64_t> reading{0};
  std::atomic<uint64_t> ended{0};  // a `reading` value the watchdog acted on: that read's bytes are not trusted
  std::atomic<int> reader{0};      // the thread that reads (set by watch_reads)
  static int tid_of(uint64_t r) { return int(uint32_t(r)); }
};
// The calling thread's reads through TraceeMemory are published in *w (null: not watched).
void watch_reads(ReadWatch* w);

// Reads the tracee's memory: process_vm_readv in page-bounded chunks, with a
// /proc/PID/mem fallback. The thread must be blocked in a notification or
// ptrace-stopped. A read the watchdog had to end (ReadWatch) reads nothing.
class TraceeMemory {
 public:
  explicit TraceeMemory(int tid) : tid_(tid) {}
  int tid() const { return tid_; }
  // Reads a NUL-terminated string of at most `max` bytes (out: without the
  // NUL). False if it cannot be read up to its NUL or `max` (a null, unmapped
  // or unreadable address, memfd_secret memory): *out keeps what was read.
  bool read_string(uint64_t addr, size_t max, std::string* out) const;
  bool read(uint64_t addr, void* buf, size_t len) const;
  // Reads up to len bytes; returns how many (0: unreadable at addr).
  size_t read_some(uint64_t addr, void* buf, size_t len) const;
  // Reads the spans (address, length) in one system call; the reads of this
  // object that fall within one are then served from that copy (a span read
  // short: the readable memory ends there, as a read of its own would say).
  // A span after one read short is not kept. For calls that read several
  // places known at once (an exec's path and argv array).
  void prefetch(std::initializer_list<std::pair<uint64_t, size_t>> spans) const;
  // The prefetched bytes from addr to the end of the span holding it (empty:
  // none holds it): what a read at addr would have returned then.
  std::string_view prefetched(uint64_t addr) const;
  // The span read_string's first read covers (a first chunk, never past the page).
  static std::pair<uint64_t, size_t> string_head(uint64_t addr);
  static constexpr size_t kStringPage = 4096, kStringFirst = 256;

 private:
  int tid_;
  struct Span {
    uint64_t addr;
    std::string bytes;
    bool short_read;
  };
  mutable std::vector<Span> prefetched_;
};

// The msghdr at addr of the caller's memory, in its ABI's layout (compat:
// i386's, probes/sockaddr.hpp), read once.
bool read_msghdr(const TraceeMemory& mem, uint64_t addr, bool compat, MsgHdr* h);

// What a verdict may do about an event (sensor/judge.hpp applies it in prevent mode):
// each row declares it, and so does each event the tracer builds itself.
enum class Enforce : uint8_t {
  Deny,   // before the call: fail it with EPERM (block), or kill the process (kill)
  Kill,   // the call is done (a fork learnt afterwards): block and kill both kill the process
  Alert,  // past the point of no return (exit, inotify-seen opens, DNS replies): rules only alert
};

// What the tracer does with a notification of this row.
enum class Stage : uint8_t {
  Entry,      // decode at the notification; the event is judged and emitted before the syscall runs
  ExecEntry,  // the exec event: what will run, read before the kernel runs it (probes/exec.hpp); allowed, the
              // process is what the event says
  Exit,       // exit_group: the exit event (the process is past the point of no return)
  // clone(CLONE_PARENT): the new process's parent in the kernel is the
  // caller's parent, and nothing else records its maker. The tracer seizes
  // the caller for the call (PTRACE_O_TRACEFORK & co.): the kernel stops it
  // with the new pid before the new process runs a single instruction, and
  // the new process is learnt then, made by the caller. No event of its own
  // unless the caller cannot be followed (an unreadable maker: denied in
  // prevent mode, alerted).
  ParentClone,
};

// Sensor state a decoder may read and update (owned by the tracer).
struct DecodeContext {
  int tgid = 0;
  FileState* files = nullptr;     // the calling process's fd table and cwd (null: unknown)
  DnsMap* dns = nullptr;          // names of resolved addresses
  DriftTracker* drift = nullptr;  // files written since start
  const Process* proc = nullptr;  // the calling process (null: not known yet)
  // Which pids are the sensor's (vigil, its threads, the keeper): their /proc
  // entries are refused to the resolver (null: vigil's own only).
  const std::function<bool(int)>* is_sensor = nullptr;
  // The tracer performs this call itself (sensor/perform.hpp): decoders
  // leave the path's resolution to it (it resolves as the caller).
  bool performed = false;
  // The caller's ids as the tracer read them at this notification (it learnt
  // the process: thread group, parent, ids in one read), else null.
  const procfs::Status* caller_ids = nullptr;
  // exec: whether to read the caller's session and tty (/proc/PID/stat: proc.tty,
  // proc.sid) and its effective capabilities where the learning read did not
  // give them (capget: thread.cap_effective). The tracer turns them off when no
  // loaded rule reads those fields and no event sink takes events (issue 14:
  // read what is needed); the new process then keeps its caller's session and
  // tty, and its capabilities are unknown (-1).
  bool exec_session = true, exec_caps = true;
  // exec: whether to read the caller's working directory (/proc/PID/cwd:
  // proc.cwd; exec_argv_cwd: only when argv names a relative path after
  // argv[0], for the sensitive-file watch's attribution by argv) and whether
  // its fd 0 and 1 are network sockets (proc.is_stdio_net). Off: proc.cwd is
  // empty (a relative script path is still resolved against the cwd) and
  // is_stdio_net false.
  bool exec_cwd = true, exec_argv_cwd = true, exec_stdio = true;
  // exec: the tracer answers the exec before it judges it (no verdict on it
  // can act) and hashes after the answer: the SHA-256 of what runs is then
  // not computed here (a 40 MB binary: ~30 ms while its exec waits) unless
  // known already; exec_hash_fd (set by the decoder, owned by the tracer) is
  // the file to hash, -1 if there is none (probes/exec.hpp exec_sha256).
  bool exec_hash_later = false;
  int exec_hash_fd = -1;
  // exec: a read lease on the file that runs, held until the kernel has it
  // (set by the decoder, owned by the tracer: closing it gives the lease up;
  // -1: none; docs/design.md, "Exec verification").
  int exec_pin_fd = -1;
  // exec: the file that would run is open for writing (no lease could be
  // had: EAGAIN). The kernel refuses such an exec (ETXTBSY) if the writer
  // still has it open when it opens the file; vigil refuses it at its read
  // instead, so that no write can come between the bytes it hashed and the
  // ones the kernel runs (set by the decoder).
  bool exec_busy = false;
  // Set by the decoder:
  // A path the call names resolved to the sensor's own /proc entries (a
  // tamper attempt, denied in every mode: sensor/guard.hpp): what it is.
  std::string sensor_target;
  bool drop = false;  // nothing worth an event (e.g. a sendto that is not DNS): no event, no verdict
  int dns_fd = -1;    // a DNS exchange on this fd: follow the thread's next syscalls (DNS window)
  bool accepted_conn = false;  // an IPv4/IPv6 connection was accepted: the process is a network service
  int peek_fd = -1;  // an outbound TCP connection on this fd: follow the thread to its first message (peek window)
  // vigil's own resource failure (EMFILE, ENFILE, ENOMEM) decoding the call
  // (with drop): the tracer reports it and fails closed (sensor/guard.hpp).
  struct Fault {
    const char* what = nullptr;
    int err = 0;
  } fault;
  // exec: the file that will run (a "#!" script's interpreter), as judged;
  // ino 0: not known (the target could not be opened). The tracer checks it
  // against /proc/PID/exe once the kernel has run the exec (docs/design.md, "Exec verification").
  struct ExecImage {
    uint64_t dev = 0, ino = 0;
  } exec_image;
  // connect: the address bytes read and judged (len 0: none was read), for
  // the tracer to connect the caller's socket with this very copy.
  struct SockaddrCopy {
    unsigned char bytes[128];  // sizeof(sockaddr_storage): the kernel refuses longer
    uint32_t len = 0;
    // An AF_UNIX path of a connect vigil lets through (not performed): the
    // path resolved as the caller's (the event's fd.name) and that socket
    // file's identity (ino 0: not resolved), for the check after the kernel
    // connected (sensor/connect_check.hpp).
    std::string resolved;
    uint64_t dev = 0, ino = 0;
  } sockaddr;
  // sendto/sendmsg/sendmmsg with performed (sensor/netcall.hpp): each
  // message's destination, read once, as judged (given false: none passed,
  // the socket's peer; addr.len as passed: over 128 the kernel says EINVAL,
  // no bytes read). The tracer sends the caller's data to these copies.
  // With it, the message's data as read once (at most kSendMax bytes;
  // capped: there was more), the bytes its verdict saw and vigil sends;
  // data_err: the kernel's errno for data it cannot read (EFAULT, EMSGSIZE).
  struct SendDest {
    bool given = false;
    SockaddrCopy addr;
    std::vector<uint8_t> data;
    bool capped = false;
    int data_err = 0;
    bool unsent = false;  // beyond kSendCallMax bytes for the call (sendmmsg): not read, the call ends before it
  };
  std::vector<SendDest> sends;
  // An event for its verdict only (performed: a send that is no DNS message
  // nor a protocol a rule names): judged, emitted only if acted on.
  bool quiet = false;
};

// One BPF argument condition (libseccomp semantics, all conditions of a row must hold).
struct ArgCheck {
  unsigned arg;
  scmp_compare op;
  uint64_t datum_a;
  uint64_t datum_b = 0;
};

// What a row's events feed besides themselves (Probe::feeds): the adaptive
// filter (sensor/rows.hpp) keeps a row that no loaded rule or sink wants when
// its feed is needed. docs/design-probes.md "Which rows are trapped".
enum Feed : uint8_t {
  kFeedIdentity = 1 << 0,  // what a process is (exec): every event's proc.*; always trapped
  kFeedGuard = 1 << 1,     // the sensor's self-protection (sensor/guard.hpp): always trapped
  kFeedDrift = 1 << 2,     // traced writes (DriftTracker): proc.is_exe_upper_layer, evt.arg.drift, ...
  kFeedDns = 1 << 3,       // the DNS window and map: dns events, fd.rip.name-like names of addresses
  kFeedPeek = 1 << 4,      // the peek window: the first message of an outbound TCP connection
  kFeedAccept = 1 << 5,    // proc.accepted_conn (the process accepted a connection)
  kFeedExitCode = 1 << 6,  // exact exit codes of every process (--exit-codes=exact)
  // Calls that can change a root, a mount namespace or a mount, or hide such
  // a call: always trapped; notified, they end the path resolver's root cache
  // before their answer (probes/resolve.hpp root_cache_off).
  kFeedRoot = 1 << 7,
};

using Decoder = void (*)(const SyscallArgs& a, const TraceeMemory& mem, DecodeContext& ctx, Event* ev);
// Completes an event with the syscall's return value (ret: >= 0, or -errno);
// a entry's arguments are in a. Setting ctx.drop suppresses the event.
using ReturnDecoder = void (*)(int64_t ret, const SyscallArgs& a, const TraceeMemory& mem, DecodeContext& ctx,
                               Event* ev);

struct Probe {
  const char* syscall;  // name; resolved for each architecture by libseccomp
  EventClass cls;
  const char* type;  // Event::type
  Stage stage;
  Decoder decode;
  std::vector<ArgCheck> checks;  // empty: every call of the syscall is traced
  // Set only if the event needs the return value (an fd, a peer address):
  // the tracer then follows the thread with ptrace syscall stops for this
  // call and emits the event at its exit (Event::res). The verdict is still
  // taken at entry.
  ReturnDecoder on_return = nullptr;
  // Alternatives: when not empty, the row traces a call if `checks` hold and
  // at least one of these does (e.g. flags has O_WRONLY, or O_RDWR, or ...).
  std::vector<ArgCheck> any_of = {};
  // What a verdict may do (rows judged before their call: deny).
  Enforce enforce = Enforce::Deny;
  // Feed bits: the state this row's decoder keeps for other events.
  uint8_t feeds = 0;
  // Where a rule can block it (Judge::enforces, prevent mode), vigil
  // performs the call itself on the object it judged (sensor/perform.hpp).
  bool performed = false;
};

// Falco's evt.type of a row's events (rules/rules.hpp falco_evt_type): the
// syscall's name for exec rows, else the row's type.
inline const char* falco_type(const Probe& p) { return p.stage == Stage::ExecEntry ? p.syscall : p.type; }

// The table (probes/probes.cpp).
using Table = std::vector<Probe>;
const Table& table();

// The row of a notified syscall, by architecture (AUDIT_ARCH_*) and number:
// built once from a table, for each of kAbis. i386 has its socket calls
// twice: direct syscalls (Linux 4.3+: connect is 362) and multiplexed
// through socketcall (102); both find the row (see unwrap_socketcall).
class Index {
 public:
  explicit Index(const Table& t);
  const Probe* find(uint32_t arch, int64_t nr) const;

 private:
  std::array<std::vector<const Probe*>, kAbis.size()> by_abi_;  // by syscall number
};

// i386's socketcall(call, unsigned long args[]): the socket calls of i386
// programs whose libc multiplexes them (glibc built for kernels before 4.3).
// Rewrites *a into the direct call it stands for (i386's number of that call,
// its arguments read from the array at args[1]) so that the call's row
// decodes and judges it. Returns false and leaves *a alone when *a is no
// socketcall or not of a call with a row; sets *unreadable (and rewrites only
// the number) when the array cannot be read.
bool unwrap_socketcall(SyscallArgs* a, const TraceeMemory& mem, bool* unreadable);

// The DNS and peek windows (below) decode a followed thread's calls by their
// x86_64 numbers. window_view rewrites an i386 call (int $0x80, direct or
// through socketcall) into the x86_64 number and arguments of the same call;
// arch stays AUDIT_ARCH_I386, so that its iovec and msghdr are read in
// i386's layouts. The tracer calls it once, at the entry stop: the exit stop
// reuses its result (a socketcall's argument array is read once, as the
// kernel reads it). A call the windows do not decode gets nr -1; a socketcall
// whose argument array cannot be read, kUnreadableCall.
void window_view(SyscallArgs* a, const TraceeMemory& mem);
inline constexpr int64_t kUnreadableCall = -2;

// Builds the seccomp filter: default ALLOW; every row SCMP_ACT_NOTIFY (seccomp
// user notification: the listener fd comes with the loaded filter); for
// each of kAbis with the same rows (x86_64 and i386 (int 0x80), or aarch64);
// x32 and any other architecture fail with ENOSYS. Returns null and sets *error on failure.
// The caller owns the context (seccomp_release).
scmp_filter_ctx build_filter(const Table& t, std::string* error);
inline scmp_filter_ctx build_filter(std::string* error) { return build_filter(table(), error); }

// The same filter as a classic BPF program, ready for seccomp(2). The program
// of the default table is also generated at build time (probes/gen/), so
// that `vigil run` does not spend milliseconds in libseccomp at every start.
bool export_filter(const Table& t, std::vector<sock_filter>* prog, std::string* error);

// The SHA-256 an exec's decode left for after its answer
// (DecodeContext::exec_hash_fd), cached with the exec decoder's facts of the
// file where held (its bytes were pinned: DecodeContext::exec_pin_fd); empty
// if it is over 64 MiB or cannot be read. The caller closes fd.
std::string exec_sha256(int fd, bool held);

// Cap on a path read from tracee memory: longer than PATH_MAX so that an
// over-long path (which the kernel refuses) is still reported, flagged.
inline constexpr size_t kPathMax = 4096;
// Bytes of one message of a send vigil performs (DecodeContext::SendDest).
inline constexpr size_t kSendMax = 4u << 20;
inline constexpr size_t kSendCallMax = 16u << 20;  // of one call (sendmmsg)
inline constexpr size_t kLongPathMax = 16384;

// The decoders (probes/decode_*.cpp, probes/exec.cpp), one per syscall family.
namespace dec {
void open(const SyscallArgs&, const TraceeMemory&, DecodeContext&, Event*);
void path_op(const SyscallArgs&, const TraceeMemory&, DecodeContext&, Event*);
void two_path(const SyscallArgs&, const TraceeMemory&, DecodeContext&, Event*);
void fd_op(const SyscallArgs&, const TraceeMemory&, DecodeContext&, Event*);
void times(const SyscallArgs&, const TraceeMemory&, DecodeContext&, Event*);
void mount(const SyscallArgs&, const TraceeMemory&, DecodeContext&, Event*);
void memfd(const SyscallArgs&, const TraceeMemory&, DecodeContext&, Event*);
void mmap_exec(const SyscallArgs&, const TraceeMemory&, DecodeContext&, Event*);
void socket(const SyscallArgs&, const TraceeMemory&, DecodeContext&, Event*);
void sockaddr_op(const SyscallArgs&, const TraceeMemory&, DecodeContext&, Event*);
void listen(const SyscallArgs&, const TraceeMemory&, DecodeContext&, Event*);
void accept(const SyscallArgs&, const TraceeMemory&, DecodeContext&, Event*);
void accept_done(int64_t ret, const SyscallArgs&, const TraceeMemory&, DecodeContext&, Event*);
void sendto(const SyscallArgs&, const TraceeMemory&, DecodeContext&, Event*);
void sendmsg(const SyscallArgs&, const TraceeMemory&, DecodeContext&, Event*);
void sendmmsg(const SyscallArgs&, const TraceeMemory&, DecodeContext&, Event*);
void ids(const SyscallArgs&, const TraceeMemory&, DecodeContext&, Event*);
void args_only(const SyscallArgs&, const TraceeMemory&, DecodeContext&, Event*);
void prctl(const SyscallArgs&, const TraceeMemory&, DecodeContext&, Event*);
void ptrace(const SyscallArgs&, const TraceeMemory&, DecodeContext&, Event*);
void signal(const SyscallArgs&, const TraceeMemory&, DecodeContext&, Event*);
void guarded(const SyscallArgs&, const TraceeMemory&, DecodeContext&, Event*);
void clone_flags(const SyscallArgs&, const TraceeMemory&, DecodeContext&, Event*);
void dup(const SyscallArgs&, const TraceeMemory&, DecodeContext&, Event*);
void module(const SyscallArgs&, const TraceeMemory&, DecodeContext&, Event*);
void exit_code(const SyscallArgs&, const TraceeMemory&, DecodeContext&, Event*);
}  // namespace dec

// The exec event of what process pid runs now (/proc/PID/exe, its SHA-256,
// /proc/PID/cmdline, ids, cwd): for an exec whose image is not the one judged
// at its entry, or could not be opened there (docs/design.md, "Exec
// verification"), and for a process learnt late that does not run its
// parent's image (sensor/tracer.cpp own_image). ev->proc: the process before the exec (null: unknown);
// syscall: "execve" or "execveat" (evt.type). False if pid is gone.
bool exec_event_of_image(int pid, const char* syscall, DecodeContext& ctx, Event* ev);

// The DNS window (docs/design-probes.md): a thread that sent a DNS query is
// followed syscall by syscall for a while. Called for each syscall stop of
// such a thread (entry: at_exit false; exit: rval = the return value, a = the
// entry's arguments) on fd; fills *ev and returns true when the stop carried a
// DNS message (a query sent or an answer received on fd). Sets *done when the
// window should close.
bool dns_window_step(const SyscallArgs& a, bool at_exit, int64_t rval, const TraceeMemory& mem, int fd,
                     DecodeContext& ctx, Event* ev, bool* done);
inline constexpr int kDnsWindowMax = 64;  // syscall stops per window

// The peek window: a thread that connected a TCP socket to a non-loopback
// address is followed until its first message on that socket (write, send,
// writev; sendmsg and addressed sendto are rows of their own), whose first
// bytes are matched against the protocols a rule names (evt.arg.protocol:
// stratum), as the rows do for the messages they see. Returns true when that
// message is one (*ev filled, its type the syscall's); sets *done once the
// socket's first message or close is seen. Entry stops only: the verdict
// (kill) falls before the kernel sends it.
bool peek_window_step(const SyscallArgs& a, bool at_exit, const TraceeMemory& mem, int fd, DecodeContext& ctx,
                      Event* ev, bool* done);
inline constexpr int kPeekWindowMax = 32;  // syscall stops per window (an event loop's connect: ~10)

}  // namespace vigil::probes
