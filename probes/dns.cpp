#include "probes/dns.hpp"

#include <arpa/inet.h>
#include <arpa/nameser.h>
#include <resolv.h>

namespace vigil::dns {
namespace {

std::string rdata_value(const ns_msg& msg, const ns_rr& rr) {
  const int type = ns_rr_type(rr);
  const unsigned char* rd = ns_rr_rdata(rr);
  const size_t rdlen = ns_rr_rdlen(rr);
  char buf[NS_MAXDNAME];
  if (type == ns_t_a && rdlen == 4) return inet_ntop(AF_INET, rd, buf, sizeof buf) ? buf : "";
  if (type == ns_t_aaaa && rdlen == 16) return inet_ntop(AF_INET6, rd, buf, sizeof buf) ? buf : "";
  if (type == ns_t_cname || type == ns_t_ptr) {
    if (ns_name_uncompress(ns_msg_base(msg), ns_msg_end(msg), rd, buf, sizeof buf) < 0) return "";
    return buf;
  }
  return "";
}

}  // namespace

std::optional<Message> parse(const uint8_t* data, size_t len) {
  if (data == nullptr || len < NS_HFIXEDSZ || len > 65535) return std::nullopt;
  ns_msg msg;
  if (ns_initparse(data, static_cast<int>(len), &msg) < 0) return std::nullopt;
  Message out;
  out.id = ns_msg_id(msg);
  out.response = ns_msg_getflag(msg, ns_f_qr) != 0;
  out.rcode = ns_msg_getflag(msg, ns_f_rcode);
  ns_rr rr;
  for (int i = 0; i < ns_msg_count(msg, ns_s_qd); ++i) {
    if (ns_parserr(&msg, ns_s_qd, i, &rr) < 0) return std::nullopt;
    out.questions.push_back({ns_rr_name(rr), ns_rr_type(rr)});
  }
  for (int i = 0; i < ns_msg_count(msg, ns_s_an); ++i) {
    if (ns_parserr(&msg, ns_s_an, i, &rr) < 0) return std::nullopt;
    std::string name = ns_rr_name(rr);
    out.answers.push_back({std::move(name), ns_rr_type(rr), ns_rr_ttl(rr), rdata_value(msg, rr)});
  }
  // A root name comes back as "."; everything else has no trailing dot.
  for (auto& q : out.questions)
    if (q.name == ".") q.name.clear();
  return out;
}

std::optional<Message> parse_tcp(const uint8_t* data, size_t len) {
  if (data == nullptr || len < 2) return std::nullopt;
  const size_t n = (size_t{data[0]} << 8) | data[1];
  if (n + 2 > len) return std::nullopt;
  return parse(data + 2, n);
}

std::vector<std::string> Message::addresses() const {
  std::vector<std::string> out;
  for (const auto& r : answers)
    if ((r.type == ns_t_a || r.type == ns_t_aaaa) && !r.value.empty()) out.push_back(r.value);
  return out;
}

std::string type_name(int type) {
  switch (type) {
    case ns_t_a: return "A";
    case ns_t_ns: return "NS";
    case ns_t_cname: return "CNAME";
    case ns_t_soa: return "SOA";
    case ns_t_ptr: return "PTR";
    case ns_t_mx: return "MX";
    case ns_t_txt: return "TXT";
    case ns_t_aaaa: return "AAAA";
    case ns_t_srv: return "SRV";
    case 64: return "SVCB";
    case 65: return "HTTPS";
    case ns_t_any: return "ANY";
    default: return std::to_string(type);
  }
}

}  // namespace vigil::dns
