// The check of connects let through with CONTINUE: see sensor/connect_check.hpp.
#include "sensor/connect_check.hpp"

#include <arpa/inet.h>
#include <linux/kcmp.h>
#include <netinet/in.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <algorithm>
#include <bit>
#include <cerrno>
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

}  // namespace

ConnectCheck::~ConnectCheck() {
  for (Pending& p : pending_) close(p.sock);
}

int ConnectCheck::watch(int pidfd, int tid, int tgid, int fd, const probes::DecodeContext::SockaddrCopy& judged,
                        const NetInfo& net) {
  if (pending_.size() >= kMaxHeld) {  // an app looping on connects: the oldest is read now, not left
    check(pending_.front(), true);
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
  uint32_t blen = 0;
  const int e = ip_peer(sock, &p.before, &blen);  // (its family, if connected already)
  if (e != 0 && e != ENOTCONN) {  // not an IP socket: not checked
    close(sock);
    return 0;
  }
  p.had_before = e == 0;
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

bool ConnectCheck::check(Pending& p, bool last) {
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
  std::erase_if(pending_, [&](Pending& p) { return p.tgid == tgid && check(p, p.tid == tid); });
}

void ConnectCheck::gone(int tgid) {
  std::erase_if(pending_, [&](Pending& p) { return p.tgid == tgid && check(p, true); });
}

int ConnectCheck::sweep() {
  if (pending_.empty()) return -1;
  const int64_t now = now_ns();
  int64_t next = INT64_MAX;
  std::erase_if(pending_, [&](Pending& p) {
    if (p.next_ns == 0) p.next_ns = p.since_ns + kFirstNs;
    if (now >= p.next_ns) {
      if (check(p, now - p.since_ns >= kGiveUpNs)) return true;
      p.next_ns = std::min(now + std::min(2 * (now - p.since_ns), kMaxStepNs), p.since_ns + kGiveUpNs);
    }
    next = std::min(next, p.next_ns);
    return false;
  });
  return next == INT64_MAX ? -1 : int(std::max<int64_t>(1, (next - now + 999'999) / 1'000'000));
}

}  // namespace vigil
