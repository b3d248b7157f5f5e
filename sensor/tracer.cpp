// The tracer: a seccomp filter whose rows come from the probes table
// (probes/probes.cpp) and notify this process (seccomp user notification),
// plus ptrace (PTRACE_SEIZE) on the processes for their lifecycle. One thread
// services both, from one poll() loop:
//   notification        -> decode the row (probes), judge, emit, answer
//   fork/vfork          -> track the process tree, emit fork for new processes
//   exec                -> read /proc, judge, emit exec
//   group-stop          -> PTRACE_LISTEN (job control), tell the wrapper
//   signal-delivery     -> re-inject the signal
//   exit (waitpid)      -> emit exit for thread-group leaders
// Only thread-group leaders are attached up front; other threads only when
// they fork, exec, or a row needs their syscall's return value. See
// docs/design.md.
#include <fcntl.h>
#include <linux/audit.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <poll.h>
#include <sched.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/signalfd.h>
#include <sys/syscall.h>
#include <sys/stat.h>
#include <sys/ptrace.h>
#include <sys/user.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <csignal>
#include <cstring>
#include <unordered_map>
#include <unordered_set>

#include <fmt/format.h>

#include <spdlog/spdlog.h>

#include "probes/drift.hpp"
#include "probes/probes.hpp"
#include "probes/sensitive.hpp"
#include "sensor/procfs.hpp"
#include "sensor/sensor.hpp"
#include "sinks/sinks.hpp"

namespace vigil {
namespace {

// No TRACECLONE: new threads are not attached (no stop per thread), and no
// TRACESECCOMP: the filter notifies instead of stopping (an app's own
// RET_TRACE rule then gives ENOSYS, as it would without a tracer).
constexpr long kPtraceOptions =
    PTRACE_O_TRACEFORK | PTRACE_O_TRACEVFORK | PTRACE_O_TRACEEXEC | PTRACE_O_EXITKILL | PTRACE_O_TRACESYSGOOD;

// Linux 6.6: the notifying thread and the listener hand over on one CPU
// (a wake-up of an idle CPU costs tens of microseconds on a VM).
#ifndef SECCOMP_IOCTL_NOTIF_SET_FLAGS
#define SECCOMP_IOCTL_NOTIF_SET_FLAGS SECCOMP_IOW(4, __u64)
#endif
#ifndef SECCOMP_USER_NOTIF_FD_SYNC_WAKE_UP
#define SECCOMP_USER_NOTIF_FD_SYNC_WAKE_UP (1UL << 0)
#endif

// Syscall numbers of clone/clone3 for reading their flags at fork events.
constexpr long kCloneX86_64 = 56, kCloneI386 = 120, kClone3 = 435;

bool is_stop_signal(int sig) { return sig == SIGSTOP || sig == SIGTSTP || sig == SIGTTIN || sig == SIGTTOU; }

// PTRACE_CONT, or PTRACE_SYSCALL to stop again at the end of the current syscall.
void resume(int tid, int sig, bool stop_at_return = false) {
  if (ptrace(stop_at_return ? PTRACE_SYSCALL : PTRACE_CONT, tid, nullptr, reinterpret_cast<void*>(intptr_t(sig))) < 0 &&
      errno != ESRCH)
    spdlog::warn("resuming {}: {}", tid, std::strerror(errno));
}

unsigned long event_msg(int tid) {
  unsigned long msg = 0;
  ptrace(PTRACE_GETEVENTMSG, tid, nullptr, &msg);
  return msg;
}

}  // namespace

struct Tracer::Impl {
  struct Proc {
    ProcessPtr info;
    std::string exec_path;  // path given to the pending execve, for "#!" scripts
    FileState files;        // fd table and cwd (probes/fdtable.hpp)
  };

  TracerHooks hooks;
  std::atomic<uint64_t> stops{0};  // notifications and ptrace stops serviced
  int main_pid = 0;
  uint64_t seq = 0;
  int notify_fd = -1;  // the filter's listener
  int sig_fd = -1;     // signalfd for SIGCHLD: a tracee stopped or exited
  std::unique_ptr<probes::Index> index;
  std::unordered_map<int, int> thread_tgid;  // every known thread -> its thread group
  std::unordered_set<int> seized;            // threads we ptrace (leaders, and threads attached on demand)
  std::unordered_map<int, Proc> procs;       // thread group id -> process
  // Threads interrupted at a notification so that the syscall restarts under
  // ptrace syscall stops (its return value is needed): the restarted call's
  // notification is decoded as usual.
  std::unordered_set<int> pending_follow;
  // New tasks whose first stop came before their creator's fork/vfork event:
  // held stopped until that event names them (or until the tracer is idle).
  std::unordered_set<int> unannounced;
  // clone flags of a fork seen at its notification, until its fork event.
  std::unordered_map<int, uint64_t> fork_flags;
  // Events waiting for their syscall's return value, by thread.
  struct AwaitingReturn {
    Event ev;
    const probes::Probe* probe;
    probes::SyscallArgs args;
  };
  std::unordered_map<int, AwaitingReturn> awaiting_return;
  // Threads that sent a DNS query: followed syscall by syscall for a while
  // to decode the answer (docs/design-probes.md, "DNS window").
  struct DnsWindow {
    int fd = -1;
    int steps = 0;
    probes::SyscallArgs args;  // of the syscall in progress (exit stops carry none)
  };
  std::unordered_map<int, DnsWindow> dns_windows;
  DnsMap dns;
  DriftTracker drift{now_realtime_ns()};
  SensitiveMonitor sensitive;  // reads of credential files (docs/design-probes.md)
  bool sensitive_on = false;

  // Resumes a stopped task, keeping its syscall stops if something follows it.
  bool followed(int tid) const {
    return awaiting_return.count(tid) > 0 || dns_windows.count(tid) > 0 || pending_follow.count(tid) > 0;
  }
  void cont(int tid, int sig) { resume(tid, sig, followed(tid)); }

  // Attaches a thread we know but do not trace yet (it stays running).
  bool ensure_seized(int tid) {
    if (seized.count(tid)) return true;
    if (ptrace(PTRACE_SEIZE, tid, nullptr, reinterpret_cast<void*>(kPtraceOptions)) < 0) {
      spdlog::debug("PTRACE_SEIZE {}: {}", tid, std::strerror(errno));
      return false;
    }
    seized.insert(tid);
    return true;
  }

  // The thread group of a notifying thread. Threads are not attached, so
  // their creation is not seen: a thread is learnt from /proc at its first
  // notification and re-checked later (tgkill(tgid, tid, 0) fails once the
  // thread is gone and its id reused elsewhere). A process we have not seen
  // being created (clone with an exit signal other than SIGCHLD, or
  // CLONE_UNTRACED) is adopted here: attached, with a fork event.
  int tgid_of(int tid) {
    if (auto it = thread_tgid.find(tid); it != thread_tgid.end()) {
      if (it->second == tid || seized.count(tid) || syscall(SYS_tgkill, it->second, tid, 0) == 0) return it->second;
      thread_tgid.erase(it);
    }
    procfs::Status st;
    if (!procfs::read_status(tid, &st)) return 0;
    if (!procs.count(st.tgid)) {
      add_process(st.tgid, st.ppid);
      ensure_seized(st.tgid);
      Event ev = new_event(EventClass::Process, "fork", st.ppid, info_of(st.ppid));
      ev.child_pid = st.tgid;
      ev.args.push_back({"source", "adopted"});
      if (judge(ev) != Action::None) {
        ev.action = Action::Killed;
        kill(st.tgid, SIGKILL);
      }
      emit(std::move(ev));
    }
    thread_tgid[tid] = st.tgid;
    if (thread_tgid.size() > prune_at) prune_threads();
    return st.tgid;
  }

  // Forgets threads that are gone (their exits are not seen): amortised, so
  // that a server making a thread per request does not grow this map.
  size_t prune_at = 4096;
  void prune_threads() {
    size_t gone = std::erase_if(thread_tgid, [&](const auto& e) {
      return e.first != e.second && !seized.count(e.first) && syscall(SYS_tgkill, e.second, e.first, 0) != 0;
    });
    prune_at = std::max<size_t>(4096, 2 * thread_tgid.size());
    spdlog::debug("threads gone: forgot {}, {} known", gone, thread_tgid.size());
  }

  probes::DecodeContext decode_context(int tgid) {
    probes::DecodeContext ctx;
    ctx.tgid = tgid;
    auto it = procs.find(tgid);
    ctx.files = it == procs.end() ? nullptr : &it->second.files;
    ctx.dns = &dns;
    ctx.drift = &drift;
    return ctx;
  }

  // Sensitive-file opens seen by the watch thread since the last call: one
  // "open" event each (no flags: inotify does not tell them), attributed to
  // the process found holding the file, else unattributed. Never denied:
  // inotify reports after the open.
  void emit_sensitive() {
    for (auto& h : sensitive.drain()) {
      const int pid = h.pids.empty() ? 0 : h.pids.front();
      auto t = thread_tgid.find(pid);
      ProcessPtr p = t == thread_tgid.end() ? nullptr : info_of(t->second);
      Event ev = new_event(EventClass::FileSystem, "open", pid, p);
      FileInfo f;
      f.path = f.raw_path = h.open.path;
      ev.file = std::move(f);
      ev.args.push_back({"source", "inotify"});
      if (!p) ev.args.push_back({"attributed", "false"});
      judge(ev);
      ev.action = Action::None;
      emit(std::move(ev));
    }
  }

  const probes::Table& table() const { return hooks.table ? *hooks.table : probes::table(); }

  Event new_event(EventClass cls, const char* type, int tid, const ProcessPtr& p) {
    Event ev;
    ev.time_ns = now_realtime_ns();
    ev.cls = cls;
    ev.type = type;
    ev.tid = tid;
    ev.proc = p;
    return ev;
  }

  // Every event is numbered here, when it is judged: before its syscall
  // proceeds. (Events that wait for a return value are emitted later.)
  Action judge(Event& ev) {
    ev.seq = ++seq;
    Action a = hooks.verdict ? hooks.verdict(ev) : Action::None;
    ev.action = a;
    return a;
  }

  void emit(Event&& ev) {
    if (spdlog::should_log(spdlog::level::debug))
      spdlog::debug("event #{} {} pid={} tid={} exe={}{}", ev.seq, ev.type, ev.proc ? ev.proc->pid : 0, ev.tid,
                    ev.proc ? ev.proc->exe : "", ev.child_pid ? fmt::format(" child={}", ev.child_pid) : "");
    if (hooks.out) hooks.out->event(std::move(ev));
  }

  ProcessPtr info_of(int tgid) {
    auto it = procs.find(tgid);
    return it == procs.end() ? nullptr : it->second.info;
  }

  // A new process: what its parent was, with its own pid.
  void add_process(int pid, int ppid) {
    ProcessPtr parent = info_of(ppid);
    auto p = parent ? std::make_shared<Process>(*parent) : std::make_shared<Process>();
    p->pid = pid;
    p->ppid = ppid;
    p->parent = parent;
    p->start_ns = now_realtime_ns();
    procs[pid] = Proc{std::move(p), {}};
    thread_tgid[pid] = pid;
  }

  // A task we have not heard of yet and its creator's event did not name it
  // (e.g. the creator was killed in between): learn its thread group from /proc.
  void adopt(int tid) {
    seized.insert(tid);  // auto-attached
    procfs::Status st;
    if (!procfs::read_status(tid, &st)) return;
    if (st.tgid != tid) {
      thread_tgid[tid] = st.tgid;
      if (!procs.count(st.tgid)) add_process(st.tgid, 0);
    } else {
      add_process(tid, st.ppid);
    }
  }

  // clone flags of the fork/clone the stopped task is in (0 if unknown).
  uint64_t clone_flags(int tid) {
    __ptrace_syscall_info info{};
    user_regs_struct regs{};
    if (ptrace(PTRACE_GET_SYSCALL_INFO, tid, sizeof info, &info) <= 0 ||
        ptrace(PTRACE_GETREGS, tid, nullptr, &regs) < 0)
      return 0;
    bool i386 = info.arch == AUDIT_ARCH_I386;
    uint64_t arg0 = i386 ? uint32_t(regs.rbx) : regs.rdi;
    long nr = long(regs.orig_rax);
    if (nr == (i386 ? kCloneI386 : kCloneX86_64)) return arg0;
    uint64_t flags = 0;
    if (nr == kClone3) probes::TraceeMemory(tid).read(arg0, &flags, sizeof flags);  // clone_args.flags
    return flags;
  }

  void on_fork(int tid) {
    int child = int(event_msg(tid));
    seized.insert(child);  // auto-attached
    int tgid = thread_tgid[tid];
    // 0 for the fork and vfork syscalls (never CLONE_THREAD: no TRACECLONE)
    uint64_t flags = 0;
    if (auto f = fork_flags.find(tid); f != fork_flags.end()) flags = f->second, fork_flags.erase(f);
    else flags = clone_flags(tid);
    int ppid = tgid;
    if (flags & CLONE_PARENT) {
      ProcessPtr self = info_of(tgid);
      ppid = self ? self->ppid : 0;
    }
    if (!procs.count(child)) {
      add_process(child, ppid);
      if (auto parent = procs.find(tgid); parent != procs.end())
        procs[child].files = parent->second.files.clone_for(flags);
    }
    if (unannounced.erase(child)) cont(child, 0);
    Event ev = new_event(EventClass::Process, "fork", tid, info_of(tgid));
    ev.child_pid = child;
    if (judge(ev) != Action::None) {
      ev.action = Action::Killed;  // the process exists already: blocking a fork kills the child
      kill(child, SIGKILL);
    }
    emit(std::move(ev));
  }

  // Drift of what runs: the script of a "#!" interpreter, else the executable.
  void exec_drift(Process* p, const struct stat& exe_st) {
    if (p->exe_from_memfd) return;  // reported as such
    const bool script = !p->interpreter_script.empty();
    const std::string& path = script ? p->interpreter_script : p->exe;
    struct stat st = exe_st;
    if (script ? ::stat(path.c_str(), &st) != 0 : st.st_ino == 0) return;
    p->exe_drift = drift.check(path, st) != DriftReason::None;
    p->exe_mtime_ns = int64_t{st.st_mtim.tv_sec} * 1'000'000'000 + st.st_mtim.tv_nsec;
  }

  void on_exec(int pid) {
    int former = int(event_msg(pid));  // exec from a non-leader thread: its old tid is gone
    if (former != pid) thread_tgid.erase(former), seized.erase(former);
    seized.insert(pid);
    thread_tgid[pid] = pid;
    Proc& pr = procs[pid];
    auto p = std::make_shared<Process>();
    p->pid = pid;
    p->start_ns = pr.info ? pr.info->start_ns : now_realtime_ns();
    struct stat exe_st;
    procfs::read_exec(pid, pr.exec_path, p.get(), &exe_st);
    pr.files.fds->exec();
    exec_drift(p.get(), exe_st);
    p->parent = info_of(p->ppid);
    if (!p->parent && pr.info) p->parent = pr.info->parent;
    pr.exec_path.clear();
    pr.info = p;
    Event ev = new_event(EventClass::Process, "exec", pid, p);
    if (judge(ev) != Action::None) {
      ev.action = Action::Killed;  // the old image is gone: blocking an exec kills the process
      kill(pid, SIGKILL);
    }
    emit(std::move(ev));
  }

  // Prevent mode: the exec judged at its entry notification, before the binary runs
  // (TracerHooks::exec_verdict). A blocked exec yields its event here.
  Action judge_exec_entry(int tid, int tgid, const probes::Probe* probe, const probes::SyscallArgs& args) {
    ProcessPtr caller = info_of(tgid);
    auto p = caller ? std::make_shared<Process>(*caller) : std::make_shared<Process>();
    if (!probes::exec_preview(std::strcmp(probe->syscall, "execveat") == 0, args, probes::TraceeMemory(tid), p.get()))
      return Action::None;
    p->stdio_net = procfs::stdio_net(tgid);  // what the new program inherits (but O_CLOEXEC)
    Event ev = new_event(EventClass::Process, "exec", tid, p);
    ev.seq = ++seq;
    ev.action = hooks.exec_verdict(ev);
    if (ev.action == Action::None) return Action::None;
    procs[tgid].exec_path.clear();
    if (ev.action == Action::Killed) kill(tgid, SIGKILL);
    Action a = ev.action;
    emit(std::move(ev));
    return a;
  }

  // Answers a notification: continue the syscall, or fail it with -err.
  void answer(uint64_t id, int err) {
    seccomp_notif_resp resp{};
    resp.id = id;
    if (err) resp.error = -err;
    else resp.flags = SECCOMP_USER_NOTIF_FLAG_CONTINUE;
    if (ioctl(notify_fd, SECCOMP_IOCTL_NOTIF_SEND, &resp) < 0 && errno != ENOENT)
      spdlog::warn("answering a seccomp notification: {}", std::strerror(errno));
  }

  // Stops a notifying thread (without answering): its syscall is interrupted
  // and restarts under ptrace syscall stops, notifying again.
  // False if the thread cannot be attached: the caller answers as usual.
  bool follow(int tid) {
    if (!ensure_seized(tid) || ptrace(PTRACE_INTERRUPT, tid, nullptr, nullptr) < 0) return false;
    pending_follow.insert(tid);
    return true;
  }

  void on_notify() {
    seccomp_notif req{};
    if (ioctl(notify_fd, SECCOMP_IOCTL_NOTIF_RECV, &req) < 0) {
      // ENOENT: the thread was killed or its syscall interrupted meanwhile.
      if (errno != ENOENT && errno != EINTR) spdlog::warn("receiving a seccomp notification: {}", std::strerror(errno));
      return;
    }
    stops.fetch_add(1, std::memory_order_relaxed);
    const int tid = int(req.pid);
    const probes::Probe* probe = index->find(req.data.arch, req.data.nr);
    const int tgid = probe ? tgid_of(tid) : 0;
    if (!probe || !tgid) return answer(req.id, 0);  // e.g. i386 socketcall; or the thread is gone
    if (probe->stage == probes::Stage::Attach) {
      // clone3 keeps its flags in memory: a new thread needs nothing from us.
      // fork and vfork have no flags; clone's are its first argument on both arches.
      uint64_t flags = 0;
      if (req.data.nr == kClone3) probes::TraceeMemory(tid).read(req.data.args[0], &flags, sizeof flags);
      else if (req.data.nr == (req.data.arch == AUDIT_ARCH_I386 ? kCloneI386 : kCloneX86_64))
        flags = req.data.args[0];
      if (flags & CLONE_THREAD) return answer(req.id, 0);
      ensure_seized(tid);  // the new process is then auto-attached (TRACEFORK, TRACEVFORK)
      fork_flags[tid] = flags;  // for its fork event: no need to read the stopped thread's registers
      return answer(req.id, 0);
    }
    probes::SyscallArgs args;
    args.arch = req.data.arch;
    args.nr = req.data.nr;
    for (int i = 0; i < 6; ++i) args.args[i] = req.data.args[i];
    Event ev = new_event(probe->cls, probe->type, tid, info_of(tgid));
    probes::DecodeContext ctx = decode_context(tgid);
    probe->decode(args, probes::TraceeMemory(tid), ctx, &ev);
    if (args.arch == AUDIT_ARCH_I386) ev.args.push_back({"arch", "i386"});
    const bool was_pending = pending_follow.erase(tid) > 0;
    if ((probe->on_return || ctx.dns_fd >= 0) && !was_pending && !followed(tid) && follow(tid)) return;
    if (ctx.dns_fd >= 0) dns_windows[tid] = DnsWindow{ctx.dns_fd, 0, args};
    if (ctx.drop) return answer(req.id, 0);
    if (probe->stage == probes::Stage::ExecEntry) {
      // An exec from a thread we do not trace: attach it, or PTRACE_EVENT_EXEC
      // (and the process after it) would be lost.
      ensure_seized(tid);
      // execveat relative to a directory fd: not a path we can resolve here.
      bool usable = ev.file && (ev.file->fd < 0 || ev.file->fd == AT_FDCWD || ev.file->raw_path.starts_with("/"));
      procs[tgid].exec_path = usable ? ev.file->raw_path : std::string();
      const bool denied = hooks.exec_verdict && judge_exec_entry(tid, tgid, probe, args) == Action::Denied;
      return answer(req.id, denied ? EPERM : 0);
    }
    Action a = judge(ev);
    if (a == Action::Killed) kill(tgid, SIGKILL);
    if (a == Action::None && probe->on_return) {
      awaiting_return[tid] = AwaitingReturn{std::move(ev), probe, args};
      return answer(req.id, 0);
    }
    emit(std::move(ev));
    answer(req.id, a == Action::None ? 0 : EPERM);
  }

  // A syscall stop (PTRACE_SYSCALL) of a followed thread: the exit of a row
  // with on_return, and/or a step of its DNS window.
  void on_syscall_stop(int tid) {
    __ptrace_syscall_info info{};
    const bool ok = ptrace(PTRACE_GET_SYSCALL_INFO, tid, sizeof info, &info) > 0;
    const bool at_exit = ok && info.op == PTRACE_SYSCALL_INFO_EXIT;
    probes::TraceeMemory mem(tid);
    probes::DecodeContext ctx = decode_context(thread_tgid[tid]);
    if (auto it = awaiting_return.find(tid); it != awaiting_return.end() && (at_exit || !ok)) {
      Event ev = std::move(it->second.ev);
      const probes::Probe* probe = it->second.probe;
      const probes::SyscallArgs args = it->second.args;
      awaiting_return.erase(it);
      if (at_exit) {
        ev.res = info.exit.rval;
        ev.has_res = true;
        probe->on_return(ev.res, args, mem, ctx, &ev);
      }
      if (!ctx.drop) emit(std::move(ev));
    }
    if (auto w = dns_windows.find(tid); w != dns_windows.end()) {
      bool done = !ok;
      if (ok) {
        if (!at_exit) {  // keep the arguments for the exit stop
          w->second.args.arch = info.arch;
          w->second.args.nr = int64_t(info.entry.nr);
          for (int i = 0; i < 6; ++i) w->second.args.args[i] = info.entry.args[i];
        }
        Event ev = new_event(EventClass::Dns, "dns", tid, info_of(thread_tgid[tid]));
        if (probes::dns_window_step(w->second.args, at_exit, at_exit ? info.exit.rval : 0, mem, w->second.fd, ctx,
                                    &ev, &done)) {
          ev.type = syscall_name(w->second.args);
          judge(ev);
          ev.action = Action::None;  // the query or answer has happened
          emit(std::move(ev));
        }
      }
      if (done || ++w->second.steps >= probes::kDnsWindowMax) dns_windows.erase(w);
    }
    cont(tid, 0);
  }

  static std::string syscall_name(const probes::SyscallArgs& a) {
    char* n = seccomp_syscall_resolve_num_arch(a.arch, int(a.nr));
    std::string out = n ? n : std::to_string(a.nr);
    free(n);
    return out;
  }

  void on_stop(int tid, int status) {
    stops.fetch_add(1, std::memory_order_relaxed);
    int sig = WSTOPSIG(status);
    if (!thread_tgid.count(tid)) {
      // The first stop of a new task usually comes before its creator's
      // fork/vfork event, which tells what it is: wait for that.
      if (status >> 16 == PTRACE_EVENT_STOP && sig == SIGTRAP) {
        unannounced.insert(tid);
        return;
      }
      adopt(tid);
    }
    switch (status >> 16) {
      case PTRACE_EVENT_FORK:
      case PTRACE_EVENT_VFORK: on_fork(tid); return cont(tid, 0);
      case PTRACE_EVENT_EXEC: on_exec(tid); return cont(tid, 0);
      case PTRACE_EVENT_STOP:
        if (!is_stop_signal(sig)) return cont(tid, 0);  // first stop of a new task, or end of a group-stop
        // Group-stop: stay stopped, but let us see SIGCONT.
        if (ptrace(PTRACE_LISTEN, tid, nullptr, nullptr) < 0 && errno != ESRCH)
          spdlog::warn("PTRACE_LISTEN {}: {}", tid, std::strerror(errno));
        if (tid == main_pid && hooks.main_stopped) hooks.main_stopped(sig);
        return;
      default:
        if (sig == (SIGTRAP | 0x80)) return on_syscall_stop(tid);
        return cont(tid, sig);  // signal-delivery-stop: deliver it
    }
  }

  // Nothing else to do: resolve the tasks still waiting for their announcement.
  void adopt_unannounced() {
    for (int tid : unannounced) {
      adopt(tid);
      cont(tid, 0);
    }
    unannounced.clear();
  }

  void on_exit(int tid, int status) {
    unannounced.erase(tid);
    fork_flags.erase(tid);
    dns_windows.erase(tid);
    seized.erase(tid);
    pending_follow.erase(tid);
    if (auto it = awaiting_return.find(tid); it != awaiting_return.end()) {
      emit(std::move(it->second.ev));  // the syscall never returned
      awaiting_return.erase(it);
    }
    auto t = thread_tgid.find(tid);
    if (t == thread_tgid.end()) return;  // not traced (an orphan we only reap)
    int tgid = t->second;
    thread_tgid.erase(t);
    if (tid != tgid) return;  // a thread: no event
    auto p = procs.find(tgid);
    if (p == procs.end()) return;
    Event ev = new_event(EventClass::Process, "exit", tid, p->second.info);
    if (WIFEXITED(status)) ev.exit_code = WEXITSTATUS(status);
    else ev.exit_signal = WTERMSIG(status);
    ev.seq = ++seq;
    if (hooks.verdict) hooks.verdict(ev);  // nothing left to block; rules may still alert on it
    emit(std::move(ev));
    procs.erase(p);
  }
};

namespace {
// kDefaultFilter: probes::export_filter(probes::table()), written by probes/gen/filter_bpf.cpp.
#include "vigil/filter_bpf.inc"
}  // namespace

std::span<const sock_filter> default_filter_program() { return kDefaultFilter; }

Tracer::Tracer(TracerHooks hooks) : impl_(std::make_unique<Impl>()) { impl_->hooks = std::move(hooks); }
Tracer::~Tracer() {
  if (impl_->notify_fd >= 0) close(impl_->notify_fd);
  if (impl_->sig_fd >= 0) close(impl_->sig_fd);
}

namespace {
// The listener fd of the child's filter, taken from the child (pidfd_getfd,
// Linux 5.6): the child cannot send it over a socket, sendmsg is a row.
int take_listener(int pid, int child_fd, std::string* error) {
  int pidfd = int(syscall(SYS_pidfd_open, pid, 0));
  int fd = pidfd < 0 ? -1 : int(syscall(SYS_pidfd_getfd, pidfd, child_fd, 0));
  if (fd < 0)
    *error = fmt::format("cannot take the seccomp listener from the app (pidfd_getfd: {}): Linux 5.6 or later is needed",
                         std::strerror(errno));
  if (pidfd >= 0) close(pidfd);
  return fd;
}

bool read_full(int fd, void* buf, size_t len) {
  ssize_t n;
  do n = read(fd, buf, len);
  while (n < 0 && errno == EINTR);
  return n == ssize_t(len);
}


}  // namespace

PendingApp fork_app(const std::string& path, const std::vector<std::string>& argv,
                    const std::vector<std::string>& env, void (*child_setup)(), std::string* error) {
  PendingApp app;
  std::vector<char*> cargv, cenv;
  for (const auto& a : argv) cargv.push_back(const_cast<char*>(a.c_str()));
  cargv.push_back(nullptr);
  for (const auto& e : env) cenv.push_back(const_cast<char*>(e.c_str()));
  cenv.push_back(nullptr);
  int go[2], back[2];
  if (pipe2(go, O_CLOEXEC) < 0 || pipe2(back, O_CLOEXEC) < 0) {
    *error = fmt::format("pipe: {}", std::strerror(errno));
    return app;
  }
  pid_t pid = fork();
  if (pid == 0) {
    close(go[1]);
    close(back[0]);
    if (child_setup) child_setup();
    char c;
    uint32_t len = 0;
    sock_filter prog[BPF_MAXINSNS];
    // Seized, then the program: until then never run anything (EOF: the tracer is gone).
    if (!read_full(go[0], &c, 1) || !read_full(go[0], &len, sizeof len) || len == 0 || len > BPF_MAXINSNS ||
        !read_full(go[0], prog, len * sizeof(sock_filter)))
      _exit(127);
    const sock_fprog fprog{uint16_t(len), prog};
    // SPEC_ALLOW: the filter observes, it must not force the Speculative Store
    // Bypass mitigation on the app (kernels before 5.16 do by default).
    int listener = prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0 ? -1
                   : int(syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER,
                                 SECCOMP_FILTER_FLAG_NEW_LISTENER | SECCOMP_FILTER_FLAG_SPEC_ALLOW, &fprog));
    if (listener < 0) {
      dprintf(2, "vigil run: cannot install the seccomp filter: %s\n", std::strerror(errno));
      _exit(126);
    }
    if (write(back[1], &listener, sizeof listener) != sizeof listener || !read_full(go[0], &c, 1)) _exit(127);
    close(listener);  // the app must never hold it (it is close-on-exec anyway)
    close(go[0]);
    close(back[1]);
    execve(path.c_str(), cargv.data(), cenv.data());
    int e = errno;
    dprintf(2, "vigil run: cannot execute '%s': %s\n", path.c_str(), std::strerror(e));
    _exit(e == ENOENT ? 127 : 126);
  }
  close(go[0]);
  close(back[1]);
  if (pid < 0) {
    *error = fmt::format("fork: {}", std::strerror(errno));
    close(go[1]);
    close(back[0]);
    return app;
  }
  app.pid = pid;
  app.to_child = go[1];
  app.from_child = back[0];
  return app;
}

int Tracer::spawn(const std::string& path, const std::vector<std::string>& argv, const std::vector<std::string>& env,
                  void (*child_setup)(), std::string* error) {
  PendingApp app = fork_app(path, argv, env, child_setup, error);
  return app.pid < 0 ? -1 : spawn(app, error);
}

int Tracer::spawn(PendingApp& app, std::string* error) {
  const int pid = app.pid;
  auto done = [&] {
    close(app.to_child);  // the child sees EOF if it is still waiting
    close(app.from_child);
    app = PendingApp{};
  };
  auto fail = [&](std::string msg) {
    *error = std::move(msg);
    done();
    waitpid(pid, nullptr, __WALL);
    return -1;
  };
  // The program of the default table was generated at build time; a table of
  // a test's own is compiled here. Either way the child only installs it.
  std::vector<sock_filter> prog;
  if (impl_->hooks.table) {
    if (!probes::export_filter(*impl_->hooks.table, &prog, error)) return fail(*error);
  } else {
    auto built = default_filter_program();
    prog.assign(built.begin(), built.end());
  }
  impl_->index = std::make_unique<probes::Index>(impl_->table());
  if (ptrace(PTRACE_SEIZE, pid, nullptr, reinterpret_cast<void*>(kPtraceOptions)) < 0)
    return fail(fmt::format(
        "cannot trace the app (PTRACE_SEIZE: {}): give the container the SYS_PTRACE capability, and do not run "
        "vigil itself under a debugger or tracer",
        std::strerror(errno)));
  impl_->main_pid = pid;
  impl_->seized.insert(pid);
  impl_->add_process(pid, getpid());
  // SIGCHLD (a tracee stopped or exited) wakes the loop through a signalfd;
  // blocked here only, after the fork: the app keeps its own signal mask.
  sigset_t chld;
  sigemptyset(&chld);
  sigaddset(&chld, SIGCHLD);
  sigprocmask(SIG_BLOCK, &chld, nullptr);
  impl_->sig_fd = signalfd(-1, &chld, SFD_CLOEXEC | SFD_NONBLOCK);
  if (impl_->sig_fd < 0) spdlog::warn("signalfd: {} (polling for tracee stops instead)", std::strerror(errno));
  const uint32_t len = uint32_t(prog.size());
  std::string msg = "g";
  msg.append(reinterpret_cast<const char*>(&len), sizeof len);
  msg.append(reinterpret_cast<const char*>(prog.data()), prog.size() * sizeof(sock_filter));
  int child_fd = -1;
  if (write(app.to_child, msg.data(), msg.size()) != ssize_t(msg.size()) ||
      !read_full(app.from_child, &child_fd, sizeof child_fd)) {
    // The child failed to install the filter and said why; run() collects its exit.
    done();
    return pid;
  }
  impl_->notify_fd = take_listener(pid, child_fd, error);
  if (impl_->notify_fd < 0) {
    kill(pid, SIGKILL);
    return fail(*error);
  }
  spdlog::debug("seccomp filter: {} BPF instructions ({}){}", prog.size(),
                impl_->hooks.table ? "generated now" : "generated at build time",
                ioctl(impl_->notify_fd, SECCOMP_IOCTL_NOTIF_SET_FLAGS, SECCOMP_USER_NOTIF_FD_SYNC_WAKE_UP) == 0
                    ? "; notifications wake the sensor on the app's CPU (SYNC_WAKE_UP, Linux 6.6+)"
                    : "");
  std::string watch_error;
  if (!impl_->hooks.sensitive_patterns.empty()) {
    impl_->sensitive_on = impl_->sensitive.start(impl_->hooks.sensitive_patterns, &watch_error);
    if (!impl_->sensitive_on) spdlog::warn("{} (sensitive-file reads will not be reported)", watch_error);
  }
  if (write(app.to_child, "g", 1) != 1) spdlog::warn("cannot release the app: {}", std::strerror(errno));
  done();
  return pid;
}

int Tracer::run() {
  bool reap = true;  // SIGCHLD came: collect every pending stop and exit
  for (;;) {
    if (reap) {
      int status = 0;
      int tid = waitpid(-1, &status, __WALL | WNOHANG);
      if (tid < 0 && errno == EINTR) continue;
      if (tid < 0) {
        spdlog::error("waitpid: {}", std::strerror(errno));
        return W_EXITCODE(255, 0);
      }
      if (tid > 0) {
        impl_->emit_sensitive();
        if (WIFEXITED(status) || WIFSIGNALED(status)) {
          impl_->on_exit(tid, status);
          if (tid == impl_->main_pid) {
            impl_->sensitive.stop();  // collects opens still queued
            impl_->emit_sensitive();
            return status;
          }
        } else if (WIFSTOPPED(status)) {
          impl_->on_stop(tid, status);
        }
        continue;
      }
      reap = false;
      if (!impl_->unannounced.empty()) {
        impl_->adopt_unannounced();
        continue;
      }
    }
    impl_->emit_sensitive();
    // Wait for a notification or SIGCHLD. The sensitive-file watch has no fd
    // here: look at its queue at least every second.
    // Without a signalfd (it could not be created), reap every 10 ms instead.
    const int timeout = impl_->sig_fd < 0 ? 10 : impl_->sensitive_on ? 1000 : -1;
    if (impl_->sig_fd < 0) reap = true;
    pollfd fds[2] = {{impl_->notify_fd, POLLIN, 0}, {impl_->sig_fd, POLLIN, 0}};
    if (poll(fds, 2, timeout) <= 0) continue;  // EINTR: a forwarded signal
    if (fds[0].revents & POLLIN) impl_->on_notify();
    // POLLHUP: every process with the filter is gone; the exits follow.
    if (fds[0].revents & (POLLHUP | POLLERR | POLLNVAL)) close(impl_->notify_fd), impl_->notify_fd = -1;
    if (fds[1].revents & POLLIN) {
      // SIGCHLD is a standard signal: at most one is pending, one read drains it.
      signalfd_siginfo si[4];
      if (read(impl_->sig_fd, si, sizeof si) < 0 && errno != EAGAIN && errno != EINTR)
        spdlog::debug("signalfd: {}", std::strerror(errno));
      reap = true;
    }
  }
}

const std::atomic<uint64_t>& Tracer::stops() const { return impl_->stops; }

void Tracer::kill_all(int timeout_ms) {
  for (const auto& [tgid, p] : impl_->procs) kill(tgid, SIGKILL);
  // Collect their exits (and exit events); SIGKILL ends even ptrace-stopped tasks.
  for (int waited = 0; !impl_->procs.empty() && waited < timeout_ms;) {
    int status = 0;
    int tid = waitpid(-1, &status, __WALL | WNOHANG);
    if (tid < 0 && errno != EINTR) break;
    if (tid > 0 && (WIFEXITED(status) || WIFSIGNALED(status))) impl_->on_exit(tid, status);
    if (tid == 0) {
      usleep(1000);
      ++waited;
    }
  }
}

}  // namespace vigil
