#include <arpa/nameser.h>
#include <resolv.h>

#include <catch2/catch.hpp>
#include <cstdint>
#include <cstring>
#include <random>
#include <vector>

#include "probes/dns.hpp"
#include "probes/dnsmap.hpp"

using namespace vigil;
using Bytes = std::vector<uint8_t>;

namespace {

// A response to "www.example.com A" with a CNAME (compressed names) then two
// A records, one AAAA, as a resolver would send it.
Bytes sample_response() {
  Bytes b = {0x12, 0x34, 0x81, 0x80, 0, 1, 0, 4, 0, 0, 0, 0};
  auto name = [&](std::initializer_list<const char*> labels) {
    for (const char* l : labels) {
      b.push_back(static_cast<uint8_t>(strlen(l)));
      b.insert(b.end(), l, l + strlen(l));
    }
    b.push_back(0);
  };
  auto u16 = [&](int v) { b.push_back(uint8_t(v >> 8)), b.push_back(uint8_t(v)); };
  name({"www", "example", "com"});  // offset 12
  u16(1), u16(1);
  // CNAME www.example.com -> cdn.example.com ("cdn" + pointer to offset 16)
  u16(0xc00c), u16(5), u16(1), u16(0), u16(300), u16(6);
  b.insert(b.end(), {3, 'c', 'd', 'n', 0xc0, 16});
  const size_t cdn = b.size() - 6;
  for (int last : {1, 2}) {
    u16(0xc000 | int(cdn)), u16(1), u16(1), u16(0), u16(60), u16(4);
    b.insert(b.end(), {93, 184, 216, uint8_t(last)});
  }
  u16(0xc000 | int(cdn)), u16(28), u16(1), u16(0), u16(60), u16(16);
  b.insert(b.end(), {0x26, 0x06, 0x28, 0, 0x02, 0x20, 0, 1, 0x2, 0x48, 0x18, 0x93, 0x25, 0xc8, 0x19, 0x46});
  return b;
}

}  // namespace

TEST_CASE("dns: a query built by res_mkquery decodes to name and type", "[probes][dns]") {
  unsigned char buf[512];
  int n = res_mkquery(ns_o_query, "api.example.org", ns_c_in, ns_t_aaaa, nullptr, 0, nullptr, buf, sizeof buf);
  REQUIRE(n > 0);
  auto m = dns::parse(buf, size_t(n));
  REQUIRE(m);
  CHECK_FALSE(m->response);
  REQUIRE(m->questions.size() == 1);
  CHECK(m->questions[0].name == "api.example.org");
  CHECK(m->questions[0].type == 28);
  CHECK(dns::type_name(m->questions[0].type) == "AAAA");
  CHECK(m->answers.empty());
}

TEST_CASE("dns: a response with compression pointers yields CNAME and addresses", "[probes][dns]") {
  Bytes b = sample_response();
  auto m = dns::parse(b.data(), b.size());
  REQUIRE(m);
  CHECK(m->response);
  CHECK(m->id == 0x1234);
  CHECK(m->rcode == 0);
  REQUIRE(m->questions.size() == 1);
  CHECK(m->questions[0].name == "www.example.com");
  REQUIRE(m->answers.size() == 4);
  CHECK(m->answers[0].type == 5);
  CHECK(m->answers[0].value == "cdn.example.com");
  CHECK(m->answers[1].name == "cdn.example.com");
  CHECK(m->answers[1].ttl == 60);
  CHECK(m->addresses() == std::vector<std::string>{"93.184.216.1", "93.184.216.2", "2606:2800:220:1:248:1893:25c8:1946"});

  Bytes tcp = {uint8_t(b.size() >> 8), uint8_t(b.size())};
  tcp.insert(tcp.end(), b.begin(), b.end());
  auto t = dns::parse_tcp(tcp.data(), tcp.size());
  REQUIRE(t);
  CHECK(t->addresses().size() == 3);
  CHECK_FALSE(dns::parse_tcp(tcp.data(), tcp.size() - 1));
}

TEST_CASE("dns: malformed input is rejected, never read out of bounds", "[probes][dns]") {
  CHECK_FALSE(dns::parse(nullptr, 0));
  const Bytes good = sample_response();
  // Every truncation is rejected (counts promise more than is there).
  for (size_t n = 0; n < good.size(); ++n) {
    Bytes cut(good.begin(), good.begin() + long(n));  // exact-size heap buffer: overreads would hit the heap end
    CHECK_FALSE(dns::parse(cut.data(), cut.size()));
  }
  // Trailing garbage is rejected too.
  Bytes longer = good;
  longer.push_back(0);
  CHECK_FALSE(dns::parse(longer.data(), longer.size()));
  // A compression pointer loop (name points at itself).
  Bytes loop = {0, 1, 1, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0xc0, 12, 0, 1, 0, 1};
  CHECK_FALSE(dns::parse(loop.data(), loop.size()));
  // A pointer past the end.
  Bytes far = {0, 1, 1, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0xc0, 200, 0, 1, 0, 1};
  CHECK_FALSE(dns::parse(far.data(), far.size()));
  // Random single-byte corruptions of a valid message: any result is fine as
  // long as it stays within bounds and returns; count that some still parse.
  std::mt19937 rng(1234);
  int parsed = 0;
  for (int i = 0; i < 5000; ++i) {
    Bytes m = good;
    for (int k = 0; k < 3; ++k) m[rng() % m.size()] = uint8_t(rng());
    if (auto r = dns::parse(m.data(), m.size())) {
      ++parsed;
      for (const auto& q : r->questions) CHECK(q.name.size() <= NS_MAXDNAME);
    }
  }
  CHECK(parsed > 0);
}

TEST_CASE("dns map: names for addresses, IPv4-mapped lookups, LRU bound", "[probes][dns]") {
  DnsMap map(2);
  map.add("a.example", "10.0.0.1");
  map.add("b.example", "::ffff:10.0.0.2");
  CHECK(map.name_for("10.0.0.2") == "b.example");
  CHECK(map.name_for("::ffff:10.0.0.1") == "a.example");  // refreshes 10.0.0.1
  map.add("c.example", "2001:db8::1");                     // evicts 10.0.0.2, the least recent
  CHECK(map.size() == 2);
  CHECK_FALSE(map.name_for("10.0.0.2"));
  CHECK(map.name_for("10.0.0.1") == "a.example");
  map.add("d.example", "2001:db8::1");  // latest name wins
  CHECK(map.name_for("2001:db8::1") == "d.example");
  CHECK(map.size() == 2);
}
