#include <linux/audit.h>
#include <sys/mman.h>
#include <unistd.h>

#include <cstring>
#include <map>
#include <string>

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
      {"rename", "renameat"}, {"link", "linkat"},  {"symlink", "symlinkat"}, {"dup2", "dup3"}};
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
    CHECK(row(AUDIT_ARCH_X86_64, p.syscall) == &p);
  }
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
