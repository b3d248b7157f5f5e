#include <arpa/inet.h>
#include <linux/audit.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/mman.h>
#include <unistd.h>

#include <cstring>
#include <map>
#include <string>
#include <vector>

#include <catch2/catch.hpp>

#include "probes/probes.hpp"
#include "sensor/sensor.hpp"

using namespace vigil;

TEST_CASE("the probes table yields a seccomp filter", "[tracer]") {
  std::string err;
  scmp_filter_ctx ctx = probes::build_filter(&err);
  REQUIRE(ctx != nullptr);
  CHECK(err.empty());
  // Every ABI of the build (x86_64 and i386 (int 0x80), or aarch64) carries the rules.
  for (const auto& abi : probes::kAbis) CHECK(seccomp_arch_exist(ctx, abi.arch) == 0);
  seccomp_release(ctx);
  for (const auto& p : probes::table()) {
    INFO(p.syscall);
    CHECK(seccomp_syscall_resolve_name(p.syscall) != __NR_SCMP_ERROR);
    CHECK(p.decode != nullptr);
  }
}

// aarch64 (the generic syscall table) has none of the legacy path calls nor
// dup2. A row an architecture lacks must have its replacement there, itself a
// row: checked for aarch64 on every build (libseccomp resolves any
// architecture's names). (i386's socket calls, which libseccomp resolves
// through socketcall: probes_filter_bpf_test.cpp.)
TEST_CASE("every row an architecture lacks has its replacement row there", "[tracer]") {
  const std::map<std::string, std::string> replaced = {
      {"open", "openat"},   {"creat", "openat"},   {"unlink", "unlinkat"},   {"rmdir", "unlinkat"},
      {"mkdir", "mkdirat"}, {"chmod", "fchmodat"}, {"chown", "fchownat"},    {"lchown", "fchownat"},
      {"rename", "renameat"}, {"link", "linkat"},  {"symlink", "symlinkat"}, {"dup2", "dup3"},
      {"umount", "umount2"}, {"fcntl64", "fcntl"}, {"futimesat", "utimensat"}, {"utimes", "utimensat"},
      {"utime", "utimensat"}, {"mmap2", "mmap"}};
  auto is_row = [](const std::string& name) {
    for (const auto& p : probes::table())
      if (name == p.syscall) return true;
    return false;
  };
  const probes::Index index(probes::table());
  for (uint32_t arch : {uint32_t(AUDIT_ARCH_X86_64), uint32_t(AUDIT_ARCH_AARCH64)}) {
    const bool built = probes::abi_index(arch) >= 0;  // one of this build's ABIs: the index has its rows
    for (const auto& p : probes::table()) {
      INFO("arch " << std::hex << arch << ": " << p.syscall);
      const int nr = seccomp_syscall_resolve_name_arch(arch, p.syscall);
      if (nr >= 0) {
        if (built) CHECK(index.find(arch, nr) == &p);
        continue;
      }
      const auto it = replaced.find(p.syscall);
      REQUIRE(it != replaced.end());
      CHECK(is_row(it->second));
      CHECK(seccomp_syscall_resolve_name_arch(arch, it->second.c_str()) >= 0);
    }
  }
  CHECK(probes::abi_index(AUDIT_ARCH_X86_64 & ~__AUDIT_ARCH_64BIT) < 0);
  CHECK(index.find(AUDIT_ARCH_X86_64 & ~__AUDIT_ARCH_64BIT, 2) == nullptr);  // not an ABI of the filter
}

#if defined(__x86_64__)
TEST_CASE("notifications map back to table rows by architecture and number", "[tracer]") {
  const auto& t = probes::table();
  const probes::Index index(t);
  auto row = [&](uint32_t arch, const char* name) {
    return index.find(arch, seccomp_syscall_resolve_name_arch(arch == AUDIT_ARCH_I386 ? SCMP_ARCH_X86 : SCMP_ARCH_X86_64, name));
  };
  for (const auto& p : t) {
    INFO(p.syscall);
    if (seccomp_syscall_resolve_name_arch(SCMP_ARCH_X86_64, p.syscall) < 0) continue;  // i386 only (umount)
    CHECK(row(AUDIT_ARCH_X86_64, p.syscall) == &p);
  }
  REQUIRE(index.find(AUDIT_ARCH_I386, 22) != nullptr);  // i386 22 = umount (oldumount): a mount row there too
  CHECK(std::string(index.find(AUDIT_ARCH_I386, 22)->syscall) == "umount");
  REQUIRE(row(AUDIT_ARCH_I386, "openat") != nullptr);  // int 0x80: i386 numbers
  CHECK(std::string(row(AUDIT_ARCH_I386, "openat")->syscall) == "openat");
  CHECK(index.find(AUDIT_ARCH_X86_64, 5) == nullptr);   // x86_64 5 = fstat: not a row
  CHECK(index.find(AUDIT_ARCH_I386, 5) != nullptr);     // i386 5 = open
  CHECK(index.find(AUDIT_ARCH_X86_64, -1) == nullptr);
  CHECK(index.find(AUDIT_ARCH_X86_64, 100000) == nullptr);
}
#endif

TEST_CASE("tracee strings are read page by page and stop at unmapped memory", "[tracer]") {
  long page = sysconf(_SC_PAGESIZE);
  auto* mem = static_cast<char*>(mmap(nullptr, size_t(page) * 3, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0));
  REQUIRE(mem != MAP_FAILED);
  probes::TraceeMemory self(getpid());
  std::string out;

  // A string crossing the page boundary.
  char* s = mem + page - 3;
  std::strcpy(s, "abcdef");
  REQUIRE(self.read_string(reinterpret_cast<uint64_t>(s), 100, &out));
  CHECK(out == "abcdef");

  // Capped at max bytes.
  REQUIRE(self.read_string(reinterpret_cast<uint64_t>(s), 4, &out));
  CHECK(out == "abcd");

  // Unterminated up to an unmapped page: a short read (false: a verdict
  // must not rest on it), with what was readable, and no fault.
  std::memset(mem + page, 'x', size_t(page));
  REQUIRE(munmap(mem + 2 * page, size_t(page)) == 0);
  CHECK_FALSE(self.read_string(reinterpret_cast<uint64_t>(mem + 2 * page - 2), 100, &out));
  CHECK(out == "xx");
  CHECK_FALSE(self.read_string(reinterpret_cast<uint64_t>(mem + 2 * page), 100, &out));
  CHECK_FALSE(self.read_string(0, 100, &out));
  munmap(mem, size_t(page) * 2);
}

TEST_CASE("prefetched tracee spans serve the reads within them, a short span where memory ends", "[tracer]") {
  long page = sysconf(_SC_PAGESIZE);
  auto* mem = static_cast<char*>(mmap(nullptr, size_t(page) * 3, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0));
  REQUIRE(mem != MAP_FAILED);
  REQUIRE(munmap(mem + 2 * page, size_t(page)) == 0);
  char* path = mem + 10;
  std::strcpy(path, "/bin/true");
  char* ptrs = mem + 2 * page - 16;  // two "pointers" up to the unmapped page
  std::memset(ptrs, 7, 16);
  const auto at = [](const char* p) { return reinterpret_cast<uint64_t>(p); };
  probes::TraceeMemory self(getpid());
  self.prefetch({probes::TraceeMemory::string_head(at(path)), {at(ptrs), 4096}});
  // Changed after the prefetch: the reads within the spans give the copy.
  std::strcpy(path, "/bin/evil");
  std::memset(ptrs, 9, 16);
  std::string out;
  REQUIRE(self.read_string(at(path), 4096, &out));
  CHECK(out == "/bin/true");
  unsigned char buf[4096];
  // The span read short: the memory ends there, as a read of its own says.
  REQUIRE(self.read_some(at(ptrs), buf, sizeof buf) == 16);
  CHECK(buf[0] == 7);
  CHECK(self.read_some(at(ptrs + 8), buf, 4) == 4);
  CHECK(buf[0] == 7);
  // Past a full span, and elsewhere: read now.
  CHECK(self.read_some(at(path), buf, probes::TraceeMemory::string_head(at(path)).second + 1) ==
        probes::TraceeMemory::string_head(at(path)).second + 1);
  CHECK(std::memcmp(buf, "/bin/evil", 9) == 0);
  CHECK(self.read_some(at(mem + page), buf, 4) == 4);
  // A span after a short one is not kept; an unreadable first span keeps nothing.
  probes::TraceeMemory other(getpid());
  other.prefetch({{at(ptrs), 4096}, {at(path), 16}});
  CHECK(other.read_some(at(path), buf, 9) == 9);
  CHECK(std::memcmp(buf, "/bin/evil", 9) == 0);
  probes::TraceeMemory none(getpid());
  none.prefetch({{at(mem + 2 * page), 16}, {at(path), 16}});
  CHECK(none.read_some(at(path), buf, 9) == 9);
  CHECK(std::memcmp(buf, "/bin/evil", 9) == 0);
  munmap(mem, size_t(page) * 2);
}


TEST_CASE("a send a rule can block: each destination read once, a plain datagram judged quietly", "[tracer]") {
  const probes::Probe* row = nullptr;
  for (const auto& p : probes::table())
    if (std::string(p.syscall) == "sendmmsg") row = &p;
  REQUIRE(row != nullptr);
  CHECK(row->performed);
  sockaddr_in a{}, b{};
  a.sin_family = b.sin_family = AF_INET;
  a.sin_port = b.sin_port = htons(9999);
  a.sin_addr.s_addr = inet_addr("127.0.0.2");
  b.sin_addr.s_addr = inet_addr("127.0.0.3");
  char data[] = "hello";
  iovec v{data, 5};
  mmsghdr m[3]{};
  for (auto& x : m) x.msg_hdr.msg_iov = &v, x.msg_hdr.msg_iovlen = 1;
  m[0].msg_hdr.msg_name = &a, m[0].msg_hdr.msg_namelen = sizeof a;
  m[2].msg_hdr.msg_name = &b, m[2].msg_hdr.msg_namelen = sizeof b;  // m[1]: none (the socket's peer)
  probes::SyscallArgs args;
  args.arch = probes::kAbis[0].arch;
  args.nr = SYS_sendmmsg;
  args.args[0] = 1000;  // no fd table here
  args.args[1] = reinterpret_cast<uint64_t>(m);
  args.args[2] = 3;
  const probes::TraceeMemory self(getpid());

  probes::DecodeContext ctx;
  ctx.performed = true;
  Event ev;
  ev.type = "sendmmsg";
  row->decode(args, self, ctx, &ev);
  CHECK_FALSE(ctx.drop);  // judged (a block rule may name its address) ...
  CHECK(ctx.quiet);       // ... but no DNS message nor a protocol a rule names: emitted only if acted on
  REQUIRE(ctx.sends.size() == 3);
  for (const auto& d : ctx.sends) CHECK(std::string(d.data.begin(), d.data.end()) == "hello");  // the data judged, sent as is
  CHECK(ctx.sends[0].given);
  CHECK_FALSE(ctx.sends[1].given);
  REQUIRE(ctx.sends[2].given);
  REQUIRE(ctx.sends[2].addr.len == sizeof b);
  b.sin_addr.s_addr = inet_addr("10.0.0.1");  // a rewrite after the read: the copy is what was judged
  CHECK(std::memcmp(ctx.sends[2].addr.bytes, &b, sizeof b) != 0);
  REQUIRE(ev.net);
  CHECK(ev.net->remote.addr == "127.0.0.2");

  probes::DecodeContext plain;  // no rule can block it: no event, nothing copied
  Event ev2;
  ev2.type = "sendmmsg";
  row->decode(args, self, plain, &ev2);
  CHECK(plain.drop);
  CHECK(plain.sends.empty());
}

// An exec's reads (issue 14): argv[0] that is the path itself (posix_spawn,
// execv) comes from the one read of the path and argv pointers; the cwd is
// read only where asked (a rule on proc.cwd, an event sink) or where argv
// names a relative path (the sensitive-file watch's attribution by argv).
TEST_CASE("an exec's argv[0] that is its path is read with it; cwd only when needed", "[tracer][exec]") {
  const probes::Probe* row = nullptr;
  for (const auto& p : probes::table())
    if (std::string(p.syscall) == "execve") row = &p;
  REQUIRE(row != nullptr);
  char cwd_buf[4096];
  REQUIRE(getcwd(cwd_buf, sizeof cwd_buf) != nullptr);
  const long page = sysconf(_SC_PAGESIZE);
  auto* far = static_cast<char*>(mmap(nullptr, size_t(page), PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0));
  REQUIRE(far != MAP_FAILED);
  std::strcpy(far, "true");
  std::strcpy(far + 64, "some/file");
  char path[] = "/bin/true";
  char* same[] = {path, nullptr};
  char* apart[] = {far, far + 64, nullptr};
  const probes::TraceeMemory self(getpid());
  // Decodes execve(path, argv): the event's process and the reads of the caller's memory it took.
  auto exec = [&](char** argv, bool cwd, bool argv_cwd, uint64_t* reads) {
    probes::SyscallArgs args;
    args.arch = probes::kAbis[0].arch;
    args.nr = SYS_execve;
    args.args[0] = reinterpret_cast<uint64_t>(path);
    args.args[1] = reinterpret_cast<uint64_t>(argv);
    probes::DecodeContext ctx;
    ctx.tgid = getpid();
    ctx.exec_session = ctx.exec_caps = ctx.exec_stdio = false;
    ctx.exec_cwd = cwd, ctx.exec_argv_cwd = argv_cwd;
    probes::ReadWatch w;
    probes::watch_reads(&w);
    Event ev;
    ev.type = "execve";
    row->decode(args, self, ctx, &ev);
    probes::watch_reads(nullptr);
    *reads = w.reading.load() >> 32;
    REQUIRE_FALSE(ctx.drop);
    REQUIRE(ev.proc);
    return *ev.proc;
  };
  uint64_t reads = 0;
  Process p = exec(same, false, true, &reads);
  CHECK(p.argv == std::vector<std::string>{"/bin/true"});
  CHECK(reads == 1);  // path, argv pointers and argv[0]: one process_vm_readv
  CHECK(p.cwd.empty());  // nothing asked for it, and no relative argument
  p = exec(apart, false, true, &reads);
  CHECK(p.argv == std::vector<std::string>{"true", "some/file"});
  CHECK(reads == 2);  // the strings elsewhere: a read of their own
  CHECK(p.cwd == cwd_buf);  // a relative argument, for the attribution by argv
  CHECK(exec(apart, false, false, &reads).cwd.empty());
  CHECK(exec(same, true, false, &reads).cwd == cwd_buf);  // a rule or an event sink reads it
  munmap(far, size_t(page));
}

TEST_CASE("container id from /proc/self/cgroup", "[tracer]") {
  const std::string id(64, 'a');
  CHECK(container_id_from_cgroup("0::/system.slice/docker-" + id + ".scope\n") == id);
  CHECK(container_id_from_cgroup("12:pids:/docker/" + id + "\n11:cpu:/docker/" + id + "\n") == id);
  CHECK(container_id_from_cgroup("11:cpuset:/ecs/0123456789abcdef0123456789abcdef/"
                                 "0123456789abcdef0123456789abcdef-3812404731\n") ==
        "0123456789abcdef0123456789abcdef-3812404731");
  CHECK(container_id_from_cgroup("0::/\n").empty());
  CHECK(container_id_from_cgroup("0::/user.slice/user-0.slice/session-1.scope\n").empty());
  CHECK(container_id_from_cgroup("").empty());
}

TEST_CASE("the build-time seccomp program is the probes table's", "[tracer]") {
  std::vector<sock_filter> now;
  std::string err;
  REQUIRE(probes::export_filter(probes::table(), &now, &err));
  auto built = default_filter_program();
  REQUIRE(built.size() == now.size());
  for (size_t i = 0; i < now.size(); ++i) {
    INFO("instruction " << i);
    CHECK(built[i].code == now[i].code);
    CHECK(built[i].jt == now[i].jt);
    CHECK(built[i].jf == now[i].jf);
    CHECK(built[i].k == now[i].k);
  }
}
