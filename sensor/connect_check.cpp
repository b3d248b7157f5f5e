// The check of connects let through with CONTINUE: see sensor/connect_check.hpp.
#include "sensor/connect_check.hpp"

#include <arpa/inet.h>
#include <linux/inet_diag.h>
#include <linux/kcmp.h>
#include <linux/netlink.h>
#include <linux/rtnetlink.h>
#include <linux/sock_diag.h>
#include <linux/unix_diag.h>
#include <netinet/in.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/sysmacros.h>
#include <sys/un.h>
#include <unistd.h>

#include <algorithm>
#include <bit>
#include <cerrno>
#include <cstddef>
#include <cstring>
#include <ctime>

#include <spdlog/spdlog.h>

#include "probes/procfs.hpp"
#include "probes/sockaddr.hpp"
#include "sensor/guard.hpp"

namespace vigil {
namespace {

constexpr int64_t kFirstNs = 2'000'000, kMaxStepNs = 256'000'000, kGiveUpNs = 1'000'000'000;

int64_t now_ns() {
  timespec t{};
  clock_gettime(CLOCK_MONOTONIC, &t);
  return int64_t(t.tv_sec) * 1'000'000'000 + t.tv_nsec;
}

// The destination of an IP socket as the kernel holds it (SO_PEERNAME:
// answers in SYN_SENT too, where getpeername says ENOTCONN). The length asked
// must not exceed the address's size, else EINVAL: asked for an IPv4 one's,
// an IPv6 address comes truncated (read again in full) and a shorter one
// (AF_UNIX, AF_NETLINK) is EINVAL. So one syscall tells the family too.
// 0, ENOTCONN (none, whatever the family), or another errno (EAFNOSUPPORT:
// not an IP socket; ENOTSOCK).
int ip_peer(int sock, sockaddr_storage* out, uint32_t* len) {
  socklen_t l = sizeof(sockaddr_in);
  if (getsockopt(sock, SOL_SOCKET, SO_PEERNAME, out, &l) < 0) return errno == EINVAL ? EAFNOSUPPORT : errno;
  if (out->ss_family == AF_INET6) {
    l = sizeof(sockaddr_in6);
    if (getsockopt(sock, SOL_SOCKET, SO_PEERNAME, out, &l) < 0) return errno;
  } else if (out->ss_family != AF_INET) {
    return EAFNOSUPPORT;
  }
  *len = l;
  return 0;
}

// An IP address and port in one form: IPv4 as IPv4-mapped IPv6 (an AF_INET6
// socket connected to an AF_INET address reports it mapped).
struct Canon {
  bool ok = false;
  in6_addr a{};
  uint16_t port = 0;
  bool any() const { return IN6_IS_ADDR_UNSPECIFIED(&a) || (IN6_IS_ADDR_V4MAPPED(&a) && a.s6_addr32[3] == 0); }
  bool loopback() const {
    return IN6_IS_ADDR_LOOPBACK(&a) || (IN6_IS_ADDR_V4MAPPED(&a) && (ntohl(a.s6_addr32[3]) >> 24) == 127);
  }
  bool same_addr(const Canon& o) const { return std::memcmp(&a, &o.a, sizeof a) == 0; }
  bool operator==(const Canon& o) const { return ok && o.ok && port == o.port && same_addr(o); }
};
Canon canon(const sockaddr_storage& ss, uint32_t len) {
  Canon c;
  if (ss.ss_family == AF_INET && len >= sizeof(sockaddr_in)) {
    const auto* s = reinterpret_cast<const sockaddr_in*>(&ss);
    c.a.s6_addr[10] = c.a.s6_addr[11] = 0xff;
    std::memcpy(&c.a.s6_addr[12], &s->sin_addr, 4);
    c.port = s->sin_port;
    c.ok = true;
  } else if (ss.ss_family == AF_INET6 && len >= 24) {  // SIN6_LEN_RFC2133: the kernel's minimum
    const auto* s = reinterpret_cast<const sockaddr_in6*>(&ss);
    c.a = s->sin6_addr;
    c.port = s->sin6_port;
    c.ok = true;
  }
  return c;
}

// One unix_diag request (NETLINK_SOCK_DIAG) for the AF_UNIX socket of inode
// ino: its peer's inode (UNIX_DIAG_PEER) and the file it is bound to
// (UNIX_DIAG_VFS), where shown. The kernel answers within the sendto, so the
// answer is read without waiting (nothing here can stall the tracer).
// 0, or an errno (ENOENT: no such socket, or unix_diag missing).
int diag_query(int nl, uint32_t seq, uint32_t ino, uint32_t show, uint32_t* peer, unix_diag_vfs* vfs, bool* has_vfs,
               uint8_t* shutdown = nullptr) {
  struct {
    nlmsghdr nh;
    unix_diag_req r;
  } req{};
  req.nh.nlmsg_len = sizeof req;
  req.nh.nlmsg_type = SOCK_DIAG_BY_FAMILY;
  req.nh.nlmsg_flags = NLM_F_REQUEST;
  req.nh.nlmsg_seq = seq;
  req.r.sdiag_family = AF_UNIX;
  req.r.udiag_states = ~0u;
  req.r.udiag_ino = ino;
  req.r.udiag_show = show;
  req.r.udiag_cookie[0] = req.r.udiag_cookie[1] = INET_DIAG_NOCOOKIE;
  sockaddr_nl kernel{};
  kernel.nl_family = AF_NETLINK;
  if (sendto(nl, &req, sizeof req, 0, reinterpret_cast<sockaddr*>(&kernel), sizeof kernel) < 0) return errno;
  alignas(nlmsghdr) char buf[4096];
  for (;;) {
    ssize_t n = recv(nl, buf, sizeof buf, MSG_DONTWAIT);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return errno;
    for (auto* h = reinterpret_cast<nlmsghdr*>(buf); NLMSG_OK(h, n); h = NLMSG_NEXT(h, n)) {
      if (h->nlmsg_seq != seq) continue;  // (an answer to an earlier request left unread)
      if (h->nlmsg_type == NLMSG_ERROR) {
        const auto* e = static_cast<const nlmsgerr*>(NLMSG_DATA(h));
        return e->error < 0 ? -e->error : EPROTO;
      }
      if (h->nlmsg_type != SOCK_DIAG_BY_FAMILY || h->nlmsg_len < NLMSG_LENGTH(sizeof(unix_diag_msg))) return EPROTO;
      const auto* m = static_cast<const unix_diag_msg*>(NLMSG_DATA(h));
      int len = int(h->nlmsg_len - NLMSG_LENGTH(sizeof *m));
      for (auto* a = reinterpret_cast<const rtattr*>(m + 1); RTA_OK(a, len); a = RTA_NEXT(a, len)) {
        if (a->rta_type == UNIX_DIAG_PEER && RTA_PAYLOAD(a) >= sizeof *peer) std::memcpy(peer, RTA_DATA(a), sizeof *peer);
        if (a->rta_type == UNIX_DIAG_VFS && RTA_PAYLOAD(a) >= sizeof *vfs)
          std::memcpy(vfs, RTA_DATA(a), sizeof *vfs), *has_vfs = true;
        if (a->rta_type == UNIX_DIAG_SHUTDOWN && shutdown && RTA_PAYLOAD(a) >= 1) std::memcpy(shutdown, RTA_DATA(a), 1);
      }
      return 0;
    }
  }
}

// The peer of an AF_UNIX socket, as getpeername gives it (the name the peer
// bound; '@' for an abstract name's NULs; SO_PEERNAME would refuse a buffer
// longer than the name): 0, ENOTCONN, or another errno.
int unix_peer_name(int sock, Endpoint* out) {
  sockaddr_un a{};
  socklen_t l = sizeof a;
  if (getpeername(sock, reinterpret_cast<sockaddr*>(&a), &l) < 0) return errno;
  *out = decode_sockaddr(&a, l);
  out->family = AF_UNIX;
  return 0;
}

// Whether unix_diag answers on nl, asked for the peer of one end of a
// socketpair of vigil's own: 0, or an errno (ENOENT: no unix_diag).
int probe_diag(int nl, uint32_t seq) {
  int pair[2] = {-1, -1};
  if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, pair) < 0) return errno;
  struct stat st {};
  uint32_t peer = 0;
  unix_diag_vfs vfs{};
  bool has_vfs = false;
  int e = fstat(pair[0], &st) < 0 ? errno : diag_query(nl, seq, uint32_t(st.st_ino), UDIAG_SHOW_PEER, &peer, &vfs, &has_vfs);
  if (!e && peer == 0) e = EPROTO;
  close(pair[0]), close(pair[1]);
  return e;
}

// A NETLINK_SOCK_DIAG socket on which unix_diag answers (probe_diag): the
// fd, or -errno.
int open_diag(uint32_t seq) {
  const int nl = socket(AF_NETLINK, SOCK_DGRAM | SOCK_CLOEXEC, NETLINK_SOCK_DIAG);
  if (nl < 0) return -errno;
  if (const int e = probe_diag(nl, seq)) {
    close(nl);
    return -e;
  }
  return nl;
}

}  // namespace

bool ConnectCheck::unix_diag_answers(std::string* why) {
  const int nl = open_diag(1);
  if (nl < 0) return *why = std::strerror(-nl), false;
  close(nl);
  return true;
}

ConnectCheck::~ConnectCheck() {
  for (Pending& p : pending_) close(p.sock);
  if (diag_ >= 0) close(diag_);
}

int ConnectCheck::peer_file(int sock, uint64_t* dev, uint64_t* ino) {
  if (diag_ == -2) {  // the first AF_UNIX connect checked (a module, if unix_diag is one, may load now: once)
    diag_ = open_diag(++seq_);
    if (diag_ < 0) {
      spdlog::info("connect checks: AF_UNIX connects are not checked after the fact (unix_diag: {})",
                   std::strerror(-diag_));
      diag_ = -1;
    }
  }
  if (diag_ < 0) return EOPNOTSUPP;
  struct stat st {};
  if (fstat(sock, &st) < 0) return errno;
  uint32_t peer = 0;
  unix_diag_vfs vfs{};
  bool has_vfs = false;
  // The socket's own entry first: missing (unix_diag answers vigil's own),
  // the socket is in another network namespace than vigil: not checked.
  uint8_t shut = 0;
  int e = diag_query(diag_, ++seq_, uint32_t(st.st_ino), UDIAG_SHOW_PEER, &peer, &vfs, &has_vfs, &shut);
  if (e == ENOENT) {
    if (std::exchange(other_netns_logged_, true) == false)
      spdlog::info("connect checks: an AF_UNIX socket of another network namespace than vigil's is not checked");
    return EOPNOTSUPP;
  }
  if (e) return e;
  // A peer without an inode: its server closed it (this end is shut down),
  // or has not accepted the connection yet.
  if (peer == 0) return shut ? ENOENT : EINPROGRESS;
  e = diag_query(diag_, ++seq_, peer, UDIAG_SHOW_VFS, &peer, &vfs, &has_vfs);
  if (e) return e;  // (ENOENT: the peer socket is gone)
  if (!has_vfs) return ENOENT;
  // The kernel's dev_t (12-bit major, 20-bit minor) as st_dev encodes it.
  *dev = uint64_t(makedev(vfs.udiag_vfs_dev >> 20, vfs.udiag_vfs_dev & 0xfffff));
  *ino = vfs.udiag_vfs_ino;
  return 0;
}

// Whether the peer of p's socket (truth: its name) is the one judged (or
// the one it had before the call): 1 yes, 0 no, -1 not known yet. By the
// bound file's identity where unix_diag gives it and the judged path was
// resolved; a stream socket's peer has one only once its server accepted the
// connection (looked at again, until final). Else (an abstract name, a peer
// gone or never accepted, a path vigil could not resolve) by the name.
int ConnectCheck::same_unix(const Pending& p, const Endpoint& truth, bool final) {
  uint64_t dev = 0, ino = 0;
  const int e = peer_file(p.sock, &dev, &ino);
  if (e == EOPNOTSUPP) return 1;  // not checked (said once)
  if (e == EINPROGRESS && !final && !p.judged_abstract) return -1;  // (the check moves to the sweep's times: accept_wait)
  // Without the peer's identity (its server closed it already): the name it
  // bound, looked up in vigil's view (a hard link, a relative path or a bind
  // mount at the same path lead to the same file), else compared as a name.
  struct stat bound {};
  const bool bound_known = e != 0 && !truth.addr.empty() && truth.addr[0] == '/' && stat(truth.addr.c_str(), &bound) == 0;
  auto same = [&](const std::string& name, const std::string& raw, uint64_t jdev, uint64_t jino) {
    if (e == 0 && jino) return dev == jdev && ino == (jino & 0xffffffffu);
    if (bound_known && jino && uint64_t(bound.st_dev) == jdev && uint64_t(bound.st_ino) == jino) return true;
    return truth.addr == name || (!raw.empty() && truth.addr == raw);
  };
  return same(p.judged_name, p.judged_raw, p.judged_dev, p.judged_ino) ||
         (p.had_before && same(p.before_name, {}, p.before_dev, p.before_ino));
}

int ConnectCheck::watch(int pidfd, int tid, int tgid, int fd, const probes::DecodeContext::SockaddrCopy& judged,
                        const NetInfo& net) {
  if (pending_.size() >= kMaxHeld) {  // an app looping on connects: the oldest is read now, not left
    check(pending_.front(), true, true);
    pending_.erase(pending_.begin());
    if (std::has_single_bit(++early_))
      spdlog::warn("connect checks: {} held sockets (the limit): {} checks read early so far", kMaxHeld, early_);
  }
  // The tracer's pidfd of the process reaches the fd table of tid if tid shares it (one syscall, no open).
  int sock = -1;
  if (pidfd >= 0 && (tid == tgid || syscall(SYS_kcmp, tgid, tid, KCMP_FILES, 0, 0) == 0)) {
    sock = int(syscall(SYS_pidfd_getfd, pidfd, fd, 0));
    if (sock < 0 && procfs::own_resource(errno)) return errno;
  }
  if (sock < 0) sock = guard::take_fd(tid, tgid, fd);  // the thread's own table (PIDFD_THREAD), or the leader is gone
  if (procfs::own_resource(-sock)) return -sock;
  if (sock < 0) return 0;  // not an fd of the caller (the call fails by itself), or the caller is gone
  Pending p;
  int domain = 0;
  socklen_t dl = sizeof domain;
  if (getsockopt(sock, SOL_SOCKET, SO_DOMAIN, &domain, &dl) == 0 && domain == AF_UNIX) {
    const Endpoint read = judged.len ? decode_sockaddr(judged.bytes, judged.len) : Endpoint{};
    if (read.family != AF_UNIX || read.addr.empty() || diag_ == -1) {  // no name (the kernel's EINVAL), or unchecked
      close(sock);
      return 0;
    }
    constexpr size_t kPath = offsetof(sockaddr_un, sun_path);
    p.unix_sock = true;
    p.judged_abstract = judged.bytes[kPath] == 0;  // (len > kPath: a name was read)
    p.judged_raw = read.addr;
    p.judged_name = judged.ino ? judged.resolved : read.addr;
    p.judged_dev = judged.dev, p.judged_ino = judged.ino;
    Endpoint before;
    if (unix_peer_name(sock, &before) == 0) {  // (a datagram socket connected again, or a stream socket's EISCONN)
      p.had_before = true;
      p.before_name = before.addr;
      if (peer_file(sock, &p.before_dev, &p.before_ino) != 0) p.before_ino = 0;
    }
  } else {
    uint32_t blen = 0;
    const int e = ip_peer(sock, &p.before, &blen);  // (its family, if connected already)
    if (e != 0 && e != ENOTCONN) {  // neither an IP nor an AF_UNIX socket: not checked
      close(sock);
      return 0;
    }
    p.had_before = e == 0;
  }
  p.tid = tid;
  p.tgid = tgid;
  p.sock = sock;
  p.judged_len = std::min<uint32_t>(judged.len, sizeof p.judged);
  std::memcpy(&p.judged, judged.bytes, p.judged_len);
  p.net = net;
  p.since_ns = now_ns();
  pending_.push_back(std::move(p));
  return 0;
}

bool ConnectCheck::check(Pending& p, bool last, bool final) {
  if (p.unix_sock) {
    Endpoint truth;
    const int e = unix_peer_name(p.sock, &truth);
    if (e == ENOTCONN && !last) return false;  // not run yet, or failed: looked at again later
    if (e == 0) {
      const int same = same_unix(p, truth, final);
      if (same < 0) return !(p.accept_wait = true);  // not accepted yet: looked at again at the sweep's times
      if (same == 0) report_(p, truth);
    }
    if (e == ENOTCONN) ++unconnected_;
    close(p.sock);
    return true;
  }
  sockaddr_storage truth{};
  uint32_t tlen = 0;
  const int e = ip_peer(p.sock, &truth, &tlen);
  if (e == ENOTCONN && !last) return false;  // not run yet, or failed: looked at again later
  if (e == 0) {
    const Canon t = canon(truth, tlen), j = canon(p.judged, p.judged_len);
    bool same = t == j || (p.had_before && t == canon(p.before, sizeof p.before));
    if (!same && j.ok && j.any() && t.port == j.port) {
      // The kernel connects the any address to the socket's own local address (or the loopback).
      sockaddr_storage local{};
      socklen_t ll = sizeof local;
      same = t.loopback() ||
             (getsockname(p.sock, reinterpret_cast<sockaddr*>(&local), &ll) == 0 && t.same_addr(canon(local, ll)));
    }
    if (!same) report_(p, decode_sockaddr(&truth, tlen));
  } else if (e == ENOTCONN) {
    ++unconnected_;
    spdlog::debug("connect check of {} (fd {}): the socket was not seen connected ({}; {} so far)", p.tid, p.net.fd,
                  std::strerror(e), unconnected_);
  }
  close(p.sock);
  return true;
}

void ConnectCheck::on_notify(int tid, int tgid) {
  // (A connection waiting for its server's accept is not looked at on every
  // notification: at the sweep's times.)
  std::erase_if(pending_, [&](Pending& p) { return p.tgid == tgid && !p.accept_wait && check(p, p.tid == tid, false); });
}

void ConnectCheck::gone(int tgid) {
  std::erase_if(pending_, [&](Pending& p) { return p.tgid == tgid && check(p, true, true); });
}

int ConnectCheck::sweep() {
  if (pending_.empty()) return -1;
  const int64_t now = now_ns();
  int64_t next = INT64_MAX;
  std::erase_if(pending_, [&](Pending& p) {
    if (p.next_ns == 0) p.next_ns = p.since_ns + kFirstNs;
    if (now >= p.next_ns) {
      const bool over = now - p.since_ns >= kGiveUpNs;
      if (check(p, over, over)) return true;
      p.next_ns = std::min(now + std::min(2 * (now - p.since_ns), kMaxStepNs), p.since_ns + kGiveUpNs);
    }
    next = std::min(next, p.next_ns);
    return false;
  });
  return next == INT64_MAX ? -1 : int(std::max<int64_t>(1, (next - now + 999'999) / 1'000'000));
}

}  // namespace vigil
