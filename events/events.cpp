#include "events/events.hpp"

#include <fcntl.h>

#include <algorithm>
#include <span>

#include <cstdlib>
#include <ctime>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "vigil/version.hpp"

namespace vigil {

using nlohmann::json;

std::string Process::cmdline() const {
  std::string out;
  for (const auto& a : argv) {
    if (!out.empty()) out += ' ';
    out += a;
  }
  return out;
}

const std::string* Event::arg(std::string_view name) const {
  for (const auto& a : args)
    if (a.name == name) return &a.value;
  return nullptr;
}

// The length of the valid UTF-8 character at s[i] (its code point in *cp),
// or 0 when the byte there does not start one.
static size_t utf8_char(std::string_view s, size_t i, uint32_t* cp) {
  auto c = static_cast<unsigned char>(s[i]);
  size_t len = c < 0x80 ? 1 : (c >> 5) == 0x6 ? 2 : (c >> 4) == 0xE ? 3 : (c >> 3) == 0x1E ? 4 : 0;
  bool ok = len > 0 && i + len <= s.size();
  for (size_t k = 1; ok && k < len; ++k) ok = (static_cast<unsigned char>(s[i + k]) & 0xC0) == 0x80;
  if (!ok) return 0;
  *cp = len == 1 ? c : c & (0x7F >> len);
  for (size_t k = 1; k < len; ++k) *cp = (*cp << 6) | (static_cast<unsigned char>(s[i + k]) & 0x3F);
  // reject overlong forms, surrogates and > U+10FFFF
  if ((len == 2 && *cp < 0x80) || (len == 3 && *cp < 0x800) || (len == 4 && *cp < 0x10000) ||
      (*cp >= 0xD800 && *cp <= 0xDFFF) || *cp > 0x10FFFF)
    return 0;
  return len;
}

// s[i..] reads as an escaped byte: a backslash, x, two lowercase hex digits.
static bool looks_escaped(std::string_view s, size_t i) {
  auto hex = [&](size_t k) { return k < s.size() && ((s[k] >= '0' && s[k] <= '9') || (s[k] >= 'a' && s[k] <= 'f')); };
  return i + 1 < s.size() && s[i + 1] == 'x' && hex(i + 2) && hex(i + 3);
}

// literal: s is a raw value (a name the app chose), whose own "\xNN" must
// not read as an escaped byte; false: text escaped already (an alert's
// output: output_value escaped its values' backslashes), only made valid.
static std::string sanitize(std::string_view s, bool literal) {
  std::string out;
  out.reserve(s.size());
  size_t i = 0;
  while (i < s.size()) {
    uint32_t cp;
    if (literal && s[i] == '\\' && looks_escaped(s, i)) {  // a literal "\xNN" must not read as an escaped byte
      out += "\\x5c";
      ++i;
    } else if (size_t len = utf8_char(s, i, &cp)) {
      out.append(s.substr(i, len));
      i += len;
    } else {
      out += fmt::format("\\x{:02x}", static_cast<unsigned char>(s[i]));
      ++i;
    }
  }
  return out;
}

std::string utf8_sanitize(std::string_view s) { return sanitize(s, true); }

// Characters that change what a line of text shows: line breaks and every
// other C0 control, ESC (terminal escapes), DEL, the C1 controls (0x9B is
// CSI), the bidirectional and format controls that reorder or hide text
// (U+061C, U+200E, U+200F, U+202A-U+202E, U+2066-U+2069) and the Unicode
// line and paragraph separators (U+2028, U+2029).
static bool control(uint32_t cp) {
  return cp < 0x20 || (cp >= 0x7f && cp <= 0x9f) || cp == 0x61c || cp == 0x200e || cp == 0x200f ||
         (cp >= 0x202a && cp <= 0x202e) || (cp >= 0x2066 && cp <= 0x2069) || cp == 0x2028 || cp == 0x2029;
}

// cut_value, and with escape output_value: v escaped (a control character
// or a byte not valid UTF-8 as \xNN per byte, a backslash as \\), then cut
// between whole characters so that it fits in max bytes with its marker.
static std::string shorten(std::string_view v, size_t max, bool escape) {
  if (!escape && v.size() <= max) return std::string(v);
  auto marker = [](size_t n) { return fmt::format("...[{} bytes cut]", n); };
  // Room for the marker of the most that can be cut: the result fits whatever N is.
  const size_t room = max - std::min(max, marker(v.size()).size());
  std::string out;
  size_t i = 0, fits = 0, fits_in = 0;  // the last cut that leaves room for the marker: out's size, v's bytes
  while (i < v.size()) {
    uint32_t cp = 0;
    const size_t len = utf8_char(v, i, &cp), n = std::max<size_t>(len, 1);  // (a byte not valid UTF-8 is one)
    if (escape && (len == 0 || control(cp)))
      for (size_t k = 0; k < n; ++k) out += fmt::format("\\x{:02x}", static_cast<unsigned char>(v[i + k]));
    else if (escape && cp == '\\')
      out += "\\\\";
    else
      out.append(v.substr(i, n));
    i += n;
    if (out.size() <= room) fits = out.size(), fits_in = i;
    else if (out.size() > max) break;  // all of it does not fit
  }
  if (i == v.size() && out.size() <= max) return out;
  out.resize(fits);
  return out + marker(v.size() - fits_in);
}

std::string cut_value(std::string_view v, size_t max) { return shorten(v, max, false); }
std::string output_value(std::string_view v, size_t max) { return shorten(v, max, true); }

void cut_values(OutputFields* fields) {
  for (auto& [name, v] : *fields)
    if (v.kind == FieldValue::Kind::Str && v.s.size() > kAlertValueMaxBytes) v.s = cut_value(v.s);
}

int64_t now_realtime_ns() {
  timespec ts{};
  clock_gettime(CLOCK_REALTIME, &ts);
  return int64_t(ts.tv_sec) * 1'000'000'000 + ts.tv_nsec;
}

// Civil date by arithmetic (civil_from_days, H. Hinnant, public domain), not
// gmtime_r: it takes glibc's timezone lock, which a thread of vigil may hold
// when the keeper is forked, and the keeper renders events (docs/sinks.md).
std::string rfc3339_ns(int64_t time_ns) {
  int64_t secs = time_ns / 1'000'000'000, nsec = time_ns % 1'000'000'000;
  if (nsec < 0) nsec += 1'000'000'000, --secs;
  int64_t days = secs / 86400, rem = secs % 86400;
  if (rem < 0) rem += 86400, --days;
  days += 719468;
  const int64_t era = (days >= 0 ? days : days - 146096) / 146097, doe = days - era * 146097;
  const int64_t yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
  const int64_t doy = doe - (365 * yoe + yoe / 4 - yoe / 100), mp = (5 * doy + 2) / 153;
  const int64_t d = doy - (153 * mp + 2) / 5 + 1, m = mp < 10 ? mp + 3 : mp - 9, y = yoe + era * 400 + (m <= 2);
  return fmt::format("{:04}-{:02}-{:02}T{:02}:{:02}:{:02}.{:09}Z", y, m, d, rem / 3600, rem / 60 % 60, rem % 60, nsec);
}

namespace {
// Sorted by type (file_type's binary search; a unit test checks the order).
constexpr FileType kFileTypes[] = {
    {"chmod", FileOp::Attrib, false, true},     {"chown", FileOp::Attrib, false, true},
    {"creat", FileOp::Create, true, true},      {"fchmod", FileOp::Attrib, false, true},
    {"fchmodat", FileOp::Attrib, false, true},  {"fchmodat2", FileOp::Attrib, false, true},
    {"fchown", FileOp::Attrib, false, true},    {"fchownat", FileOp::Attrib, false, true},
    {"ftruncate", FileOp::Update, false, true}, {"futimesat", FileOp::Times, false, true},
    {"lchown", FileOp::Attrib, false, true},
    {"link", FileOp::Create, false, true},      {"linkat", FileOp::Create, false, true},
    {"memfd_create", FileOp::Create, false, false}, {"mkdir", FileOp::Create, false, true},
    {"mkdirat", FileOp::Create, false, true},   {"mknod", FileOp::Create, false, true},
    {"mknodat", FileOp::Create, false, true},   {"mount", FileOp::Mount, false, false},
    {"move_mount", FileOp::Mount, false, false}, {"open", FileOp::Open, true, true},
    {"open_by_handle_at", FileOp::Open, true, true}, {"openat", FileOp::Open, true, true},
    {"openat2", FileOp::Open, true, true},      {"pivot_root", FileOp::Mount, false, false},
    {"rename", FileOp::Rename, false, true},    {"renameat", FileOp::Rename, false, true},
    {"renameat2", FileOp::Rename, false, true}, {"rmdir", FileOp::Delete, false, true},
    {"symlink", FileOp::Create, false, true},   {"symlinkat", FileOp::Create, false, true},
    {"truncate", FileOp::Update, false, true},  {"umount", FileOp::Unmount, false, false},
    {"umount2", FileOp::Unmount, false, false}, {"unlink", FileOp::Delete, false, true},
    {"unlinkat", FileOp::Delete, false, true},  {"utime", FileOp::Times, false, true},
    {"utimensat", FileOp::Times, false, true},  {"utimes", FileOp::Times, false, true},
};
}  // namespace

std::span<const FileType> file_types() { return kFileTypes; }

const FileType* file_type(std::string_view type) {
  auto it = std::lower_bound(std::begin(kFileTypes), std::end(kFileTypes), type,
                             [](const FileType& f, std::string_view t) { return f.type < t; });
  return it != std::end(kFileTypes) && it->type == type ? &*it : nullptr;
}

FileChange file_change(std::string_view type, int64_t open_flags) {
  const FileType* f = file_type(type);
  if (!f) return FileChange::None;
  switch (f->op) {
    case FileOp::Open:
      return (open_flags & O_ACCMODE) != O_RDONLY || (open_flags & (O_CREAT | O_TRUNC)) ? FileChange::Write
                                                                                         : FileChange::None;
    case FileOp::Create: return !f->object ? FileChange::None : f->open ? FileChange::Write : FileChange::Name;
    case FileOp::Update: return FileChange::Write;
    case FileOp::Delete:
    case FileOp::Rename: return FileChange::Name;
    case FileOp::Attrib:
    case FileOp::Times: return FileChange::Attrib;
    case FileOp::Mount:
    case FileOp::Unmount: return FileChange::None;
  }
  return FileChange::None;
}

std::string_view class_name(EventClass c) {
  switch (c) {
    case EventClass::FileSystem: return "file_system";
    case EventClass::Process: return "process";
    case EventClass::Network: return "network";
    case EventClass::Dns: return "dns";
    case EventClass::Sensor: return "sensor";
  }
  return "unknown";
}

// ---------------------------------------------------------------- OCSF ---
// Events are OCSF 1.5.0 (docs/events.md): the class, activity, the process
// as actor.process, the device; what OCSF has no attribute for goes in
// `unmapped` under vigil's names.

namespace {

constexpr const char* kOcsfVersion = "1.5.0";

struct Activity {
  int id;
  const char* name;
};

bool is_any(std::string_view t, std::initializer_list<std::string_view> names) {
  for (auto n : names)
    if (t == n) return true;
  return false;
}

Activity activity_of(const Event& ev) {
  const std::string_view t = ev.type;
  switch (ev.cls) {
    case EventClass::Process:
      if (t == "exec" || t == "fork") return {1, "Launch"};
      if (t == "exit") return {2, "Terminate"};
      if (is_any(t, {"ptrace", "process_vm_writev"})) return {4, "Inject"};
      if (is_any(t, {"setuid", "setgid", "setreuid", "setregid", "setresuid", "setresgid", "setfsuid", "setfsgid"}))
        return {5, "Set User ID"};
      return {99, nullptr};
    case EventClass::FileSystem: {
      if (ev.arg("source")) return {14, "Open"};
      const FileType* f = file_type(t);
      if (!f) return {99, nullptr};
      switch (f->op) {
        case FileOp::Create: return {1, "Create"};
        case FileOp::Open: return {14, "Open"};
        case FileOp::Update: return {3, "Update"};
        case FileOp::Delete: return {4, "Delete"};
        case FileOp::Rename: return {5, "Rename"};
        case FileOp::Attrib: return {7, "Set Security"};
        case FileOp::Times: return {6, "Set Attributes"};
        case FileOp::Mount: return {12, "Mount"};
        case FileOp::Unmount: return {13, "Unmount"};
      }
      return {99, nullptr};
    }
    case EventClass::Network:
      if (is_any(t, {"connect", "accept", "accept4"})) return {1, "Open"};
      if (t == "listen") return {7, "Listen"};
      return {99, nullptr};
    case EventClass::Dns:
      return ev.dns && !ev.dns->answers.empty() ? Activity{2, "Response"}
             : is_any(t, {"recvfrom", "recvmsg", "read"}) ? Activity{2, "Response"}
                                                            : Activity{1, "Query"};
    case EventClass::Sensor: return {99, nullptr};
  }
  return {0, "Unknown"};
}

struct ClassInfo {
  const char* name;
  int category;
  const char* category_name;
};
ClassInfo class_info(EventClass c) {
  switch (c) {
    case EventClass::FileSystem: return {"File System Activity", 1, "System Activity"};
    case EventClass::Process: return {"Process Activity", 1, "System Activity"};
    case EventClass::Network: return {"Network Activity", 4, "Network Activity"};
    case EventClass::Dns: return {"DNS Activity", 4, "Network Activity"};
    case EventClass::Sensor: return {"vigil sensor", 0, "Uncategorized"};
  }
  return {"Unknown", 0, "Uncategorized"};
}

std::string_view base_name(std::string_view path) {
  auto slash = path.rfind('/');
  return slash == std::string_view::npos ? path : path.substr(slash + 1);
}

// OCSF file object; type_id 0 (Unknown) unless the call says what it is.
json file_json(std::string_view path, int type_id) {
  static const char* kTypes[] = {"Unknown", "Regular File", "Folder", "", "", "", "", "Symbolic Link"};
  json f = json::object();
  std::string p = utf8_sanitize(path);
  f["name"] = utf8_sanitize(base_name(path));
  f["path"] = std::move(p);
  f["type_id"] = type_id;
  f["type"] = kTypes[type_id];
  return f;
}

json hashes_json(const std::string& sha256) {
  return json::array({{{"algorithm_id", 3}, {"algorithm", "SHA-256"}, {"value", sha256}}});
}

json user_json(int uid) {
  json u = json::object();
  u["uid"] = std::to_string(uid);
  return u;
}

// OCSF process object. with_parent: add parent_process (one level).
json process_json(const Process& p, int tid, bool with_parent = true) {
  json j = json::object();
  j["pid"] = p.pid;
  if (tid && tid != p.pid) j["tid"] = tid;
  j["name"] = utf8_sanitize(p.name);
  // At most kArgvMaxBytes of argv in a record (rules saw all of it).
  std::string cmd = p.cmdline();
  if (cmd.size() > kArgvMaxBytes) cmd.resize(kArgvMaxBytes);
  j["cmd_line"] = utf8_sanitize(cmd);
  if (!p.exe.empty()) {
    json f = file_json(p.exe, 1);
    if (!p.sha256.empty()) f["hashes"] = hashes_json(p.sha256);
    j["file"] = std::move(f);
  }
  if (!p.cwd.empty()) j["working_directory"] = utf8_sanitize(p.cwd);
  if (p.uid >= 0) j["user"] = user_json(p.uid);
  if (p.start_ns > 0) j["created_time"] = p.start_ns / 1'000'000;
  if (with_parent && p.parent) {
    j["parent_process"] = process_json(*p.parent, 0, false);
  } else if (with_parent && p.ppid > 0) {
    j["parent_process"] = {{"pid", p.ppid}};
  }
  return j;
}

// What OCSF's process object has no attribute for: vigil's names, in unmapped.
json process_extra(const Process& p) {
  json j = json::object();
  json args = json::array();
  size_t bytes = 0;
  for (const auto& a : p.argv) {
    if (bytes >= kArgvMaxBytes) break;
    args.push_back(utf8_sanitize(std::string_view(a).substr(0, kArgvMaxBytes - bytes)));
    bytes += a.size() + 1;
  }
  j["args"] = std::move(args);
  if (p.argv_truncated || p.cmdline().size() > kArgvMaxBytes) j["args_truncated"] = true;
  j["ppid"] = p.ppid;
  j["user"] = {{"uid", p.uid}, {"gid", p.gid}, {"euid", p.euid}, {"egid", p.egid}};
  if (!p.tty.empty()) j["tty"] = p.tty;
  if (p.sid) j["sid"] = p.sid;
  if (!p.interpreter_script.empty()) j["script"] = utf8_sanitize(p.interpreter_script);
  if (p.exe_from_memfd) j["exe_from_memfd"] = true;
  if (p.exe_deleted) j["exe_deleted"] = true;
  if (p.exe_drift) j["exe_drift"] = true;
  if (!p.exe_drift_reason.empty()) j["exe_drift_reason"] = p.exe_drift_reason;
  return j;
}

// OCSF network_endpoint; null when the address is unknown.
json endpoint_json(const Endpoint& e, const std::string& hostname = {}) {
  if (!e.family || (e.addr.empty() && hostname.empty())) return nullptr;
  json j = json::object();
  if (e.family == 2 || e.family == 10) j["ip"] = e.addr;
  else if (!e.addr.empty()) j["name"] = utf8_sanitize(e.addr);  // unix socket path, @abstract name
  if (e.port) j["port"] = e.port;
  if (!hostname.empty()) j["hostname"] = utf8_sanitize(hostname);
  if (j.empty()) return nullptr;
  return j;
}


json device_json(const Context& ctx) {
  json d = {{"type_id", 6}, {"type", "Virtual"}};  // a container or task
  d["hostname"] = ctx.hostname.empty() ? std::string("unknown") : ctx.hostname;
  // OCSF's image object requires the image id, which vigil does not know: the
  // image reference goes in unmapped.container_image.
  if (!ctx.container_id.empty()) d["container"] = {{"uid", ctx.container_id}};
  return d;
}

json metadata_json(const Context& ctx, uint64_t seq, std::string_view event_code, bool security_control) {
  json profiles = json::array({"host", "container", "datetime"});
  if (security_control) profiles.push_back("security_control");
  json m = {{"version", kOcsfVersion},
            {"product", {{"name", "vigil"}, {"vendor_name", "vigil"}, {"version", VIGIL_VERSION}}},
            {"profiles", std::move(profiles)}};
  m["uid"] = ctx.sensor_id + ':' + std::to_string(seq);
  m["sequence"] = seq;
  if (!event_code.empty()) m["event_code"] = event_code;
  return m;
}

}  // namespace

json to_json(const Event& ev, const Context& ctx) {
  const ClassInfo ci = class_info(ev.cls);
  const Activity act = activity_of(ev);
  const int cls = static_cast<int>(ev.cls);
  json j = json::object();
  j["class_uid"] = cls;
  j["class_name"] = ci.name;
  j["category_uid"] = ci.category;
  j["category_name"] = ci.category_name;
  j["activity_id"] = act.id;
  j["activity_name"] = act.name ? std::string_view(act.name) : std::string_view(ev.type);
  j["type_uid"] = cls * 100 + act.id;
  j["type_name"] = fmt::format("{}: {}", ci.name, act.name ? std::string_view(act.name) : "Other");
  j["severity_id"] = 1;
  j["severity"] = "Informational";
  j["time"] = ev.time_ns / 1'000'000;
  j["time_dt"] = rfc3339_ns(ev.time_ns);
  j["metadata"] = metadata_json(ctx, ev.seq, ev.type, ev.action != Action::None);
  j["device"] = device_json(ctx);
  if (ev.action != Action::None) {  // security_control profile
    j["action_id"] = 2;
    j["action"] = "Denied";
    j["disposition_id"] = ev.action == Action::Denied ? 2 : 99;
    j["disposition"] = ev.action == Action::Denied ? "Blocked" : "Killed";
  }

  json un = json::object();  // vigil's own attributes
  un["type"] = ev.type;
  if (ev.has_res) un["res"] = ev.res;
  if (ev.action != Action::None) un["action"] = ev.action == Action::Denied ? "denied" : "killed";

  if (ev.proc) {
    json actor = process_json(*ev.proc, ev.tid);
    un["process"] = process_extra(*ev.proc);
    if (ev.cls == EventClass::Process) {
      if (ev.type == "fork") {
        // The new process is the child; the parent launched it.
        Process child = *ev.proc;
        child.pid = ev.child_pid;
        child.ppid = ev.proc->pid;
        child.parent = nullptr;
        json cj = process_json(child, 0, false);
        cj["parent_process"] = process_json(*ev.proc, 0, false);
        j["process"] = std::move(cj);
      } else if (ev.type == "exec" && ev.proc->parent) {
        j["process"] = actor;
        actor = process_json(*ev.proc->parent, 0);  // the parent launched the new image
      } else if (const std::string* target = ev.arg("pid")) {
        j["process"] = {{"pid", std::atoi(target->c_str())}};  // ptrace, kill, ...: the target
      } else {
        j["process"] = actor;
      }
    }
    j["actor"] = {{"process", std::move(actor)}};
  } else if (ev.cls == EventClass::Process) {
    j["process"] = {{"pid", ev.child_pid}};
  }
  if (ev.type == "exit") {
    if (ev.exit_signal) un["exit"] = {{"signal", ev.exit_signal}};
    else if (ev.exit_code >= 0) j["exit_code"] = ev.exit_code, un["exit"] = {{"code", ev.exit_code}};
  }
  if (ev.child_pid) un["child_pid"] = ev.child_pid;

  if (ev.file) {
    const auto& f = *ev.file;
    const std::string_view t = ev.type;
    int type = is_any(t, {"mkdir", "mkdirat", "rmdir", "chdir", "fchdir", "mount", "umount2", "umount", "move_mount",
                          "pivot_root", "chroot"})
                   ? 2
               : is_any(t, {"symlink", "symlinkat"})                                        ? 7
                                                                                             : 0;
    json fj = file_json(f.path, type);
    if (!f.sha256.empty()) fj["hashes"] = hashes_json(f.sha256);
    if (ev.cls == EventClass::FileSystem) {
      j["file"] = std::move(fj);
      if (!f.target.empty())
        j["file_result"] = file_json(f.target, is_any(t, {"mount", "umount2", "umount", "move_mount", "pivot_root"}) ? 2 : 0);
    }
    json uf = json::object();
    uf["path"] = utf8_sanitize(f.path);
    if (f.raw_path != f.path) uf["raw_path"] = utf8_sanitize(f.raw_path);
    if (!f.target.empty()) uf["target"] = utf8_sanitize(f.target);
    if (f.flags) uf["flags"] = f.flags;
    if (f.mode >= 0) uf["mode"] = f.mode;
    if (f.fd >= 0) uf["fd"] = f.fd;
    if (f.ino) uf["dev"] = f.dev, uf["ino"] = f.ino;  // the object the path resolved to
    un["file"] = std::move(uf);
  }
  if (ev.net) {
    const auto& n = *ev.net;
    const bool inbound = is_any(ev.type, {"accept", "accept4"});
    json local = endpoint_json(n.local), remote = endpoint_json(n.remote, n.remote_name);
    json& src = inbound ? remote : local;
    json& dst = inbound ? local : remote;
    if (ev.cls == EventClass::Network || ev.cls == EventClass::Dns) {
      if (!src.is_null()) j["src_endpoint"] = std::move(src);
      if (!dst.is_null()) j["dst_endpoint"] = std::move(dst);
      json ci_j = {{"direction_id", inbound ? 1 : is_any(ev.type, {"connect"}) || ev.cls == EventClass::Dns ? 2 : 0}};
      ci_j["protocol_num"] = n.protocol ? n.protocol : n.type == 1 ? 6 : n.type == 2 ? 17 : 0;
      if (ci_j["protocol_num"] == 6) ci_j["protocol_name"] = "tcp";
      if (ci_j["protocol_num"] == 17) ci_j["protocol_name"] = "udp";
      j["connection_info"] = std::move(ci_j);
    }
    json nj = {{"domain", n.domain}, {"type", n.type}, {"protocol", n.protocol}};
    if (n.local.family) nj["local"] = {{"family", n.local.family}, {"addr", utf8_sanitize(n.local.addr)}, {"port", n.local.port}};
    if (n.remote.family) nj["remote"] = {{"family", n.remote.family}, {"addr", utf8_sanitize(n.remote.addr)}, {"port", n.remote.port}};
    if (!n.remote_name.empty()) nj["remote_name"] = utf8_sanitize(n.remote_name);
    if (n.fd >= 0) nj["fd"] = n.fd;
    un["network"] = std::move(nj);
  }
  if (ev.dns) {
    const auto& d = *ev.dns;
    json q = {{"hostname", utf8_sanitize(d.qname)}};
    if (const char* tn = dns_qtype_name(d.qtype)) q["type"] = tn;
    j["query"] = std::move(q);
    if (!d.answers.empty()) {
      json answers = json::array();
      for (const auto& a : d.answers)
        answers.push_back({{"rdata", utf8_sanitize(a)}, {"type", a.find(':') != std::string::npos ? "AAAA" : "A"}});
      j["answers"] = std::move(answers);
    }
    if (const std::string* rc = ev.arg("rcode")) {
      static const char* kRcodes[] = {"NoError", "FormError", "ServError", "NXDomain", "NotImp", "Refused"};
      int code = std::atoi(rc->c_str());
      j["rcode_id"] = code >= 0 && code <= 5 ? code : 99;
      j["rcode"] = code >= 0 && code <= 5 ? kRcodes[code] : rc->c_str();
    }
    un["dns"] = {{"qtype", d.qtype}};
  }
  if (!ev.args.empty()) {
    json aj = json::object();
    for (const auto& a : ev.args) aj[a.name] = utf8_sanitize(a.value);
    un["args"] = std::move(aj);
  }
  if (!ctx.container_image.empty()) un["container_image"] = ctx.container_image;
  if (ctx.extra) un["ecs"] = *ctx.extra;
  if (!j.contains("actor")) j["actor"] = {{"app_name", "unknown"}};  // an unattributed read: OCSF requires an actor
  j["unmapped"] = std::move(un);
  return j;
}

std::string to_json_line(const Event& ev, const Context& ctx) { return to_json(ev, ctx).dump(); }

std::string FieldValue::text() const {
  switch (kind) {
    case Kind::Null: return "<NA>";
    case Kind::Str: return s;
    case Kind::Int: return std::to_string(n);
    case Kind::Bool: return n ? "true" : "false";
  }
  return "<NA>";
}

static std::string_view action_name(Action a) {
  return a == Action::Denied ? "denied" : a == Action::Killed ? "killed" : "none";
}

// Falco's alert shape (what falcosidekick's FalcoPayload reads): time,
// rule, priority, output, output_fields (typed, never empty), source, tags,
// hostname. vigil's own fields live in output_fields, the only map that
// passes through falcosidekick.
json to_json(const Alert& a, const Context& ctx) {
  const int64_t t = a.time_ns > 0 ? a.time_ns : now_realtime_ns();  // falcosidekick refuses a zero time
  json fields = json::object();
  for (const auto& [k, v] : a.output_fields) {
    json& f = fields[k];
    switch (v.kind) {
      case FieldValue::Kind::Null: f = nullptr; break;
      case FieldValue::Kind::Str: f = utf8_sanitize(v.s); break;
      case FieldValue::Kind::Int: f = v.n; break;
      case FieldValue::Kind::Bool: f = v.n != 0; break;
    }
  }
  fields["evt.time"] = t;  // Falco's type (ns since the epoch), whatever the rule's output rendered
  if (!fields.contains("container.id"))
    fields["container.id"] = ctx.container_id.empty() ? json(nullptr) : json(ctx.container_id);
  fields["vigil.action"] = action_name(a.action);
  fields["vigil.count"] = a.count;
  fields["vigil.event_id"] = fmt::format("{}:{}", ctx.sensor_id, a.event_seq);
  return {{"time", rfc3339_ns(t)}, {"rule", a.rule},
          {"priority", a.priority},        {"output", sanitize(a.output, false)},
          {"output_fields", std::move(fields)}, {"source", a.source},
          {"tags", a.tags},                {"hostname", ctx.hostname}};
}

// MITRE ATT&CK tactics named by Falco's mitre_* tags.
static const std::pair<std::string_view, std::pair<const char*, const char*>> kTactics[] = {
    {"mitre_reconnaissance", {"TA0043", "Reconnaissance"}},
    {"mitre_resource_development", {"TA0042", "Resource Development"}},
    {"mitre_initial_access", {"TA0001", "Initial Access"}},
    {"mitre_execution", {"TA0002", "Execution"}},
    {"mitre_persistence", {"TA0003", "Persistence"}},
    {"mitre_privilege_escalation", {"TA0004", "Privilege Escalation"}},
    {"mitre_defense_evasion", {"TA0005", "Defense Evasion"}},
    {"mitre_credential_access", {"TA0006", "Credential Access"}},
    {"mitre_discovery", {"TA0007", "Discovery"}},
    {"mitre_lateral_movement", {"TA0008", "Lateral Movement"}},
    {"mitre_collection", {"TA0009", "Collection"}},
    {"mitre_command_and_control", {"TA0011", "Command and Control"}},
    {"mitre_exfiltration", {"TA0010", "Exfiltration"}},
    {"mitre_impact", {"TA0040", "Impact"}},
};

// T1234 or T1234.001
static bool technique_tag(std::string_view t) {
  if (t.size() < 5 || t[0] != 'T') return false;
  for (size_t i = 1; i < 5; ++i)
    if (t[i] < '0' || t[i] > '9') return false;
  return t.size() == 5 || (t.size() == 9 && t[5] == '.' && t.find_first_not_of("0123456789", 6) == std::string_view::npos);
}

static json attacks_json(const std::vector<std::string>& tags) {
  json tactic = nullptr;
  for (const auto& t : tags)
    for (const auto& [tag, info] : kTactics)
      if (t == tag && tactic.is_null()) tactic = {{"uid", info.first}, {"name", info.second}};
  json attacks = json::array();
  for (const auto& t : tags) {
    if (!technique_tag(t)) continue;
    json a = {{"technique", {{"uid", t.substr(0, 5)}}}, {"version", "v15"}};
    if (t.size() > 5) a["sub_technique"] = {{"uid", t}};
    if (!tactic.is_null()) a["tactic"] = tactic;
    attacks.push_back(std::move(a));
  }
  if (attacks.empty() && !tactic.is_null()) attacks.push_back({{"tactic", tactic}, {"version", "v15"}});
  return attacks;
}

json to_ocsf_finding(const Alert& a, const Context& ctx, const std::string& uid) {
  static const std::pair<std::string_view, std::pair<int, const char*>> kSeverity[] = {
      {"Emergency", {6, "Fatal"}}, {"Alert", {5, "Critical"}}, {"Critical", {5, "Critical"}},
      {"Error", {4, "High"}},      {"Warning", {3, "Medium"}}, {"Notice", {2, "Low"}},
      {"Informational", {1, "Informational"}}, {"Debug", {1, "Informational"}}};
  std::pair<int, const char*> sev{0, "Unknown"};
  for (const auto& [name, v] : kSeverity)
    if (a.priority == name) sev = v;
  const int64_t t = a.time_ns > 0 ? a.time_ns : now_realtime_ns();
  json info = {{"uid", uid}, {"title", a.rule}, {"desc", sanitize(a.output, false)},
               {"created_time", t / 1'000'000}, {"types", json::array({a.source})}};
  if (!a.tags.empty()) info["tags"] = json::array();
  for (const auto& tag : a.tags) info["tags"].push_back({{"name", "tag"}, {"value", tag}});
  if (json attacks = attacks_json(a.tags); !attacks.empty()) info["attacks"] = std::move(attacks);
  info["related_events"] = json::array({{{"uid", ctx.sensor_id + ':' + std::to_string(a.event_seq)}}});
  json falco = to_json(a, ctx);  // the Falco alert, whole, for consumers of both forms
  json j = {{"class_uid", 2004},       {"class_name", "Detection Finding"},
            {"category_uid", 2},       {"category_name", "Findings"},
            {"activity_id", 1},        {"activity_name", "Create"},
            {"type_uid", 200401},      {"type_name", "Detection Finding: Create"},
            {"severity_id", sev.first}, {"severity", sev.second},
            {"time", t / 1'000'000},   {"time_dt", rfc3339_ns(t)},
            {"status_id", 1},          {"status", "New"},
            {"is_alert", true},        {"finding_info", std::move(info)},
            {"message", sanitize(a.output, false)},
            {"metadata", metadata_json(ctx, a.event_seq, a.rule, true)},
            {"device", device_json(ctx)}};
  j["metadata"]["uid"] = uid;
  j["metadata"].erase("sequence");
  j["metadata"].erase("event_code");
  if (a.action != Action::None) {
    j["action_id"] = 2;
    j["action"] = "Denied";
    j["disposition_id"] = a.action == Action::Denied ? 2 : 99;
    j["disposition"] = a.action == Action::Denied ? "Blocked" : "Killed";
  } else {
    j["action_id"] = 1;
    j["action"] = "Allowed";
    j["disposition_id"] = 15;
    j["disposition"] = "Detected";
  }
  j["count"] = a.count;
  j["unmapped"] = {{"falco", std::move(falco)}};
  return j;
}

const char* dns_qtype_name(int qtype) {
  switch (qtype) {
    case 1: return "A";
    case 2: return "NS";
    case 5: return "CNAME";
    case 6: return "SOA";
    case 12: return "PTR";
    case 15: return "MX";
    case 16: return "TXT";
    case 28: return "AAAA";
    case 33: return "SRV";
    case 65: return "HTTPS";
    case 255: return "ANY";
  }
  return nullptr;
}

}  // namespace vigil
