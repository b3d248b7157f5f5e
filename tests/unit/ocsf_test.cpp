// Every event type vigil emits, and alerts as Detection Findings, validated
// against the OCSF 1.5.0 schema files in tests/ocsf/schema (tests/ocsf/validate.py);
// alerts in Falco's shape against falcosidekick's checks
// (tests/sinks/falcosidekick_check.py).
#include <unistd.h>

#include <catch2/catch.hpp>
#include <cstdlib>
#include <filesystem>
#include <fstream>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "events/events.hpp"

using namespace vigil;
using nlohmann::json;
namespace fs = std::filesystem;

namespace {

const fs::path kTests = fs::path(__FILE__).parent_path().parent_path();

ProcessPtr proc(int pid, const std::string& exe, std::vector<std::string> argv, ProcessPtr parent = nullptr) {
  auto p = std::make_shared<Process>();
  p->pid = pid;
  p->ppid = parent ? parent->pid : 1;
  p->uid = p->gid = p->euid = p->egid = 0;
  p->start_ns = 1'700'000'000'000'000'000;
  p->exe = exe;
  p->name = fs::path(exe).filename();
  p->argv = std::move(argv);
  p->cwd = "/app";
  p->sha256 = std::string(64, 'a');
  p->parent = std::move(parent);
  return p;
}

struct Maker {
  ProcessPtr sh = proc(10, "/bin/sh", {"sh", "-c", "x"});
  ProcessPtr app = proc(11, "/usr/bin/python3", {"python3", "app.py"}, sh);
  uint64_t seq = 0;
  std::vector<Event> out;

  Event& add(EventClass cls, const char* type, ProcessPtr p = nullptr) {
    Event ev;
    ev.seq = ++seq;
    ev.time_ns = 1'700'000'000'123'456'789;
    ev.cls = cls;
    ev.type = type;
    ev.proc = p ? p : app;
    ev.tid = ev.proc->pid;
    out.push_back(std::move(ev));
    return out.back();
  }
  Event& file(const char* type, const std::string& path, const std::string& target = {}) {
    Event& ev = add(EventClass::FileSystem, type);
    FileInfo f;
    f.path = f.raw_path = path;
    f.target = target;
    f.flags = 0x241;
    f.mode = 0644;
    ev.file = f;
    return ev;
  }
  Event& net(EventClass cls, const char* type, Endpoint local, Endpoint remote) {
    Event& ev = add(cls, type);
    NetInfo n;
    n.domain = local.family ? local.family : remote.family;
    n.type = 1;
    n.local = std::move(local);
    n.remote = std::move(remote);
    n.fd = 3;
    ev.net = n;
    return ev;
  }
};

std::vector<Event> every_event_type() {
  Maker m;
  m.add(EventClass::Process, "exec");
  m.add(EventClass::Process, "fork").child_pid = 12;
  m.add(EventClass::Process, "exit").exit_code = 2;
  m.add(EventClass::Process, "exit").exit_signal = 9;
  m.add(EventClass::Process, "exec", proc(13, "/bin/ls", {"ls"}));  // no parent known
  for (const char* t : {"setuid", "setresgid", "capset", "prctl", "unshare", "bpf", "userfaultfd", "io_uring_setup",
                        "delete_module", "init_module"})
    m.add(EventClass::Process, t).args = {{"uid", "0"}};
  for (const char* t : {"ptrace", "process_vm_writev", "kill"}) m.add(EventClass::Process, t).args = {{"pid", "99"}};
  m.add(EventClass::Process, "setns").file = FileInfo{"net:[4026531840]", "net:[4026531840]", "", 0, -1, 5, ""};
  m.add(EventClass::Process, "chdir").file = FileInfo{"/tmp", "/tmp", "", 0, -1, -1, ""};
  m.add(EventClass::Process, "finit_module").file = FileInfo{"/x.ko", "/x.ko", "", 0, -1, 3, ""};
  m.net(EventClass::Process, "dup2", {2, "10.0.0.2", 4444}, {2, "10.0.0.9", 80}).args = {{"newfd", "0"}};
  m.add(EventClass::Process, "exec").action = Action::Killed;
  for (const char* t : {"open", "openat", "openat2", "creat", "truncate", "unlink", "unlinkat", "rmdir", "mkdir",
                        "mkdirat", "chmod", "fchmodat", "chown", "fchownat", "memfd_create", "open_by_handle_at", "mmap"})
    m.file(t, "/app/data/file.txt");
  for (const char* t : {"rename", "renameat2", "link", "symlink", "mount", "umount2"})
    m.file(t, "/app/a", "/app/b");
  m.file("openat", "/etc/passwd").action = Action::Denied;
  Event& ino = m.file("open", "/etc/shadow");  // inotify, unattributed: no process
  ino.proc = nullptr;
  ino.args = {{"source", "inotify"}, {"attributed", "false"}};
  m.file("open", "/root/.aws/credentials").args = {{"source", "inotify"}, {"attributed_by", "argv"}};
  m.net(EventClass::Network, "socket", {17, "", 0}, {}).args = {{"raw", "true"}};
  Event& c = m.net(EventClass::Network, "connect", {2, "10.0.0.2", 40000}, {2, "93.184.216.34", 443});
  c.net->remote_name = "example.com";
  m.net(EventClass::Network, "connect", {}, {10, "2001:db8::1", 443});
  m.net(EventClass::Network, "connect", {}, {1, "/run/docker.sock", 0});
  m.net(EventClass::Network, "bind", {2, "0.0.0.0", 8080}, {});
  m.net(EventClass::Network, "listen", {2, "0.0.0.0", 8080}, {}).args = {{"backlog", "128"}};
  Event& acc = m.net(EventClass::Network, "accept4", {2, "10.0.0.2", 8080}, {2, "10.0.0.7", 51000});
  acc.res = 4;
  acc.has_res = true;
  Event& q = m.net(EventClass::Dns, "sendto", {2, "10.0.0.2", 53000}, {2, "10.0.0.1", 53});
  q.net->type = 2;
  q.dns = DnsInfo{"example.com", 1, {}};
  Event& a = m.net(EventClass::Dns, "recvfrom", {2, "10.0.0.2", 53000}, {2, "10.0.0.1", 53});
  a.dns = DnsInfo{"example.com", 28, {"93.184.216.34", "2606:2800:220:1::1"}};
  a.args = {{"rcode", "0"}};
  m.add(EventClass::Dns, "sendmmsg").dns = DnsInfo{"nx.example", 1, {}};
  return m.out;
}

Alert sample_alert(std::vector<std::string> tags, Action act, std::string priority) {
  Alert a;
  a.time_ns = 1'700'000'000'123'456'789;
  a.rule = "Terminal shell in container";
  a.priority = std::move(priority);
  a.output = "12:00:00.1: Notice A shell was spawned";
  a.output_fields = {{"proc.name", "sh"}, {"proc.pid", FieldValue::num(42)}, {"proc.loginuid", FieldValue()}};
  a.tags = std::move(tags);
  a.action = act;
  a.event_seq = 7;
  return a;
}

int run(const std::string& script, const fs::path& file) {
  std::string cmd = fmt::format("python3 '{}' '{}'", (kTests / script).string(), file.string());
  int rc = std::system(cmd.c_str());
  return WIFEXITED(rc) ? WEXITSTATUS(rc) : -1;
}

}  // namespace

TEST_CASE("ocsf: every event type validates against the OCSF 1.5.0 schema", "[events][ocsf]") {
  Context ctx;
  ctx.sensor_id = "s1";
  ctx.hostname = "ip-10-0-1-5";
  ctx.container_id = std::string(64, 'c');
  ctx.container_image = "nginx:1.27";
  auto path = fs::temp_directory_path() / fmt::format("vigil-ocsf-{}.json", getpid());
  {
    std::ofstream out(path);
    for (const auto& ev : every_event_type()) out << to_json_line(ev, ctx) << '\n';
    Context bare;  // no container known
    bare.sensor_id = "s2";
    out << to_json_line(every_event_type().front(), bare) << '\n';
    int n = 0;
    for (auto [tags, act] : {std::pair{std::vector<std::string>{"shell", "mitre_execution", "T1059.004", "T1611"}, Action::Denied},
                             std::pair{std::vector<std::string>{"mitre_credential_access"}, Action::Killed},
                             std::pair{std::vector<std::string>{}, Action::None}})
      out << to_ocsf_finding(sample_alert(tags, act, "Notice"), ctx, fmt::format("s1:alert:{}", ++n)).dump() << '\n';
  }
  CHECK(run("ocsf/validate.py", path) == 0);
  fs::remove(path);
}

TEST_CASE("ocsf: fork names the child as process and the parent as actor.process", "[events][ocsf]") {
  Context ctx;
  ctx.sensor_id = "s";
  auto events = every_event_type();
  const Event& fork = events[1];
  REQUIRE(fork.type == "fork");
  auto j = to_json(fork, ctx);
  CHECK(j["class_uid"] == 1007);
  CHECK(j["activity_id"] == 1);
  CHECK(j["type_uid"] == 100701);
  CHECK(j["process"]["pid"] == 12);
  CHECK(j["process"]["parent_process"]["pid"] == 11);
  CHECK(j["actor"]["process"]["pid"] == 11);
  CHECK(j["time"] == 1'700'000'000'123);
  CHECK(j["time_dt"] == "2023-11-14T22:13:20.123456789Z");
  CHECK(j["metadata"]["product"]["name"] == "vigil");
  CHECK(j["metadata"]["version"] == "1.5.0");
  // exec: the new image is the process, its parent launched it
  auto e = to_json(events[0], ctx);
  CHECK(e["process"]["file"]["path"] == "/usr/bin/python3");
  CHECK(e["process"]["parent_process"]["pid"] == 10);
  CHECK(e["actor"]["process"]["pid"] == 10);
}

TEST_CASE("ocsf: Detection Finding carries MITRE attacks from the rule tags", "[events][ocsf]") {
  Context ctx;
  ctx.sensor_id = "s";
  auto j = to_ocsf_finding(sample_alert({"mitre_execution", "T1059.004", "T1611"}, Action::None, "Critical"), ctx, "s:alert:1");
  CHECK(j["class_uid"] == 2004);
  CHECK(j["severity_id"] == 5);
  CHECK(j["finding_info"]["uid"] == "s:alert:1");
  CHECK(j["finding_info"]["title"] == "Terminal shell in container");
  const auto& attacks = j["finding_info"]["attacks"];
  REQUIRE(attacks.size() == 2);
  CHECK(attacks[0]["technique"]["uid"] == "T1059");
  CHECK(attacks[0]["sub_technique"]["uid"] == "T1059.004");
  CHECK(attacks[0]["tactic"]["uid"] == "TA0002");
  CHECK(attacks[1]["technique"]["uid"] == "T1611");
  CHECK(j["unmapped"]["falco"]["rule"] == "Terminal shell in container");
}

TEST_CASE("falcosidekick: alerts pass its checks and are in Falco's shape", "[events][sinks]") {
  Context ctx;
  ctx.sensor_id = "s";
  ctx.hostname = "h";
  auto path = fs::temp_directory_path() / fmt::format("vigil-fsk-{}.json", getpid());
  {
    std::ofstream out(path);
    for (auto act : {Action::None, Action::Denied, Action::Killed}) {
      Alert a = sample_alert({"T1059"}, act, "Informational");
      out << to_json(a, ctx).dump() << '\n';
      a.output_fields.clear();  // a rule without %fields: still not empty
      a.time_ns = 0;            // and never a zero time
      out << to_json(a, ctx).dump() << '\n';
    }
  }
  CHECK(run("sinks/falcosidekick_check.py", path) == 0);
  // ... and the checker does refuse what falcosidekick refuses.
  {
    std::ofstream out(path);
    out << R"({"rule":"r","priority":"info","time":"2024-01-01T00:00:00Z","output_fields":{"a":1}})" << '\n';
  }
  CHECK(run("sinks/falcosidekick_check.py", path) == 1);
  {
    std::ofstream out(path);
    out << R"({"rule":"r","priority":"Notice","time":"2024-01-01T00:00:00Z","output_fields":{}})" << '\n';
  }
  CHECK(run("sinks/falcosidekick_check.py", path) == 1);
  fs::remove(path);
  auto j = to_json(sample_alert({}, Action::Denied, "Notice"), ctx);
  CHECK(j["output_fields"]["proc.pid"] == 42);
  CHECK(j["output_fields"]["proc.loginuid"].is_null());
  CHECK(j["output_fields"]["vigil.action"] == "denied");
  CHECK(j["output_fields"]["evt.time"] == 1'700'000'000'123'456'789);
}
