// The field catalog: one registered extractor per field (docs/rules.md).
#include <fcntl.h>
#include <netinet/in.h>
#include <sys/capability.h>
#include <sys/socket.h>

#include <cerrno>
#include <cstring>
#include <fstream>

#include <fmt/format.h>

#include "rules/internal.hpp"

namespace vigil::rules {
namespace {

using F = FieldType;

void str(EvalCtx& c, std::string_view s) { c.vals.push_back(Val{s, 0}); }
void num(EvalCtx& c, int64_t n) { c.vals.push_back(Val{{}, n}); }
void opt_str(EvalCtx& c, const std::string& s) {
  if (!s.empty()) str(c, s);
}

// A computed string cached for this evaluation in the field's slot.
std::string& slot(EvalCtx& c, const FieldRef& f, bool* fresh) {
  static thread_local std::string tmp;
  if (f.slot < 0 || size_t(f.slot) >= c.slots.size()) {
    *fresh = true;
    tmp.clear();
    return tmp;
  }
  *fresh = c.slot_gen[f.slot] != c.gen;
  if (*fresh) {
    c.slot_gen[f.slot] = c.gen;
    c.slots[f.slot].clear();
  }
  return c.slots[f.slot];
}

template <class Fn>
void computed(EvalCtx& c, const FieldRef& f, Fn fill) {
  bool fresh;
  std::string& s = slot(c, f, &fresh);
  if (fresh) fill(s);
  str(c, s);
}

const Process* proc(const EvalCtx& c) { return c.ev->proc.get(); }

// Ancestor n (0 = the process itself); null when the chain is shorter.
const Process* ancestor(const EvalCtx& c, int n) {
  const Process* p = proc(c);
  for (int i = 0; p && i < n; ++i) p = p->parent.get();
  return p;
}

std::string_view argv0(const Process& p) { return p.argv.empty() ? std::string_view(p.exe) : std::string_view(p.argv[0]); }

void join_args(const Process& p, std::string& out, bool with_name) {
  if (with_name) out = p.name;
  for (size_t i = 1; i < p.argv.size(); ++i) {
    if (!out.empty()) out += ' ';
    out += p.argv[i];
  }
}

int64_t open_flags(const Event& ev) {
  if (ev.type == "creat") return O_CREAT | O_WRONLY | O_TRUNC;
  return ev.file ? ev.file->flags : 0;
}

void open_flags_text(int64_t fl, std::string& out) {
  static const std::pair<int, const char*> kFlags[] = {
      {O_CREAT, "O_CREAT"},     {O_EXCL, "O_EXCL"},         {O_NOCTTY, "O_NOCTTY"},   {O_TRUNC, "O_TRUNC"},
      {O_APPEND, "O_APPEND"},   {O_NONBLOCK, "O_NONBLOCK"}, {O_DSYNC, "O_DSYNC"},     {O_DIRECTORY, "O_DIRECTORY"},
      {O_NOFOLLOW, "O_NOFOLLOW"}, {O_CLOEXEC, "O_CLOEXEC"}, {O_PATH, "O_PATH"},       {O_DIRECT, "O_DIRECT"},
  };
  int acc = int(fl & O_ACCMODE);
  out = acc == O_WRONLY ? "O_WRONLY" : acc == O_RDWR ? "O_RDWR" : "O_RDONLY";
  for (const auto& [bit, name] : kFlags)
    if (fl & bit) out.append("|").append(name);
}

const char* family_name(int f) {
  switch (f) {
    case AF_INET: return "AF_INET";
    case AF_INET6: return "AF_INET6";
    case AF_UNIX: return "AF_UNIX";
    case AF_PACKET: return "AF_PACKET";
    case AF_NETLINK: return "AF_NETLINK";
  }
  return nullptr;
}

// Who is the server side of the socket event: for accept/bind/listen the
// local end, otherwise (connect, sendto, ...) the remote end.
bool local_is_server(const Event& ev) {
  const auto& t = ev.type;
  return t == "accept" || t == "accept4" || t == "bind" || t == "listen" || t == "recvfrom";
}
const Endpoint* endpoint(const EvalCtx& c, char which) {  // s c l r
  if (!c.ev->net) return nullptr;
  const auto& n = *c.ev->net;
  bool srv_local = local_is_server(*c.ev);
  const Endpoint* e = nullptr;
  switch (which) {
    case 'l': e = &n.local; break;
    case 'r': e = &n.remote; break;
    case 's': e = srv_local ? &n.local : &n.remote; break;
    case 'c': e = srv_local ? &n.remote : &n.local; break;
  }
  return e && e->family ? e : nullptr;
}
template <char W>
void ep_ip(EvalCtx& c, const FieldRef&) {
  if (auto* e = endpoint(c, W); e && (e->family == AF_INET || e->family == AF_INET6) && !e->addr.empty()) str(c, e->addr);
}
template <char W>
void ep_port(EvalCtx& c, const FieldRef&) {
  if (auto* e = endpoint(c, W); e && (e->family == AF_INET || e->family == AF_INET6)) num(c, e->port);
}
void both_ip(EvalCtx& c, const FieldRef& f) {
  ep_ip<'s'>(c, f);
  ep_ip<'c'>(c, f);
}

int sock_family(const Event& ev) {
  if (!ev.net) return 0;
  if (ev.net->domain) return ev.net->domain;
  return ev.net->remote.family ? ev.net->remote.family : ev.net->local.family;
}

const char* fd_type(const Event& ev, char* typechar) {
  if (ev.net) {
    switch (sock_family(ev)) {
      case AF_INET: *typechar = '4'; return "ipv4";
      case AF_INET6: *typechar = '6'; return "ipv6";
      case AF_UNIX: *typechar = 'u'; return "unix";
      case AF_NETLINK: *typechar = 'n'; return "netlink";
    }
    *typechar = 's';
    return "socket";
  }
  if (ev.file) {
    if (ev.file->path.rfind("memfd:", 0) == 0) {
      *typechar = 'm';
      return "memfd";
    }
    *typechar = 'f';
    return "file";
  }
  return nullptr;
}

// dup2/dup3 return newfd on success: judged before the call, that is the result.
const std::string* dup_newfd(const Event& ev) {
  return ev.type == "dup2" || ev.type == "dup3" ? ev.arg("newfd") : nullptr;
}

std::string_view path_of(const EvalCtx& c) { return c.ev->file ? std::string_view(c.ev->file->path) : std::string_view(); }

// The name of id in an /etc/passwd or /etc/group style file ("name:x:id:..."),
// read directly: getpwuid would load the app image's NSS modules into vigil.
std::string name_in_db(const char* file, int id) {
  std::ifstream in(file);
  const std::string want = std::to_string(id);
  for (std::string line; std::getline(in, line);) {
    size_t a = line.find(':'), b = a == std::string::npos ? a : line.find(':', a + 1);
    size_t c = b == std::string::npos ? b : line.find(':', b + 1);
    if (c != std::string::npos && line.compare(b + 1, c - b - 1, want) == 0) return line.substr(0, a);
  }
  return {};
}

const std::string& cached_name(std::unordered_map<int, std::string>* cache, int id, bool user) {
  static thread_local std::string none;
  if (!cache) return none;
  auto it = cache->find(id);
  if (it != cache->end()) return it->second;
  std::string name = name_in_db(user ? "/etc/passwd" : "/etc/group", id);
  if (name.empty() && id == 0) name = user ? "root" : "root";
  return cache->emplace(id, name).first->second;
}

int euid(const Process& p) { return p.euid >= 0 ? p.euid : p.uid; }
int egid(const Process& p) { return p.egid >= 0 ? p.egid : p.gid; }

// evt.arg.NAME: the event's own args first, then values derived from the
// typed parts (docs/rules.md "evt.arg"). NAME is classified once at compile time.
enum ArgKind { kArgOther, kArgFlags, kArgLinkpath, kArgTarget, kArgOldpath, kArgNewpath, kArgSource, kArgDir, kArgPath, kArgMode, kArgFd, kArgDomain };

int arg_kind(std::string_view n) {
  static const std::pair<const char*, int> kNames[] = {
      {"flags", kArgFlags},   {"linkpath", kArgLinkpath}, {"target", kArgTarget}, {"oldpath", kArgOldpath},
      {"newpath", kArgNewpath}, {"source", kArgSource},   {"dev", kArgSource},    {"dir", kArgDir},
      {"name", kArgPath},     {"path", kArgPath},         {"pathname", kArgPath}, {"filename", kArgPath},
      {"mode", kArgMode},     {"fd", kArgFd},             {"domain", kArgDomain},
  };
  for (const auto& [k, v] : kNames)
    if (n == k) return v;
  return kArgOther;
}

void evt_arg(EvalCtx& c, const FieldRef& f) {
  const Event& ev = *c.ev;
  for (const auto& a : ev.args)
    if (a.name == f.sarg) return str(c, a.value);
  if (f.akind == kArgOther) return;
  if (f.akind == kArgDomain) {
    if (ev.net)
      if (const char* fam = family_name(ev.net->domain)) str(c, fam);
    return;
  }
  if (!ev.file) return;
  const auto& fi = *ev.file;
  const std::string& t = ev.type;
  // docs/events.md: rename path = old, target = new; link path = the new
  // link, target = the existing file; symlink path = the link, target = contents
  bool sym = t.rfind("symlink", 0) == 0;
  bool link = !sym && t.rfind("link", 0) == 0;
  bool ren = t.rfind("rename", 0) == 0;
  bool mnt = t == "mount";
  switch (f.akind) {
    case kArgFlags:
      if (is_open_type(t)) computed(c, f, [&](std::string& s) { open_flags_text(open_flags(ev), s); });
      return;
    case kArgLinkpath: return sym ? opt_str(c, fi.path) : void();
    case kArgTarget: return sym || mnt ? opt_str(c, fi.target) : void();
    case kArgOldpath: return ren ? opt_str(c, fi.path) : link ? opt_str(c, fi.target) : void();
    case kArgNewpath: return ren ? opt_str(c, fi.target) : link ? opt_str(c, fi.path) : void();
    case kArgSource: return mnt ? opt_str(c, fi.path) : void();
    case kArgDir: return mnt ? opt_str(c, fi.target) : void();
    case kArgPath: return opt_str(c, fi.path);
    case kArgMode:
      if (fi.mode >= 0) computed(c, f, [&](std::string& s) { s = fmt::format("{:o}", fi.mode); });
      return;
    case kArgFd:
      if (fi.fd >= 0) computed(c, f, [&](std::string& s) { s = std::to_string(fi.fd); });
      return;
  }
}

void evt_args(EvalCtx& c, const FieldRef& f) {
  computed(c, f, [&](std::string& s) {
    for (const auto& a : c.ev->args) s += fmt::format("{}{}={}", s.empty() ? "" : " ", a.name, a.value);
  });
}

void cap_text(int64_t mask, std::string& out) {
  for (int cap = 0; cap <= 63; ++cap) {
    if (!(mask & (int64_t(1) << cap))) continue;
    char* name = cap_to_name(cap_value_t(cap));
    if (!name) continue;
    std::string up = name;
    cap_free(name);
    for (auto& ch : up) ch = char(std::toupper(static_cast<unsigned char>(ch)));
    if (up.rfind("CAP_", 0) != 0) up = "CAP_" + up;
    out += out.empty() ? up : " " + up;
  }
}

std::string_view image_repository(std::string_view image) {
  if (auto at = image.find('@'); at != std::string_view::npos) image = image.substr(0, at);
  auto slash = image.rfind('/');
  auto colon = image.rfind(':');
  if (colon != std::string_view::npos && (slash == std::string_view::npos || colon > slash)) image = image.substr(0, colon);
  return image;
}


#define P(expr)                               \
  [](EvalCtx& c, const FieldRef& f) {         \
    (void)f;                                  \
    if (const Process* p = proc(c)) { expr; } \
  }
#define PP(expr)                                                       \
  [](EvalCtx& c, const FieldRef& f) {                                  \
    (void)f;                                                           \
    if (const Process* p = proc(c) ? proc(c)->parent.get() : nullptr) { \
      expr;                                                            \
    }                                                                  \
  }
#define E(expr)                       \
  [](EvalCtx& c, const FieldRef& f) { \
    (void)f;                          \
    const Event& ev = *c.ev;          \
    expr;                             \
  }

// Ancestors: [n] picks one (0 = self), no index = every ancestor (parent up).
template <class Fn>
void ancestors(EvalCtx& c, const FieldRef& f, Fn fn) {
  if (f.iarg >= 0) {
    if (const Process* p = ancestor(c, f.iarg)) fn(*p);
    return;
  }
  const Process* p = proc(c) ? proc(c)->parent.get() : nullptr;
  for (int i = 0; p && i < 64; ++i, p = p->parent.get()) fn(*p);
}

const std::vector<FieldDef> kFields = {
    // ---- evt
    {"evt.type", F::Str, false, E(str(c, falco_evt_type(ev))), "syscall name; vigil's exec events are execve"},
    {"evt.dir", F::Str, false, E((void)ev; str(c, "<")), "always '<': one event per syscall (docs/rules.md)"},
    {"evt.num", F::Int, false, E(num(c, int64_t(ev.seq))), "event sequence number"},
    {"evt.time", F::Str, false, E(computed(c, f, [&](std::string& s) { s = rfc3339_ns(ev.time_ns); })), "event time, RFC 3339"},
    {"evt.rawtime", F::Int, false, E(num(c, ev.time_ns)), "event time, ns since the epoch"},
    {"evt.res", F::Str, false,
     E(if (ev.has_res) {
       if (ev.res >= 0) str(c, "SUCCESS");
       else if (const char* n = strerrorname_np(int(-ev.res))) str(c, n);
     }),
     "SUCCESS or the errno name; not available before the syscall ran"},
    {"evt.rawres", F::Int, false, E(if (ev.has_res) num(c, ev.res); else if (const std::string* nfd = dup_newfd(ev)) num(c, std::atoll(nfd->c_str()))),
     "raw return value (dup2/dup3 before they ran: newfd, their result on success)"},
    {"evt.failed", F::Bool, false, E(if (ev.has_res) num(c, ev.res < 0)), "the syscall failed"},
    {"evt.arg", F::Str, true, evt_arg, "syscall argument by name (evt.arg.flags, evt.arg.request, ...)"},
    {"evt.args", F::Str, false, evt_args, "all named arguments, k=v"},
    {"evt.is_open_read", F::Bool, false,
     E(if (is_open_type(ev.type)) { int a = int(open_flags(ev) & O_ACCMODE); num(c, a == O_RDONLY || a == O_RDWR); }),
     "open-family call opening for reading"},
    {"evt.is_open_write", F::Bool, false,
     E(if (is_open_type(ev.type)) { int a = int(open_flags(ev) & O_ACCMODE); num(c, a == O_WRONLY || a == O_RDWR); }),
     "open-family call opening for writing"},
    {"evt.is_open_exec", F::Bool, false,
     E(if (is_open_type(ev.type)) num(c, (open_flags(ev) & O_CREAT) && ev.file->mode >= 0 && (ev.file->mode & 0111))),
     "open-family call creating an executable file"},
    {"evt.hostname", F::Str, false, E((void)ev; if (c.host) opt_str(c, c.host->hostname)), "host name"},
    // ---- proc
    {"proc.name", F::Str, false, P(str(c, p->name)), "process name"},
    {"proc.exe", F::Str, false, P(str(c, argv0(*p))), "argv[0] (Falco semantics)"},
    {"proc.exepath", F::Str, false, P(opt_str(c, p->exe)), "full executable path"},
    {"proc.cmdline", F::Str, false, P(computed(c, f, [&](std::string& s) { join_args(*p, s, true); })), "name and arguments"},
    {"proc.args", F::Str, false, P(computed(c, f, [&](std::string& s) { join_args(*p, s, false); })), "arguments (argv[1..])"},
    {"proc.pid", F::Int, false, P(num(c, p->pid)), "process id"},
    {"proc.ppid", F::Int, false, P(num(c, p->ppid)), "parent process id"},
    {"proc.pname", F::Str, false, PP(str(c, p->name)), "parent name"},
    {"proc.pexe", F::Str, false, PP(str(c, argv0(*p))), "parent argv[0]"},
    {"proc.pexepath", F::Str, false, PP(opt_str(c, p->exe)), "parent executable path"},
    {"proc.pcmdline", F::Str, false, PP(computed(c, f, [&](std::string& s) { join_args(*p, s, true); })), "parent command line"},
    {"proc.aname", F::Str, true, [](EvalCtx& c, const FieldRef& f) { ancestors(c, f, [&](const Process& a) { str(c, a.name); }); },
     "ancestor name: [n] (1 = parent), or any ancestor"},
    {"proc.apid", F::Int, true, [](EvalCtx& c, const FieldRef& f) { ancestors(c, f, [&](const Process& a) { num(c, a.pid); }); },
     "ancestor pid"},
    {"proc.aexepath", F::Str, true,
     [](EvalCtx& c, const FieldRef& f) { ancestors(c, f, [&](const Process& a) { opt_str(c, a.exe); }); }, "ancestor path"},
    {"proc.cwd", F::Str, false, P(opt_str(c, p->cwd)), "working directory"},
    {"proc.tty", F::Int, false, P(num(c, p->tty_nr ? p->tty_nr : p->tty.empty() ? 0 : 1)), "controlling tty (0 = none)"},
    {"proc.sid", F::Int, false, P(num(c, p->sid)), "session id"},
    {"proc.duration", F::Int, false, P(if (p->start_ns) num(c, c.ev->time_ns - p->start_ns)), "ns since the process started"},
    {"proc.is_exe_upper_layer", F::Bool, false, P(num(c, p->exe_drift)), "executable created/modified after start (drift)"},
    {"proc.exe_drift_reason", F::Str, false, P(if (!p->exe_drift_reason.empty()) str(c, p->exe_drift_reason)),
     "why the executable is drift: traced_write, changed_after_start, toolchain_build (built by a compiler/linker of the same process tree) (vigil)"},
    {"proc.is_exe_from_memfd", F::Bool, false, P(num(c, p->exe_from_memfd)), "executable is a memfd"},
    {"proc.exe_ino.mtime", F::Int, false, P(if (p->exe_mtime_ns) num(c, p->exe_mtime_ns)), "executable mtime, ns"},
    {"proc.is_stdio_net", F::Bool, false, P(num(c, p->stdio_net)), "stdin or stdout is a network socket (vigil)"},
    {"proc.accepted_conn", F::Bool, false, P(num(c, p->accepted_conn)),
     "the process accepted an IPv4/IPv6 connection since its exec (a network service; forks inherit it) (vigil)"},
    {"proc.paccepted_conn", F::Bool, false, PP(num(c, p->accepted_conn)), "the parent accepted an IPv4/IPv6 connection (vigil)"},
    {"proc.sha256", F::Str, false, P(opt_str(c, p->sha256)), "SHA-256 of the executable"},
    {"proc.script", F::Str, false, P(opt_str(c, p->interpreter_script)),
     "the \"#!\" script an interpreter runs, when the executable is one (vigil)"},
    {"thread.tid", F::Int, false, E(num(c, ev.tid ? ev.tid : ev.proc ? ev.proc->pid : 0)), "thread id"},
    {"thread.cap_effective", F::Str, false,
     P(if (p->cap_effective >= 0) computed(c, f, [&](std::string& s) { cap_text(p->cap_effective, s); })),
     "effective capabilities, CAP_* names"},
    // ---- fd
    {"fd.name", F::Str, false,
     E(if (ev.file) str(c, ev.file->path);
       else if (ev.net) computed(c, f, [&](std::string& s) {
         auto* cl = endpoint(c, 'c');
         auto* sv = endpoint(c, 's');
         if (sock_family(ev) == AF_UNIX) s = sv ? sv->addr : cl ? cl->addr : "";
         else s = fmt::format("{}:{}->{}:{}", cl ? cl->addr : "", cl ? cl->port : 0, sv ? sv->addr : "", sv ? sv->port : 0);
       })),
     "file path, or client->server for sockets"},
    {"fd.nameraw", F::Str, false, E(if (ev.file) str(c, ev.file->raw_path.empty() ? ev.file->path : ev.file->raw_path)),
     "path as the process passed it"},
    {"fd.dev", F::Int, false, E(if (ev.file && ev.file->ino) num(c, int64_t(ev.file->dev))),
     "device of the file the path resolved to (vigil: the object the kernel acts on)"},
    {"fd.ino", F::Int, false, E(if (ev.file && ev.file->ino) num(c, int64_t(ev.file->ino))),
     "inode of the file the path resolved to"},
    {"fd.directory", F::Str, false,
     E((void)ev; auto p = path_of(c); if (auto s = p.rfind('/'); s != std::string_view::npos) str(c, s ? p.substr(0, s) : "/")),
     "directory of fd.name"},
    {"fd.filename", F::Str, false,
     E((void)ev; auto p = path_of(c); if (auto s = p.rfind('/'); s != std::string_view::npos) str(c, p.substr(s + 1))),
     "base name of fd.name"},
    {"fd.typechar", F::Str, false,
     [](EvalCtx& c, const FieldRef&) {
       static const char kChars[] = "f46usnm";
       char tc = 0;
       if (fd_type(*c.ev, &tc)) str(c, std::string_view(std::strchr(kChars, tc), 1));
     },
     "f file, 4 ipv4, 6 ipv6, u unix, s other socket, m memfd"},
    {"fd.type", F::Str, false, E(char tc; if (const char* t = fd_type(ev, &tc)) str(c, t)), "file, ipv4, ipv6, unix, ..."},
    {"fd.num", F::Int, false,
     E(if (is_open_type(ev.type)) { if (ev.has_res) num(c, ev.res < 0 ? -1 : ev.res); else num(c, 0); }
       else if (ev.file && ev.file->fd >= 0) num(c, ev.file->fd);
       else if (ev.net && ev.net->fd >= 0) num(c, ev.net->fd);
       else if (ev.has_res && (ev.type == "socket" || ev.type.rfind("dup", 0) == 0 || ev.type.rfind("accept", 0) == 0))
         num(c, ev.res)),
     "descriptor number (open before it ran: 0, see docs)"},
    {"fd.sip", F::Ip, false, ep_ip<'s'>, "server IP"},
    {"fd.sport", F::Int, false, ep_port<'s'>, "server port"},
    {"fd.cip", F::Ip, false, ep_ip<'c'>, "client IP"},
    {"fd.cport", F::Int, false, ep_port<'c'>, "client port"},
    {"fd.rip", F::Ip, false, ep_ip<'r'>, "remote IP"},
    {"fd.rport", F::Int, false, ep_port<'r'>, "remote port"},
    {"fd.lip", F::Ip, false, ep_ip<'l'>, "local IP"},
    {"fd.lport", F::Int, false, ep_port<'l'>, "local port"},
    {"fd.ip", F::Ip, false, both_ip, "server or client IP"},
    {"fd.port", F::Int, false, [](EvalCtx& c, const FieldRef& f) { ep_port<'s'>(c, f); ep_port<'c'>(c, f); }, "either port"},
    {"fd.net", F::Ip, false, both_ip, "server or client IP, compared as a network"},
    {"fd.snet", F::Ip, false, ep_ip<'s'>, "server IP as a network"},
    {"fd.cnet", F::Ip, false, ep_ip<'c'>, "client IP as a network"},
    {"fd.rnet", F::Ip, false, ep_ip<'r'>, "remote IP as a network"},
    {"fd.lnet", F::Ip, false, ep_ip<'l'>, "local IP as a network"},
    {"fd.l4proto", F::Str, false,
     E(if (ev.net) {
       int fam = sock_family(ev);
       if (fam == AF_INET || fam == AF_INET6) {
         int ty = ev.net->type & 0xf;
         int pr = ev.net->protocol;
         str(c, pr == IPPROTO_ICMP || pr == IPPROTO_ICMPV6 ? "icmp" : ty == SOCK_STREAM || pr == IPPROTO_TCP ? "tcp"
                : ty == SOCK_DGRAM || pr == IPPROTO_UDP ? "udp" : ty == SOCK_RAW ? "raw" : "unknown");
       }
     }),
     "tcp, udp, icmp, raw"},
    {"fd.connected", F::Bool, false,
     E(if (ev.net) num(c, ev.type == "connect" || ev.type.rfind("accept", 0) == 0 ? (!ev.has_res || ev.res >= 0 || ev.res == -EINPROGRESS) : 0)),
     "socket has a peer through this event"},
    {"fd.name_changed", F::Bool, false,
     E(if (ev.net) num(c, (ev.type == "sendto" || ev.type == "sendmsg" || ev.type == "sendmmsg") && ev.net->remote.family)),
     "the event carries a new destination address"},
    // ---- user, group
    {"user.uid", F::Int, false, P(if (euid(*p) >= 0) num(c, euid(*p))), "effective user id"},
    {"user.name", F::Str, false, P(if (euid(*p) >= 0) opt_str(c, cached_name(c.user_names, euid(*p), true))), "user name"},
    {"group.gid", F::Int, false, P(if (egid(*p) >= 0) num(c, egid(*p))), "effective group id"},
    {"group.name", F::Str, false, P(if (egid(*p) >= 0) opt_str(c, cached_name(c.group_names, egid(*p), false))), "group name"},
    // ---- container
    {"container.id", F::Str, false, E((void)ev; str(c, c.host ? std::string_view(c.host->container_id) : "")),
     "container id (never 'host': vigil runs inside the container)"},
    {"container.image", F::Str, false, E((void)ev; if (c.host) opt_str(c, c.host->container_image)), "image, when known"},
    {"container.image.repository", F::Str, false,
     E((void)ev; if (c.host && !c.host->container_image.empty()) str(c, image_repository(c.host->container_image))),
     "image without tag or digest"},
    // ---- vigil's own
    {"dns.qname", F::Str, false, E(if (ev.dns) str(c, ev.dns->qname)), "DNS query name"},
    {"dns.qtype", F::Str, false,
     E(if (ev.dns) computed(c, f, [&](std::string& s) { const char* n = dns_qtype_name(ev.dns->qtype); s = n ? n : std::to_string(ev.dns->qtype); })),
     "A, AAAA, TXT, ... or the number"},
    {"dns.answer", F::Ip, false, E(if (ev.dns) for (const auto& a : ev.dns->answers) str(c, a)), "a resolved address"},
    {"file.sha256", F::Str, false, E(if (ev.file) opt_str(c, ev.file->sha256)), "SHA-256 of the file"},
};

}  // namespace

const std::vector<FieldDef>& field_table() { return kFields; }

FieldRef lookup_field(std::string_view name) {
  FieldRef r;
  r.name = std::string(name);
  std::string_view base = name;
  std::string_view arg;
  bool bracket = false;
  if (auto b = name.find('['); b != std::string_view::npos && name.back() == ']') {
    base = name.substr(0, b);
    arg = name.substr(b + 1, name.size() - b - 2);
    bracket = true;
  }
  for (const auto& d : kFields) {
    std::string_view dn = d.name;
    if (base == dn && (!bracket || d.arg)) {
      r.def = &d;
      break;
    }
    // evt.arg.NAME
    if (d.arg && !bracket && base.size() > dn.size() + 1 && base.substr(0, dn.size()) == dn && base[dn.size()] == '.' &&
        dn == "evt.arg") {
      r.def = &d;
      arg = base.substr(dn.size() + 1);
      break;
    }
  }
  if (!r.def) return r;
  if (std::string_view(r.def->name) == "evt.arg") {
    r.sarg = std::string(arg);
    r.akind = arg_kind(r.sarg);
    if (r.sarg.empty()) r.def = nullptr;
    return r;
  }
  if (bracket) {
    int n = 0;
    for (char ch : arg) {
      if (ch < '0' || ch > '9' || n > 1000) {
        r.def = nullptr;
        return r;
      }
      n = n * 10 + (ch - '0');
    }
    r.iarg = arg.empty() ? -1 : n;
  }
  return r;
}

bool extract(EvalCtx& ctx, const FieldRef& f) {
  ctx.vals.clear();
  f.def->extract(ctx, f);
  return !ctx.vals.empty();
}

std::pair<const Val*, size_t> values_slow(EvalCtx& ctx, const FieldRef& f) {
  if (f.slot >= 0 && size_t(f.slot) < ctx.one.size()) {
    size_t i = size_t(f.slot);
    extract(ctx, f);
    if (ctx.vals.size() <= 1) {
      ctx.one_gen[i] = ctx.gen;
      ctx.one_n[i] = uint8_t(ctx.vals.size());
      if (!ctx.vals.empty()) ctx.one[i] = ctx.vals[0];
      return {&ctx.one[i], ctx.one_n[i]};
    }
    return {ctx.vals.data(), ctx.vals.size()};
  }
  extract(ctx, f);
  return {ctx.vals.data(), ctx.vals.size()};
}

std::string render(EvalCtx& ctx, const FieldRef& f) {
  if (!f.def) return "<NA>";
  auto [vals, count] = values(ctx, f);
  if (!count) return "<NA>";
  std::string out;
  for (size_t i = 0; i < count; ++i) {
    const Val& v = vals[i];
    if (!out.empty()) out += ',';
    if (f.def->type == FieldType::Int) out += std::to_string(v.n);
    else if (f.def->type == FieldType::Bool) out += v.n ? "true" : "false";
    else out += v.s;
  }
  return out;
}

FieldValue render_value(EvalCtx& ctx, const FieldRef& f) {
  if (!f.def) return {};
  auto [vals, count] = values(ctx, f);
  if (!count) return {};
  if (count == 1 && f.def->type == FieldType::Int) return FieldValue::num(vals[0].n);
  if (count == 1 && f.def->type == FieldType::Bool) return FieldValue::boolean(vals[0].n != 0);
  return FieldValue(render(ctx, f));
}

}  // namespace vigil::rules

namespace vigil {
std::string_view falco_evt_type(const Event& ev) {
  if (ev.type == "exec") {
    const std::string* sc = ev.arg("syscall");
    return sc && *sc == "execveat" ? "execveat" : "execve";
  }
  return ev.type;
}
}  // namespace vigil
