// Privilege and kernel-surface decoders (OCSF 1007). Rows: probes/probes.cpp.
#include <linux/capability.h>
#include <sched.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/ptrace.h>

#include <fstream>
#include <utility>

#include <fmt/format.h>

#include "probes/decode_util.hpp"

namespace vigil::probes::dec {
namespace {

const char* name_in(std::initializer_list<std::pair<long, const char*>> names, long v) {
  for (const auto& [k, n] : names)
    if (k == v) return n;
  return nullptr;
}

void named_arg(Event* ev, const char* arg, const char* name, long v) {
  add_arg(ev, arg, name ? std::string(name) : std::to_string(v));
}

}  // namespace

// set*id: the ids requested, -1 = unchanged.
void ids(const SyscallArgs& a, const TraceeMemory&, DecodeContext&, Event* ev) {
  const std::string& t = ev->type;
  const char* k = t.find("gid") != std::string::npos ? "gid" : "uid";
  auto put = [&](const char* prefix, int i) { add_arg(ev, fmt::format("{}{}", prefix, k).c_str(), std::to_string(arg_int(a, i))); };
  if (t == "setuid" || t == "setgid" || t.starts_with("setfs")) put("", 0);
  else if (t.starts_with("setres")) put("r", 0), put("e", 1), put("s", 2);
  else put("r", 0), put("e", 1);
}

// Events whose arguments are simple numbers, named per syscall.
void args_only(const SyscallArgs& a, const TraceeMemory& mem, DecodeContext& ctx, Event* ev) {
  const std::string& t = ev->type;
  if (t == "capset") {
    __user_cap_data_struct d[2] = {};
    if (mem.read(a.args[1], d, sizeof d)) {
      auto both = [&](uint32_t __user_cap_data_struct::*m) {
        return fmt::format("{:#x}", (uint64_t(d[1].*m) << 32) | d[0].*m);
      };
      add_arg(ev, "effective", both(&__user_cap_data_struct::effective));
      add_arg(ev, "permitted", both(&__user_cap_data_struct::permitted));
      add_arg(ev, "inheritable", both(&__user_cap_data_struct::inheritable));
    }
  } else if (t == "unshare" || t == "setns") {
    const uint64_t flags = a.args[t == "unshare" ? 0 : 1];
    std::string names;
    for (auto [bit, n] : {std::pair{CLONE_NEWNS, "CLONE_NEWNS"}, {CLONE_NEWUTS, "CLONE_NEWUTS"},
                          {CLONE_NEWIPC, "CLONE_NEWIPC"}, {CLONE_NEWUSER, "CLONE_NEWUSER"},
                          {CLONE_NEWPID, "CLONE_NEWPID"}, {CLONE_NEWNET, "CLONE_NEWNET"},
                          {CLONE_NEWCGROUP, "CLONE_NEWCGROUP"}, {CLONE_FILES, "CLONE_FILES"}, {CLONE_FS, "CLONE_FS"}})
      if (flags & uint64_t(bit)) names += (names.empty() ? "" : "|") + std::string(n);
    add_arg(ev, t == "unshare" ? "flags" : "nstype", names.empty() ? fmt::format("{:#x}", flags) : names);
    if (t == "setns") {
      if (const FdInfo* i = fd_info(ctx, mem.tid(), arg_int(a, 0))) {  // "net:[4026...]", /proc/PID/ns/...
        FileInfo f;
        f.fd = arg_int(a, 0);
        f.path = f.raw_path = i->path;
        ev->file = std::move(f);
      }
    }
    if (t == "unshare" && ctx.files != nullptr) ctx.files->unshare(flags);
  } else if (t == "seccomp") {  // (the row: SECCOMP_SET_MODE_FILTER with NEW_LISTENER)
    add_arg(ev, "operation", "SECCOMP_SET_MODE_FILTER");
    add_arg(ev, "flags", fmt::format("{:#x}", uint32_t(a.args[1])));
  } else if (t == "process_vm_writev") {
    add_arg(ev, "pid", std::to_string(arg_int(a, 0)));
  } else if (t == "bpf") {
    named_arg(ev, "cmd",
              name_in({{0, "BPF_MAP_CREATE"}, {5, "BPF_PROG_LOAD"}, {8, "BPF_PROG_ATTACH"}, {17, "BPF_RAW_TRACEPOINT_OPEN"},
                       {28, "BPF_LINK_CREATE"}},
                      arg_int(a, 0)),
              arg_int(a, 0));
  } else if (t == "userfaultfd" || t == "memfd_secret") {
    add_arg(ev, "flags", std::to_string(arg_int(a, 0)));
  } else if (t == "io_uring_setup") {
    add_arg(ev, "entries", std::to_string(uint32_t(a.args[0])));
  }
}

// init_module(image, len, params) / finit_module(fd, params, flags) / delete_module(name, flags)
void module(const SyscallArgs& a, const TraceeMemory& mem, DecodeContext& ctx, Event* ev) {
  const std::string& t = ev->type;
  if (t == "delete_module") {
    std::string name;
    mem.read_string(a.args[0], 64, &name);
    add_arg(ev, "name", name);
  } else if (t == "finit_module") {
    if (const FdInfo* i = fd_info(ctx, mem.tid(), arg_int(a, 0))) {
      FileInfo f;
      f.fd = arg_int(a, 0);
      f.path = f.raw_path = i->path;
      ev->file = std::move(f);
    }
  } else {
    add_arg(ev, "len", std::to_string(a.args[1]));
  }
}

// prctl(option, ...): only security-relevant options reach here (BPF).
void prctl(const SyscallArgs& a, const TraceeMemory& mem, DecodeContext&, Event* ev) {
  const long opt = arg_int(a, 0);
  named_arg(ev, "option",
            name_in({{PR_SET_DUMPABLE, "PR_SET_DUMPABLE"}, {PR_SET_KEEPCAPS, "PR_SET_KEEPCAPS"}, {PR_SET_NAME, "PR_SET_NAME"},
                     {PR_SET_SECCOMP, "PR_SET_SECCOMP"}, {PR_CAPBSET_DROP, "PR_CAPBSET_DROP"},
                     {PR_SET_SECUREBITS, "PR_SET_SECUREBITS"}, {PR_SET_MM, "PR_SET_MM"},
                     {PR_SET_NO_NEW_PRIVS, "PR_SET_NO_NEW_PRIVS"}, {PR_CAP_AMBIENT, "PR_CAP_AMBIENT"},
                     {PR_SET_PTRACER, "PR_SET_PTRACER"}},
                    opt),
            opt);
  if (opt == PR_SET_NAME) {
    std::string name;
    mem.read_string(a.args[1], 16, &name);
    add_arg(ev, "name", name);
  } else {
    add_arg(ev, "arg2", std::to_string(int64_t(a.args[1])));
  }
}

// ptrace(request, pid, ...): only requests that attach or write reach here (BPF).
void ptrace(const SyscallArgs& a, const TraceeMemory&, DecodeContext&, Event* ev) {
  const long req = arg_int(a, 0);
  named_arg(ev, "request",
            name_in({{PTRACE_TRACEME, "PTRACE_TRACEME"}, {PTRACE_POKETEXT, "PTRACE_POKETEXT"},
                     {PTRACE_POKEDATA, "PTRACE_POKEDATA"}, {PTRACE_POKEUSER, "PTRACE_POKEUSER"},
                     {13, "PTRACE_SETREGS"}, {15, "PTRACE_SETFPREGS"},  // x86's (no such requests on aarch64)
                     {PTRACE_ATTACH, "PTRACE_ATTACH"}, {0x4205, "PTRACE_SETREGSET"}, {0x4206, "PTRACE_SEIZE"}},
                    req),
            req);
  if (req != PTRACE_TRACEME) add_arg(ev, "pid", std::to_string(arg_int(a, 1)));
}

// kill(pid, sig) / tkill(tid, sig) / tgkill(tgid, tid, sig) / pidfd_send_signal(pidfd, sig, info, flags)
void signal(const SyscallArgs& a, const TraceeMemory& mem, DecodeContext&, Event* ev) {
  const std::string& t = ev->type;
  const bool thread = t == "tgkill" || t == "rt_tgsigqueueinfo";  // (tgid, tid, sig, ...)
  int sig = arg_int(a, thread ? 2 : 1);
  std::string target = std::to_string(arg_int(a, thread ? 1 : 0));
  if (t == "pidfd_send_signal") {  // the pidfd's process, from /proc/TID/fdinfo/FD "Pid:"
    std::ifstream in(fmt::format("/proc/{}/fdinfo/{}", mem.tid(), arg_int(a, 0)));
    target.clear();
    for (std::string key; in >> key;)
      if (key == "Pid:") in >> target;
  }
  add_arg(ev, "pid", target);
  add_arg(ev, "sig", std::to_string(sig));
  if (const char* n = sigabbrev_np(sig)) add_arg(ev, "signal", std::string("SIG") + n);
}

// clone(CLONE_PARENT) (Stage::ParentClone): its flags, for the event the
// tracer makes only when it cannot follow the caller.
void clone_flags(const SyscallArgs& a, const TraceeMemory&, DecodeContext&, Event* ev) {
  add_arg(ev, "flags", fmt::format("{:#x}", a.args[0]));
}

// Guard rows (sensor/guard.hpp): no event unless the guard takes the call
// (aimed at the sensor); then its target, as the call names it.
void guarded(const SyscallArgs& a, const TraceeMemory&, DecodeContext& ctx, Event* ev) {
  const std::string& t = ev->type;
  if (t == "setpriority" || t == "ioprio_set") {
    add_arg(ev, "which", std::to_string(arg_int(a, 0)));
    add_arg(ev, "who", std::to_string(arg_int(a, 1)));
  } else if (t.starts_with("pidfd_") && t != "pidfd_open") {
    add_arg(ev, "pidfd", std::to_string(arg_int(a, 0)));
  } else if (t == "process_madvise") {
    add_arg(ev, "pidfd", std::to_string(arg_int(a, 0)));
  } else if (t == "fcntl" || t == "ioctl") {  // F_SETOWN(_EX), FIOSETOWN, SIOCSPGRP (the guard reads the owner)
    add_arg(ev, "fd", std::to_string(arg_int(a, 0)));
    add_arg(ev, "cmd", std::to_string(arg_int(a, 1)));
  } else {
    add_arg(ev, "pid", std::to_string(arg_int(a, 0)));
    if (t == "kcmp") add_arg(ev, "pid2", std::to_string(arg_int(a, 1)));
    if (t == "prlimit64") add_arg(ev, "resource", std::to_string(arg_int(a, 1)));
  }
  ctx.drop = true;
}

// dup2(oldfd, newfd) / dup3(oldfd, newfd, flags) onto fds 0-2 (BPF): what
// lands on stdin/stdout/stderr (a socket there is reverse-shell evidence).
void dup(const SyscallArgs& a, const TraceeMemory& mem, DecodeContext& ctx, Event* ev) {
  const int oldfd = arg_int(a, 0), newfd = arg_int(a, 1);
  add_arg(ev, "oldfd", std::to_string(oldfd));
  add_arg(ev, "newfd", std::to_string(newfd));
  const FdInfo* i = fd_info(ctx, mem.tid(), oldfd);
  if (i == nullptr) return;
  add_arg(ev, "oldfd_kind", std::string(kind_name(i->kind)));
  if (i->kind == FdKind::Socket) {
    NetInfo n;
    n.fd = newfd;
    n.domain = i->domain, n.type = i->type, n.protocol = i->protocol;
    n.local = i->local, n.remote = i->peer;
    ev->net = std::move(n);
  } else if (i->kind == FdKind::File) {
    FileInfo f;
    f.fd = newfd;
    f.path = f.raw_path = i->path;
    ev->file = std::move(f);
  }
}

// exit_group(status): the process's exit code (status & 0xff, as wait reports it).
void exit_code(const SyscallArgs& a, const TraceeMemory&, DecodeContext&, Event* ev) {
  ev->exit_code = int(a.args[0] & 0xff);
}

}  // namespace vigil::probes::dec
