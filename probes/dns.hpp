// DNS wire-format decoding for the DNS probe (sendto/sendmsg/sendmmsg to port
// 53 and the answers read back on the same socket). Parsing is done by glibc's
// libresolv (ns_initparse/ns_parserr), which handles compression pointers and
// bounds; this file only maps its records to plain values.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace vigil::dns {

struct Question {
  std::string name;  // dotted, no trailing dot ("example.com"); "" is the root
  int type = 0;      // 1 = A, 28 = AAAA, ...
};

struct Record {
  std::string name;
  int type = 0;
  uint32_t ttl = 0;
  std::string value;  // A/AAAA: textual address; CNAME/PTR: target name; else ""
};

struct Message {
  uint16_t id = 0;
  bool response = false;
  int rcode = 0;
  std::vector<Question> questions;
  std::vector<Record> answers;  // answer section only

  // A/AAAA answer addresses, in message order.
  std::vector<std::string> addresses() const;
};

// Parses one UDP DNS message (exactly len bytes). Returns nullopt for anything
// malformed or truncated; never reads outside [data, data+len).
std::optional<Message> parse(const uint8_t* data, size_t len);

// Parses a DNS-over-TCP stream chunk: a 2-byte big-endian length, then a message.
std::optional<Message> parse_tcp(const uint8_t* data, size_t len);

// "A", "AAAA", "CNAME", ... or the number as text.
std::string type_name(int type);

}  // namespace vigil::dns
