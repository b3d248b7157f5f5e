// The binary event record (events/record.cpp, docs/sinks.md "Durability"):
// every event kind with random contents renders the same after a round trip;
// truncated or damaged records are refused with an error and never read out
// of bounds (each is decoded from the end of a page followed by an
// inaccessible one).
#include <sys/mman.h>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <cstring>
#include <random>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "events/events.hpp"

using namespace vigil;

namespace {

struct Rand {
  std::mt19937_64 g;
  explicit Rand(uint64_t seed) : g(seed) {}
  uint64_t below(uint64_t n) { return n ? g() % n : 0; }
  bool coin() { return g() & 1; }
  int64_t num() {
    switch (below(4)) {
      case 0: return 0;
      case 1: return -1;
      case 2: return int64_t(below(70000));
      default: return int64_t(g());
    }
  }
  int small() { return int(int32_t(num())); }
  // Text: printable (fields the renderer writes as they are), or any bytes
  // (fields it sanitises: paths, argv, names), with multi-byte UTF-8.
  std::string text(size_t max, bool any_bytes = false) {
    static const char* pieces[] = {"a", "/", " ", "é", "日本", "\"", "\\", "\n", "%", "0"};
    std::string s;
    const size_t n = below(max + 1);
    while (s.size() < n) {
      if (any_bytes && below(5) == 0) s += char(below(256));
      else s += pieces[below(std::size(pieces))];
    }
    return s;
  }
};

ProcessPtr random_process(Rand& r, int depth) {
  auto p = std::make_shared<Process>();
  p->pid = r.small(), p->ppid = r.small(), p->uid = r.small(), p->gid = r.small();
  p->euid = r.small(), p->egid = r.small(), p->tty_nr = r.small(), p->sid = r.small();
  p->start_ns = r.num(), p->cap_effective = r.num(), p->exe_mtime_ns = r.num();
  p->exe = r.text(60, true);
  p->name = r.text(16, true);
  p->cwd = r.text(40, true);
  p->sha256 = r.coin() ? std::string(64, 'f') : "";
  p->tty = r.text(8);
  p->interpreter_script = r.text(20, true);
  static const char* reasons[] = {"", "traced_write", "toolchain_build"};
  p->exe_drift_reason = reasons[r.below(3)];
  p->argv_truncated = r.coin(), p->exe_from_memfd = r.coin(), p->exe_deleted = r.coin();
  p->exe_drift = r.coin(), p->stdio_net = r.coin(), p->accepted_conn = r.coin();
  // argv around the record's limit of kArgvMaxBytes, some far over it.
  const size_t budget = std::array<size_t, 5>{20, kArgvMaxBytes - 3, kArgvMaxBytes + 1, kArgvMaxBytes + 40,
                                              3 * kArgvMaxBytes}[r.below(5)];
  for (size_t used = 0; used < budget;) {
    std::string a = r.coin() ? r.text(8, true) : std::string(r.below(budget - used + 2), 'x');
    used += a.size() + 1;
    p->argv.push_back(std::move(a));
  }
  if (r.below(4) == 0) p->argv.insert(p->argv.begin() + long(r.below(p->argv.size() + 1)), "");
  if (depth > 0 && r.below(5)) p->parent = random_process(r, depth - 1);
  return p;
}

Endpoint random_endpoint(Rand& r) {
  static const int families[] = {0, 1, 2, 10, 17};
  Endpoint e;
  e.family = families[r.below(5)];
  e.addr = e.family == 1 ? r.text(30, true) : r.coin() ? "10.0.0.7" : r.coin() ? "2001:db8::1" : "";
  e.port = int(r.below(65536));
  return e;
}

// Every kind of event the renderer tells apart (class x type branches of
// events.cpp), with random contents.
Event random_event(Rand& r, uint64_t seq) {
  static const std::pair<EventClass, const char*> kinds[] = {
      {EventClass::Process, "exec"},         {EventClass::Process, "fork"},
      {EventClass::Process, "exit"},         {EventClass::Process, "ptrace"},
      {EventClass::Process, "kill"},         {EventClass::Process, "setuid"},
      {EventClass::Process, "prctl"},        {EventClass::FileSystem, "openat"},
      {EventClass::FileSystem, "mkdir"},     {EventClass::FileSystem, "symlink"},
      {EventClass::FileSystem, "renameat2"}, {EventClass::FileSystem, "mount"},
      {EventClass::FileSystem, "unlink"},    {EventClass::FileSystem, "chmod"},
      {EventClass::Network, "connect"},      {EventClass::Network, "accept4"},
      {EventClass::Network, "listen"},       {EventClass::Network, "socket"},
      {EventClass::Dns, "sendto"},           {EventClass::Dns, "recvfrom"},
      {EventClass::Sensor, "stats"},
  };
  const auto [cls, type] = kinds[r.below(std::size(kinds))];
  Event ev;
  ev.seq = seq;
  ev.time_ns = r.coin() ? 1'700'000'000'123'456'789 + r.small() : int64_t(r.below(uint64_t(1) << 62));
  ev.cls = cls;
  ev.type = type;
  ev.tid = r.small();
  ev.res = r.num();
  ev.has_res = r.coin();
  ev.exit_code = r.small();
  ev.exit_signal = r.coin() ? 0 : int(r.below(64));
  ev.child_pid = r.coin() ? 0 : r.small();
  ev.action = Action(r.below(3));
  if (r.below(8)) ev.proc = random_process(r, 4);
  if (cls == EventClass::FileSystem || r.below(6) == 0) {
    FileInfo f;
    f.path = r.text(80, true);
    f.raw_path = r.coin() ? f.path : r.text(80, true);
    f.target = r.coin() ? "" : r.text(40, true);
    f.flags = r.num(), f.mode = r.num(), f.fd = r.small();
    f.sha256 = r.coin() ? "" : std::string(64, '0');
    f.dev = r.g(), f.ino = r.coin() ? 0 : r.g();
    ev.file = std::move(f);
  }
  if (cls == EventClass::Network || cls == EventClass::Dns || r.below(6) == 0) {
    NetInfo n;
    n.domain = r.small(), n.type = int(r.below(4)), n.protocol = int(r.below(20)), n.fd = r.small();
    n.local = random_endpoint(r);
    n.remote = random_endpoint(r);
    n.remote_name = r.coin() ? "" : r.text(30, true);
    ev.net = std::move(n);
  }
  if (cls == EventClass::Dns) {
    DnsInfo d;
    d.qname = r.text(50, true);
    d.qtype = int(r.below(300));
    for (size_t i = r.below(4); i > 0; --i) d.answers.push_back(r.coin() ? "93.184.216.34" : r.text(20, true));
    ev.dns = std::move(d);
    if (r.coin()) ev.args.push_back({"rcode", std::to_string(r.below(8))});
  }
  static const char* names[] = {"pid", "uid", "source", "newfd", "via", "arch", "unreadable"};
  for (size_t i = r.below(4); i > 0; --i) ev.args.push_back({names[r.below(std::size(names))], r.text(30, true)});
  return ev;
}

Context context(Rand& r) {
  Context c;
  c.sensor_id = "3f2a9c";
  c.hostname = r.coin() ? "ip-10-0-1-5" : "";
  c.container_id = r.coin() ? std::string(64, 'c') : "";
  c.container_image = r.coin() ? "repo/app:1.2" : "";
  return c;
}

// Decodes rec from the end of a page whose next page cannot be read: a read
// past the record faults (the test dies) instead of passing unnoticed.
class Fence {
 public:
  Fence() {
    page_ = size_t(sysconf(_SC_PAGESIZE));
    size_ = 64 * page_;
    void* m = mmap(nullptr, size_ + page_, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    REQUIRE(m != MAP_FAILED);
    base_ = static_cast<char*>(m);
    REQUIRE(mprotect(base_ + size_, page_, PROT_NONE) == 0);
  }
  ~Fence() { munmap(base_, size_ + page_); }
  bool decode(std::string_view rec, Event* ev, std::string* error) {
    REQUIRE(rec.size() <= size_);
    char* p = base_ + size_ - rec.size();
    std::memcpy(p, rec.data(), rec.size());
    return decode_event_record(std::string_view(p, rec.size()), ev, error);
  }

 private:
  char* base_ = nullptr;
  size_t page_ = 0, size_ = 0;
};

}  // namespace

TEST_CASE("event record: every event kind, random contents, renders the same after a round trip",
          "[events][event-record]") {
  Rand r(Catch::rngSeed() ? Catch::rngSeed() : 12);
  Fence fence;
  int argv_capped = 0, deep = 0;
  for (uint64_t i = 1; i <= 3000; ++i) {
    const Event ev = random_event(r, i);
    const Context ctx = context(r);
    const std::string rec = encode_event_record(ev);
    REQUIRE(rec.size() == event_record_size(ev));
    Event back;
    std::string error;
    INFO("event " << i << " " << ev.type);
    REQUIRE(fence.decode(rec, &back, &error));
    CHECK(error.empty());
    std::string want;
    try {
      want = to_json_line(ev, ctx);
    } catch (const nlohmann::json::exception&) {
      FAIL("the generator made an event the renderer refuses");
    }
    const std::string got = to_json_line(back, ctx);
    for (auto a = ev.proc, b = back.proc; a && b; a = a->parent, b = b->parent) {
      const std::string ca = a->cmdline().substr(0, kArgvMaxBytes), cb = b->cmdline().substr(0, kArgvMaxBytes);
      INFO("argc " << a->argv.size() << " -> " << b->argv.size() << ", cmdline " << a->cmdline().size() << " -> "
                   << b->cmdline().size());
      REQUIRE(ca == cb);
    }
    if (got != want) {
      size_t d = 0;
      while (d < got.size() && d < want.size() && got[d] == want[d]) ++d;
      FAIL("renders differently from byte " << d << ":\n" << nlohmann::json(got.substr(d > 80 ? d - 80 : 0, 200)).dump() << "\nwanted:\n"
                                             << nlohmann::json(want.substr(d > 80 ? d - 80 : 0, 200)).dump());
    }
    REQUIRE(encode_event_record(back) == rec);  // every field kept, used by the renderer or not
    if (ev.proc && ev.proc->cmdline().size() > kArgvMaxBytes) {
      ++argv_capped;
      CHECK(back.proc->cmdline().size() == kArgvMaxBytes + 1);  // a record never carries all of a long argv
    }
    deep += ev.proc && ev.proc->parent && ev.proc->parent->parent && ev.proc->parent->parent->parent;
  }
  CHECK(argv_capped > 100);
  CHECK(deep > 100);
}

TEST_CASE("event record: truncated or damaged records are refused, never read out of bounds",
          "[events][event-record]") {
  Rand r(Catch::rngSeed() ? Catch::rngSeed() : 34);
  Fence fence;
  int refused = 0, accepted = 0;
  for (uint64_t i = 1; i <= 300; ++i) {
    const std::string rec = encode_event_record(random_event(r, i));
    Event ev;
    std::string error;
    // Every strict prefix: refused, with what and where.
    for (size_t n = 0; n < rec.size(); n += 1 + r.below(4)) {
      error.clear();
      REQUIRE_FALSE(fence.decode(std::string_view(rec).substr(0, n), &ev, &error));
      REQUIRE(error.find("truncated or damaged") != std::string::npos);
    }
    // Trailing bytes: refused.
    CHECK_FALSE(fence.decode(rec + "x", &ev, &error));
    CHECK(error.find("trailing bytes") != std::string::npos);
    // Random damage (a length, a count, a flag): refused, or a record that still decodes within its bytes.
    for (int k = 0; k < 20; ++k) {
      std::string bad = rec;
      const size_t at = r.below(bad.size());
      if (r.coin()) bad[at] = char(r.below(256));
      else std::memcpy(bad.data() + std::min(at, bad.size() - 4), "\xff\xff\xff\x7f", 4);
      if (fence.decode(bad, &ev, &error)) ++accepted;
      else ++refused;
    }
  }
  CHECK(refused > 200);  // (most random damage lands inside strings: still a record)
  INFO(accepted << " damaged records still decoded (bytes inside strings)");
  // Not a record at all.
  Event ev;
  std::string error;
  CHECK_FALSE(decode_event_record("{\"class_uid\":1007}", &ev, &error));
  CHECK(error.find("magic") != std::string::npos);
  // A huge count in a small record is refused before anything is reserved.
  Event small;
  small.type = "exec";
  std::string rec = encode_event_record(small);
  std::memcpy(rec.data() + rec.size() - 4, "\xff\xff\xff\xff", 4);  // the number of args
  CHECK_FALSE(decode_event_record(rec, &ev, &error));
  CHECK(error.find("args") != std::string::npos);
}
