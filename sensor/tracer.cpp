// The tracer: a seccomp filter whose rows come from the probes table
// (probes/probes.cpp) and notify this process (seccomp user notification).
// One thread services everything from one poll() loop:
//   notification        -> row -> decode (probes) -> Event -> judge -> answer
//                          -> emit (sensor/judge.hpp: the verdict's reach is
//                          the row's, probes::Enforce);
//                          a process unknown so far is learnt (fork event),
//                          execve gives the exec event, exit_group the exit
//                          (trapped only with --exit-codes=exact)
//   pidfd readable      -> a known process is gone (without exit_group: its
//                          status from /proc or the pidfd, docs/events.md)
//   SIGCHLD (signalfd)  -> waitpid: the main process's exit and job-control
//                          stops, orphans (PID 1), threads followed by ptrace
// ptrace (PTRACE_SEIZE) only follows a thread for a while when a row needs its
// syscall's return value (accept, the DNS window), or through an exec a
// loaded rule can block (exec verification). Nothing is stopped per fork,
// exit, or exec no rule can block. A connect or a send with a destination a
// rule can block is performed by vigil (sensor/netcall.hpp). If the sensor dies, the keeper (sensor/keeper.hpp) kills
// the app. See docs/design.md section 1.
#include <fcntl.h>
#include <linux/audit.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <poll.h>
#include <sys/epoll.h>
#include <sched.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/stat.h>
#include <sys/ptrace.h>
#include <sys/user.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <csignal>
#include <cstdlib>
#include <cstring>
#include <deque>
#include <optional>
#include <unordered_map>
#include <unordered_set>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include <spdlog/spdlog.h>

#include "probes/drift.hpp"
#include "probes/probes.hpp"
#include "probes/resolve.hpp"
#include "probes/sensitive.hpp"
#include "probes/sockaddr.hpp"
#include "sensor/connect_check.hpp"
#include "sensor/connector.hpp"
#include "sensor/rows.hpp"
#include "sensor/netcall.hpp"
#include "sensor/guard.hpp"
#include "sensor/keeper.hpp"
#include "sensor/perform.hpp"
#include "sensor/receive.hpp"
#include "probes/procfs.hpp"
#include "rules/rules.hpp"
#include "sensor/sensor.hpp"
#include "sensor/uapi.hpp"
#include "sensor/watchdog.hpp"
#include "sinks/sinks.hpp"

namespace vigil {
namespace {

// For threads followed through a syscall (their new threads and processes
// are not attached). No TRACESECCOMP: the filter notifies instead of stopping
// (an app's own RET_TRACE rule then gives ENOSYS, as it would without a tracer).
// TRACEEXEC: a traced thread's exec stops at PTRACE_EVENT_EXEC (exec
// verification; and never the legacy SIGTRAP after an exec).
constexpr long kPtraceOptions = PTRACE_O_EXITKILL | PTRACE_O_TRACESYSGOOD | PTRACE_O_TRACEEXEC;
// For a clone(CLONE_PARENT) (Stage::ParentClone): the caller stops at the
// kernel's fork event, with the new pid; the new process starts stopped,
// attached to vigil, until it is learnt.
constexpr long kForkOptions = PTRACE_O_TRACEFORK | PTRACE_O_TRACEVFORK | PTRACE_O_TRACECLONE;

constexpr const char* kExecDiffersRule = "Exec image differs from the judged one";
constexpr const char* kExecUnverifiableRule = "Exec image cannot be verified";
constexpr const char* kConnectDiffersRule = "Connect target differs from the one read";

bool same_file(const struct stat& st, const probes::DecodeContext::ExecImage& i) {
  return i.ino != 0 && uint64_t(st.st_dev) == i.dev && uint64_t(st.st_ino) == i.ino;
}

// The kernel's ERESTARTNOINTR (include/linux/errno.h, not exported): a call
// answered with it restarts, whatever the signal handlers say.
constexpr int kErestartNoIntr = 513;

int64_t now_monotonic_ns() {
  timespec t{};
  clock_gettime(CLOCK_MONOTONIC, &t);
  return int64_t(t.tv_sec) * 1'000'000'000 + t.tv_nsec;
}

bool is_stop_signal(int sig) { return sig == SIGSTOP || sig == SIGTSTP || sig == SIGTTIN || sig == SIGTTOU; }

// PTRACE_CONT, or PTRACE_SYSCALL to stop again at the end of the current syscall.
void resume(int tid, int sig, bool stop_at_return = false) {
  if (ptrace(stop_at_return ? PTRACE_SYSCALL : PTRACE_CONT, tid, nullptr, reinterpret_cast<void*>(intptr_t(sig))) < 0 &&
      errno != ESRCH)
    spdlog::warn("resuming {}: {}", tid, std::strerror(errno));
}

}  // namespace

struct Tracer::Impl {
  Impl(Judge& j, TracerConfig c)
      : judge(j), cfg(std::move(c)), keeper_ptr(cfg.keeper ? cfg.keeper : std::make_shared<Keeper>()), keeper(*keeper_ptr) {}
  struct Proc {
    ProcessPtr info;
    FileState files;  // fd table and cwd (probes/fdtable.hpp)
    int pidfd = -1;   // readable when the process is gone (its exit event when exit_group is not trapped)
    bool in_epoll = false;  // pidfd is in the epoll set (counted in exits_watched)
    int getfd = -1;   // where pidfd is not open (the main process, reaped by waitpid): one for pidfd_getfd
  };

  Judge& judge;
  TracerConfig cfg;
  std::atomic<uint64_t> stops{0};  // notifications and ptrace stops serviced
  int main_pid = 0;
  int notify_fd = -1;  // the filter's listener
  int sig_fd = -1;     // signalfd for SIGCHLD: a child or followed thread stopped or exited
  int epoll_fd = -1;
  int own_filters = -1;  // seccomp filters on vigil itself (the app's processes have one more)
  bool wait_killable = false;  // the filter has WAIT_KILLABLE_RECV (fork_app)
  bool installed = false;      // install() took the listener; release() has not let the child go yet
  bool sensitive_prepared = false;  // the sensitive-file patterns are watched (install), else watch_error says why
  std::string watch_error;
  std::shared_ptr<Keeper> keeper_ptr;  // started early by the caller (start_keeper), or at the spawn
  Keeper& keeper;
  Guard guard;  // calls aimed at the sensor (sensor/guard.hpp)
  const std::function<bool(int)> sensor_pids = [this](int pid) { return guard.is_sensor(pid); };  // for the resolver
  std::unique_ptr<probes::Index> index;
  std::unordered_map<int, int> thread_tgid;  // every known thread -> its thread group
  std::unordered_set<int> seized;            // threads we ptrace (followed through a syscall)
  std::unordered_map<int, Proc> procs;       // thread group id -> process
  // Threads interrupted at a notification so that the syscall restarts under
  // ptrace syscall stops (its return value is needed): the restarted call's
  // notification is decoded as usual.
  std::unordered_set<int> pending_follow;
  // clone(CLONE_PARENT) (Stage::ParentClone): callers seized for their fork
  // event -> their thread group (the maker); new processes attached by the
  // kernel whose first stop is still to come (detached there), and those
  // whose stop came before their maker's fork event (detached at it).
  std::unordered_map<int, int> clone_makers;
  std::unordered_set<int> made_awaiting_stop, made_stopped_early;
  // Events waiting for their syscall's return value, by thread.
  struct AwaitingReturn {
    Event ev;
    const probes::Probe* probe;
    probes::SyscallArgs args;
  };
  std::unordered_map<int, AwaitingReturn> awaiting_return;
  // Without WAIT_KILLABLE_RECV (Linux < 5.19) a signal can interrupt a call
  // after its event was emitted (the answer then finds it gone: ENOENT); the
  // call restarts (SA_RESTART) and notifies again. The event and answer of
  // such a call, by thread: a next notification of the same call (same
  // number, arguments and decoded content) is answered alike, not reported again.
  struct Interrupted {
    probes::SyscallArgs args;
    Event ev;
    int err;
  };
  std::unordered_map<int, Interrupted> interrupted;
  // Threads followed syscall by syscall for a while (docs/design-probes.md):
  // after a DNS query, to decode the answer ("DNS window"); after a TCP
  // connect to a non-loopback address, to its first message ("peek window").
  struct Window {
    bool peek = false;  // a peek window (else DNS)
    int fd = -1;
    int steps = 0;
    probes::SyscallArgs args;  // of the syscall in progress (exit stops carry none)
  };
  std::unordered_map<int, Window> windows;
  DnsMap dns;
  DriftTracker drift{now_realtime_ns()};
  SensitiveMonitor sensitive;  // reads of credential files (docs/design-probes.md)
  RecentReaders recent_readers;  // attribution of reads closed before the fd scan
  bool sensitive_on = false;

  // Exec verification (docs/design.md, "Exec verification"): what an exec
  // judged at its entry was meant to run, checked against /proc/PID/exe once
  // the kernel has run it.
  struct ExecCheck {
    int tid = 0;                         // the thread that called exec
    const char* syscall = "execve";      // evt.type
    probes::DecodeContext::ExecImage judged;  // ino 0: vigil could not open the target at the entry
    std::string judged_exe;
    probes::DecodeContext::ExecImage before;  // the caller's own image (lazy checks)
    int64_t since_ns = 0;                     // lazy checks: when the exec was let through
    int64_t next_ns = 0;                      // lazy checks: when the sweep looks again
    ProcessPtr was;                           // the process's record before the exec (exec_failed)
    // The read lease on the file that runs (DecodeContext::exec_pin_fd):
    // held until the check is over (the kernel has the file by then). And
    // those of the process's earlier execs not over yet (another thread's,
    // whose check this one took the place of): held as long.
    struct Pinned {
      probes::DecodeContext::ExecImage file;
      std::shared_ptr<procfs::Fd> fd;
    };
    std::vector<Pinned> pins;
  };
  // Where a rule can block the exec: its thread is seized (TRACEEXEC) and
  // checked at its PTRACE_EVENT_EXEC stop, before the new image's first
  // instruction; by thread.
  std::unordered_map<int, ExecCheck> exec_traced;
  // Elsewhere (nothing could stop it): checked at the process's next
  // notification, reported if it runs another image; by process.
  std::unordered_map<int, ExecCheck> exec_lazy;
  std::unordered_set<int> detach_at_stop;  // seized for an exec that failed: detached at our interrupt's stop
  bool enforce_execve = false, enforce_execveat = false;  // judge.enforces(), fixed at spawn
  // What an exec reads beyond its event's core (probes::DecodeContext): only
  // for a rule that reads the fields, or an event sink. Fixed at spawn.
  bool exec_session = true, exec_caps = true, exec_cwd = true, exec_stdio = true;
  std::unique_ptr<Connector> connector;  // where a rule can block a connect or send (sensor/netcall.hpp)
  // Connects let through with CONTINUE: the socket's true destination read
  // once the kernel has run the call (sensor/connect_check.hpp).
  ConnectCheck connect_check{[this](const ConnectCheck::Pending& p, const Endpoint& truth) { connect_differs(p, truth); }};
  // Reads of the app's memory on this thread, watched: one that stalls is ended (sensor/watchdog.hpp).
  probes::ReadWatch read_watch;
  std::unique_ptr<Watchdog> watchdog;

  // Resumes a stopped task, keeping its syscall stops if something follows it.
  bool followed(int tid) const {
    return awaiting_return.count(tid) > 0 || windows.count(tid) > 0 || pending_follow.count(tid) > 0;
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

  // The thread group of a notifying thread. Forks and threads are not seen
  // when they happen: a thread is learnt from /proc at its first notification
  // and re-checked later (tgkill(tgid, tid, 0) fails once the thread is gone
  // and its id reused elsewhere). A process not known yet is learnt here,
  // with a fork event (and its unknown ancestors first).
  // watch: open a pidfd to see it die. defer: a process not known yet is not
  // learnt here; its parent is returned there instead (-1: known).
  // A thread learnt here leaves its ids in fresh_ids (for this notification's exec).
  // 0: the thread is gone, or vigil ran short of fds or memory reading it
  // (then tgid_fault holds the errno: the caller fails closed).
  int tgid_of(int tid, bool watch = true, int* defer = nullptr) {
    if (defer) *defer = -1;
    tgid_fault = 0;
    if (auto it = thread_tgid.find(tid); it != thread_tgid.end()) {
      if (it->second == tid || seized.count(tid) || syscall(SYS_tgkill, it->second, tid, 0) == 0) return it->second;
      thread_tgid.erase(it);
    }
    int tgid = 0, ppid = 0, pidfd = -1;  // pidfd: of the process, when tid leads it (6.13+): its exit watch
    if (!procfs::thread_group(tid, &tgid, &ppid, &fresh_ids, &pidfd)) {
      if (!procfs::own_resource(errno)) return 0;
      procfs::close_deferred();  // the handles held for a batch first
      if (!procfs::thread_group(tid, &tgid, &ppid, &fresh_ids, &pidfd)) {
        if (procfs::own_resource(errno)) tgid_fault = errno;
        return 0;
      }
    }
    fresh_tid = tid;
    if (!procs.count(tgid) && !defer) {
      learn(tgid, ppid, fresh_ids, watch, 0, false, pidfd);
      if (!procs.count(tgid)) return 0;  // gone before its exit could be watched (learn)
    } else if (pidfd >= 0) {
      close(pidfd);
    }
    if (!procs.count(tgid) && defer) *defer = ppid;
    thread_tgid[tid] = tgid;
    if (thread_tgid.size() > prune_at) prune_threads();
    return tgid;
  }
  // Threads whose set*id or capset was let through: their ids are read again at their next notification.
  std::unordered_set<int> ids_stale;
  void refresh_ids(int tid, int tgid) {
    procfs::Status st;
    int tg = 0, pp = 0;
    if (fresh_tid == tid) st = fresh_ids;  // the thread was learnt at this notification: read already
    else if (!procfs::thread_group(tid, &tg, &pp, &st) || tg != tgid) return;
    if (st.cap_eff < 0 && exec_caps) st.cap_eff = procfs::cap_effective(tid);  // (a pidfd does not tell it)
    set_ids(tgid, st);
  }
  // The ids of thread fresh_tid as read when it was learnt, at the
  // notification being handled (0: none learnt at this one).
  int fresh_tid = 0;
  procfs::Status fresh_ids;
  int tgid_fault = 0;

  // A process seen for the first time: its fork event. Its parent is learnt
  // first if it is unknown too (a process that never made a notified call).
  // ids: its ids as read now (the copy of its parent's are not: it may have
  // changed them before its first notified call). made: it was stopped
  // before its first instruction (clone(CLONE_PARENT)), so its parent's
  // record is exactly what it runs.
  // pidfd: a pidfd of it already open (-1: none), kept to watch its exit.
  // kernel_ppid: the parent the kernel records when it is not the maker
  // (clone(CLONE_PARENT)): an argument of the fork event.
  // A process whose exit cannot be watched (it is gone already: its pid may
  // be the next process's) is forgotten again at once, with its exit event:
  // a record with no pidfd would never be forgotten and would be taken for
  // whatever process gets that pid next (tests/shell/ident_attack.sh, reuse).
  void learn(int pid, int ppid, const procfs::Status& ids, bool watch, int depth, bool made = false, int pidfd = -1,
             int kernel_ppid = 0) {
    // Only an app process: one with vigil's filter on top of vigil's own
    // (never vigil's parent, init or a subreaper that took an orphan). Its
    // pidfd is opened before its status is read (read_status_pinned): it
    // runs, and may die, while it is learnt.
    procfs::Status pst;
    int ppidfd = -1;
    if (ppid > 1 && !procs.count(ppid) && depth < 32 && own_filters >= 0 &&
        procfs::read_status_pinned(ppid, &pst, &ppidfd) && pst.tgid == ppid && pst.seccomp_filters > own_filters)
      learn(ppid, pst.ppid, pst, true, depth + 1, false, std::exchange(ppidfd, -1));
    if (ppidfd >= 0) close(ppidfd);
    add_process(pid, ppid, kernel_ppid);
    set_ids(pid, ids);
    const std::string own_exe = made ? std::string() : own_image(pid);
    bool gone = false;
    if (watch) gone = !watch_exit(pid, pidfd);
    else if (pidfd >= 0) close(pidfd);
    Event ev = new_event(EventClass::Process, "fork", ppid, info_of(ppid));
    ev.child_pid = pid;
    if (kernel_ppid) ev.args.push_back({"kernel_ppid", std::to_string(kernel_ppid)});
    if (!own_exe.empty()) ev.args.push_back({"child_exe", own_exe});
    carry_out(judge.judge(ev, probes::Enforce::Kill), pid);  // the child exists already: only killing it is left
    judge.emit(std::move(ev));
    if (gone) process_gone(pid, false, -1);
  }

  // A process learnt late is a copy of its parent's record, which need not
  // be what it runs: its parent may have exec'd since the fork (a trusted
  // image program, whose name a rule excepts), or it is an orphan given to a
  // subreaper of the app or to a process outside it (no record at all). Its
  // image is compared with the record's (one stat); if it differs, its
  // identity is read from /proc as for an exec vigil did not see (the image
  // the kernel runs, its command line as it is now, its ids and cwd). A
  // process whose parent exec'd the same image keeps the copy (its command
  // line is then the parent's: docs/threat-model.md). Returns the exe read
  // ("" if the copy stands).
  std::string own_image(int pid) {
    auto it = procs.find(pid);
    if (it == procs.end()) return {};
    const Process& copy = *it->second.info;
    struct stat st {};
    if (stat(fmt::format("/proc/{}/exe", pid).c_str(), &st) != 0) return {};  // gone: nothing truer to read
    if (copy.exe_ino && uint64_t(st.st_dev) == copy.exe_dev && uint64_t(st.st_ino) == copy.exe_ino) return {};
    Event ev = new_event(EventClass::Process, "exec", pid, it->second.info);
    probes::DecodeContext ctx = decode_context(pid);
    if (!probes::exec_event_of_image(pid, "execve", ctx, &ev)) return {};
    it->second.info = ev.proc;
    return ev.proc->exe.empty() ? "<unknown>" : ev.proc->exe;
  }
  // The ids of process pid's record, as read (ids of -1 and cap_eff -1: not read).
  void set_ids(int pid, const procfs::Status& ids) {
    auto it = procs.find(pid);
    if (it == procs.end() || ids.uid < 0) return;
    const Process& was = *it->second.info;
    if (was.uid == ids.uid && was.euid == ids.euid && was.gid == ids.gid && was.egid == ids.egid &&
        (ids.cap_eff < 0 || was.cap_effective == ids.cap_eff))
      return;
    auto p = std::make_shared<Process>(was);
    p->uid = ids.uid, p->euid = ids.euid, p->gid = ids.gid, p->egid = ids.egid;
    if (ids.cap_eff >= 0) p->cap_effective = ids.cap_eff;
    it->second.info = std::move(p);
  }

  // A pidfd in the epoll set (data: the pid): readable when the process is
  // gone. fd: a pidfd of pid already open, else -1 (opened here). False:
  // it is gone already, or killed (vigil's own EMFILE/ENOMEM: fail closed,
  // sensor/guard.hpp): its record must go with it.
  bool watch_exit(int pid, int fd = -1) {
    if (fd < 0) fd = int(syscall(SYS_pidfd_open, pid, 0));
    if (fd < 0) {
      if (errno == ESRCH) return false;
      if (errno != ENOSYS && guard.resource_fault(pid, "pidfd_open of an app process", errno))
        return kill(pid, SIGKILL), false;
      return true;  // detect mode: left running, unwatched
    }
    procs[pid].pidfd = fd;
    unwatched.emplace_back(pid, fd);  // into the epoll set before the next poll (off the caller's wait)
    keeper.track(pid);  // only with a pidfd: its death is seen, so a stale pid is never left for the keeper
    return true;
  }
  // Pidfds opened since the last poll: into the epoll set (a process already
  // gone is reported by the next poll all the same).
  std::vector<std::pair<int, int>> unwatched;
  void watch_pending() {
    for (const auto& [pid, fd] : unwatched) {
      auto p = procs.find(pid);
      if (p == procs.end() || p->second.pidfd != fd) continue;  // gone meanwhile (its pidfd closed)
      epoll_event e{};
      e.events = EPOLLIN | EPOLLONESHOT;  // a death is reported once (then its pidfd may wait for a batched close)
      e.data.u64 = uint64_t(pid);
      if (epoll_ctl(epoll_fd, EPOLL_CTL_ADD, fd, &e) < 0 && errno != EEXIST) {
        close(fd);
        p->second.pidfd = -1;
        keeper.untrack(pid);
      } else if (!p->second.in_epoll) {
        p->second.in_epoll = true;
        ++exits_watched;
      }
    }
    unwatched.clear();
  }
  // Pidfds in the epoll set: processes whose exit the loop looks for.
  size_t exits_watched = 0;
  // The loop's poll waits on the pidfds too (else it looks at them
  // whenever it is awake anyway): always where exit statuses are read (a
  // rule or an event sink takes exit events: they come at once, with the
  // status while the kernel has it), else from a quiet second on, until the
  // next notification (docs/design.md, "Exits").
  bool exits_direct = true;
  static constexpr int kExitLookMs = 1000;
  // Deaths first: they happened before whatever is notified now (a pid
  // reused by a new process must not be taken for the dead one's).
  void look_for_exits() {
    epoll_event evs[16];
    for (int n = 16, rounds = 0; n == 16 && rounds < 64; ++rounds) {
      n = epoll_wait(epoll_fd, evs, 16, 0);
      for (int i = 0; i < n; ++i) on_pidfd(int(evs[i].data.u64));
    }
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
    ctx.proc = it == procs.end() ? nullptr : it->second.info.get();
    ctx.dns = &dns;
    ctx.drift = &drift;
    ctx.exec_session = exec_session, ctx.exec_caps = exec_caps;
    ctx.exec_cwd = exec_cwd, ctx.exec_stdio = exec_stdio;
    ctx.exec_argv_cwd = sensitive_on;  // its attribution by argv
    ctx.is_sensor = &sensor_pids;
    return ctx;
  }

  // Sensitive-file opens and changes to protected objects seen by the watch
  // thread since the last call: one event each, attributed to the process
  // found holding the file, else unattributed. Never denied: inotify reports
  // after the fact. A sensitive open is an "open" without flags (inotify does
  // not tell them); a change carries its evt.type, the true object (the
  // inode's rule name, dev, ino) and args.inotify (the inotify events), and is
  // dropped when a trapped event on that object was judged just before
  // (Judge::judged_recently: the same change, reported already).
  // last: the app is gone (refused watches not alerted yet are alerted now).
  void emit_sensitive(bool last = false) {
    // Files found below the directories only alert rules name (walked by the watch's thread): by identity too.
    std::string info;
    if (Walked walked; sensitive.take_setup(&info, &walked)) {
      judge.adopt(std::move(walked));
      spdlog::info("{}", info);
    }
    for (auto& h : sensitive.drain()) {
      const SensitiveOpen& o = h.open;
      if (o.type && judge.judged_recently(o.dev, o.ino, o.path, o.time_ns, file_change(o.type, o.flags))) {
        ++inotify_duplicates;
        continue;
      }
      // A new file or directory under a protected name: its hard links and entries match too.
      if (o.type && o.ino && ((std::strcmp(o.type, "open") == 0 && (o.flags & O_CREAT)) || std::strcmp(o.type, "mkdir") == 0))
        judge.learn(o.path, o.dev, o.ino, std::strcmp(o.type, "mkdir") == 0);
      const int pid = h.pids.empty() ? 0 : h.pids.front();
      auto t = thread_tgid.find(pid);
      ProcessPtr p = t == thread_tgid.end() ? nullptr : info_of(t->second);
      std::vector<ProcessPtr> alive;
      if (!p)
        for (const auto& pr : procs) alive.push_back(pr.second.info);
      const int64_t report_ns = o.time_ns ? o.time_ns : now_realtime_ns();
      ProcessPtr by_argv = p ? nullptr : recent_readers.by_argv(o.path, alive, report_ns);
      // A file found in a directory that appeared: by the process naming that directory (`mv prep ~/.ssh`).
      if (!p && !by_argv && !o.appeared.empty()) by_argv = recent_readers.by_argv(o.appeared, alive, report_ns);
      if (by_argv) p = by_argv;
      Event ev = new_event(EventClass::FileSystem, o.type ? o.type : "open", p ? p->pid : pid, p);
      if (o.time_ns) ev.time_ns = o.time_ns;
      FileInfo f;
      f.path = f.raw_path = o.path;
      if (o.type) f.target = o.target, f.flags = o.flags, f.mode = o.mode, f.dev = o.dev, f.ino = o.ino;
      ev.file = std::move(f);
      ev.args.push_back({"source", "inotify"});
      if (o.type) ev.args.push_back({"inotify", o.change});
      if (o.uid >= 0) ev.args.push_back({"uid", std::to_string(o.uid)}), ev.args.push_back({"gid", std::to_string(o.gid)});
      if (!p) ev.args.push_back({"attributed", "false"});
      else ev.args.push_back({"attributed_by", by_argv ? "argv" : "open_fd"});
      if (by_argv) judge.judge_guessed(ev);  // (a guess lends no rule exception: judged as nobody's too)
      else judge.judge(ev, probes::Enforce::Alert);
      judge.emit(std::move(ev));
    }
    if (std::string w = sensitive.take_warning(); !w.empty()) spdlog::warn("{}", w);
    // Watches refused because the user's inotify watches are used up, and
    // overflows of the watch's event queue (the app shares the first and can
    // use them up, and can fill the second by churning entries of a watched
    // directory, on purpose): an alert each, at most one a minute, with the
    // count. An overflow's lost events were looked for by change time
    // (SensitiveWatch::recheck).
    if (size_t n = refused_watches.take(sensitive.take_exhausted(), last))
      guard.fault(fmt::format("{} inotify watches refused (fs.inotify.max_user_watches is used up; the app's "
                              "watches count against it too)",
                              n),
                  ENOSPC,
                  "files and directories rules name left unwatched: a write to them that a racing thread hides "
                  "from vigil's read, and reads of them, are not seen");
    if (size_t n = watch_overflows.take(sensitive.take_overflows(), last))
      guard.fault(fmt::format("the inotify event queue of the watch on files rules name overflowed {} time(s) "
                              "(fs.inotify.max_queued_events; a burst of changes in watched directories fills it)",
                              n),
                  EOVERFLOW,
                  "events were lost: what changed meanwhile was found by change time and reported after the fact "
                  "(args.inotify \"overflow\", unattributed unless a holder was found); an entry removed then is "
                  "not reported");
  }
  // A fault counted between its alerts: alerted at most once a minute (and
  // at the end: last), with how many since the previous alert.
  struct Throttled {
    size_t pending = 0;
    int64_t alerted = -60'000'000'000;
    size_t take(size_t add, bool last) {  // the count to alert now, else 0
      pending += add;
      if (pending == 0 || (!last && now_monotonic_ns() - alerted < 60'000'000'000)) return 0;
      alerted = now_monotonic_ns();
      return std::exchange(pending, 0);
    }
  };
  Throttled refused_watches;  // inotify watches refused (ENOSPC)
  Throttled watch_overflows;  // the watch's event queue overflowed
  uint64_t inotify_duplicates = 0;  // changes to protected objects reported by their trapped event already

  const probes::Table& table() const { return cfg.table ? *cfg.table : probes::table(); }

  Event new_event(EventClass cls, const char* type, int tid, const ProcessPtr& p) {
    Event ev;
    ev.time_ns = now_realtime_ns();
    ev.cls = cls;
    ev.type = type;
    ev.tid = tid;
    ev.proc = p;
    return ev;
  }

  // Carries out a verdict on process pid; returns the errno to answer its
  // notification with (0: continue).
  static int carry_out(Action a, int pid) {
    if (a == Action::Killed) kill(pid, SIGKILL);
    return a == Action::None ? 0 : EPERM;
  }

  // The watchdog ended a read of the app's memory that lasted longer than
  // the deadline (sensor/watchdog.hpp): a Critical alert for each action.
  void report_stalls() {
    for (Watchdog::Stall& s : watchdog->take()) {
      auto t = thread_tgid.find(s.tid);
      const ProcessPtr p = info_of(t == thread_tgid.end() ? s.tid : t->second);
      Alert al;
      al.time_ns = now_realtime_ns();
      al.rule = "Tracee memory read stalled";
      al.priority = "Critical";
      al.output = fmt::format(
          "Tracee memory read stalled: vigil's read of the app's memory lasted {} ms (deadline {} ms): {} "
          "(tid={} pid={} exe={} command={})",
          s.ms, watchdog->deadline_ms(), s.what, s.tid, p ? p->pid : s.tid, p ? output_value(p->exe) : "<NA>",
          p ? output_value(p->cmdline()) : "<NA>");
      al.output_fields = {{"proc.name", p ? FieldValue(p->name) : FieldValue()},
                          {"proc.pid", FieldValue::num(p ? p->pid : s.tid)},
                          {"thread.tid", FieldValue::num(s.tid)},
                          {"proc.exepath", p ? FieldValue(p->exe) : FieldValue()},
                          {"proc.cmdline", p ? FieldValue(p->cmdline()) : FieldValue()}};
      al.tags = {"vigil", "integrity", "mitre_defense_evasion", "T1211"};
      al.action = s.killed.empty() ? Action::None : Action::Killed;
      judge.output().alert(std::move(al));
    }
  }

  ProcessPtr info_of(int tgid) {
    auto it = procs.find(tgid);
    return it == procs.end() ? nullptr : it->second.info;
  }

  // The process accepted a network connection (proc.accepted_conn): its
  // later events and children see it (Process is immutable once shared).
  void mark_accepted(int tgid) {
    auto it = procs.find(tgid);
    if (it == procs.end() || !it->second.info || it->second.info->accepted_conn) return;
    auto p = std::make_shared<Process>(*it->second.info);
    p->accepted_conn = true;
    it->second.info = std::move(p);
  }

  // A new process: what its parent was, with its own pid.
  // ppid: the maker; kernel_ppid (if not 0): the parent the kernel records
  // instead (CLONE_PARENT), proc.ppid as an exec reads it again from /proc.
  void add_process(int pid, int ppid, int kernel_ppid = 0) {
    ProcessPtr parent = info_of(ppid);
    auto p = parent ? std::make_shared<Process>(*parent) : std::make_shared<Process>();
    p->pid = pid;
    p->ppid = kernel_ppid ? kernel_ppid : ppid;
    p->parent = parent;
    p->start_ns = now_realtime_ns();
    procs[pid] = Proc{std::move(p), {}, -1};
    if (auto par = procs.find(ppid); par != procs.end()) procs[pid].files = par->second.files.clone_for(0);
    thread_tgid[pid] = pid;
  }

  // The exit event of a process: at its exit_group (code), or when it is gone
  // without one (status: a wait status; -1 if it could not be learnt).
  // Nothing is left to stop: rules may only alert.
  // reported: its pidfd was reported by the epoll set (EPOLLONESHOT: never
  // again), so it can be closed in a batch; else now (its registration,
  // keyed by pid, must not report a death later: the pid may be reused).
  void process_gone(int tgid, bool by_exit_group, int code_or_status, bool reported = false) {
    auto p = procs.find(tgid);
    if (p == procs.end()) return;
    Event ev = new_event(EventClass::Process, "exit", tgid, p->second.info);
    if (by_exit_group) ev.exit_code = code_or_status;
    else if (code_or_status < 0) ev.args.push_back({"status", "unknown"});
    else if (WIFEXITED(code_or_status)) ev.exit_code = WEXITSTATUS(code_or_status);
    else ev.exit_signal = WTERMSIG(code_or_status);
    judge.judge(ev, probes::Enforce::Alert);
    const int64_t at = ev.time_ns;
    judge.emit(std::move(ev));
    recent_readers.exited(p->second.info, at);
    exec_lazy.erase(tgid);
    if (!connect_check.empty()) connect_check.gone(tgid);
    if (reported) procfs::close_later(p->second.pidfd);
    else if (p->second.pidfd >= 0) close(p->second.pidfd);  // (leaves the epoll set)
    if (p->second.in_epoll) --exits_watched;
    if (p->second.getfd >= 0) close(p->second.getfd);
    procs.erase(p);
    thread_tgid.erase(tgid);
    keeper.untrack(tgid);
  }

  // A watched process is gone and no exit_group was seen: exit_group is not
  // trapped (--exit-codes=async, the default), or it was killed by a signal
  // (or its last thread called exit). Its status: from /proc while it is a
  // zombie, else from the pidfd (Linux 6.15+, once reaped).
  // The pidfd is asked first once it has given a status (the kernel has
  // PIDFD_INFO_EXIT, learnt at run time): a process its parent has reaped
  // already, the common case, then costs one call instead of a failed /proc
  // lookup and that call. A zombie is still read from /proc.
  // Nothing is read where no loaded rule looks at exit events and no event
  // sink takes them (exit_status): the event says "status":"unknown".
  // reported: by the epoll set (else looked at directly, at shutdown).
  void on_pidfd(int tgid, bool reported = true) {
    auto p = procs.find(tgid);
    if (p == procs.end()) return;
    if (!exit_status) return process_gone(tgid, false, -1, reported);
    int status = pidfd_exit_first ? procfs::pidfd_exit_status(p->second.pidfd) : -1;
    if (status < 0 && !procfs::read_exit_status(tgid, &status)) {
      status = procfs::pidfd_exit_status(p->second.pidfd);
      pidfd_exit_first = pidfd_exit_first || status >= 0;
    }
    process_gone(tgid, false, status, reported);
  }
  bool pidfd_exit_first = false;
  bool exit_status = true;  // a rule looks at exit events, or an event sink takes them (fixed at spawn)

  // Answers a notification: continue the syscall, or fail it with -err.
  // False if the call was gone (ENOENT: its thread was killed, or a signal
  // interrupted it).
  bool answer(uint64_t id, int err) {
    seccomp_notif_resp resp{};
    resp.id = id;
    if (err) resp.error = -err;
    else resp.flags = SECCOMP_USER_NOTIF_FLAG_CONTINUE;
    if (ioctl(notify_fd, SECCOMP_IOCTL_NOTIF_SEND, &resp) == 0) return true;
    if (errno != ENOENT) spdlog::warn("answering a seccomp notification: {}", std::strerror(errno));
    return errno != ENOENT;
  }

  // Stops a notifying thread: attached, interrupted (PTRACE_INTERRUPT) and
  // answered ERESTARTNOINTR, its syscall restarts under ptrace syscall stops,
  // notifying again. (The answer wakes it: with WAIT_KILLABLE_RECV the
  // interrupt alone does not.) False if the thread cannot be attached: the
  // caller answers as usual.
  bool follow(int tid, uint64_t id) {
    if (!ensure_seized(tid) || ptrace(PTRACE_INTERRUPT, tid, nullptr, nullptr) < 0) return false;
    pending_follow.insert(tid);
    answer(id, kErestartNoIntr);
    return true;
  }

  // Done with a seized thread: detached, it costs nothing more (signals, its children).
  void detach(int tid) {
    if (ptrace(PTRACE_DETACH, tid, nullptr, nullptr) < 0 && errno != ESRCH)
      spdlog::debug("PTRACE_DETACH {}: {}", tid, std::strerror(errno));
    seized.erase(tid);
    clone_makers.erase(tid);  // (a clone(CLONE_PARENT) that made nothing: the next one seizes again)
  }

  // Whether the verdict on an exec event can do anything but alert: in
  // prevent mode, where a loaded rule can block or kill this exec, or argv
  // or the path could not be read in full (denied whatever the rules say).
  bool exec_verdict_can_act(const char* syscall, const Event& ev) const {
    if (judge.mode() != Mode::Prevent) return false;
    return (std::strcmp(syscall, "execveat") == 0 ? enforce_execveat : enforce_execve) || ev.arg("unreadable");
  }

  // An exec's SHA-256 its decode left for later (DecodeContext::exec_hash_later,
  // owed: the file's fd, closed on every path), into the event's process (a
  // new copy: processes are shared read-only) and into the table if the exec
  // made it the process's already.
  void settle(procfs::Fd& owed, int tgid, Event& ev, bool held) {
    if (owed.fd < 0) return;
    std::string hash = probes::exec_sha256(owed.fd, held);
    close(owed.release());
    if (hash.empty() || !ev.proc) return;
    auto p = std::make_shared<Process>(*ev.proc);
    p->sha256 = std::move(hash);
    if (auto it = procs.find(tgid); it != procs.end() && it->second.info == ev.proc) it->second.info = p;
    ev.proc = std::move(p);
  }

  // An exec let through: the process as it will be (an exec that fails anyway
  // is rare past the open; one whose path could not be read keeps the caller: it fails).
  void became(int tgid, const Event& ev) {
    if (ev.proc == info_of(tgid)) return;
    Proc& pr = procs[tgid];
    pr.info = ev.proc;
    pr.files.fds->exec();
  }

  // An exec the judge let through (image: what it judged will run; ino 0:
  // the target could not be opened): where a rule could block it, its thread
  // is seized to be checked at its exec stop, else the process is checked at
  // its next notification. Returns the errno to answer with: EPERM if the
  // thread cannot be seized (traced by the app's own debugger) where a rule
  // could block the exec (an alert says so).
  // A file whose bytes vigil holds for an exec not over yet (ExecCheck::pin).
  bool exec_pinned(uint64_t dev, uint64_t ino) const {
    for (const auto* checks : {&exec_lazy, &exec_traced})
      for (const auto& [id, c] : *checks)
        for (const auto& p : c.pins)
          if (p.fd && p.fd->fd >= 0 && p.file.dev == dev && p.file.ino == ino) return true;
    return false;
  }
  // pin: the read lease on the file that runs, given up once the check is
  // over (or at once if there is none).
  int watch_exec(int tid, int tgid, const char* syscall, const probes::DecodeContext::ExecImage& image,
                 const Event& ev, std::shared_ptr<procfs::Fd> pin = nullptr) {
    ExecCheck c{tid, syscall, image, image.ino && ev.proc ? ev.proc->exe : std::string(), {}};
    c.was = info_of(tgid);
    if (pin && pin->fd >= 0) c.pins.push_back({image, std::move(pin)});
    if (std::strcmp(syscall, "execveat") == 0 ? enforce_execveat : enforce_execve) {
      if (ensure_seized(tid)) {
        exec_traced[tid] = std::move(c);
        return 0;
      }
      const int e = errno;
      exec_alert(kExecUnverifiableRule, ev, c,
                 fmt::format("vigil cannot trace the thread ({}): the exec is denied", std::strerror(e)), Action::Denied);
      return EPERM;
    }
    if (struct stat st; stat(fmt::format("/proc/{}/exe", tid).c_str(), &st) == 0)
      c.before = {uint64_t(st.st_dev), uint64_t(st.st_ino)};
    c.since_ns = now_monotonic_ns();
    if (auto was = exec_lazy.find(tgid); was != exec_lazy.end())  // another thread's exec, maybe not over: its pins kept
      for (auto& p : was->second.pins) c.pins.push_back(std::move(p));
    exec_lazy[tgid] = std::move(c);
    return 0;
  }

  void exec_alert(const char* rule, const Event& ev, const ExecCheck& c, const std::string& what, Action action) {
    Alert al;
    al.time_ns = ev.time_ns;
    al.rule = rule;
    al.priority = "Critical";
    const Process* p = ev.proc.get();
    al.output = fmt::format("{}: {} (judged={} pid={} exe={} command={})", rule, what,
                            c.judged.ino ? output_value(c.judged_exe) : "<unresolved>", p ? p->pid : ev.tid,
                            p ? output_value(p->exe) : "<NA>", p ? output_value(p->cmdline()) : "<NA>");
    al.output_fields = {{"evt.type", c.syscall},
                        {"proc.name", p ? FieldValue(p->name) : FieldValue()},
                        {"proc.pid", FieldValue::num(p ? p->pid : ev.tid)},
                        {"proc.exepath", p ? FieldValue(p->exe) : FieldValue()},
                        {"proc.cmdline", p ? FieldValue(p->cmdline()) : FieldValue()},
                        {"vigil.judged_exe", c.judged.ino ? FieldValue(c.judged_exe) : FieldValue()}};
    al.source = "syscall";
    al.tags = {"vigil", "integrity", "mitre_defense_evasion", "T1036"};
    al.action = action;
    al.event_seq = ev.seq;
    spdlog::warn("{}", al.output);
    judge.output().alert(std::move(al));
  }

  // Process pid runs a new image after an exec checked with c: if it is not
  // the image judged, the exec event of the true one, judged (traced: before
  // its first instruction; a differing image is killed and alerted).
  // Returns true if pid was killed.
  bool verify_exec(int pid, const ExecCheck& c, bool traced) {
    struct stat st {};
    const bool have = stat(fmt::format("/proc/{}/exe", pid).c_str(), &st) == 0;
    if (have && same_file(st, c.judged)) return false;
    Event ev = new_event(EventClass::Process, "exec", pid, info_of(pid));
    probes::DecodeContext ctx = decode_context(pid);
    if (!probes::exec_event_of_image(pid, c.syscall, ctx, &ev)) return false;  // gone
    const bool differs = c.judged.ino != 0;
    ev.args.push_back({"exec_check", differs ? "differs" : "unresolved"});
    if (differs) ev.args.push_back({"judged_exe", c.judged_exe});
    Action a = judge.judge(ev, probes::Enforce::Kill);
    if (differs && traced) a = ev.action = Action::Killed;
    if (a == Action::Killed) kill(pid, SIGKILL);
    if (differs) exec_alert(kExecDiffersRule, ev, c, "the kernel ran another file than vigil judged", a);
    if (a != Action::Killed) procs[pid].info = ev.proc;
    judge.emit(std::move(ev));
    return a == Action::Killed;
  }

  // A notification of a process with a lazy exec check pending: the exec is
  // over if this is its thread (or, for a non-leader's exec, the leader once
  // that thread is gone).
  void check_lazy(int tid, int tgid) {
    auto it = exec_lazy.find(tgid);
    if (it == exec_lazy.end()) return;
    const int caller = it->second.tid;
    if (tid != caller && !(tid == tgid && syscall(SYS_tgkill, tgid, caller, 0) != 0)) return;
    const ExecCheck c = std::move(it->second);
    exec_lazy.erase(it);
    lazy_check(tgid, c);
  }
  void lazy_check(int tgid, const ExecCheck& c) {
    struct stat st {};
    if (stat(fmt::format("/proc/{}/exe", tgid).c_str(), &st) != 0 || same_file(st, c.judged)) return;
    if (same_file(st, c.before)) return exec_failed(c);  // (or it ran the caller's own image again)
    verify_exec(tgid, c, false);
  }
  // An exec let through that did not happen: the kernel failed it after
  // vigil's read (E2BIG from an environment over a lowered stack limit,
  // EACCES of a file without its x bit, a bad ELF). The process still runs
  // its own image, so its record is the one from before: became() had made
  // it the judged target, whose name and image (a trusted program a rule
  // excepts) the caller would otherwise wear for its later calls.
  void exec_failed(const ExecCheck& c) {
    if (!c.was) return;
    if (auto it = procs.find(c.was->pid); it != procs.end()) it->second.info = c.was;
  }
  // A thread seized for an exec (exec_traced) that notifies again, or stops
  // for vigil's interrupt, with no exec stop before: its exec failed.
  bool traced_exec_failed(int tid) {
    auto it = exec_traced.find(tid);
    if (it == exec_traced.end()) return false;
    exec_failed(it->second);
    exec_traced.erase(it);
    return true;
  }
  // Lazy checks whose process made no notification since (the adaptive
  // filter may trap nothing it does): checked once the exec is over, looked
  // at kLazyCheckNs after it was let through, then at doubling intervals (at
  // most kLazyMaxNs) while it may still be running. The looks are made when
  // the loop is awake anyway (a notification, a death); the loop wakes up for
  // them only from kLazyQuietNs after the exec: a program that is done
  // sooner (its death erases the check: its image cannot be read any more)
  // costs no wake-up. Returns the poll timeout (ms) until the next wake-up
  // for a look, -1 if none is pending.
  static constexpr int64_t kLazyCheckNs = 2'000'000, kLazyQuietNs = 64'000'000, kLazyMaxNs = 256'000'000;
  int sweep_lazy() {
    if (exec_lazy.empty()) return -1;
    const int64_t now = now_monotonic_ns();
    int64_t next = INT64_MAX;
    for (auto it = exec_lazy.begin(); it != exec_lazy.end();) {
      ExecCheck& c = it->second;
      if (c.next_ns == 0) c.next_ns = c.since_ns + kLazyCheckNs;
      if (now >= c.next_ns && !exec_over(it->first, c)) c.next_ns = now + std::min(2 * (now - c.since_ns), kLazyMaxNs);
      if (now < c.next_ns) {
        next = std::min(next, std::max(c.next_ns, c.since_ns + kLazyQuietNs));
        ++it;
        continue;
      }
      const int tgid = it->first;
      const ExecCheck done = std::move(c);
      it = exec_lazy.erase(it);
      lazy_check(tgid, done);
    }
    return next == INT64_MAX ? -1 : int(std::max<int64_t>(1, (next - now + 999'999) / 1'000'000));
  }
  // Whether the exec checked with c is over: the process is gone or runs
  // another image than before, or the thread waits in another syscall
  // (/proc/TID/syscall: the exec failed). A thread that is "running" may
  // still be in the exec (under load an exec outlasts any fixed delay), and
  // a non-leader's exec takes the leader's id before the new image is set
  // (its own id is gone then): not over.
  static bool exec_over(int tgid, const ExecCheck& c) {
    struct stat st {};
    if (stat(fmt::format("/proc/{}/exe", tgid).c_str(), &st) != 0 || !same_file(st, c.before)) return true;
    std::string sc;
    if (!procfs::read_file(fmt::format("/proc/{}/syscall", c.tid), 64, &sc)) return false;
    if (sc.starts_with("running")) return false;
    const long nr = std::strtol(sc.c_str(), nullptr, 10);
    return nr != SYS_execve && nr != SYS_execveat;
  }

  // PTRACE_EVENT_EXEC of a seized thread (tid: now the thread group's id;
  // the event message: its id before the exec).
  void on_exec_stop(int tid) {
    unsigned long former = 0;
    const int old = ptrace(PTRACE_GETEVENTMSG, tid, nullptr, &former) == 0 ? int(former) : tid;
    for (int t : {old, tid}) windows.erase(t), pending_follow.erase(t), detach_at_stop.erase(t);
    if (old != tid) seized.erase(old), thread_tgid.erase(old), clone_makers.erase(old);
    seized.insert(tid);
    if (auto it = exec_traced.find(old); it != exec_traced.end()) {
      const ExecCheck c = std::move(it->second);
      exec_traced.erase(it);
      if (verify_exec(tid, c, true)) return;  // killed: its exit follows
    }
    if (followed(tid)) cont(tid, 0);
    else detach(tid);
  }

  // A notification of a thread seized for an exec that did not happen (it
  // failed): once answered, the thread is interrupted and detached at that stop.
  // Just after answering a seized thread's exec: interrupted, it stops at its
  // return to user space, whatever the exec's outcome (after the exec stop if
  // it ran; detached there then). A failed exec is so detached at once, even
  // if the thread never makes another trapped call.
  void arm_exec_release(int tid) {
    if (exec_traced.count(tid) && ptrace(PTRACE_INTERRUPT, tid, nullptr, nullptr) == 0) detach_at_stop.insert(tid);
  }

  void release_exec_seize(int tid) {
    if (exec_traced.count(tid) || followed(tid) || !seized.count(tid)) return;
    if (ptrace(PTRACE_INTERRUPT, tid, nullptr, nullptr) == 0) detach_at_stop.insert(tid);
  }

  // The restart of a call interrupted after its event (see `interrupted`)?
  bool restarted(int tid, const probes::SyscallArgs& args, const Event& ev, int* err) {
    auto it = interrupted.find(tid);
    if (it == interrupted.end()) return false;
    const Interrupted first = std::move(it->second);
    interrupted.erase(it);
    if (first.args.arch != args.arch || first.args.nr != args.nr ||
        !std::equal(std::begin(args.args), std::end(args.args), std::begin(first.args.args)))
      return false;
    auto content = [](const Event& e) {
      nlohmann::json j = to_json(e, Context{});
      for (const char* volatile_key : {"time", "seq", "id"}) j.erase(volatile_key);
      return j.dump();
    };
    if (content(first.ev) != content(ev)) return false;  // same registers, other memory: a new call
    spdlog::debug("tid {}: {} restarted after a signal interrupted it: not reported again", tid, ev.type);
    *err = first.err;
    return true;
  }
  // After the answer: remembers a call whose answer found it interrupted.
  void answered(bool delivered, int tid, const probes::SyscallArgs& args, std::optional<Event>& kept, int err) {
    if (delivered || !kept) return;
    if (interrupted.size() > 4096) interrupted.clear();  // threads killed meanwhile
    interrupted[tid] = Interrupted{args, std::move(*kept), err};
  }

  // Notifications received and not handled yet, in arrival order. Before
  // vigil receives a notification a signal can still interrupt the caller's
  // wait (EINTR without SA_RESTART: the kernel's choice, even with
  // WAIT_KILLABLE_RECV); once received, only a fatal one. So vigil receives
  // every pending notification before it handles one (docs/design.md,
  // "Signals during a notification").
  std::deque<seccomp_notif> received;

  // Receives what is pending on the listener (poll says so: RECV would
  // block). ready: the main loop's poll said so already. A lone thread's
  // calls of late: no look for more (sensor/receive.hpp).
  ReceivePolicy receive_policy;
  // exit_look_due: the pidfds are looked at by the first look's poll too
  // (deaths first: before anything received is handled).
  bool exit_look_due = false;
  void receive_pending(bool ready) {
    for (;; ready = false) {
      pollfd p[2] = {{notify_fd, POLLIN, 0}, {exit_look_due ? epoll_fd : -1, POLLIN, 0}};
      if (!ready) {
        const int n = poll(p, 2, 0);
        if (std::exchange(exit_look_due, false) && n > 0 && (p[1].revents & POLLIN)) look_for_exits();
        if (n < 1 || !(p[0].revents & POLLIN)) return;
      }
      seccomp_notif req{};
      if (ioctl(notify_fd, SECCOMP_IOCTL_NOTIF_RECV, &req) < 0) {
        // ENOENT: the thread was killed or its syscall interrupted meanwhile.
        if (errno != ENOENT && errno != EINTR) {
          spdlog::warn("receiving a seccomp notification: {}", std::strerror(errno));
          return;
        }
        continue;
      }
      received.push_back(req);
      if (received.size() > 1) receive_policy.found();
      else if (!receive_policy.look(int(req.pid))) return;
    }
  }

  // The listener is readable: receive everything pending, then handle each,
  // receiving again between two (new ones wait in vigil, not interruptible).
  // look_exits: the pidfds were not looked at since the loop woke up.
  void on_notify(bool look_exits) {
    exit_look_due = look_exits;
    receive_pending(true);
    if (std::exchange(exit_look_due, false)) look_for_exits();  // the receive made no look
    while (!received.empty()) {
      const seccomp_notif req = received.front();
      received.pop_front();
      handle(req);
      if (watchdog && watchdog->pending()) report_stalls();
      if (!received.empty()) receive_pending(false);
    }
  }

  void handle(const seccomp_notif& req) {
    stops.fetch_add(1, std::memory_order_relaxed);
    const int tid = int(req.pid);
    keeper.in_flight(tid);
    fresh_tid = 0;
    struct Done {
      Keeper& k;
      ~Done() { k.in_flight(0); }
    } done{keeper};
    probes::SyscallArgs args;
    args.arch = req.data.arch;
    args.nr = req.data.nr;
    for (int i = 0; i < 6; ++i) args.args[i] = req.data.args[i];
    bool args_unreadable = false;  // an i386 socketcall's argument array
    probes::unwrap_socketcall(&args, probes::TraceeMemory(tid), &args_unreadable);
    const probes::Probe* probe = index->find(args.arch, args.nr);
    // A call that may change a root or a mount (or hide one): the root cache
    // ends before it is answered (probes/resolve.hpp root_cache_off).
    // (And no handle of vigil's may keep a mount busy for an umount.)
    if (probe && (probe->feeds & probes::kFeedRoot)) {
      procfs::close_deferred();
      if (probes::root_cache_off())
        spdlog::info("{} by {}: every path resolution looks up the caller's root from now on", probe->syscall, tid);
    }
    const bool exiting = probe && probe->stage == probes::Stage::Exit;
    int new_ppid = -1;  // exit_group of a process not known yet: learnt after the answer
    const int tgid = probe ? tgid_of(tid, !exiting, exiting ? &new_ppid : nullptr) : 0;
    if (probe && !tgid && tgid_fault)  // vigil's own shortage: fail closed
      return void(answer(req.id, guard.resource_fault(tid, "reading the caller's thread group", tgid_fault)));
    if (!probe || !tgid) return void(answer(req.id, 0));  // e.g. an i386 socketcall of no row; or the thread is gone
    // Exec verification: a thread seized for an exec notifies again (its exec
    // failed); a process with a lazy check pending is checked now.
    struct Release {
      Impl& t;
      int tid;
      bool on;
      ~Release() {
        if (on) t.release_exec_seize(tid);
      }
    } release{*this, tid, !exec_traced.empty() && traced_exec_failed(tid)};
    if (!exec_lazy.empty()) check_lazy(tid, tgid);
    if (!connect_check.empty()) connect_check.on_notify(tid, tgid);  // its connects let through: over, or running
    // The caller's ids (user.*, group.*) are read at its exec and when it is
    // learnt; a set*id or capset changes them: read at that call (the caller
    // waits, so they are its ids as it asks: "Privilege raised to root"
    // needs the uid it asks from, not the one it exec'd with) and again at
    // the thread's next notification, once the call has run.
    if (probe->decode == probes::dec::ids || std::strcmp(probe->type, "capset") == 0) {
      refresh_ids(tid, tgid);
      if (ids_stale.size() > 4096) ids_stale.clear();  // threads gone meanwhile: at worst one read more
      ids_stale.insert(tid);
    } else if (!ids_stale.empty() && ids_stale.erase(tid)) {
      refresh_ids(tid, tgid);
    }
    auto guard_event = [&](bool* drop) {  // the event of a call the guard handles: decoded and judged as usual
      Event ev = new_event(probe->cls, probe->type, tid, info_of(tgid));
      probes::DecodeContext c = decode_context(tgid);
      probe->decode(args, probes::TraceeMemory(tid), c, &ev);
      if (!std::exchange(*drop, c.drop) || !c.drop) judge.judge(ev, probe->enforce);  // *drop in: judge it even if the row drops it
      return ev;
    };
    if (guard.on_notify(notify_fd, req.id, tid, tgid, args, guard_event, [&](Event&& e) { judge.emit(std::move(e)); }))
      return;
    if (probe->stage == probes::Stage::ParentClone) return parent_clone(req.id, tid, tgid, args, *probe);
    if (exiting) {
      // exit_group cannot fail: answered first, its events need not hold it.
      answer(req.id, 0);
      Event code;
      probes::DecodeContext ctx = decode_context(tgid);
      probe->decode(args, probes::TraceeMemory(tid), ctx, &code);
      if (new_ppid >= 0) learn(tgid, new_ppid, fresh_ids, false, 0);
      return process_gone(tgid, true, code.exit_code);
    }
    Event ev = new_event(probe->cls, probe->type, tid, info_of(tgid));
    probes::DecodeContext ctx = decode_context(tgid);
    ctx.performed = probe->performed && judge.enforces(probe->type);
    if (fresh_tid == tid) ctx.caller_ids = &fresh_ids;  // learnt at this notification: its ids are read
    // An exec no verdict can stop is answered before it is judged: its
    // SHA-256 is computed after the answer (settle), not while it waits.
    ctx.exec_hash_later = probe->stage == probes::Stage::ExecEntry && !exec_verdict_can_act(probe->syscall, ev);
    if (args_unreadable) ev.args.push_back({"unreadable", "socketcall arguments"});  // judged: the built-in alert
    else probe->decode(args, probes::TraceeMemory(tid), ctx, &ev);
    procfs::Fd owed(std::exchange(ctx.exec_hash_fd, -1));
    auto pin = std::make_shared<procfs::Fd>(std::exchange(ctx.exec_pin_fd, -1));  // (given up on every path but a check's)
    const bool held = pin->fd >= 0;
    // The sensor's own /proc entries, its journal and spool, by any path: denied in every mode.
    std::string spool_what;
    if (!ctx.sensor_target.empty() ||
        (ev.file && !ctx.drop && probe->cls == EventClass::FileSystem && std::strcmp(probe->type, "mmap") != 0 &&
         guard.spool_target(*ev.file, &spool_what))) {  // (drop: e.g. a read-only openat2, which reads are free to be)
      judge.judge(ev, probe->enforce);
      guard.tamper(ev, ctx.sensor_target.empty() ? spool_what : ctx.sensor_target);
      judge.emit(std::move(ev));
      return void(answer(req.id, EPERM));
    }
    if (args.arch == AUDIT_ARCH_I386) ev.args.push_back({"arch", "i386"});
    if (req.data.nr != args.nr) ev.args.push_back({"via", "socketcall"});
    const bool was_pending = pending_follow.erase(tid) > 0;
    const bool window = ctx.dns_fd >= 0 || ctx.peek_fd >= 0;
    if ((probe->on_return || window) && !was_pending && !followed(tid) && follow(tid, req.id)) return;
    if (window) windows[tid] = Window{ctx.dns_fd < 0, ctx.dns_fd >= 0 ? ctx.dns_fd : ctx.peek_fd, 0, args};
    if (ctx.exec_busy && probe->stage == probes::Stage::ExecEntry) {  // open for writing: the kernel's own refusal
      ev.args.push_back({"refused", "ETXTBSY: the file is open for writing"});
      judge.emit(std::move(ev));
      return void(answer(req.id, ETXTBSY));
    }
    if (ctx.drop && probe->stage == probes::Stage::ExecEntry && !ctx.fault.err)  // a target vigil could not open
    {
      const int e = watch_exec(tid, tgid, probe->syscall, {}, ev);
      answer(req.id, e);
      if (!e) arm_exec_release(tid);
      return;
    }
    if (ctx.drop) return void(answer(req.id, ctx.fault.err ? guard.resource_fault(tid, ctx.fault.what, ctx.fault.err) : 0));
    // A row a rule can block: vigil performs the call on the object it judged.
    if (ctx.performed && ev.file && !ev.arg("unreadable") &&
        perform::call({notify_fd, &judge, &guard, &drift, connector.get(), ctx.files ? &ctx.files->own_root : nullptr,
                       [this](uint64_t dev, uint64_t ino) { return exec_pinned(dev, ino); }},
                      req.id, tid,
                      tgid, args, *probe, ev))
      return;
    // connect and sends a rule can block: vigil performs them with the destination it judged.
    if (ctx.performed && connector && netcall::call({notify_fd, &judge, &guard, &drift, connector.get()}, req.id, tid, tgid,
                                                    args, *probe, ctx, ev))
      return;
    // Without WAIT_KILLABLE_RECV: a restarted call is reported once.
    int err = 0;
    if (!wait_killable && restarted(tid, args, ev, &err)) {
      if (!err && std::strcmp(probe->type, "connect") == 0) err = watch_connect(tid, tgid, args, ctx, ev);
      return void(answer(req.id, err));
    }
    std::optional<Event> kept;
    if (!wait_killable) kept = ev;
    if (probe->stage == probes::Stage::ExecEntry && !exec_verdict_can_act(probe->syscall, ev)) {
      // Nothing the rules say can stop this exec: answered first, judged and
      // emitted after (its event holds what was read while the caller waited).
      watch_exec(tid, tgid, probe->syscall, ctx.exec_image, ev, pin);  // the lazy check (never refuses here)
      became(tgid, ev);
      answered(answer(req.id, 0), tid, args, kept, 0);
      settle(owed, tgid, ev, held);  // the caller runs meanwhile (the file's bytes held: pin)
      judge.judge(ev, probe->enforce);
      return judge.emit(std::move(ev));
    }
    settle(owed, tgid, ev, held);  // (an unreadable argument in prevent mode: the verdict can act after all)
    Action a = judge.judge(ev, probe->enforce);
    if (a == Action::None && probe->stage == probes::Stage::ExecEntry &&
        watch_exec(tid, tgid, probe->syscall, ctx.exec_image, ev, pin) != 0)
      a = ev.action = Action::Denied;
    if (a == Action::None && probe->stage == probes::Stage::ExecEntry) became(tgid, ev);
    if (a == Action::None && probe->on_return) {
      awaiting_return[tid] = AwaitingReturn{std::move(ev), probe, args};
      return void(answer(req.id, 0));
    }
    err = carry_out(a, tgid);
    if (!err && std::strcmp(probe->type, "connect") == 0) err = watch_connect(tid, tgid, args, ctx, ev);
    answered(answer(req.id, err), tid, args, kept, err);
    if (!err && probe->stage == probes::Stage::ExecEntry) arm_exec_release(tid);
    judge.emit(std::move(ev));
  }

  // A connect let through (not performed): vigil takes the socket before the
  // answer, to read where the kernel connected it (sensor/connect_check.hpp).
  // Returns EPERM where vigil's own resources fail in prevent mode (fail closed).
  int watch_connect(int tid, int tgid, const probes::SyscallArgs& args, const probes::DecodeContext& ctx, Event& ev) {
    int pidfd = -1;
    if (auto p = procs.find(tgid); p != procs.end()) {
      Proc& pr = p->second;
      if (pr.pidfd < 0 && pr.getfd < 0) pr.getfd = int(syscall(SYS_pidfd_open, tgid, 0));  // once per process
      pidfd = pr.pidfd >= 0 ? pr.pidfd : pr.getfd;
    }
    const int e = connect_check.watch(pidfd, tid, tgid, int(int32_t(uint32_t(args.args[0]))), ctx.sockaddr,
                                      ev.net ? *ev.net : NetInfo{});
    if (!e) return 0;
    const int err = guard.resource_fault(tid, "taking the socket of a connect to check it", e);
    if (err) ev.action = Action::Denied;
    return err;
  }

  // The kernel connected another address than vigil read: the connect event
  // of the true address, judged (alerts only: nothing can be undone), and a
  // Critical alert naming both.
  void connect_differs(const ConnectCheck::Pending& p, const Endpoint& truth) {
    Event ev = new_event(EventClass::Network, "connect", p.tid, info_of(p.tgid));
    ev.net = p.net;
    const std::string judged = p.judged_len ? endpoint_text(p.net.remote) : "<unreadable>";
    ev.net->remote = truth;
    ev.net->remote_name.clear();
    if (!ev.net->domain) ev.net->domain = truth.family;
    ev.args = {{"connect_check", "differs"}, {"judged_addr", judged}};
    const Action a = judge.judge(ev, probes::Enforce::Alert);
    Alert al;
    al.time_ns = ev.time_ns;
    al.rule = kConnectDiffersRule;
    al.priority = "Critical";
    const Process* pr = ev.proc.get();
    al.output = fmt::format("{}: the kernel connected to {}, vigil read {} (pid={} fd={} exe={} command={})",
                            kConnectDiffersRule, output_value(endpoint_text(truth)), output_value(judged),
                            pr ? pr->pid : p.tgid, p.net.fd, pr ? output_value(pr->exe) : "<NA>",
                            pr ? output_value(pr->cmdline()) : "<NA>");
    al.output_fields = {{"evt.type", "connect"},
                        {"proc.name", pr ? FieldValue(pr->name) : FieldValue()},
                        {"proc.pid", FieldValue::num(pr ? pr->pid : p.tgid)},
                        {"proc.exepath", pr ? FieldValue(pr->exe) : FieldValue()},
                        {"proc.cmdline", pr ? FieldValue(pr->cmdline()) : FieldValue()},
                        {"fd.num", FieldValue::num(p.net.fd)},
                        {"vigil.judged_addr", judged}};
    if (truth.family == AF_UNIX) al.output_fields.emplace_back("fd.name", truth.addr);  // the name the peer bound
    else al.output_fields.emplace_back("fd.rip", truth.addr), al.output_fields.emplace_back("fd.rport", FieldValue::num(truth.port));
    al.source = "syscall";
    al.tags = {"vigil", "integrity", "network", "mitre_defense_evasion", "T1036"};
    al.action = a;
    al.event_seq = ev.seq;
    spdlog::warn("{}", al.output);
    judge.output().alert(std::move(al));
    judge.emit(std::move(ev));
  }
  static std::string endpoint_text(const Endpoint& e) {
    if (e.family != AF_INET && e.family != AF_INET6) return fmt::format("{} {}", family_name(e.family), e.addr);
    return e.family == AF_INET6 ? fmt::format("[{}]:{}", e.addr, e.port) : fmt::format("{}:{}", e.addr, e.port);
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
        if (ctx.accepted_conn) mark_accepted(thread_tgid[tid]);
      }
      if (!ctx.drop) judge.emit(std::move(ev));
    }
    if (auto w = windows.find(tid); w != windows.end()) {
      Window& win = w->second;
      bool done = !ok;
      if (ok) {
        if (!at_exit) {  // keep the arguments for the exit stop
          win.args.arch = info.arch;
          win.args.nr = int64_t(info.entry.nr);
          for (int i = 0; i < 6; ++i) win.args.args[i] = info.entry.args[i];
          probes::window_view(&win.args, mem);  // i386: as x86_64's call
        }
        const int tgid = thread_tgid[tid];
        Event ev = new_event(win.peek ? EventClass::Network : EventClass::Dns, "dns", tid, info_of(tgid));
        if (win.peek ? probes::peek_window_step(win.args, at_exit, mem, win.fd, ctx, &ev, &done)
                     : probes::dns_window_step(win.args, at_exit, at_exit ? info.exit.rval : 0, mem, win.fd, ctx, &ev,
                                               &done)) {
          const bool i386 = win.args.arch == AUDIT_ARCH_I386;
          ev.type = win.args.nr < 0 ? "socketcall"
                                    : syscall_name(i386 ? probes::SyscallArgs{AUDIT_ARCH_X86_64, win.args.nr, {}} : win.args);
          if (i386) ev.args.push_back({"arch", "i386"});
          // A peek is at the message's entry stop: a verdict can still kill
          // before the kernel sends it. A DNS query or answer has happened.
          const Action a = judge.judge(ev, win.peek ? probes::Enforce::Kill : probes::Enforce::Alert);
          if (win.peek) carry_out(a, tgid);
          judge.emit(std::move(ev));
        }
      }
      if (done || ++win.steps >= (win.peek ? probes::kPeekWindowMax : probes::kDnsWindowMax)) windows.erase(w);
    }
    if (followed(tid)) return cont(tid, 0);
    detach(tid);
  }

  static std::string syscall_name(const probes::SyscallArgs& a) {
    char* n = seccomp_syscall_resolve_num_arch(a.arch, int(a.nr));
    std::string out = n ? n : std::to_string(a.nr);
    free(n);
    return out;
  }

  // clone(CLONE_PARENT) (Stage::ParentClone; docs/design.md "Who made a
  // process"): the caller is seized with the fork options and let through;
  // its fork event stop (on_fork_stop) names the new process before it runs.
  // A call vigil cannot follow (CLONE_UNTRACED: the kernel reports no fork
  // event; a caller traced by another process of the app; or seized already
  // for another reason, where its options cannot change until it stops)
  // gets the "Unreadable syscall argument" verdict: denied in prevent mode,
  // alerted in both.
  void parent_clone(uint64_t id, int tid, int tgid, const probes::SyscallArgs& args, const probes::Probe& probe) {
    const bool untraced = args.args[0] & CLONE_UNTRACED;
    // Its call again (restarted after a signal, or a clone that failed): still seized, with the fork options.
    if (!untraced && clone_makers.count(tid) && seized.count(tid)) return void(answer(id, 0));
    if (!untraced && !seized.count(tid) &&
        ptrace(PTRACE_SEIZE, tid, nullptr, reinterpret_cast<void*>(kPtraceOptions | kForkOptions)) == 0) {
      seized.insert(tid);
      clone_makers[tid] = tgid;
      answer(id, 0);  // (gone, or interrupted: a restart notifies again, a thread gone is reaped)
      return;
    }
    const int err = errno;
    Event ev = new_event(probe.cls, probe.type, tid, info_of(tgid));
    probes::DecodeContext ctx = decode_context(tgid);
    probe.decode(args, probes::TraceeMemory(tid), ctx, &ev);
    ev.args.push_back({"unreadable", untraced           ? "maker of the new process (CLONE_UNTRACED)"
                                     : seized.count(tid) ? "maker of the new process (caller followed already)"
                                                         : fmt::format("maker of the new process (ptrace: {})",
                                                                       std::strerror(err))});
    const int e = carry_out(judge.judge(ev, probe.enforce), tgid);
    answer(id, e);
    judge.emit(std::move(ev));
  }

  // The fork event stop of a caller seized by parent_clone (or of a thread
  // seized with the fork options for another call): the new process is
  // stopped, attached to vigil by the kernel; it is learnt now, made by the
  // caller's process (its fork event, fd table and identity from the maker),
  // then let go. The caller goes on untraced.
  void on_fork_stop(int tid) {
    unsigned long msg = 0;
    const bool ok = ptrace(PTRACE_GETEVENTMSG, tid, nullptr, &msg) == 0;
    auto m = clone_makers.find(tid);
    const int maker = m != clone_makers.end() ? m->second : thread_tgid.count(tid) ? thread_tgid[tid] : tid;
    if (m != clone_makers.end()) clone_makers.erase(m);
    ptrace(PTRACE_SETOPTIONS, tid, nullptr, reinterpret_cast<void*>(kPtraceOptions));
    if (const int child = int(msg); ok && child > 0) {
      seized.insert(child);
      // Stopped: its thread group and its parent in the kernel, as its first
      // notification would read them. A thread (the caller, still seized,
      // made one before its clone(CLONE_PARENT) ran) is only let go.
      procfs::Status st;
      if (procfs::read_status(child, &st) && st.tgid == child && !procs.count(child))
        learn(child, maker, st, true, 0, true, -1, st.ppid != maker ? st.ppid : 0);
      if (made_stopped_early.erase(child)) detach(child);
      else made_awaiting_stop.insert(child);
    }
    if (followed(tid) || exec_traced.count(tid)) cont(tid, 0);
    else detach(tid);
  }

  void on_stop(int tid, int status) {
    stops.fetch_add(1, std::memory_order_relaxed);
    const int sig = WSTOPSIG(status);
    const int event = status >> 16;
    if (event == PTRACE_EVENT_EXEC) return on_exec_stop(tid);  // (tid: maybe not seized under this id)
    if (event == PTRACE_EVENT_FORK || event == PTRACE_EVENT_VFORK || event == PTRACE_EVENT_CLONE)
      return on_fork_stop(tid);
    // A new process attached by the kernel (parent_clone): its first stop.
    if (event == PTRACE_EVENT_STOP && made_awaiting_stop.erase(tid)) return detach(tid);
    if (event == PTRACE_EVENT_STOP && !seized.count(tid) && !clone_makers.empty())
      return void(made_stopped_early.insert(tid));  // before its maker's fork event: held until then
    if (!seized.count(tid)) {  // a job-control stop of a child we do not trace: the main process
      if (tid == main_pid && cfg.main_stopped) cfg.main_stopped(sig);
      return;
    }
    if (status >> 16 == PTRACE_EVENT_STOP) {
      if (!is_stop_signal(sig)) {  // our PTRACE_INTERRUPT, or the end of a group-stop
        if (detach_at_stop.erase(tid)) {
          traced_exec_failed(tid);  // no exec stop came before: the exec failed
          if (!followed(tid)) return detach(tid);
        }
        return cont(tid, 0);
      }
      // Group-stop: stay stopped, but let us see SIGCONT.
      if (ptrace(PTRACE_LISTEN, tid, nullptr, nullptr) < 0 && errno != ESRCH)
        spdlog::warn("PTRACE_LISTEN {}: {}", tid, std::strerror(errno));
      if (tid == main_pid && cfg.main_stopped) cfg.main_stopped(sig);
      return;
    }
    if (sig == (SIGTRAP | 0x80)) return on_syscall_stop(tid);
    cont(tid, sig);  // signal-delivery-stop: deliver it
  }

  // waitpid reported tid gone: the main process, an orphan (PID 1 reaps
  // them), or a thread we followed.
  void on_exit(int tid, int status) {
    exec_traced.erase(tid);
    clone_makers.erase(tid);
    made_awaiting_stop.erase(tid);
    made_stopped_early.erase(tid);
    detach_at_stop.erase(tid);
    windows.erase(tid);
    seized.erase(tid);
    pending_follow.erase(tid);
    if (auto it = awaiting_return.find(tid); it != awaiting_return.end()) {
      judge.emit(std::move(it->second.ev));  // the syscall never returned
      awaiting_return.erase(it);
    }
    auto t = thread_tgid.find(tid);
    if (t == thread_tgid.end()) return;  // not known (an orphan we only reap)
    if (t->second != tid) return void(thread_tgid.erase(t));  // a thread: no event
    process_gone(tid, false, status);
  }
};

namespace {
// kDefaultFilter: probes::export_filter(probes::table()); kPrebuilt: the
// programs of the common row sets (sensor/rows.hpp); written by probes/gen/filter_bpf.cpp.
#include "vigil/filter_bpf.inc"
}  // namespace

std::span<const sock_filter> default_filter_program() { return kDefaultFilter; }

bool are_default_rules(const std::vector<RulesText>& texts) {
  if (texts.size() != std::size(kDefaultRules)) return false;
  for (size_t i = 0; i < texts.size(); ++i) {
    const std::string_view file = texts[i].file, name = file.substr(file.find_last_of('/') + 1);
    if (name != kDefaultRules[i].name || texts[i].text != kDefaultRules[i].text) return false;
  }
  return true;
}

std::vector<RowChoice> default_rules_rows(bool exact_exits) {
  std::vector<RowChoice> rows;
  for (const auto& f : kPrebuilt)
    if (f.default_rules && f.exact_exits == exact_exits)
      for (uint16_t i : f.index) rows.push_back({&probes::table().at(i), "default rules (row set computed at build time)"});
  return rows;
}

Tracer::Tracer(Judge& judge, TracerConfig cfg) : impl_(std::make_unique<Impl>(judge, std::move(cfg))) {}
Tracer::~Tracer() {
  probes::watch_reads(nullptr);
  impl_->watchdog.reset();
  impl_->keeper.stand_down();
  if (impl_->notify_fd >= 0) close(impl_->notify_fd);
  if (impl_->sig_fd >= 0) close(impl_->sig_fd);
  if (impl_->epoll_fd >= 0) close(impl_->epoll_fd);
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

// The app's child tells vigil its listener's fd number and whether the
// filter has WAIT_KILLABLE_RECV.
struct ListenerMsg {
  int fd;
  int wait_killable;
};


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
  const pid_t vigil_pid = getpid();
  pid_t pid = fork();
  if (pid == 0) {
    close(go[1]);
    close(back[0]);
    // Dies with vigil (the keeper kills the rest of the app: sensor/keeper.hpp).
    if (prctl(PR_SET_PDEATHSIG, SIGKILL) < 0 || getppid() != vigil_pid) _exit(127);
    if (child_setup) child_setup();
    // VIGIL_TEST_NO_WAIT_KILLABLE=1 leaves WAIT_KILLABLE_RECV out (tests of the older kernels' path).
    const char* no_killable = getenv("VIGIL_TEST_NO_WAIT_KILLABLE");
    const bool killable = !(no_killable && *no_killable == '1');
    scrub_secrets();  // this copy of vigil's options is readable in /proc/<pid>/cmdline until the exec
    char c;
    uint32_t len = 0;
    sock_filter prog[BPF_MAXINSNS];
    // The program ("g", length, instructions): until then never run anything (EOF: vigil is gone).
    if (!read_full(go[0], &c, 1) || !read_full(go[0], &len, sizeof len) || len == 0 || len > BPF_MAXINSNS ||
        !read_full(go[0], prog, len * sizeof(sock_filter)))
      _exit(127);
    const sock_fprog fprog{uint16_t(len), prog};
    // SPEC_ALLOW: the filter observes, it must not force the Speculative Store
    // Bypass mitigation on the app (kernels before 5.16 do by default).
    // WAIT_KILLABLE_RECV (Linux 5.19): a signal cannot interrupt a call vigil is
    // judging (no EINTR, no restarted duplicate); EINVAL before 5.19: without it.
    ListenerMsg msg{-1, killable ? 1 : 0};
    if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) == 0) {
      const unsigned long flags = SECCOMP_FILTER_FLAG_NEW_LISTENER | SECCOMP_FILTER_FLAG_SPEC_ALLOW;
      if (msg.wait_killable)
        msg.fd = int(syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER, flags | SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV, &fprog));
      if (msg.fd < 0 && (!msg.wait_killable || errno == EINVAL)) {
        msg.wait_killable = 0;
        msg.fd = int(syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER, flags, &fprog));
      }
    }
    if (msg.fd < 0) {
      dprintf(2, "vigil run: cannot install the seccomp filter: %s\n", std::strerror(errno));
      _exit(126);
    }
    if (write(back[1], &msg, sizeof msg) != sizeof msg || !read_full(go[0], &c, 1)) _exit(127);
    close(msg.fd);  // the app must never hold it (it is close-on-exec anyway)
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

namespace {
void let_go(PendingApp& app) {
  close(app.to_child);  // the child sees EOF if it is still waiting
  close(app.from_child);
  app = PendingApp{};
}
}  // namespace

int Tracer::spawn(PendingApp& app, std::string* error) {
  const int pid = install(app, error);
  if (pid > 0) release(app);
  return pid;
}

int Tracer::install(PendingApp& app, std::string* error) {
  const int pid = app.pid;
  auto done = [&] { let_go(app); };
  auto fail = [&](std::string msg) {
    *error = std::move(msg);
    done();
    waitpid(pid, nullptr, __WALL);
    return -1;
  };
  // The programs of the whole table and of the common row sets were
  // generated at build time (probes/gen/filter_bpf.cpp); another table (rules
  // of the user's, a test's own) is compiled here. Either way the child only
  // installs it.
  std::vector<sock_filter> prog;
  bool prebuilt = !impl_->cfg.table;
  if (impl_->cfg.table) {
    std::string rows;
    for (const auto& p : *impl_->cfg.table) rows += std::string(rows.empty() ? "" : " ") + p.syscall;
    for (const auto& f : kPrebuilt)
      if (rows == f.rows) {
        prog.assign(f.prog.begin(), f.prog.end());
        prebuilt = true;
      }
    if (!prebuilt && !probes::export_filter(*impl_->cfg.table, &prog, error)) return fail(*error);
  } else {
    auto built = default_filter_program();
    prog.assign(built.begin(), built.end());
  }
  impl_->index = std::make_unique<probes::Index>(impl_->table());
  // One pidfd per live app process: vigil's own soft fd limit up to the hard
  // one (the app was forked before, with the limits it was given).
  if (rlimit nofile; getrlimit(RLIMIT_NOFILE, &nofile) == 0 && nofile.rlim_cur < nofile.rlim_max) {
    nofile.rlim_cur = nofile.rlim_max;
    setrlimit(RLIMIT_NOFILE, &nofile);
  }
  impl_->epoll_fd = epoll_create1(EPOLL_CLOEXEC);
  if (impl_->epoll_fd < 0) return fail(fmt::format("epoll_create1: {}", std::strerror(errno)));
  impl_->main_pid = pid;
  if (procfs::Status self; procfs::read_status(getpid(), &self)) impl_->own_filters = self.seccomp_filters;
  impl_->add_process(pid, getpid());
  impl_->keeper.track(pid);  // our child: its exit comes from waitpid
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
  ListenerMsg child{-1, 0};
  if (write(app.to_child, msg.data(), msg.size()) != ssize_t(msg.size()) ||
      !read_full(app.from_child, &child, sizeof child)) {
    // The child failed to install the filter and said why; run() collects its exit.
    done();
    return pid;
  }
  impl_->notify_fd = take_listener(pid, child.fd, error);
  impl_->wait_killable = child.wait_killable != 0;
  guard::seal_sensor();  // before the keeper's fork: it inherits it
  impl_->keeper.set_output(&impl_->judge.output());  // its journal: recovered by the keeper if vigil dies
  if (impl_->notify_fd < 0 || !(impl_->keeper.pid() > 0 ? impl_->keeper.arm(impl_->notify_fd, error)
                                                          : impl_->keeper.start(impl_->notify_fd, error))) {
    kill(pid, SIGKILL);
    return fail(*error);
  }
  impl_->guard.set_keeper(impl_->keeper.pid()), impl_->guard.set_output(&impl_->judge.output());
  impl_->guard.protect_spool(impl_->judge.output().spool_paths(), impl_->judge.output().journal_fd());
  impl_->guard.protect_sinks(impl_->judge.output().sink_endpoints());
  impl_->guard.set_prevent(impl_->judge.mode() == Mode::Prevent);
  // This thread's reads of the app's memory can never stall it for longer than the deadline.
  probes::watch_reads(&impl_->read_watch);
  impl_->watchdog = std::make_unique<Watchdog>(impl_->read_watch, impl_->cfg.read_deadline_ms, impl_->own_filters);
  // VIGIL_TEST_NO_PIDFD_INFO=1 (tests): learn processes from /proc/PID/status, as before Linux 6.13.
  if (const char* v = std::getenv("VIGIL_TEST_NO_PIDFD_INFO"); v && std::strcmp(v, "1") == 0) procfs::use_pidfd_info(false);
  // VIGIL_NO_SYNC_WAKE_UP=1 (bench, tests): behave as on a kernel before 6.6 (Fargate's 6.1).
  const char* no_sync = std::getenv("VIGIL_NO_SYNC_WAKE_UP");
  const bool sync_off = no_sync && std::strcmp(no_sync, "1") == 0;
  if (sync_off) spdlog::info("SYNC_WAKE_UP not set: VIGIL_NO_SYNC_WAKE_UP=1 (notifications cost as before Linux 6.6)");
  spdlog::debug("seccomp filter: {} BPF instructions ({}){}", prog.size(),
                prebuilt ? "generated at build time" : "generated now",
                !sync_off && ioctl(impl_->notify_fd, SECCOMP_IOCTL_NOTIF_SET_FLAGS, SECCOMP_USER_NOTIF_FD_SYNC_WAKE_UP) == 0
                    ? "; notifications wake the sensor on the app's CPU (SYNC_WAKE_UP, Linux 6.6+)"
                    : "");
  spdlog::debug(impl_->wait_killable
                    ? "seccomp filter: only a fatal signal interrupts a notified call (WAIT_KILLABLE_RECV, Linux 5.19+)"
                    : "seccomp filter without WAIT_KILLABLE_RECV (Linux < 5.19): a signal during a notified call "
                      "interrupts it; a restarted duplicate is reported once");
  // The sensitive-file patterns' watches need no rules: added now (release() adds the rules' objects).
  if (!impl_->cfg.sensitive_patterns.empty())
    impl_->sensitive_prepared = impl_->sensitive.prepare(impl_->cfg.sensitive_patterns, &impl_->watch_error);
  impl_->installed = true;
  return pid;
}

void Tracer::release(PendingApp& app) {
  if (!std::exchange(impl_->installed, false)) return;  // the child failed to install the filter: gone already
  // Verdicts that must rest on what the kernel acts on, where a loaded rule can block (docs/threat-model.md).
  impl_->enforce_execve = impl_->judge.enforces("execve");
  impl_->enforce_execveat = impl_->judge.enforces("execveat");
  {
    const Engine* rules = impl_->judge.rules();
    const bool events = impl_->judge.output().wants_events();
    auto read = [&](std::initializer_list<std::string_view> fields) {
      if (events) return true;
      for (std::string_view f : fields)
        if (rules && rules->interest().fields.count(f)) return true;
      return false;
    };
    impl_->exec_session = read({"proc.tty", "proc.sid"});
    impl_->exec_caps = read({"thread.cap_effective"});
    impl_->exec_cwd = read({"proc.cwd"});
    impl_->exec_stdio = read({"proc.is_stdio_net"});
    impl_->exit_status = events || (rules && rules->interest().of("exit"));
    impl_->exits_direct = impl_->exit_status;
    auto said = [](bool on) { return on ? "read" : "not read"; };
    spdlog::debug("exec: session and tty {}, capabilities {}, cwd {}, stdio sockets {}; exit status {} (a rule reads "
                  "them, or an event sink)",
                  said(impl_->exec_session), said(impl_->exec_caps), said(impl_->exec_cwd), said(impl_->exec_stdio),
                  said(impl_->exit_status));
  }
  // The workers of performed calls that may wait: connects, sends, and opens and truncates a lease holds (sensor/perform.cpp).
  for (const char* t : {"connect", "sendto", "sendmsg", "sendmmsg", "open", "openat", "openat2", "creat",
                        "open_by_handle_at", "truncate"})
    if (!impl_->connector && impl_->judge.enforces(t)) impl_->connector = std::make_unique<Connector>(impl_->notify_fd);
  spdlog::debug("exec verification: {}; performed calls' workers: {}",
                impl_->enforce_execve || impl_->enforce_execveat
                    ? fmt::format("at the exec stop (ptrace) for{}{}", impl_->enforce_execve ? " execve" : "",
                                  impl_->enforce_execveat ? " execveat" : "")
                    : "lazy (no rule can block an exec)",
                impl_->connector ? "on" : "off (no rule can block a connect, send, open or truncate)");

  // Reads of sensitive files, and changes to the files block rules protect (in
  // both modes: it costs nothing until one changes; docs/threat-model.md).
  const ProtectedObjects& guarded = impl_->judge.protected_objects();
  std::string& watch_error = impl_->watch_error;
  if (!impl_->cfg.sensitive_patterns.empty() || !guarded.empty()) {
    impl_->sensitive_on = (impl_->cfg.sensitive_patterns.empty() || impl_->sensitive_prepared) &&
                          impl_->sensitive.start(&watch_error, guarded);
    if (!impl_->sensitive_on)
      spdlog::warn("{} (sensitive-file reads and writes to protected files behind a race will not be reported)",
                   watch_error);
  }
  if (write(app.to_child, "g", 1) != 1) spdlog::warn("cannot release the app: {}", std::strerror(errno));
  let_go(app);
}

int Tracer::run() {
  Impl& t = *impl_;
  bool reap = true;  // SIGCHLD came: collect every pending stop and exit
  for (;;) {
    if (reap) {
      int status = 0;
      int tid = waitpid(-1, &status, __WALL | WNOHANG | WUNTRACED | WCONTINUED);
      if (tid < 0 && errno == EINTR) continue;
      if (tid < 0) {
        spdlog::error("waitpid: {}", std::strerror(errno));
        return W_EXITCODE(255, 0);
      }
      if (tid > 0) {
        t.emit_sensitive();
        if (WIFEXITED(status) || WIFSIGNALED(status)) {
          if (tid == t.keeper.pid() && t.notify_fd >= 0 && !t.guard.keeper_died(t.keeper, t.notify_fd, status))
            return W_EXITCODE(255, 0);  // no keeper: fail closed (the caller kills the app)
          if (tid == t.main_pid && t.exits_watched) t.look_for_exits();  // the exits before it first
          t.on_exit(tid, status);
          if (tid == t.main_pid) {
            if (t.watchdog) t.watchdog->stop_soon();  // no read of the app's memory from here on: its exit overlaps the rest
            t.sensitive.stop();  // collects opens still queued
            t.emit_sensitive(true);
            if (t.inotify_duplicates)
              spdlog::debug("protected files: {} inotify reports dropped (their trapped event was judged just before)",
                            t.inotify_duplicates);
            return status;
          }
        } else if (WIFSTOPPED(status)) {
          t.on_stop(tid, status);
        }
        continue;
      }
      reap = false;
    }
    t.emit_sensitive();
    if (t.watchdog && t.watchdog->pending()) t.report_stalls();  // a read of a ptrace stop
    t.watch_pending();
    t.guard.check_oom();  // (at most every Guard::kOomCheckMs)
    t.judge.tick(now_realtime_ns());  // rate-limited repeats of a closed window (the loop wakes every second at least)
    procfs::close_deferred(false);  // a batch (resolutions' handles): else at the idle timeout below
    // Wait for a notification, SIGCHLD or a pidfd. poll(), not epoll, for the
    // listener: only a direct waiter gets SYNC_WAKE_UP's same-CPU wake-up
    // (epoll's callback wakes its waiter like any other). The pidfds are in
    // an epoll set, polled as one fd (exits_direct) where exit statuses are
    // read, else only once the app has been quiet for a second; while it is
    // busy, an exit does not wake the loop then: the set is looked at
    // whenever the loop is awake anyway, before anything notified
    // (docs/design.md, "Exits"). The sensitive-file watch
    // has no fd here: look at its queue at least every second.
    // Without a signalfd (it could not be created), reap every 10 ms instead.
    // And vigil's oom_score_adj (Guard::check_oom): at least every second.
    int timeout = t.sig_fd < 0 ? 10 : 1000;
    const bool exits = t.exits_watched > 0;
    if (exits && !t.exits_direct && (timeout < 0 || timeout > Impl::kExitLookMs)) timeout = Impl::kExitLookMs;
    if (const int lazy = t.sweep_lazy(); lazy >= 0 && (timeout < 0 || lazy < timeout)) timeout = lazy;
    if (const int cc = t.connect_check.sweep(); cc >= 0 && (timeout < 0 || cc < timeout)) timeout = cc;
    if (t.sig_fd < 0) reap = true;
    pollfd fds[3] = {{t.notify_fd, POLLIN, 0}, {t.sig_fd, POLLIN, 0}, {t.exits_direct ? t.epoll_fd : -1, POLLIN, 0}};
    // Handles waiting to be closed: at most 100 ms while idle.
    const bool closes = procfs::closes_deferred();
    if (closes && (timeout < 0 || timeout > 100)) timeout = 100;
    const int64_t before = exits && !t.exits_direct ? now_monotonic_ns() : 0;
    const int ready = poll(fds, 3, timeout);
    if (ready == 0 && closes) procfs::close_deferred();
    // A second without a wake-up: wait on the exits too from now on.
    if (exits && !t.exits_direct && ready == 0 && now_monotonic_ns() - before >= Impl::kExitLookMs * 1'000'000LL)
      t.exits_direct = true;
    if (ready <= 0 && !(exits && ready == 0)) continue;  // EINTR: a forwarded signal
    // Deaths first: they happened before whatever is notified now. With a
    // notification, the receive's look for more looks at the pidfds too.
    const bool notified = ready > 0 && (fds[0].revents & POLLIN);
    if (exits && (t.exits_direct ? (fds[2].revents & POLLIN) != 0 : !notified)) t.look_for_exits();
    if (ready <= 0) continue;
    if (notified) {
      t.on_notify(exits && !t.exits_direct);
      t.exits_direct = t.exit_status;  // busy again: exits (no status read) are looked at when awake
    }
    // POLLHUP: every process with the filter is gone; the exits follow.
    else if (fds[0].revents & (POLLHUP | POLLERR | POLLNVAL)) close(t.notify_fd), t.notify_fd = -1;
    if (fds[1].revents & POLLIN) {
      // SIGCHLD is a standard signal: at most one is pending, one read drains it.
      signalfd_siginfo si[4];
      if (read(t.sig_fd, si, sizeof si) < 0 && errno != EAGAIN && errno != EINTR)
        spdlog::debug("signalfd: {}", std::strerror(errno));
      reap = true;
    }
  }
}

const std::atomic<uint64_t>& Tracer::stops() const { return impl_->stops; }

void Tracer::kill_all(int timeout_ms) {
  Impl& t = *impl_;
  // The keeper holds the inotify watches until vigil has exited: their
  // release (an SRCU grace period, 1-20 ms) is then not part of vigil's exit
  // (docs/bench.md, "startup, fourth pass"). Not as PID 1, whose exit waits for every process
  // of its namespace anyway.
  if (getpid() == 1 || !t.sensitive.hand_over([&](int fd) { return t.keeper.stand_down(fd); }))
    t.keeper.stand_down();
  for (const auto& [tgid, p] : t.procs) kill(tgid, SIGKILL);
  // Collect their exits (and exit events): children through waitpid, the
  // others through their pidfds.
  for (int waited = 0; !t.procs.empty() && waited < timeout_ms;) {
    int status = 0;
    int tid = waitpid(-1, &status, __WALL | WNOHANG);
    if (tid > 0) {
      if (WIFEXITED(status) || WIFSIGNALED(status)) t.on_exit(tid, status);
      continue;
    }
    std::vector<int> gone;
    for (const auto& [tgid, p] : t.procs) {
      pollfd f{p.pidfd, POLLIN, 0};
      if (p.pidfd >= 0 ? poll(&f, 1, 0) == 1 : kill(tgid, 0) < 0 && errno == ESRCH) gone.push_back(tgid);
    }
    for (int tgid : gone) t.on_pidfd(tgid, false);
    if (gone.empty()) {
      usleep(1000);
      ++waited;
    }
  }
}

}  // namespace vigil
