#include "events/events.hpp"

#include <ctime>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

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

std::string utf8_sanitize(std::string_view s) {
  std::string out;
  out.reserve(s.size());
  size_t i = 0;
  while (i < s.size()) {
    auto c = static_cast<unsigned char>(s[i]);
    size_t len = c < 0x80 ? 1 : (c >> 5) == 0x6 ? 2 : (c >> 4) == 0xE ? 3 : (c >> 3) == 0x1E ? 4 : 0;
    bool ok = len > 0 && i + len <= s.size();
    for (size_t k = 1; ok && k < len; ++k) ok = (static_cast<unsigned char>(s[i + k]) & 0xC0) == 0x80;
    if (ok && len > 1) {  // reject overlong forms, surrogates and > U+10FFFF
      uint32_t cp = c & (0x7F >> len);
      for (size_t k = 1; k < len; ++k) cp = (cp << 6) | (static_cast<unsigned char>(s[i + k]) & 0x3F);
      ok = !((len == 2 && cp < 0x80) || (len == 3 && cp < 0x800) || (len == 4 && cp < 0x10000) ||
             (cp >= 0xD800 && cp <= 0xDFFF) || cp > 0x10FFFF);
    }
    if (ok) {
      out.append(s.substr(i, len));
      i += len;
    } else {
      out += fmt::format("\\x{:02x}", c);
      ++i;
    }
  }
  return out;
}

int64_t now_realtime_ns() {
  timespec ts{};
  clock_gettime(CLOCK_REALTIME, &ts);
  return int64_t(ts.tv_sec) * 1'000'000'000 + ts.tv_nsec;
}

std::string rfc3339_ns(int64_t time_ns) {
  time_t sec = time_ns / 1'000'000'000;
  long nsec = long(time_ns % 1'000'000'000);
  tm t{};
  gmtime_r(&sec, &t);
  return fmt::format("{:04}-{:02}-{:02}T{:02}:{:02}:{:02}.{:09}Z", t.tm_year + 1900, t.tm_mon + 1, t.tm_mday,
                     t.tm_hour, t.tm_min, t.tm_sec, nsec);
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

static json endpoint_json(const Endpoint& e) {
  json j = json::object();
  j["family"] = e.family;
  j["addr"] = utf8_sanitize(e.addr);
  if (e.port) j["port"] = e.port;
  return j;
}

static json process_json(const Process& p, int tid) {
  json j = json::object();
  j["pid"] = p.pid;
  if (tid && tid != p.pid) j["tid"] = tid;
  j["ppid"] = p.ppid;
  j["name"] = utf8_sanitize(p.name);
  j["exe"] = utf8_sanitize(p.exe);
  // At most kArgvMaxBytes of argv in a record (rules saw all of it).
  std::string cmd = p.cmdline();
  const bool capped = cmd.size() > kArgvMaxBytes;
  if (capped) cmd.resize(kArgvMaxBytes);
  j["cmd_line"] = utf8_sanitize(cmd);
  json args = json::array();
  size_t bytes = 0;
  for (const auto& a : p.argv) {
    if (bytes >= kArgvMaxBytes) break;
    args.push_back(utf8_sanitize(std::string_view(a).substr(0, kArgvMaxBytes - bytes)));
    bytes += a.size() + 1;
  }
  j["args"] = std::move(args);
  if (p.argv_truncated || capped) j["args_truncated"] = true;
  j["cwd"] = utf8_sanitize(p.cwd);
  j["user"] = {{"uid", p.uid}, {"gid", p.gid}, {"euid", p.euid}, {"egid", p.egid}};
  if (!p.sha256.empty()) j["sha256"] = p.sha256;
  if (!p.tty.empty()) j["tty"] = p.tty;
  if (p.sid) j["sid"] = p.sid;
  if (!p.interpreter_script.empty()) j["script"] = utf8_sanitize(p.interpreter_script);
  if (p.exe_from_memfd) j["exe_from_memfd"] = true;
  if (p.exe_deleted) j["exe_deleted"] = true;
  if (p.exe_drift) j["exe_drift"] = true;
  if (!p.exe_drift_reason.empty()) j["exe_drift_reason"] = p.exe_drift_reason;
  if (p.parent) {
    j["parent"] = {{"pid", p.parent->pid},
                   {"name", utf8_sanitize(p.parent->name)},
                   {"exe", utf8_sanitize(p.parent->exe)}};
  }
  return j;
}

json to_json(const Event& ev, const Context& ctx) {
  json j = json::object();
  j["id"] = fmt::format("{}:{}", ctx.sensor_id, ev.seq);
  j["seq"] = ev.seq;
  j["time"] = rfc3339_ns(ev.time_ns);
  j["class_uid"] = static_cast<int>(ev.cls);
  j["class_name"] = class_name(ev.cls);
  j["type"] = ev.type;
  if (ev.proc) j["process"] = process_json(*ev.proc, ev.tid);
  if (ev.has_res) j["res"] = ev.res;
  if (ev.type == "exit") {
    j["exit"] = ev.exit_signal ? json{{"signal", ev.exit_signal}} : json{{"code", ev.exit_code}};
  }
  if (ev.child_pid) j["child_pid"] = ev.child_pid;
  if (ev.file) {
    const auto& f = *ev.file;
    json fj = {{"path", utf8_sanitize(f.path)}};
    if (f.raw_path != f.path) fj["raw_path"] = utf8_sanitize(f.raw_path);
    if (!f.target.empty()) fj["target"] = utf8_sanitize(f.target);
    if (f.flags) fj["flags"] = f.flags;
    if (f.mode >= 0) fj["mode"] = f.mode;
    if (f.fd >= 0) fj["fd"] = f.fd;
    if (!f.sha256.empty()) fj["sha256"] = f.sha256;
    j["file"] = std::move(fj);
  }
  if (ev.net) {
    const auto& n = *ev.net;
    json nj = {{"domain", n.domain}, {"type", n.type}, {"protocol", n.protocol}};
    if (n.local.family) nj["local"] = endpoint_json(n.local);
    if (n.remote.family) nj["remote"] = endpoint_json(n.remote);
    if (!n.remote_name.empty()) nj["remote_name"] = utf8_sanitize(n.remote_name);
    if (n.fd >= 0) nj["fd"] = n.fd;
    j["network"] = std::move(nj);
  }
  if (ev.dns) {
    json answers = json::array();
    for (const auto& a : ev.dns->answers) answers.push_back(utf8_sanitize(a));
    j["dns"] = {{"qname", utf8_sanitize(ev.dns->qname)}, {"qtype", ev.dns->qtype}, {"answers", answers}};
  }
  if (!ev.args.empty()) {
    json aj = json::object();
    for (const auto& a : ev.args) aj[a.name] = utf8_sanitize(a.value);
    j["args"] = std::move(aj);
  }
  if (ev.action == Action::Denied) j["action"] = "denied";
  if (ev.action == Action::Killed) j["action"] = "killed";
  j["host"] = {{"hostname", ctx.hostname}};
  if (!ctx.container_id.empty() || !ctx.container_image.empty()) {
    json cj = json::object();
    if (!ctx.container_id.empty()) cj["id"] = ctx.container_id;
    if (!ctx.container_image.empty()) cj["image"] = ctx.container_image;
    j["container"] = std::move(cj);
  }
  if (ctx.extra) j["ecs"] = *ctx.extra;
  return j;
}

std::string to_json_line(const Event& ev, const Context& ctx) { return to_json(ev, ctx).dump(); }

json to_json(const Alert& a, const Context& ctx) {
  json fields = json::object();
  for (const auto& [k, v] : a.output_fields) fields[k] = utf8_sanitize(v);
  json j = {{"time", rfc3339_ns(a.time_ns)}, {"rule", a.rule},
            {"priority", a.priority},        {"output", utf8_sanitize(a.output)},
            {"output_fields", fields},       {"source", a.source},
            {"tags", a.tags},                {"hostname", ctx.hostname}};
  j["vigil"] = {{"event_id", fmt::format("{}:{}", ctx.sensor_id, a.event_seq)},
                {"action", a.action == Action::Denied ? "denied" : a.action == Action::Killed ? "killed" : "none"},
                {"count", a.count}};
  return j;
}

}  // namespace vigil
