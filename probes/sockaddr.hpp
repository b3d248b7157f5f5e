// Socket address decoding: the raw sockaddr bytes a traced process passed to
// connect/bind/sendto (or got from accept) -> Endpoint (events/events.hpp).
#pragma once

#include <cstddef>
#include <string>
#include <string_view>

#include "events/events.hpp"

namespace vigil {

// Decodes len bytes of a struct sockaddr_*. Never reads past len.
//   AF_INET/AF_INET6: addr = textual IP (IPv4-mapped IPv6 kept as "::ffff:a.b.c.d"), port.
//   AF_UNIX: addr = path; abstract names as "@name" (NULs inside shown as '@',
//            like ss(8)); unnamed sockets as "".
//   AF_NETLINK: addr = "pid=N groups=0xG", port = 0.
//   AF_PACKET: addr = "ifindex=N", port = ethertype (host order).
// Unknown or too-short input gives family (if readable) and empty addr.
Endpoint decode_sockaddr(const void* data, size_t len);

// "inet", "inet6", "unix", "netlink", "packet", or the number as text.
std::string family_name(int family);

// An IPv4-mapped IPv6 address ("::ffff:1.2.3.4") as plain IPv4; else unchanged.
std::string unmap_v4(std::string_view ip);

}  // namespace vigil
