// Network calls vigil performs itself: see sensor/netcall.hpp.
#include "sensor/netcall.hpp"

#include <fcntl.h>
#include <linux/audit.h>
#include <linux/seccomp.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <sys/un.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <csignal>
#include <cstddef>
#include <cstdio>
#include <cstring>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include "probes/procfs.hpp"
#include "probes/sockaddr.hpp"
#include "sensor/connector.hpp"
#include "sensor/guard.hpp"
#include "sensor/judge.hpp"
#include "sensor/perform.hpp"

namespace vigil::netcall {
namespace {

constexpr uint64_t kMaxControl = 64u << 10;  // ancillary bytes (the kernel's optmem_max is 20 KiB to 128 KiB)


// A destination as vigil uses it.
struct Dest {
  bool given = false;  // one was passed (else: the socket's peer)
  uint32_t len = 0;    // as passed, or of the bytes below
  sockaddr_storage ss{};
  std::shared_ptr<Owned> handle;  // an AF_UNIX path's socket inode (O_PATH): ss names it as /proc/self/fd/N
  int err = 0;                    // the path cannot be resolved: what the caller's own call gets
  // sends: the data judged (probes' SendDest), sent as is
  std::shared_ptr<const std::vector<uint8_t>> data;
  bool capped = false, unsent = false;
  int data_err = 0;
};

bool unix_path(const unsigned char* b, uint32_t len) {
  sa_family_t family;
  std::memcpy(&family, b, sizeof family);
  constexpr size_t off = offsetof(sockaddr_un, sun_path);
  return family == AF_UNIX && len > off && len <= sizeof(sockaddr_un) && b[off] != 0;
}

// The copy judged -> the destination vigil uses. An AF_UNIX path is
// resolved as the caller would (aliases lead to the socket's own path,
// which names the event); vigil then reaches the socket through its handle,
// whatever is renamed or linked afterwards.
Dest prepare(const Env& env, int tid, int tgid, const perform::Creds* creds, bool given,
             const probes::DecodeContext::SockaddrCopy& c, Endpoint* named, Event& ev) {
  Dest d;
  d.given = given;
  d.len = c.len;
  if (!given || c.len > sizeof c.bytes) return d;  // (too long: the kernel's EINVAL for vigil's call too)
  std::memcpy(&d.ss, c.bytes, c.len);
  if (!creds || !unix_path(c.bytes, c.len)) return d;  // (no creds: not an AF_UNIX socket, the kernel refuses a path)
  constexpr size_t off = offsetof(sockaddr_un, sun_path);
  const char* p = reinterpret_cast<const char*>(c.bytes) + off;
  const std::string raw(p, strnlen(p, c.len - off));
  probes::Resolved r = perform::resolve_as_caller(env, tid, tgid, *creds, AT_FDCWD, raw, probes::kFollowLast);
  if (!r.ok()) {
    d.err = r.refused ? EPERM : r.err;
    if (r.refused) ev.args.push_back({"unreadable", fmt::format("socket path (not resolvable for vigil: {})", r.what)});
    else ev.args.push_back({"unresolved", fmt::format("{}: {}", r.what, std::strerror(r.err))});
    return d;
  }
  if (named && named->addr != r.path) {
    ev.args.push_back({"raw_addr", named->addr});
    named->addr = r.path;
  }
  d.handle = std::make_shared<Owned>(r.fd);
  r.fd = -1;
  auto* un = reinterpret_cast<sockaddr_un*>(&d.ss);
  std::memset(un, 0, sizeof *un);
  un->sun_family = AF_UNIX;
  const int n = std::snprintf(un->sun_path, sizeof un->sun_path, "/proc/self/fd/%d", d.handle->fd);
  d.len = uint32_t(off + size_t(n) + 1);
  return d;
}

void answer(int listener, uint64_t id, int64_t result, bool cont = false) {
  seccomp_notif_resp resp{};
  resp.id = id;
  if (cont) resp.flags = SECCOMP_USER_NOTIF_FLAG_CONTINUE;
  else if (result < 0) resp.error = int32_t(result);
  else resp.val = result;
  if (ioctl(listener, SECCOMP_IOCTL_NOTIF_SEND, &resp) < 0 && errno != ENOENT)
    spdlog::warn("answering a seccomp notification: {}", std::strerror(errno));
}

// What a send job needs (copied into the worker).
struct SendJob {
  std::shared_ptr<Owned> sock;
  int tid = 0, tgid = 0;
  int kind = 0;  // 0 sendto, 1 sendmsg, 2 sendmmsg
  probes::SyscallArgs a;
  std::vector<Dest> dests;
  int flags = 0;
  bool stream = false;  // short sends allowed (a stream socket with MSG_FASTOPEN)
  bool unix = false;    // AF_UNIX: the caller's credentials (SCM_CREDENTIALS, the socket file's permission), SCM_RIGHTS
  perform::Creds creds;

  // One message: data, control and destination -> vigil's sendmsg on the socket.
  int64_t send_one(const probes::TraceeMemory& mem, const MsgHdr* h, const Dest& d) const {
    if (d.data_err && d.data_err != EFAULT) return -d.data_err;  // (the kernel checks iovecs first)
    if (d.capped && !stream) return -EMSGSIZE;  // a datagram this long: the kernel refuses it too
    if (d.given && d.len > sizeof(sockaddr_storage)) return -EINVAL;
    if (d.err) return -d.err;
    std::vector<char> control;
    std::vector<std::unique_ptr<Owned>> passed;  // SCM_RIGHTS: vigil's copies of the caller's fds
    if (h && h->control && h->controllen) {
      if (h->controllen > kMaxControl) return -ENOBUFS;
      control.resize(h->controllen);
      if (!mem.read(h->control, control.data(), control.size())) return -EFAULT;
      if (compat() && !native_control(std::vector<char>(control).data(), control.size(), &control)) return -EINVAL;
    }
    // Unreadable data: an iovec the kernel cannot read either, so that it
    // says what it says first (a bad address) and then EFAULT.
    static const std::vector<uint8_t> none;
    const std::vector<uint8_t>& bytes = d.data ? *d.data : none;
    iovec v{d.data_err == EFAULT ? nullptr : const_cast<uint8_t*>(bytes.data()), d.data_err == EFAULT ? 1 : bytes.size()};
    msghdr m{};
    m.msg_name = d.given ? const_cast<sockaddr_storage*>(&d.ss) : nullptr;
    m.msg_namelen = d.given ? d.len : 0;
    m.msg_iov = &v;
    m.msg_iovlen = 1;
    m.msg_control = control.empty() ? nullptr : control.data();
    m.msg_controllen = control.size();
    if (unix && !control.empty())
      for (cmsghdr* c = CMSG_FIRSTHDR(&m); c; c = CMSG_NXTHDR(&m, c)) {
        if (c->cmsg_level != SOL_SOCKET || c->cmsg_type != SCM_RIGHTS || c->cmsg_len < CMSG_LEN(0)) continue;
        const size_t n = (c->cmsg_len - CMSG_LEN(0)) / sizeof(int);
        for (size_t i = 0; i < n; ++i) {
          int fd;
          std::memcpy(&fd, CMSG_DATA(c) + i * sizeof fd, sizeof fd);
          const int copy = guard::take_fd(tid, tgid, fd);
          if (copy < 0) return procfs::own_resource(-copy) ? copy : -EBADF;
          passed.push_back(std::make_unique<Owned>(copy));
          std::memcpy(CMSG_DATA(c) + i * sizeof fd, &copy, sizeof copy);
        }
      }
    // The caller's credentials for the send only (vigil's own read its memory and fds).
    std::optional<perform::AsCaller> as;
    if (unix) {
      as.emplace(creds, true);
      if (!as->ok()) return -EACCES;
    }
    const ssize_t r = ::sendmsg(sock->fd, &m, flags | MSG_NOSIGNAL);
    const int e = errno;
    as.reset();
    if (r >= 0) return r;
    if (e == EPIPE && !(flags & MSG_NOSIGNAL)) syscall(SYS_tgkill, tgid, tid, SIGPIPE);  // as the kernel does
    return -e;
  }

  bool compat() const { return a.arch == AUDIT_ARCH_I386; }  // i386's layouts (int $0x80)

  int64_t operator()() const {
    const probes::TraceeMemory mem(tid);
    if (kind == 0) return send_one(mem, nullptr, dests.at(0));
    if (kind == 1) {
      MsgHdr h;
      if (!probes::read_msghdr(mem, a.args[1], compat(), &h)) return -EFAULT;
      return send_one(mem, &h, dests.at(0));
    }
    int64_t sent = 0;
    for (size_t k = 0; k < dests.size() && !dests[k].unsent; ++k) {
      MsgHdr h;
      const uint64_t at = a.args[1] + k * mmsghdr_size(compat());
      const int64_t r = probes::read_msghdr(mem, at, compat(), &h) ? send_one(mem, &h, dests[k]) : -EFAULT;
      if (r < 0) return sent ? sent : r;  // as the kernel: an error only if nothing was sent
      uint32_t len = uint32_t(r);
      iovec local{&len, sizeof len}, remote{reinterpret_cast<void*>(at + msghdr_size(compat())), sizeof len};
      if (process_vm_writev(tid, &local, 1, &remote, 1, 0) != ssize_t(sizeof len))
        spdlog::debug("sendmmsg of tid {}: msg_len of message {} not written back: {}", tid, k, std::strerror(errno));
      ++sent;
    }
    return sent;
  }
};

bool same(const Endpoint& a, const Endpoint& b) { return a.family == b.family && a.addr == b.addr && a.port == b.port; }

}  // namespace

bool call(const Env& env, uint64_t id, int tid, int tgid, const probes::SyscallArgs& a, const probes::Probe& row,
          probes::DecodeContext& ctx, Event& ev) {
  const std::string_view type = row.type;
  const bool connect = type == "connect";
  const int kind = type == "sendto" ? 0 : type == "sendmsg" ? 1 : 2;
  if (!ev.net || ev.arg("unreadable")) return false;  // judged as usual (an unreadable argument: denied)
  if (connect && ctx.sockaddr.len == 0) return false;  // no address read (none passed, or too long: EINVAL)
  Judge& judge = *env.judge;
  std::vector<Event> extra;  // sendmmsg: the other destinations, an event each
  auto emit = [&](Event&& e) {
    if (!ctx.quiet || e.action != Action::None) judge.emit(std::move(e));
  };
  // The verdict on the event(s); false: denied or killed (answered, emitted).
  auto judged = [&]() {
    Action worst = judge.judge(ev, row.enforce);
    for (Event& e : extra) worst = std::max(worst, judge.judge(e, row.enforce));
    if (worst == Action::None) return true;
    if (worst == Action::Killed) kill(tgid, SIGKILL);
    answer(env.listener, id, -EPERM);
    emit(std::move(ev));
    for (Event& e : extra) emit(std::move(e));
    return false;
  };
  auto done = [&](int64_t result, bool cont = false) {
    answer(env.listener, id, result, cont);
    emit(std::move(ev));
    for (Event& e : extra) emit(std::move(e));
    return true;
  };

  // The caller's socket, as vigil will use it.
  const int sock = guard::take_fd(tid, tgid, int(int32_t(uint32_t(a.args[0]))));
  if (procfs::own_resource(-sock)) {  // vigil's own: fail closed
    if (!judged()) return true;
    const int err = env.guard->resource_fault(tid, "taking a socket to perform its call", -sock);
    if (err) ev.action = Action::Denied;
    return done(-err, err == 0);
  }
  auto owned = std::make_shared<Owned>(sock);
  int domain = 0, stype = 0;
  socklen_t olen = sizeof domain;
  const bool is_sock = sock >= 0 && getsockopt(sock, SOL_SOCKET, SO_DOMAIN, &domain, &olen) == 0 &&
                       (olen = sizeof stype, getsockopt(sock, SOL_SOCKET, SO_TYPE, &stype, &olen) == 0);
  const int flags = connect ? 0 : int(uint32_t(a.args[kind == 1 ? 2 : 3]));
  // Performed whatever the socket: a call let through would look the fd up
  // again (a thread can dup2 another socket over it) and read the address
  // again. Where the kernel ignores the destination (a stream socket without
  // MSG_FASTOPEN, AF_UNIX SOCK_SEQPACKET) vigil's call ignores it too.
  // Sends without a destination (the socket's peer, judged at its connect)
  // are performed only when their content is judged (not quiet: a DNS
  // message or a protocol a rule names), so that it is the content sent.
  const bool given = connect || std::any_of(ctx.sends.begin(), ctx.sends.end(), [](auto& d) { return d.given; });
  const bool performed = sock >= 0 && (connect || (!ctx.sends.empty() && (given || !ctx.quiet)));
  const bool ignored = !connect && is_sock && ((stype == SOCK_STREAM && !(flags & MSG_FASTOPEN)) ||
                                               (domain == AF_UNIX && stype == SOCK_SEQPACKET));
  if (given && ignored) {
    // The kernel ignores the address (a connected stream socket): the event names the socket's peer.
    sockaddr_storage peer{};
    socklen_t plen = sizeof peer;
    ev.net->remote = getpeername(sock, reinterpret_cast<sockaddr*>(&peer), &plen) == 0 ? decode_sockaddr(&peer, plen)
                                                                                      : Endpoint{};
  }
  perform::Creds creds;
  // (AF_UNIX only: its paths are resolved and its peers see them; an IP call needs none)
  if (performed && domain == AF_UNIX && !perform::read_creds(tid, &creds)) return done(-ESRCH);  // the caller is gone
  const perform::Creds* unix_creds = domain == AF_UNIX ? &creds : nullptr;
  std::vector<Dest> dests;
  if (performed && connect) {
    dests.push_back(prepare(env, tid, tgid, unix_creds, true, ctx.sockaddr, &ev.net->remote, ev));
  } else if (performed) {
    // Each destination names an event: the decoded one (its raw address),
    // or one more per other destination of a sendmmsg.
    std::vector<Endpoint> raws{ev.net->remote};
    std::vector<bool> named{false};
    for (size_t k = 0; k < ctx.sends.size(); ++k) {
      const auto& s = ctx.sends[k];
      if (!s.given || ignored) {  // (ignored: the bytes as passed, for the kernel to ignore)
        Dest d;
        d.given = s.given;
        d.len = s.addr.len;
        if (s.given && s.addr.len <= sizeof s.addr.bytes) std::memcpy(&d.ss, s.addr.bytes, s.addr.len);
        dests.push_back(std::move(d));
        continue;
      }
      const Endpoint ep = s.addr.len <= sizeof s.addr.bytes ? decode_sockaddr(s.addr.bytes, s.addr.len) : Endpoint{};
      size_t i = size_t(std::find_if(raws.begin(), raws.end(), [&](const Endpoint& r) { return same(r, ep); }) - raws.begin());
      if (i == raws.size()) {  // another destination of a sendmmsg: judged as an event of its own
        Event x = ev;
        x.cls = row.cls;
        x.dns.reset();
        x.args.push_back({"message", std::to_string(k)});
        x.net->remote = ep;
        extra.push_back(std::move(x));
        raws.push_back(ep);
        named.push_back(false);
      }
      Event& e = i == 0 ? ev : extra[i - 1];
      dests.push_back(prepare(env, tid, tgid, unix_creds, true, s.addr, named[i] ? nullptr : &e.net->remote, e));
      named[i] = true;
    }
    for (size_t k = 0; k < dests.size(); ++k) {  // the data judged, sent as is
      auto& s = ctx.sends[k];
      dests[k].data = std::make_shared<const std::vector<uint8_t>>(std::move(s.data));
      dests[k].capped = s.capped, dests[k].unsent = s.unsent, dests[k].data_err = s.data_err;
    }
  }
  if (!judged()) return true;
  if (!performed) return done(sock < 0 ? sock : 0, sock >= 0);  // not an fd of the caller (EBADF), or no destination
  if (connect) {
    if (dests[0].err) return done(-dests[0].err);
    const bool as = domain == AF_UNIX;  // the socket file's permission, and the peer's SO_PEERCRED: the caller's
    env.pool->run(id, [owned, d = dests[0], creds, as]() -> int64_t {
      std::optional<perform::AsCaller> who;
      if (as) {
        who.emplace(creds, true);
        if (!who->ok()) return -EACCES;
      }
      return ::connect(owned->fd, reinterpret_cast<const sockaddr*>(&d.ss), d.len) == 0 ? 0 : -errno;
    });
  } else {
    SendJob job;
    job.sock = owned;
    job.tid = tid, job.tgid = tgid, job.kind = kind, job.a = a;
    job.dests = std::move(dests);
    job.flags = flags;
    job.stream = stype == SOCK_STREAM || !is_sock;  // (not a socket: the kernel says ENOTSOCK to any length)
    job.unix = domain == AF_UNIX;
    job.creds = creds;
    env.pool->run(id, std::move(job));
  }
  emit(std::move(ev));
  for (Event& e : extra) emit(std::move(e));
  return true;
}

}  // namespace vigil::netcall
