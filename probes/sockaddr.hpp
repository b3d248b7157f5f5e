// Socket address decoding: the raw sockaddr bytes a traced process passed to
// connect/bind/sendto (or got from accept) -> Endpoint (events/events.hpp).
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

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

// struct msghdr, mmsghdr and iovec of a traced call, as its ABI lays them
// out: 64-bit (x86_64, aarch64) or i386 (int $0x80: 32-bit pointers and
// lengths; `compat`). Parsed from raw bytes read from the tracee, widened.
struct MsgHdr {
  uint64_t name = 0, namelen = 0, iov = 0, iovlen = 0, control = 0, controllen = 0;
};
constexpr size_t msghdr_size(bool compat) { return compat ? 28 : 56; }
constexpr size_t mmsghdr_size(bool compat) { return compat ? 32 : 64; }  // msghdr, msg_len (+ padding)
constexpr size_t iovec_size(bool compat) { return compat ? 8 : 16; }
MsgHdr parse_msghdr(const void* raw, bool compat);  // raw: msghdr_size(compat) bytes
struct IoVec {
  uint64_t base = 0, len = 0;
};
IoVec parse_iovec(const void* raw, bool compat);  // raw: iovec_size(compat) bytes

// i386 ancillary data (cmsghdr with a 32-bit length, 4-byte alignment) ->
// the native layout, as the kernel converts it (net/compat.c); false: a
// header the kernel refuses (EINVAL).
bool native_control(const void* raw, size_t len, std::vector<char>* out);

}  // namespace vigil
