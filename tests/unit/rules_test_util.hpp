// Helpers for the rules engine unit tests: synthetic events and engines
// loaded from inline YAML.
#pragma once

#include <unistd.h>

#include <algorithm>
#include <fstream>
#include <memory>
#include <stdexcept>
#include <string>
#include <vector>

#include <fcntl.h>
#include <sys/socket.h>

#include "events/events.hpp"
#include "rules/rules.hpp"

namespace rt {

using namespace vigil;

inline std::string repo_dir() {
  std::string f = __FILE__;  // <repo>/tests/unit/rules_test_util.hpp
  return f.substr(0, f.rfind("/tests/unit/"));
}
// Reference data vendored under tests/reference/ (its README says where each file comes from).
inline std::string reference_dir() { return repo_dir() + "/tests/reference"; }
inline std::string source_rules_dir() { return repo_dir() + "/rules/default"; }

inline std::string write_tmp(const std::string& text, const std::string& ext = ".yaml") {
  static int n = 0;
  std::string path = "/tmp/vigil_rules_test_" + std::to_string(getpid()) + "_" + std::to_string(n++) + ext;
  std::ofstream(path) << text;
  return path;
}

inline std::unique_ptr<Engine> engine_from(const std::vector<std::string>& files, int64_t rate = 0,
                                           std::vector<std::string> intel = {}) {
  RulesConfig cfg;
  cfg.files = files;
  cfg.rate_limit_ns = rate;
  cfg.threat_intel = std::move(intel);
  std::string err;
  auto e = Engine::load(cfg, &err);
  if (!e) throw std::runtime_error(err);
  return e;
}
inline std::unique_ptr<Engine> engine_text(const std::string& yaml, int64_t rate = 0) {
  return engine_from({write_tmp(yaml)}, rate);
}
// Load error message ("" if it loads).
inline std::string load_error(const std::string& yaml, bool strict = false) {
  RulesConfig cfg;
  cfg.files = {write_tmp(yaml)};
  cfg.strict = strict;
  std::string err;
  auto e = Engine::load(cfg, &err);
  return e ? "" : err;
}

inline std::shared_ptr<Process> proc(const std::string& exe, std::vector<std::string> argv,
                                     std::shared_ptr<const Process> parent = nullptr, int pid = 100) {
  auto p = std::make_shared<Process>();
  p->pid = pid;
  p->ppid = parent ? parent->pid : 1;
  p->uid = p->euid = 0;
  p->gid = p->egid = 0;
  p->exe = exe;
  p->name = exe.substr(exe.rfind('/') + 1);
  p->argv = std::move(argv);
  p->cwd = "/app";
  p->parent = std::move(parent);
  p->start_ns = 1'000'000'000'000;
  return p;
}

inline std::shared_ptr<const Process> app() { return proc("/usr/local/bin/app", {"app", "--serve"}, nullptr, 10); }

inline Event base(const std::string& type, std::shared_ptr<const Process> p) {
  static uint64_t seq = 1;
  Event ev;
  ev.seq = seq++;
  ev.time_ns = 1'000'000'000'000 + 60'000'000'000;  // a minute after process start
  ev.type = type;
  ev.proc = std::move(p);
  ev.tid = ev.proc ? ev.proc->pid : 0;
  return ev;
}

inline Event exec_ev(const std::string& exe, std::vector<std::string> argv, std::shared_ptr<const Process> parent = app()) {
  Event ev = base("exec", proc(exe, std::move(argv), std::move(parent)));
  ev.cls = EventClass::Process;
  FileInfo f;
  f.path = f.raw_path = exe;
  ev.file = f;
  return ev;
}
inline Event exec_p(std::shared_ptr<Process> p) {
  Event ev = base("exec", std::move(p));
  return ev;
}

inline Event open_ev(const std::string& path, int64_t flags, std::shared_ptr<const Process> p = nullptr,
                  const std::string& type = "openat") {
  Event ev = base(type, p ? p : proc("/usr/bin/cat", {"cat", path}, app()));
  ev.cls = EventClass::FileSystem;
  FileInfo f;
  f.path = f.raw_path = path;
  f.flags = flags;
  f.mode = (flags & O_CREAT) ? 0644 : -1;
  ev.file = f;
  return ev;
}

inline Event file_op(const std::string& type, const std::string& path, const std::string& target = "",
                     std::shared_ptr<const Process> p = nullptr) {
  Event ev = base(type, p ? p : proc("/bin/sh", {"sh", "-c", "x"}, app()));
  ev.cls = EventClass::FileSystem;
  FileInfo f;
  f.path = f.raw_path = path;
  f.target = target;
  ev.file = f;
  return ev;
}

inline Event connect_ev(const std::string& ip, int port, std::shared_ptr<const Process> p = nullptr,
                     const std::string& type = "connect", int sock_type = SOCK_STREAM) {
  Event ev = base(type, p ? p : proc("/usr/bin/curl", {"curl", ip}, app()));
  ev.cls = EventClass::Network;
  NetInfo n;
  bool v6 = ip.find(':') != std::string::npos;
  n.domain = v6 ? AF_INET6 : AF_INET;
  n.type = sock_type;
  n.remote = {n.domain, ip, port};
  n.local = {n.domain, v6 ? "::1" : "10.0.0.5", 40000};
  n.fd = 3;
  ev.net = n;
  return ev;
}

inline Event unix_connect(const std::string& path, std::shared_ptr<const Process> p = nullptr) {
  Event ev = base("connect", p ? p : proc("/usr/bin/curl", {"curl", "--unix-socket", path}, app()));
  ev.cls = EventClass::Network;
  NetInfo n;
  n.domain = AF_UNIX;
  n.type = SOCK_STREAM;
  n.remote = {AF_UNIX, path, 0};
  ev.net = n;
  return ev;
}

inline Event dns_ev(const std::string& qname, std::vector<std::string> answers = {}, std::shared_ptr<const Process> p = nullptr) {
  Event ev = base("dns", p ? p : proc("/usr/bin/curl", {"curl", qname}, app()));
  ev.cls = EventClass::Dns;
  DnsInfo d;
  d.qname = qname;
  d.qtype = 1;
  d.answers = std::move(answers);
  ev.dns = d;
  return ev;
}

inline Event syscall_ev(const std::string& type, std::vector<Arg> args, std::shared_ptr<const Process> p = nullptr) {
  Event ev = base(type, p ? p : proc("/usr/local/bin/app", {"app"}, app()));
  ev.args = std::move(args);
  return ev;
}

// A rule, an event of its behaviour and a near miss that must not fire it.
struct Case {
  std::string rule;
  Event hit, miss;
};

template <class Fn>
std::shared_ptr<Process> with(std::shared_ptr<Process> p, Fn fn) {
  fn(*p);
  return p;
}

// Names of the rules that fired on ev.
inline std::vector<std::string> fired(Engine& e, const Event& ev, Action* v = nullptr) {
  std::vector<Alert> out;
  Action verdict = e.evaluate(ev, &out);
  if (v) *v = verdict;
  std::vector<std::string> names;
  for (const auto& a : out) names.push_back(a.rule);
  return names;
}
inline bool fires(Engine& e, const Event& ev, const std::string& rule) {
  auto n = fired(e, ev);
  return std::find(n.begin(), n.end(), rule) != n.end();
}

}  // namespace rt
