#include "probes/sockaddr.hpp"

#include <arpa/inet.h>
#include <linux/if_packet.h>
#include <linux/netlink.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <sys/un.h>

#include <cstring>

#include <fmt/format.h>

namespace vigil {
namespace {

// AF_INET / AF_INET6: textual address and host-order port.
template <class Sa, class Addr>
void ip_endpoint(const void* data, size_t len, int family, Addr Sa::*addr, in_port_t Sa::*port, Endpoint& ep) {
  Sa sa;
  if (len < sizeof sa) return;
  std::memcpy(&sa, data, sizeof sa);
  char buf[INET6_ADDRSTRLEN];
  ep.addr = inet_ntop(family, &(sa.*addr), buf, sizeof buf);
  ep.port = ntohs(sa.*port);
}

}  // namespace

Endpoint decode_sockaddr(const void* data, size_t len) {
  Endpoint ep;
  if (data == nullptr || len < sizeof(sa_family_t)) return ep;
  sa_family_t fam;
  std::memcpy(&fam, data, sizeof fam);
  ep.family = fam;
  switch (fam) {
    case AF_INET:
      ip_endpoint(data, len, AF_INET, &sockaddr_in::sin_addr, &sockaddr_in::sin_port, ep);
      break;
    case AF_INET6:
      ip_endpoint(data, len, AF_INET6, &sockaddr_in6::sin6_addr, &sockaddr_in6::sin6_port, ep);
      break;
    case AF_UNIX: {
      const char* p = static_cast<const char*>(data) + offsetof(sockaddr_un, sun_path);
      size_t n = std::min(len, sizeof(sockaddr_un)) - offsetof(sockaddr_un, sun_path);
      if (n == 0) break;  // unnamed
      if (p[0] == '\0') {  // abstract: exactly n bytes, NULs included
        ep.addr.assign(p, n);
        for (auto& c : ep.addr)
          if (c == '\0') c = '@';
      } else {
        ep.addr.assign(p, strnlen(p, n));
      }
      break;
    }
    case AF_NETLINK: {
      sockaddr_nl nl;
      if (len < sizeof nl) break;
      std::memcpy(&nl, data, sizeof nl);
      ep.addr = fmt::format("pid={} groups={:#x}", nl.nl_pid, nl.nl_groups);
      break;
    }
    case AF_PACKET: {
      sockaddr_ll ll;
      if (len < offsetof(sockaddr_ll, sll_hatype)) break;
      std::memset(&ll, 0, sizeof ll);
      std::memcpy(&ll, data, std::min(len, sizeof ll));
      ep.addr = fmt::format("ifindex={}", ll.sll_ifindex);
      ep.port = ntohs(ll.sll_protocol);
      break;
    }
    default:
      break;
  }
  return ep;
}

std::string family_name(int family) {
  switch (family) {
    case AF_INET: return "inet";
    case AF_INET6: return "inet6";
    case AF_UNIX: return "unix";
    case AF_NETLINK: return "netlink";
    case AF_PACKET: return "packet";
    default: return std::to_string(family);
  }
}

std::string unmap_v4(std::string_view ip) {
  constexpr std::string_view prefix = "::ffff:";
  if (ip.size() > prefix.size() && ip.substr(0, prefix.size()) == prefix &&
      ip.find('.') != std::string_view::npos)
    return std::string(ip.substr(prefix.size()));
  return std::string(ip);
}

MsgHdr parse_msghdr(const void* raw, bool compat) {
  MsgHdr h;
  if (compat) {
    uint32_t f[6];  // name, namelen, iov, iovlen, control, controllen (then flags)
    std::memcpy(f, raw, sizeof f);
    h = {f[0], f[1], f[2], f[3], f[4], f[5]};
  } else {
    msghdr m;
    std::memcpy(&m, raw, sizeof m);
    h = {uint64_t(reinterpret_cast<uintptr_t>(m.msg_name)), m.msg_namelen,
         uint64_t(reinterpret_cast<uintptr_t>(m.msg_iov)), m.msg_iovlen,
         uint64_t(reinterpret_cast<uintptr_t>(m.msg_control)), m.msg_controllen};
  }
  return h;
}

IoVec parse_iovec(const void* raw, bool compat) {
  if (compat) {
    uint32_t f[2];
    std::memcpy(f, raw, sizeof f);
    return {f[0], f[1]};
  }
  iovec v;
  std::memcpy(&v, raw, sizeof v);
  return {uint64_t(reinterpret_cast<uintptr_t>(v.iov_base)), v.iov_len};
}

bool native_control(const void* raw, size_t len, std::vector<char>* out) {
  struct CompatCmsg {
    uint32_t len;
    int32_t level, type;
  };
  auto* p = static_cast<const char*>(raw);
  out->clear();
  for (size_t at = 0; at + sizeof(CompatCmsg) <= len;) {
    CompatCmsg c;
    std::memcpy(&c, p + at, sizeof c);
    if (c.len < sizeof c || c.len > len - at) return false;
    const size_t data = c.len - sizeof c;
    const size_t o = out->size();
    out->resize(o + CMSG_SPACE(data));
    cmsghdr h{};
    h.cmsg_len = CMSG_LEN(data);
    h.cmsg_level = c.level;
    h.cmsg_type = c.type;
    std::memcpy(out->data() + o, &h, sizeof h);
    std::memcpy(out->data() + o + CMSG_LEN(0), p + at + sizeof c, data);
    at += (size_t(c.len) + 3) & ~size_t(3);  // CMSG_COMPAT_ALIGN
  }
  return !out->empty();  // (no header at all: EINVAL too)
}

}  // namespace vigil
