// The binary event record (events.hpp, docs/sinks.md "Durability"): what the
// journal keeps of an event until a sink has it. Written on the tracer thread
// (two passes over the same field list: size, then copy; no allocation, no
// JSON); read back after vigil died, from a file the app may have written:
// every length is checked against what is left, nothing is trusted.
//
// Layout (native byte order: the record never leaves this machine):
//   u8 magic 0xE5, u8 version 1,
//   u64 seq, i64 time_ns, u16 class, u8 action, u8 parts (1 res, 2 file, 4 net, 8 dns),
//   i32 tid, i64 res, i32 exit_code, i32 exit_signal, i32 child_pid, u8 depth (0-3), str type,
//   depth x process (the event's, its parent's, its grandparent's: what to_json reads),
//   [file] [net] [dns], u32 n, n x (str name, str value).
// str = u32 length + bytes. A record must be consumed exactly.
#include <cstring>

#include <fmt/format.h>

#include "events/events.hpp"

namespace vigil {
namespace {

constexpr uint8_t kMagic = 0xE5, kVersion = 1;
constexpr uint8_t kRes = 1, kFile = 2, kNet = 4, kDns = 8;
// to_json renders the process, its parent (exec: the actor) and that one's
// parent (one level, no further): deeper ancestors never reach a record.
constexpr int kDepth = 3;
// argv: the renderer shows the first kArgvMaxBytes of the command line and
// says whether there was more; the first kArgvMaxBytes + 1 bytes of it
// (split as in argv) render the same (put_argv).
constexpr size_t kArgvKeep = kArgvMaxBytes + 1;

struct Sizer {
  size_t n = 0;
  template <class T>
  void num(T) { n += sizeof(T); }
  void str(std::string_view s) { n += 4 + s.size(); }
};

struct Writer {
  char* p;
  template <class T>
  void num(T v) {
    std::memcpy(p, &v, sizeof v);
    p += sizeof v;
  }
  void str(std::string_view s) {
    num(uint32_t(s.size()));
    std::memcpy(p, s.data(), s.size());
    p += s.size();
  }
};

// Where each element of argv starts in Process::cmdline() (a space only
// after a non-empty prefix); kept: the elements starting within kArgvKeep,
// each cut at kArgvKeep. The renderer's argv list (what it cuts at
// kArgvMaxBytes counting a space after every element) shows the same.
template <class Out>
void put_argv(const std::vector<std::string>& argv, Out& o) {
  auto start = [](size_t at) { return at + (at ? 1 : 0); };
  size_t n = 0;
  for (size_t at = 0; n < argv.size() && start(at) <= kArgvKeep; ++n) at = start(at) + argv[n].size();
  o.num(uint32_t(n));
  size_t at = 0;
  for (size_t i = 0; i < n; ++i) {
    o.str(std::string_view(argv[i]).substr(0, kArgvKeep - start(at)));
    at = start(at) + argv[i].size();
  }
}

template <class Out>
void put_process(const Process& p, Out& o) {
  for (int v : {p.pid, p.ppid, p.uid, p.gid, p.euid, p.egid, p.tty_nr, p.sid}) o.num(int32_t(v));
  for (int64_t v : {p.start_ns, p.cap_effective, p.exe_mtime_ns}) o.num(v);
  o.num(uint8_t(p.argv_truncated | p.exe_from_memfd << 1 | p.exe_deleted << 2 | p.exe_drift << 3 | p.stdio_net << 4 |
                p.accepted_conn << 5));
  for (std::string_view s : {std::string_view(p.exe), std::string_view(p.name), std::string_view(p.cwd),
                             std::string_view(p.sha256), std::string_view(p.tty),
                             std::string_view(p.interpreter_script), p.exe_drift_reason})
    o.str(s);
  put_argv(p.argv, o);
}

template <class Out>
void put_endpoint(const Endpoint& e, Out& o) {
  o.num(int32_t(e.family));
  o.num(int32_t(e.port));
  o.str(e.addr);
}

template <class Out>
void put_event(const Event& ev, Out& o) {
  o.num(kMagic);
  o.num(kVersion);
  o.num(ev.seq);
  o.num(ev.time_ns);
  o.num(uint16_t(ev.cls));
  o.num(uint8_t(ev.action));
  o.num(uint8_t((ev.has_res ? kRes : 0) | (ev.file ? kFile : 0) | (ev.net ? kNet : 0) | (ev.dns ? kDns : 0)));
  o.num(int32_t(ev.tid));
  o.num(ev.res);
  for (int v : {ev.exit_code, ev.exit_signal, ev.child_pid}) o.num(int32_t(v));
  const Process* chain[kDepth];
  uint8_t depth = 0;
  for (const Process* p = ev.proc.get(); p && depth < kDepth; p = p->parent.get()) chain[depth++] = p;
  o.num(depth);
  o.str(ev.type);
  for (int i = 0; i < depth; ++i) put_process(*chain[i], o);
  if (const auto& f = ev.file) {
    for (int64_t v : {f->flags, f->mode}) o.num(v);
    for (uint64_t v : {f->dev, f->ino}) o.num(v);
    o.num(int32_t(f->fd));
    for (const std::string* s : {&f->path, &f->raw_path, &f->target, &f->sha256}) o.str(*s);
  }
  if (const auto& n = ev.net) {
    for (int v : {n->domain, n->type, n->protocol, n->fd}) o.num(int32_t(v));
    put_endpoint(n->local, o);
    put_endpoint(n->remote, o);
    o.str(n->remote_name);
  }
  if (const auto& d = ev.dns) {
    o.num(int32_t(d->qtype));
    o.str(d->qname);
    o.num(uint32_t(d->answers.size()));
    for (const auto& a : d->answers) o.str(a);
  }
  o.num(uint32_t(ev.args.size()));
  for (const auto& a : ev.args) {
    o.str(a.name);
    o.str(a.value);
  }
}

// Reads a record; the first failure sticks (what failed and where).
class Reader {
 public:
  explicit Reader(std::string_view rec) : begin_(rec.data()), p_(rec.data()), end_(rec.data() + rec.size()) {}
  bool ok() const { return what_ == nullptr; }
  std::string error() const {
    return fmt::format("event record of {} bytes: {} at byte {}: truncated or damaged (not written by this vigil)",
                       end_ - begin_, what_, p_ - begin_);
  }
  bool done() {
    if (ok() && p_ != end_) what_ = "trailing bytes";
    return ok();
  }
  template <class T>
  T num(const char* what) {
    T v{};
    if (!ok()) return v;
    if (size_t(end_ - p_) < sizeof v) return fail(what), v;
    std::memcpy(&v, p_, sizeof v);
    p_ += sizeof v;
    return v;
  }
  int32_t i32(const char* what) { return num<int32_t>(what); }
  int64_t i64(const char* what) { return num<int64_t>(what); }
  void str(std::string* s, const char* what) {
    const uint32_t n = num<uint32_t>(what);
    if (!ok()) return;
    if (n > size_t(end_ - p_)) return fail(what);
    s->assign(p_, n);
    p_ += n;
  }
  // A count of strings: each takes at least 4 bytes (no huge reservations).
  uint32_t count(const char* what, size_t per = 4) {
    const uint32_t n = num<uint32_t>(what);
    if (ok() && n > size_t(end_ - p_) / per) fail(what);
    return ok() ? n : 0;
  }
  void fail(const char* what) {
    if (ok()) what_ = what;
  }

 private:
  const char* begin_;
  const char* p_;
  const char* end_;
  const char* what_ = nullptr;
};

// A Process that owns the text its exe_drift_reason views (elsewhere a static name).
struct DecodedProcess : Process {
  std::string drift_reason;
};

std::shared_ptr<DecodedProcess> get_process(Reader& r) {
  auto p = std::make_shared<DecodedProcess>();
  for (int* v : {&p->pid, &p->ppid, &p->uid, &p->gid, &p->euid, &p->egid, &p->tty_nr, &p->sid}) *v = r.i32("process ids");
  for (int64_t* v : {&p->start_ns, &p->cap_effective, &p->exe_mtime_ns}) *v = r.i64("process times");
  const uint8_t bits = r.num<uint8_t>("process flags");
  if (bits >> 6) r.fail("process flags");
  p->argv_truncated = bits & 1;
  p->exe_from_memfd = bits & 2;
  p->exe_deleted = bits & 4;
  p->exe_drift = bits & 8;
  p->stdio_net = bits & 16;
  p->accepted_conn = bits & 32;
  for (std::string* s : {&p->exe, &p->name, &p->cwd, &p->sha256, &p->tty, &p->interpreter_script, &p->drift_reason})
    r.str(s, "process strings");
  p->exe_drift_reason = p->drift_reason;
  p->argv.resize(r.count("argv count"));
  for (auto& a : p->argv) r.str(&a, "argv");
  return p;
}

void get_endpoint(Reader& r, Endpoint* e) {
  e->family = r.i32("endpoint family");
  e->port = r.i32("endpoint port");
  r.str(&e->addr, "endpoint address");
}

}  // namespace

size_t event_record_size(const Event& ev) {
  Sizer s;
  put_event(ev, s);
  return s.n;
}

void encode_event_record(const Event& ev, char* out) {
  Writer w{out};
  put_event(ev, w);
}

std::string encode_event_record(const Event& ev) {
  std::string out(event_record_size(ev), '\0');
  encode_event_record(ev, out.data());
  return out;
}

bool decode_event_record(std::string_view rec, Event* out, std::string* error) {
  Reader r(rec);
  Event ev;
  if (r.num<uint8_t>("magic") != kMagic) r.fail("magic (not an event record)");
  if (r.num<uint8_t>("version") != kVersion) r.fail("version");
  ev.seq = r.num<uint64_t>("seq");
  ev.time_ns = r.i64("time");
  const auto cls = EventClass(r.num<uint16_t>("class"));
  if (cls != EventClass::FileSystem && cls != EventClass::Process && cls != EventClass::Network &&
      cls != EventClass::Dns && cls != EventClass::Sensor)
    r.fail("class");
  ev.cls = cls;
  const uint8_t action = r.num<uint8_t>("action");
  if (action > uint8_t(Action::Killed)) r.fail("action");
  ev.action = Action(action);
  const uint8_t parts = r.num<uint8_t>("parts");
  if (parts & ~(kRes | kFile | kNet | kDns)) r.fail("parts");
  ev.has_res = parts & kRes;
  ev.tid = r.i32("tid");
  ev.res = r.i64("res");
  ev.exit_code = r.i32("exit code");
  ev.exit_signal = r.i32("exit signal");
  ev.child_pid = r.i32("child pid");
  int depth = r.num<uint8_t>("process depth");
  if (depth > kDepth) r.fail("process depth"), depth = 0;
  r.str(&ev.type, "type");
  std::shared_ptr<DecodedProcess> chain[kDepth];
  for (int i = 0; i < depth && r.ok(); ++i) chain[i] = get_process(r);
  for (int i = depth - 1; i > 0; --i)
    if (chain[i - 1]) chain[i - 1]->parent = chain[i];
  if (depth && r.ok()) ev.proc = chain[0];
  if (parts & kFile) {
    auto& f = ev.file.emplace();
    f.flags = r.i64("file flags");
    f.mode = r.i64("file mode");
    f.dev = r.num<uint64_t>("file dev");
    f.ino = r.num<uint64_t>("file ino");
    f.fd = r.i32("file fd");
    for (std::string* s : {&f.path, &f.raw_path, &f.target, &f.sha256}) r.str(s, "file strings");
  }
  if (parts & kNet) {
    auto& n = ev.net.emplace();
    for (int* v : {&n.domain, &n.type, &n.protocol, &n.fd}) *v = r.i32("network ints");
    get_endpoint(r, &n.local);
    get_endpoint(r, &n.remote);
    r.str(&n.remote_name, "remote name");
  }
  if (parts & kDns) {
    auto& d = ev.dns.emplace();
    d.qtype = r.i32("dns qtype");
    r.str(&d.qname, "dns qname");
    d.answers.resize(r.count("dns answers"));
    for (auto& a : d.answers) r.str(&a, "dns answer");
  }
  ev.args.resize(r.count("args", 8));
  for (auto& a : ev.args) {
    r.str(&a.name, "arg name");
    r.str(&a.value, "arg value");
  }
  if (!r.done()) {
    *error = r.error();
    return false;
  }
  *out = std::move(ev);
  return true;
}

}  // namespace vigil
