// Rule-engine throughput on one core: the full default ruleset (and its
// detectors) evaluating a synthetic stream of exec/open/connect/dns/other
// events. Build: cmake --build build --target rules_bench
// Run:   build/bench/rules_bench [--seconds=N] [--min=EVENTS_PER_S] [RULES_FILE_OR_DIR...]
// Prints one line with the figure; with --min, exits 1 below it.
#include <fcntl.h>
#include <sys/socket.h>

#include <time.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <random>
#include <string>
#include <vector>

#include "rules/rules.hpp"
#include "tests/unit/rules_test_util.hpp"

using namespace vigil;

namespace {

// The rules tests' process builder, as a non-root user started at time 1.
std::shared_ptr<Process> make_proc(const std::string& exe, std::vector<std::string> argv, std::shared_ptr<const Process> parent, int pid) {
  auto p = rt::proc(exe, std::move(argv), std::move(parent), pid);
  p->uid = p->euid = 1000;
  p->gid = p->egid = 1000;
  p->start_ns = 1;
  return p;
}

std::vector<Event> stream(size_t n) {
  std::mt19937 rng(42);
  auto root = make_proc("/usr/local/bin/app-server", {"app-server", "--port", "8080"}, nullptr, 1);
  auto sh = make_proc("/bin/sh", {"sh", "-c", "worker"}, root, 2);
  std::vector<std::shared_ptr<Process>> procs;
  const char* exes[] = {"/usr/bin/python3", "/usr/bin/node", "/usr/bin/java", "/bin/cat", "/usr/bin/git",
                        "/usr/bin/cc", "/bin/tar", "/usr/bin/curl", "/bin/ls", "/usr/bin/grep"};
  for (int i = 0; i < 64; ++i) {
    std::string exe = exes[i % 10];
    procs.push_back(make_proc(exe, {exe.substr(exe.rfind('/') + 1), "--flag", "arg" + std::to_string(i), "/data/input"},
                              i % 2 ? sh : root, 100 + i));
  }
  const char* paths[] = {"/app/static/index.html", "/usr/lib/python3.11/os.py", "/etc/hosts", "/etc/resolv.conf",
                         "/tmp/upload.bin", "/var/log/app/app.log", "/data/db/file.dat", "/proc/self/status",
                         "/usr/lib/x86_64-linux-gnu/libc.so.6", "/home/app/.cache/pip/x", "/etc/shadow", "/root/.ssh/id_rsa"};
  const char* hosts[] = {"10.0.1.20", "10.0.2.30", "52.94.1.10", "169.254.170.2", "140.82.112.6", "203.0.113.5"};
  const char* names[] = {"api.github.com", "s3.amazonaws.com", "db.internal", "pypi.org", "xkqjzpwrtmvbnfh.com"};
  const char* others[] = {"ptrace", "mount", "setuid", "unshare", "chmod", "fchmodat", "dup2", "socket"};
  std::vector<Event> out;
  out.reserve(n);
  for (size_t i = 0; i < n; ++i) {
    Event ev;
    ev.seq = i + 1;
    ev.time_ns = int64_t(1'700'000'000) * 1'000'000'000 + int64_t(i) * 1'000'000;
    ev.proc = procs[rng() % procs.size()];
    ev.tid = ev.proc->pid;
    unsigned k = rng() % 100;
    if (k < 20) {  // exec
      ev.type = "exec";
      auto p = make_proc(exes[rng() % 10], {"child", "-x", std::to_string(i)}, ev.proc, 1000 + int(i % 5000));
      ev.proc = p;
      FileInfo f;
      f.path = p->exe;
      ev.file = f;
    } else if (k < 70) {  // open family
      ev.type = "openat";
      FileInfo f;
      f.path = f.raw_path = paths[rng() % 12];
      f.flags = (rng() % 4 == 0) ? (O_WRONLY | O_CREAT | O_TRUNC) : O_RDONLY;
      ev.file = f;
    } else if (k < 85) {  // connect
      ev.type = "connect";
      NetInfo n;
      n.domain = AF_INET;
      n.type = SOCK_STREAM;
      static const int kPorts[] = {443, 80, 5432, 6379, 8080, 3306, 9200, 27017};
      // service ports, and now and then an ephemeral one
      n.remote = {AF_INET, hosts[rng() % 6], rng() % 16 == 0 ? int(1024 + rng() % 60000) : kPorts[rng() % 8]};
      n.local = {AF_INET, "10.0.0.5", 40000};
      ev.net = n;
    } else if (k < 95) {  // dns
      ev.type = "dns";
      DnsInfo d;
      d.qname = names[rng() % 5];
      d.qtype = 1;
      ev.dns = d;
    } else {
      ev.type = others[rng() % 8];
      ev.args = {{"request", "PTRACE_PEEKDATA"}, {"uid", "1000"}};
    }
    out.push_back(std::move(ev));
  }
  return out;
}

}  // namespace

int main(int argc, char** argv) {
  double seconds = 3, min_rate = 0;
  RulesConfig cfg;
  for (int i = 1; i < argc; ++i) {
    if (!std::strncmp(argv[i], "--seconds=", 10)) seconds = std::atof(argv[i] + 10);
    else if (!std::strncmp(argv[i], "--min=", 6)) min_rate = std::atof(argv[i] + 6);
    else cfg.files.push_back(argv[i]);
  }
  if (cfg.files.empty()) cfg.files.push_back(VIGIL_DEFAULT_RULES);
  std::string err;
  auto engine = Engine::load(cfg, &err);
  if (!engine) {
    std::fprintf(stderr, "rules_bench: %s\n", err.c_str());
    return 2;
  }
  size_t active = 0;
  for (const auto& r : engine->rules()) active += r.active;
  auto events = stream(1 << 16);
  std::vector<Alert> alerts;
  alerts.reserve(1024);
  uint64_t n = 0, raised = 0;
  auto cpu_now = [] {
    timespec ts{};
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
    return double(ts.tv_sec) + double(ts.tv_nsec) / 1e9;
  };
  double cpu0 = cpu_now();
  auto t0 = std::chrono::steady_clock::now();
  double elapsed = 0;
  while (elapsed < seconds) {
    for (const auto& ev : events) {
      engine->evaluate(ev, &alerts);
      raised += alerts.size();
      alerts.clear();
    }
    n += events.size();
    elapsed = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  }
  // Events per second of CPU time of this one thread: the figure for "one
  // core", independent of how busy the machine is; wall clock shown too.
  double cpu = cpu_now() - cpu0;
  double rate = double(n) / cpu;
  std::printf("rules_bench: %llu events, %.2fs CPU on one thread (%.2fs wall) = %.0f events/s per core "
              "(%zu active rules and detectors, %llu alerts after rate limiting)\n",
              static_cast<unsigned long long>(n), cpu, elapsed, rate, active, static_cast<unsigned long long>(raised));
  if (min_rate > 0 && rate < min_rate) {
    std::fprintf(stderr, "rules_bench: %.0f events/s is below the required %.0f\n", rate, min_rate);
    return 1;
  }
  return 0;
}
