// Network and DNS decoders (OCSF 4001, 4003) and the DNS window
// (docs/design-probes.md). Rows: probes/probes.cpp.
#include <fcntl.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <sys/un.h>

#include <algorithm>
#include <cstddef>
#include <cstring>
#include <vector>

#include "probes/decode_util.hpp"
#include "probes/dns.hpp"
#include "probes/resolve.hpp"
#include "probes/sockaddr.hpp"

namespace vigil::probes {
namespace {

constexpr size_t kDnsMax = 4096;  // bytes of a DNS message read from the tracee

NetInfo& net_of(Event* ev) {
  if (!ev->net) ev->net.emplace();
  return *ev->net;
}

Endpoint read_sockaddr(const TraceeMemory& mem, uint64_t addr, uint64_t len) {
  sockaddr_storage ss{};
  len = std::min<uint64_t>(len, sizeof ss);
  if (addr == 0 || len == 0 || !mem.read(addr, &ss, size_t(len))) return {};
  return decode_sockaddr(&ss, size_t(len));
}

// Socket facts from the fd table: domain/type/protocol and local/peer.
void fill_from_fd(const DecodeContext& ctx, int tid, int fd, NetInfo& n) {
  n.fd = fd;
  if (const FdInfo* i = fd_info(ctx, tid, fd); i && i->kind == FdKind::Socket) {
    n.domain = i->domain, n.type = i->type, n.protocol = i->protocol;
    n.local = i->local;
    if (!n.remote.family) n.remote = i->peer;
  }
}

bool is_dns_endpoint(const Endpoint& e) { return (e.family == AF_INET || e.family == AF_INET6) && e.port == 53; }

void annotate(const DecodeContext& ctx, NetInfo& n) {
  if (ctx.dns != nullptr && !n.remote.addr.empty())
    if (auto name = ctx.dns->name_for(n.remote.addr)) n.remote_name = *name;
}

// The k-th iovec of an array in tracee memory, in the caller's ABI's layout.
bool read_iovec(const TraceeMemory& mem, uint64_t iov_addr, uint64_t k, bool compat, IoVec* v) {
  unsigned char raw[16];
  if (!mem.read(iov_addr + k * iovec_size(compat), raw, iovec_size(compat))) return false;
  *v = parse_iovec(raw, compat);
  return true;
}

// Gathers up to limit bytes from an iovec array in tracee memory.
std::vector<uint8_t> gather(const TraceeMemory& mem, uint64_t iov_addr, uint64_t iovcnt, size_t limit,
                            bool compat = false) {
  std::vector<uint8_t> out;
  for (uint64_t k = 0; k < std::min<uint64_t>(iovcnt, 16) && out.size() < limit; ++k) {
    IoVec v;
    if (!read_iovec(mem, iov_addr, k, compat, &v)) break;
    size_t n = size_t(std::min<uint64_t>(v.len, limit - out.size()));
    size_t at = out.size();
    out.resize(at + n);
    if (n && !mem.read(v.base, out.data() + at, n)) {
      out.resize(at);
      break;
    }
  }
  return out;
}

// A DNS message -> ev as a DNS event; a response also feeds the DnsMap.
bool dns_event(const uint8_t* p, size_t n, DecodeContext& ctx, Event* ev, bool tcp) {
  // Over TCP a message has a 2-byte length first, unless the app reads the
  // length and the message separately (glibc does): try both.
  auto m = tcp ? dns::parse_tcp(p, n) : std::nullopt;
  if (!m) m = dns::parse(p, n);
  if (!m || m->questions.empty()) return false;
  ev->cls = EventClass::Dns;
  DnsInfo d;
  d.qname = m->questions[0].name;
  d.qtype = m->questions[0].type;
  if (m->response) {
    d.answers = m->addresses();
    if (ctx.dns != nullptr)
      for (const auto& ip : d.answers) ctx.dns->add(d.qname, ip);
    add_arg(ev, "rcode", std::to_string(m->rcode));
  }
  ev->dns = std::move(d);
  return true;
}

// One msghdr: destination (its own or the socket's peer) and, if that is
// port 53, the DNS payload into ev.
constexpr size_t kPeekMax = 512;  // bytes of a non-DNS message looked at (protocol_event)

// A mining-pool (stratum) JSON-RPC request: {"id":1,"method":"mining.subscribe",...}
// or the Monero dialect {"method":"login","params":{"login":..,"pass":..,"agent":..}}.
bool is_stratum(std::string_view s) {
  const size_t b = s.find_first_not_of(" \t\r\n");
  if (b == std::string_view::npos || s[b] != '{' || s.find("\"method\"") == std::string_view::npos) return false;
  return s.find("\"mining.") != std::string_view::npos ||
         (s.find("\"login\"") != std::string_view::npos && s.find("\"pass\"") != std::string_view::npos);
}

// A non-DNS message on an IP socket is an event only when its first bytes
// are a protocol a rule names (evt.arg.protocol): today stratum.
bool protocol_event(const std::vector<uint8_t>& buf, DecodeContext& ctx, Event* ev) {
  std::string_view s(reinterpret_cast<const char*>(buf.data()), buf.size());
  if (!is_stratum(s)) return false;
  add_arg(ev, "protocol", "stratum");
  annotate(ctx, net_of(ev));
  return true;
}

bool is_loopback(const Endpoint& e) {
  return (e.family == AF_INET && e.addr.starts_with("127.")) ||
         (e.family == AF_INET6 && (e.addr == "::1" || e.addr.starts_with("::ffff:127.")));
}

bool is_ip(const NetInfo& n) {
  const int f = n.remote.family ? n.remote.family : n.domain;
  return f == AF_INET || f == AF_INET6;
}

// ctx.performed: a message's destination read once into the copy vigil
// sends to (ctx.sends); an unreadable one is the built-in alert.
Endpoint copy_dest(const TraceeMemory& mem, uint64_t addr, uint64_t len, DecodeContext& ctx, Event* ev) {
  DecodeContext::SendDest d;
  d.given = addr != 0;
  d.addr.len = uint32_t(std::min<uint64_t>(len, UINT32_MAX));
  Endpoint ep;
  if (d.given && len && len <= sizeof d.addr.bytes) {
    if (mem.read(addr, d.addr.bytes, size_t(len))) ep = decode_sockaddr(d.addr.bytes, size_t(len));
    else if (!ev->arg("unreadable")) add_arg(ev, "unreadable", "addr");
  }
  ctx.sends.push_back(d);
  return ep;
}

// ctx.performed: a message's whole data read once into its SendDest (the
// last one pushed), from an iovec array (iov_addr) or a buffer (len bytes at buf).
void capture(const TraceeMemory& mem, uint64_t iov_addr, uint64_t iovcnt, uint64_t buf, uint64_t len,
             DecodeContext::SendDest& d, const DecodeContext& ctx, bool compat = false) {
  size_t used = 0;
  for (const auto& x : ctx.sends) used += x.data.size();
  const size_t limit = std::min(kSendMax, kSendCallMax - std::min(kSendCallMax, used));
  if (limit == 0) return void(d.unsent = true);
  std::vector<IoVec> v;
  if (iov_addr == 0 && iovcnt == 0) {
    v.push_back({buf, len});
  } else if (iovcnt > 1024) {  // UIO_MAXIOV
    return void(d.data_err = EMSGSIZE);
  } else {
    std::vector<unsigned char> raw(iovcnt * iovec_size(compat));  // (one read for the array)
    if (iovcnt && !mem.read(iov_addr, raw.data(), raw.size())) return void(d.data_err = EFAULT);
    for (uint64_t k = 0; k < iovcnt; ++k) v.push_back(parse_iovec(raw.data() + k * iovec_size(compat), compat));
  }
  for (const IoVec& e : v) {
    if (int64_t(e.len) < 0 || (compat && int32_t(e.len) < 0)) return void(d.data_err = EINVAL);
    const size_t n = size_t(std::min<uint64_t>(e.len, limit - d.data.size()));
    const size_t at = d.data.size();
    d.data.resize(at + n);
    if (n && !mem.read(e.base, d.data.data() + at, n)) return void((d.data.clear(), d.data_err = EFAULT));
    if (n < e.len) return void(d.capped = true);
  }
}
// The first limit bytes a decoder looks at: the captured data (performed:
// the verdict sees what vigil sends), else read from the caller's memory.
std::vector<uint8_t> head(const TraceeMemory& mem, const DecodeContext& ctx, uint64_t iov, uint64_t iovcnt,
                          uint64_t buf, uint64_t len, size_t limit, bool compat = false) {
  if (ctx.performed && !ctx.sends.empty()) {
    const auto& d = ctx.sends.back().data;
    return std::vector<uint8_t>(d.begin(), d.begin() + long(std::min(limit, d.size())));
  }
  if (iov || iovcnt) return gather(mem, iov, iovcnt, limit, compat);
  std::vector<uint8_t> out(std::min<uint64_t>(len, limit));
  if (!mem.read(buf, out.data(), out.size())) out.clear();
  return out;
}

// ctx.performed: a send that is no event of its own is judged all the same.
void judged_anyway(DecodeContext& ctx) {
  if (ctx.performed && ctx.drop) ctx.drop = false, ctx.quiet = true;
}

bool dns_from_msghdr(const MsgHdr& h, bool compat, const TraceeMemory& mem, DecodeContext& ctx, int fd, Event* ev) {
  NetInfo& n = net_of(ev);
  if (h.name) n.remote = ctx.performed ? copy_dest(mem, h.name, h.namelen, ctx, ev) : read_sockaddr(mem, h.name, h.namelen);
  else if (ctx.performed) ctx.sends.push_back({});
  if (ctx.performed) capture(mem, h.iov, h.iovlen, 0, 0, ctx.sends.back(), ctx, compat);
  fill_from_fd(ctx, mem.tid(), fd, n);
  if (!is_dns_endpoint(n.remote)) return false;
  auto buf = head(mem, ctx, h.iov, h.iovlen, 0, 0, kDnsMax, compat);
  return dns_event(buf.data(), buf.size(), ctx, ev, n.type == SOCK_STREAM);
}

}  // namespace

bool read_msghdr(const TraceeMemory& mem, uint64_t addr, bool compat, MsgHdr* h) {
  unsigned char raw[64];
  if (!mem.read(addr, raw, msghdr_size(compat))) return false;
  *h = parse_msghdr(raw, compat);
  return true;
}

namespace dec {

// socket(domain, type, protocol): only raw and packet sockets reach here (BPF).
void socket(const SyscallArgs& a, const TraceeMemory&, DecodeContext&, Event* ev) {
  NetInfo& n = net_of(ev);
  n.domain = arg_int(a, 0);
  n.type = arg_int(a, 1) & 0xf;
  n.protocol = arg_int(a, 2);
  if (n.domain == AF_PACKET || n.type == SOCK_RAW || n.type == SOCK_PACKET) add_arg(ev, "raw", "true");
}

// connect(fd, addr, len) / bind(fd, addr, len)
void sockaddr_op(const SyscallArgs& a, const TraceeMemory& mem, DecodeContext& ctx, Event* ev) {
  NetInfo& n = net_of(ev);
  Endpoint ep;
  if (ev->type == "connect" && a.args[1] && a.args[2] && a.args[2] <= sizeof ctx.sockaddr.bytes) {
    // Read once into the copy the tracer may connect with (docs/design.md,
    // "Connect emulation"): the bytes judged are the bytes connected to.
    if (mem.read(a.args[1], ctx.sockaddr.bytes, size_t(a.args[2]))) {
      ctx.sockaddr.len = uint32_t(a.args[2]);
      ep = decode_sockaddr(ctx.sockaddr.bytes, ctx.sockaddr.len);
      // A socket path vigil does not connect itself (performed: resolved by
      // sensor/netcall.cpp): resolved as the caller's, so that a symlink,
      // /proc/self/cwd/... or a relative path names the socket's own path
      // (fd.name; evt.arg.raw_addr as called), and its identity is checked
      // against the socket the kernel connects (sensor/connect_check.hpp).
      constexpr size_t kPath = offsetof(sockaddr_un, sun_path);  // (an abstract name starts with a NUL)
      if (!ctx.performed && ep.family == AF_UNIX && !ep.addr.empty() && ctx.sockaddr.len > kPath &&
          ctx.sockaddr.bytes[kPath] != 0) {
        struct stat st {};
        std::string resolved;
        if (resolve_path(mem, ctx, AT_FDCWD, ep.addr, kFollowLast, ev, &resolved, false, &st, false)) {
          ctx.sockaddr.resolved = resolved;
          ctx.sockaddr.dev = uint64_t(st.st_dev), ctx.sockaddr.ino = uint64_t(st.st_ino);
          if (resolved != ep.addr) add_arg(ev, "raw_addr", ep.addr), ep.addr = resolved;
        }
      }
    } else {
      add_arg(ev, "unreadable", "addr");  // not a silent continue: the judge denies it in prevent mode
    }
  } else {
    ep = read_sockaddr(mem, a.args[1], a.args[2]);
  }
  if (ev->type == "bind") n.local = ep;
  else n.remote = ep;
  const int fd = arg_int(a, 0);
  fill_from_fd(ctx, mem.tid(), fd, n);
  if (ev->type == "bind") n.local = ep;  // the fd does not have it yet
  if (!n.domain) n.domain = ep.family;
  if (ev->type == "connect") {
    annotate(ctx, n);
    if (is_dns_endpoint(ep)) ctx.dns_fd = fd;
    else if (n.type == SOCK_STREAM && is_ip(n) && !is_loopback(ep)) ctx.peek_fd = fd;
  }
}

// listen(fd, backlog)
void listen(const SyscallArgs& a, const TraceeMemory& mem, DecodeContext& ctx, Event* ev) {
  NetInfo& n = net_of(ev);
  fill_from_fd(ctx, mem.tid(), arg_int(a, 0), n);
  add_arg(ev, "backlog", std::to_string(arg_int(a, 1)));
}

// accept(fd, addr, addrlen) / accept4(fd, addr, addrlen, flags): the peer is
// known at exit only.
void accept(const SyscallArgs& a, const TraceeMemory& mem, DecodeContext& ctx, Event* ev) {
  NetInfo& n = net_of(ev);
  fill_from_fd(ctx, mem.tid(), arg_int(a, 0), n);
  n.remote = {};
}

void accept_done(int64_t ret, const SyscallArgs& a, const TraceeMemory& mem, DecodeContext& ctx, Event* ev) {
  if (ret < 0) return void(ctx.drop = true);  // failed (EAGAIN on a non-blocking listener is common): no event
  NetInfo& n = net_of(ev);
  n.fd = int(ev->res);
  uint32_t len = 0;
  if (a.args[1] && a.args[2] && mem.read(a.args[2], &len, sizeof len)) n.remote = read_sockaddr(mem, a.args[1], len);
  if (!n.remote.family)
    if (const FdInfo* i = fd_info(ctx, mem.tid(), n.fd)) n.remote = i->peer;
  ctx.accepted_conn = is_ip(n);
}

// sendto(fd, buf, len, flags, addr, addrlen): addr != NULL (BPF). DNS
// queries are events, and messages of a protocol a rule names (stratum).
// With ctx.performed (a rule can block it) every one is judged, the
// destination read once (ctx.sends).
void sendto(const SyscallArgs& a, const TraceeMemory& mem, DecodeContext& ctx, Event* ev) {
  NetInfo& n = net_of(ev);
  n.remote = ctx.performed ? copy_dest(mem, a.args[4], a.args[5], ctx, ev) : read_sockaddr(mem, a.args[4], a.args[5]);
  if (ctx.performed) capture(mem, 0, 0, a.args[1], a.args[2], ctx.sends.back(), ctx);
  const int fd = arg_int(a, 0);
  if (!is_dns_endpoint(n.remote)) {
    fill_from_fd(ctx, mem.tid(), fd, n);
    const std::vector<uint8_t> buf = head(mem, ctx, 0, 0, a.args[1], a.args[2], kPeekMax);
    ctx.drop = !is_ip(n) || buf.empty() || !protocol_event(buf, ctx, ev);
    return judged_anyway(ctx);
  }
  fill_from_fd(ctx, mem.tid(), fd, n);
  const std::vector<uint8_t> buf = head(mem, ctx, 0, 0, a.args[1], a.args[2], kDnsMax);
  if (buf.empty() || !dns_event(buf.data(), buf.size(), ctx, ev, n.type == SOCK_STREAM))
    return void((ctx.drop = true, judged_anyway(ctx)));
  ctx.dns_fd = fd;
}

// sendmsg(fd, msghdr, flags)
// (i386: its own layout of msghdr and iovec, read as such.)
void sendmsg(const SyscallArgs& a, const TraceeMemory& mem, DecodeContext& ctx, Event* ev) {
  MsgHdr h;
  ctx.drop = true;
  const bool compat = is_i386(a);
  if (!read_msghdr(mem, a.args[1], compat, &h)) {
    if (ctx.performed) add_arg(ev, "unreadable", "msghdr"), ctx.drop = false;
    return;
  }
  const int fd = arg_int(a, 0);
  if (dns_from_msghdr(h, compat, mem, ctx, fd, ev)) return void((ctx.drop = false, ctx.dns_fd = fd));
  if (is_ip(*ev->net) && !is_dns_endpoint(ev->net->remote))
    ctx.drop = !protocol_event(head(mem, ctx, h.iov, h.iovlen, 0, 0, kPeekMax, compat), ctx, ev);
  judged_anyway(ctx);
}

// sendmmsg(fd, mmsghdr[], vlen, flags): glibc sends the A and AAAA queries
// together; the event names the first, evt.arg.qtypes lists all.
// With ctx.performed, every message's destination is read once
// (ctx.sends, up to the kernel's 1024 messages); the event names the first
// message's (the tracer judges each other destination as an event of its own).
void sendmmsg(const SyscallArgs& a, const TraceeMemory& mem, DecodeContext& ctx, Event* ev) {
  ctx.drop = true;
  const bool compat = is_i386(a);
  const int fd = arg_int(a, 0);
  std::string qtypes;
  const uint64_t n = std::min<uint64_t>(uint32_t(a.args[2]), ctx.performed ? 1024 : 8);  // UIO_MAXIOV
  for (uint64_t k = 0; k < n; ++k) {
    MsgHdr h;
    if (!read_msghdr(mem, a.args[1] + k * mmsghdr_size(compat), compat, &h)) {
      if (ctx.performed && !ev->arg("unreadable")) add_arg(ev, "unreadable", "mmsghdr");
      break;
    }
    Event one = *ev;
    const bool dns = dns_from_msghdr(h, compat, mem, ctx, fd, &one);
    if (const std::string* u = one.arg("unreadable"); u && !ev->arg("unreadable")) add_arg(ev, "unreadable", *u);
    if (ctx.performed && k == 0) ev->net = one.net;  // the first destination names the event
    if (!dns) continue;
    qtypes += (qtypes.empty() ? "" : ",") + dns::type_name(one.dns->qtype);
    if (ctx.drop) *ev = std::move(one);
    ctx.drop = false;
  }
  if (!ctx.drop) {
    add_arg(ev, "qtypes", qtypes);
    ctx.dns_fd = fd;
  }
  judged_anyway(ctx);
}

}  // namespace dec

bool dns_window_step(const SyscallArgs& a, bool at_exit, int64_t rval, const TraceeMemory& mem, int fd,
                     DecodeContext& ctx, Event* ev, bool* done) {
  *done = false;
  const bool compat = is_i386(a);  // (numbered as x86_64's: window_view)
  if (arg_int(a, 0) != fd) return false;
  const FdInfo* i = fd_info(ctx, mem.tid(), fd);
  const bool tcp = i != nullptr && i->type == SOCK_STREAM;
  if (i != nullptr) fill_from_fd(ctx, mem.tid(), fd, net_of(ev));
  switch (a.nr) {
    case SYS_close:
      *done = true;
      return false;
    case SYS_write:
    case SYS_sendto:  // send(): sendto without an address (addressed ones are table rows)
      if (at_exit || (a.nr == SYS_sendto && a.args[4] != 0)) return false;
      {
        std::vector<uint8_t> buf(std::min<uint64_t>(a.args[2], kDnsMax));
        return mem.read(a.args[1], buf.data(), buf.size()) && dns_event(buf.data(), buf.size(), ctx, ev, tcp);
      }
    case SYS_writev:  // glibc over TCP: length and message in two iovecs
      if (at_exit) return false;
      {
        auto buf = gather(mem, a.args[1], a.args[2], kDnsMax, compat);
        return dns_event(buf.data(), buf.size(), ctx, ev, tcp);
      }
    case SYS_read:
    case SYS_recvfrom:
      if (!at_exit || rval <= 0) return false;
      {
        std::vector<uint8_t> buf(std::min<uint64_t>(uint64_t(rval), kDnsMax));
        return mem.read(a.args[1], buf.data(), buf.size()) && dns_event(buf.data(), buf.size(), ctx, ev, tcp);
      }
    case SYS_recvmsg:
      if (!at_exit || rval <= 0) return false;
      {
        MsgHdr h;
        if (!read_msghdr(mem, a.args[1], compat, &h)) return false;
        auto buf = gather(mem, h.iov, h.iovlen, std::min<size_t>(size_t(rval), kDnsMax), compat);
        return dns_event(buf.data(), buf.size(), ctx, ev, tcp);
      }
    default:
      return false;
  }
}

bool peek_window_step(const SyscallArgs& a, bool at_exit, const TraceeMemory& mem, int fd, DecodeContext& ctx,
                      Event* ev, bool* done) {
  *done = false;
  if (at_exit) return false;
  if (a.nr == kUnreadableCall) {  // an i386 socketcall whose arguments vigil cannot read: maybe the message
    *done = true;
    fill_from_fd(ctx, mem.tid(), fd, net_of(ev));
    add_arg(ev, "unreadable", "socketcall arguments");  // the built-in alert
    return true;
  }
  if (arg_int(a, 0) != fd) return false;
  std::vector<uint8_t> buf;
  switch (a.nr) {
    case SYS_close:
    case SYS_sendmsg:  // a row of its own
    case SYS_sendmmsg:
      *done = true;
      return false;
    case SYS_sendto:
      if (a.args[4] != 0) return *done = true, false;  // addressed: a row of its own
      [[fallthrough]];
    case SYS_write:
      buf.resize(std::min<uint64_t>(a.args[2], kPeekMax));
      if (!mem.read(a.args[1], buf.data(), buf.size())) {
        *done = true;
        fill_from_fd(ctx, mem.tid(), fd, net_of(ev));
        add_arg(ev, "unreadable", "buf");  // the built-in alert (docs/threat-model.md)
        return true;
      }
      break;
    case SYS_writev:
      buf = gather(mem, a.args[1], a.args[2], kPeekMax, is_i386(a));
      break;
    default:
      return false;  // connecting (poll, epoll, getsockopt), or another fd
  }
  *done = true;  // the socket's first message: matched or not, the window closes
  NetInfo& n = net_of(ev);
  fill_from_fd(ctx, mem.tid(), fd, n);
  return is_ip(n) && protocol_event(buf, ctx, ev);
}

}  // namespace vigil::probes
