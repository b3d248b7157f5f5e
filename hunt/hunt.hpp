// vigil hunt: retro-hunt indicators of compromise (IoCs) over stored events.
//
// `vigil hunt --ioc FILE EVENTS...` reads vigil's JSON-lines events (plain,
// rotated, gzip'd, stdin), finds those that carry an indicator (SHA-256,
// IPv4/IPv6 address or CIDR, domain and its subdomains, path or glob) and
// prints them with the process tree that led to them. docs/hunt.md has the
// formats, the JSON paths looked at, and the speed/memory design.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json_fwd.hpp>

namespace vigil {
int cmd_hunt(int argc, char** argv);
}

namespace vigil::hunt {

enum class IocType : uint8_t { Sha256, Ip, Domain, Path };
std::string_view type_name(IocType t);

struct Ioc {
  IocType type = IocType::Sha256;
  std::string value;   // normalised: lowercase hash/domain, "ADDR" or "NET/PREFIX" for IPs, path or glob
  std::string origin;  // where it came from: "FILE:LINE" or "FILE: indicator--ID"
};

// What loading IoC files produced. `errors` are input errors (bad line,
// unknown type, bad JSON): the command exits 2. `unsupported` are STIX
// indicators whose pattern is valid but beyond the supported subset; they are
// reported with their id, and fatal only with --strict.
struct IocSet {
  std::vector<Ioc> iocs;
  std::vector<std::string> errors;
  std::vector<std::string> unsupported;
};

// Reads one IoC file, format detected from its content: a STIX 2.1 bundle or
// indicator (JSON), CSV with a header naming the type/value columns, or a
// plain list (one indicator a line, type inferred, '#' comments).
void load_ioc_file(const std::string& path, IocSet& out);
void parse_iocs(std::string_view text, std::string_view origin, IocSet& out);

// One indicator, type inferred (plain lists). Empty optional-like result:
// returns false with `why` set when the text is no indicator vigil can match.
bool infer_ioc(std::string_view text, Ioc& out, std::string* why);
// An indicator of a named type (CSV type column, STIX object path).
bool typed_ioc(IocType type, std::string_view text, Ioc& out, std::string* why);

// One match of an indicator in an event.
struct Hit {
  const Ioc* ioc;
  std::string field;  // JSON path where it was found, e.g. "network.remote.addr"
  std::string value;  // the event's value there
};

// The compiled indicator set: a raw-line pre-filter (no false negatives) and
// the exact match on the parsed record.
class Matcher {
 public:
  explicit Matcher(std::vector<Ioc> iocs);
  ~Matcher();
  Matcher(const Matcher&) = delete;
  Matcher& operator=(const Matcher&) = delete;

  // Pre-filter on the raw JSON line. `candidate`: the line may carry an
  // indicator; `process`: it may be a fork/exec event (feeds the tree).
  struct Scan {
    bool candidate = false;
    bool process = false;
  };
  Scan scan(std::string_view line) const;
  // The same without SIMD (the portable path other CPUs take); for tests.
  Scan scan_portable(std::string_view line) const;

  // Exact match on a parsed record (the paths in docs/hunt.md).
  std::vector<Hit> match(const nlohmann::json& record) const;

  size_t size() const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

// What the process tree takes from a fork/exec event: the values, as text,
// at a fixed list of paths (vigil's former layout and OCSF's; docs/hunt.md
// "How the process tree is built"). Numbers are their decimal text; floats,
// booleans and null are empty; values inside arrays are not looked at; a
// repeated key: the last one.
class TreeFields {
 public:
  enum Slot { kType, kTypeOcsf, kId, kMetaUid, kChild, kChildOcsf, kPid, kPpid, kPpidOcsf, kName, kExe, kExeOcsf, kCmd,
              kHost, kHostOcsf, kContainer, kContainerOcsf, kSlots };
  static constexpr std::string_view kPaths[kSlots] = {
      "type", "unmapped.type", "id", "metadata.uid", "child_pid", "unmapped.child_pid", "process.pid", "process.ppid",
      "process.parent_process.pid", "process.name", "process.exe", "process.file.path", "process.cmd_line",
      "host.hostname", "device.hostname", "container.id", "device.container.uid"};

  // Reads one JSON line; false if it is not valid JSON. Compact ASCII JSON
  // without escapes (what vigil writes) goes through a small validating
  // scanner that looks only for these paths; anything else (escapes,
  // non-ASCII bytes, odd numbers or keys, errors) through nlohmann's SAX
  // parser, which is the definition (parse_sax; a unit test compares them).
  bool parse(std::string_view line);
  bool parse_sax(std::string_view line);
  // Whether the last parse() was done by the scanner (for tests).
  bool scanned() const { return scanned_; }

  const std::string& operator[](Slot s) const { return vals_[s]; }
  const std::string& first(Slot a, Slot b) const { return vals_[a].empty() ? vals_[b] : vals_[a]; }
  // A non-negative integer slot (a, else b), 0 if absent or not one.
  int num(Slot a, Slot b = kSlots) const;

 private:
  std::string vals_[kSlots];
  bool scanned_ = false;
};

// Time bounds: RFC 3339 ("2026-11-23T12:00:00Z", fraction and offset
// optional), a date ("2026-11-23"), or a duration back from now ("90m",
// "24h", "7d"). Returns false if `text` is none of them.
bool parse_time_bound(std::string_view text, int64_t now_ns, int64_t* out_ns);
// An event's RFC 3339 `time`; false if it is not one.
bool parse_rfc3339(std::string_view text, int64_t* out_ns);

}  // namespace vigil::hunt
