// The times rows (utimensat, futimesat, utimes, utime) where a rule can block
// them: vigil reads the times once, in the caller's ABI's layout, converted as
// the kernel converts them (probes/times.hpp), and sets them itself on the
// object it judged (sensor/perform.cpp). Also the kernel behaviour that rests
// on: a /proc/self/fd/N magic link leads to the object itself (a symlink's
// own times when it is one), and a null path refuses an O_PATH fd.
#include <fcntl.h>
#include <linux/audit.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cerrno>
#include <cstdint>
#include <cstring>
#include <string>

#include <catch2/catch.hpp>

#include "probes/probes.hpp"
#include "probes/resolve.hpp"
#include "probes/times.hpp"
#include "temp_dir.hpp"

using namespace vigil;

namespace {

const probes::Probe* row_of(const char* syscall) {
  for (const auto& p : probes::table())
    if (std::string(p.syscall) == syscall) return &p;
  return nullptr;
}

}  // namespace

TEST_CASE("times: each row's layout, native and i386, converted as the kernel does", "[perform][times]") {
  // utimensat: {sec, nsec} twice; UTIME_NOW and UTIME_OMIT kept; both UTIME_OMIT: nothing to do.
  const int64_t ns[4] = {1500000000, 7, 1600000000, UTIME_NOW};
  probes::Times t = probes::parse_times("utimensat", false, ns);
  CHECK(probes::times_size("utimensat", false) == 32);
  CHECK(t.ts[0].tv_sec == 1500000000);
  CHECK(t.ts[0].tv_nsec == 7);
  CHECK(t.ts[1].tv_nsec == UTIME_NOW);
  CHECK_FALSE(t.nothing);
  CHECK(t.err == 0);
  CHECK(probes::time_arg(t.ts[0]) == "1500000000.000000007");
  CHECK(probes::time_arg(t.ts[1]) == "now");
  const int64_t omit[4] = {1, UTIME_OMIT, 2, UTIME_OMIT};
  t = probes::parse_times("utimensat", false, omit);
  CHECK(t.nothing);
  CHECK(probes::time_arg(t.ts[0]) == "omit");
  // An invalid nanosecond count is the kernel's to refuse (after its lookup): passed as is.
  const int64_t bad[4] = {1, 1000000000, 2, -1};
  t = probes::parse_times("utimensat", false, bad);
  CHECK((t.err == 0 && !t.nothing && t.ts[0].tv_nsec == 1000000000 && t.ts[1].tv_nsec == -1));

  // i386 (utimensat_time32): 32-bit fields, signed.
  const int32_t ns32[4] = {-5, 9, 1600000000, UTIME_OMIT};
  CHECK(probes::times_size("utimensat", true) == 16);
  t = probes::parse_times("utimensat", true, ns32);
  CHECK((t.ts[0].tv_sec == -5 && t.ts[0].tv_nsec == 9 && t.ts[1].tv_nsec == UTIME_OMIT));

  // futimesat, utimes: {sec, usec} twice; microseconds checked (UTIME_NOW is not theirs), then * 1000.
  for (const char* type : {"utimes", "futimesat"}) {
    INFO(type);
    const int64_t us[4] = {1500000000, 999999, 1600000000, 0};
    t = probes::parse_times(type, false, us);
    CHECK((t.err == 0 && t.ts[0].tv_nsec == 999999000 && t.ts[1].tv_sec == 1600000000 && t.ts[1].tv_nsec == 0));
    for (int64_t usec : {int64_t(1000000), int64_t(-1), int64_t(UTIME_NOW)}) {
      const int64_t b[4] = {1, 0, 2, usec};
      CHECK(probes::parse_times(type, false, b).err == EINVAL);
    }
    const int32_t us32[4] = {-1, 1, 2, -3};
    CHECK(probes::parse_times(type, true, us32).err == EINVAL);  // a negative usec, sign-extended
  }

  // utime: actime, modtime in seconds.
  const int64_t ub[2] = {1500000000, 1600000000};
  CHECK(probes::times_size("utime", false) == 16);
  CHECK(probes::times_size("utime", true) == 8);
  t = probes::parse_times("utime", false, ub);
  CHECK((t.ts[0].tv_sec == 1500000000 && t.ts[0].tv_nsec == 0 && t.ts[1].tv_sec == 1600000000 && t.ts[1].tv_nsec == 0));
  CHECK(probes::time_arg(t.ts[1]) == "1600000000.000000000");
  const int32_t ub32[2] = {-2, 7};
  t = probes::parse_times("utime", true, ub32);
  CHECK((t.ts[0].tv_sec == -2 && t.ts[1].tv_sec == 7));
}

TEST_CASE("times rows: performed where a rule can block them; the decoder reads the times only when not", "[perform][times]") {
  for (const char* s : {"utimensat", "futimesat", "utimes", "utime"}) {
    INFO(s);
    const probes::Probe* row = row_of(s);
    REQUIRE(row != nullptr);
    CHECK(row->performed);
  }
  const probes::Probe* row = row_of("utimensat");
  TempDir dir;
  const std::string file = dir.path.string() + "/f";
  close(open(file.c_str(), O_WRONLY | O_CREAT | O_CLOEXEC, 0600));
  struct timespec ts[2] = {{1500000000, 5}, {0, UTIME_OMIT}};
  probes::SyscallArgs args;
  args.arch = probes::kAbis[0].arch;
  args.nr = SYS_utimensat;
  args.args[0] = uint64_t(int64_t(AT_FDCWD));
  args.args[1] = reinterpret_cast<uint64_t>(file.c_str());
  args.args[2] = reinterpret_cast<uint64_t>(ts);
  const probes::TraceeMemory self(getpid());

  probes::Times read;
  REQUIRE(probes::read_times(self, args, "utimensat", &read));
  CHECK((read.ts[0].tv_sec == 1500000000 && read.ts[0].tv_nsec == 5 && read.ts[1].tv_nsec == UTIME_OMIT));

  probes::DecodeContext ctx;
  Event ev;
  ev.type = "utimensat";
  row->decode(args, self, ctx, &ev);
  REQUIRE(ev.arg("atime"));
  CHECK(*ev.arg("atime") == "1500000000.000000005");
  CHECK(*ev.arg("mtime") == "omit");
  CHECK(ev.file->path == file);

  // Performed: the tracer reads them once (sensor/perform.cpp), the decoder does not.
  probes::DecodeContext performed;
  performed.performed = true;
  Event pev;
  pev.type = "utimensat";
  row->decode(args, self, performed, &pev);
  CHECK_FALSE(pev.arg("atime"));
  CHECK(pev.file->raw_path == file);

  // futimesat with a null path is futimes: the fd's own file.
  Event fev;
  fev.type = "futimesat";
  args.args[0] = 7;
  args.args[1] = 0;
  row_of("futimesat")->decode(args, self, performed, &fev);
  CHECK(fev.file->fd == 7);
  CHECK(fev.file->raw_path.empty());
}

TEST_CASE("times: a magic link sets its object's own times, a symlink's too; a null path refuses O_PATH", "[perform][times]") {
  TempDir dir;
  const std::string file = dir.path.string() + "/f", link = dir.path.string() + "/l";
  close(open(file.c_str(), O_WRONLY | O_CREAT | O_CLOEXEC, 0600));
  REQUIRE(symlink("f", link.c_str()) == 0);
  const struct timespec set[2] = {{1400000000, 0}, {1400000001, 0}}, other[2] = {{1300000000, 0}, {1300000000, 0}};
  REQUIRE(utimensat(AT_FDCWD, file.c_str(), other, 0) == 0);

  // The resolved symlink (AT_SYMLINK_NOFOLLOW) as vigil holds it: O_PATH|O_NOFOLLOW.
  probes::Resolved r = probes::resolve_fd(open(link.c_str(), O_PATH | O_NOFOLLOW | O_CLOEXEC));
  REQUIRE(r.ok());
  CHECK(r.path == link);
  CHECK(S_ISLNK(r.mode));
  const std::string magic = "/proc/self/fd/" + std::to_string(r.fd);
  REQUIRE(syscall(SYS_utimensat, AT_FDCWD, magic.c_str(), set, 0) == 0);
  struct stat l {}, f {};
  REQUIRE(lstat(link.c_str(), &l) == 0);
  REQUIRE(stat(file.c_str(), &f) == 0);
  CHECK(l.st_mtim.tv_sec == 1400000001);
  CHECK(f.st_mtim.tv_sec == 1300000000);  // the link was not followed

  // The file through its O_PATH handle: the magic link works, a null path does not (EBADF), AT_EMPTY_PATH does.
  probes::Resolved o = probes::resolve_fd(open(file.c_str(), O_PATH | O_CLOEXEC));
  REQUIRE(o.ok());
  CHECK(syscall(SYS_utimensat, o.fd, nullptr, set, 0) == -1);
  CHECK(errno == EBADF);
  REQUIRE(syscall(SYS_utimensat, AT_FDCWD, ("/proc/self/fd/" + std::to_string(o.fd)).c_str(), set, 0) == 0);
  REQUIRE(stat(file.c_str(), &f) == 0);
  CHECK(f.st_mtim.tv_sec == 1400000001);
  REQUIRE(syscall(SYS_utimensat, o.fd, "", other, AT_EMPTY_PATH) == 0);
  REQUIRE(stat(file.c_str(), &f) == 0);
  CHECK(f.st_mtim.tv_sec == 1300000000);
}
