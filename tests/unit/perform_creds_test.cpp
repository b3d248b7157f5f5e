// perform::AsCaller (sensor/perform.hpp): a thread of vigil acts with an app
// process's credentials, then gets exactly its own back, whatever part of
// them differed (capabilities only, fs ids, groups, effective ids). Each case
// runs on a thread of its own, as vigil's workers do (the switch is per thread).
#include <fcntl.h>
#include <linux/capability.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <thread>

#include <catch2/catch.hpp>

#include "sensor/perform.hpp"
#include "temp_dir.hpp"

using namespace vigil;

namespace {

struct ThreadCreds {
  perform::Creds creds;
  uint64_t eff = 0, perm = 0;
  uint32_t euid = 0;
  bool operator==(const ThreadCreds& o) const {
    return creds == o.creds && creds.euid == o.creds.euid && creds.egid == o.creds.egid && eff == o.eff &&
           perm == o.perm && euid == o.euid;
  }
};

ThreadCreds now() {
  ThreadCreds t;
  REQUIRE(perform::read_creds(int(syscall(SYS_gettid)), &t.creds));
  __user_cap_header_struct h{_LINUX_CAPABILITY_VERSION_3, 0};
  __user_cap_data_struct d[2]{};
  REQUIRE(syscall(SYS_capget, &h, d) == 0);
  t.eff = d[0].effective | uint64_t(d[1].effective) << 32;
  t.perm = d[0].permitted | uint64_t(d[1].permitted) << 32;
  t.euid = uint32_t(syscall(SYS_geteuid));
  return t;
}

// errno of open(path, O_RDONLY) on this thread, 0 if it opened.
int open_errno(const std::string& path) {
  const int fd = open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return errno;
  close(fd);
  return 0;
}

constexpr uint64_t bit(int cap) { return uint64_t(1) << cap; }

template <class F>
void on_thread(F f) {
  std::thread t(f);
  t.join();
}

}  // namespace

TEST_CASE("AsCaller takes only the capabilities that differ, and gives vigil's own back", "[perform][creds]") {
  if (geteuid() != 0) {
    WARN("skipped: needs root (the switch needs CAP_SETUID, CAP_SETGID and CAP_DAC_OVERRIDE to test)");
    return;
  }
  TempDir dir;
  const std::string other = (dir.path / "other").string();  // 0600, owned by nobody
  close(open(other.c_str(), O_CREAT | O_WRONLY, 0600));
  REQUIRE(chown(other.c_str(), 65534, 65534) == 0);
  REQUIRE(chmod(dir.path.c_str(), 0755) == 0);

  on_thread([&] {
    const ThreadCreds before = now();
    REQUIRE((before.eff & bit(CAP_DAC_OVERRIDE)));
    perform::Creds c = before.creds;
    c.cap_eff = before.eff & ~(bit(CAP_DAC_OVERRIDE) | bit(CAP_DAC_READ_SEARCH) | bit(CAP_FOWNER));
    {
      perform::AsCaller as(c);
      REQUIRE(as.ok());
      CHECK(open_errno(other) == EACCES);  // root without DAC_OVERRIDE: the file is nobody's
      CHECK(now().eff == c.cap_eff);
    }
    CHECK(open_errno(other) == 0);
    CHECK(now() == before);
  });
}

TEST_CASE("AsCaller with another fsuid, fsgid and groups: the open is checked as them, then all comes back",
          "[perform][creds]") {
  if (geteuid() != 0) {
    WARN("skipped: needs root");
    return;
  }
  TempDir dir;
  const std::string mine = (dir.path / "mine").string(), theirs = (dir.path / "theirs").string(),
                    group = (dir.path / "group").string();
  for (const auto* p : {&mine, &theirs, &group}) close(open(p->c_str(), O_CREAT | O_WRONLY, 0600));
  REQUIRE(chown(theirs.c_str(), 65534, 65534) == 0);
  REQUIRE(chown(group.c_str(), 0, 4242) == 0);
  REQUIRE(chmod(group.c_str(), 0640) == 0);
  REQUIRE(chmod(dir.path.c_str(), 0755) == 0);

  on_thread([&] {
    const ThreadCreds before = now();
    perform::Creds c;
    c.fsuid = c.fsgid = 65534;
    c.euid = before.creds.euid, c.egid = before.creds.egid;
    c.groups = {4242};
    c.cap_eff = 0;
    {
      perform::AsCaller as(c);
      REQUIRE(as.ok());
      CHECK(open_errno(mine) == EACCES);
      CHECK(open_errno(theirs) == 0);
      CHECK(open_errno(group) == 0);  // through the supplementary group
      CHECK(now().creds.fsuid == 65534);
    }
    CHECK(now() == before);
    CHECK(open_errno(mine) == 0);
  });
}

TEST_CASE("AsCaller with effective ids: this thread's euid is the caller's, then vigil's again", "[perform][creds]") {
  if (geteuid() != 0) {
    WARN("skipped: needs root");
    return;
  }
  on_thread([&] {
    const ThreadCreds before = now();
    perform::Creds c = before.creds;
    c.euid = c.egid = 65534;
    c.fsuid = c.fsgid = 65534;
    c.cap_eff = 0;
    {
      perform::AsCaller as(c, true);
      REQUIRE(as.ok());
      CHECK(syscall(SYS_geteuid) == 65534);
      CHECK(now().creds.fsuid == 65534);
    }
    CHECK(now() == before);
  });
  CHECK(geteuid() == 0);  // the process's other threads were never touched
}

TEST_CASE("AsCaller refuses a caller holding a capability vigil lacks, and changes nothing", "[perform][creds]") {
  on_thread([&] {
    const ThreadCreds before = now();
    perform::Creds c = before.creds;
    c.cap_eff = ~before.perm & ((uint64_t(1) << (CAP_LAST_CAP + 1)) - 1);
    if (c.cap_eff == 0) {
      WARN("skipped: vigil holds every capability here, none can be missing");
      return;
    }
    {
      perform::AsCaller as(c);
      CHECK_FALSE(as.ok());
      CHECK_THAT(as.why(), Catch::Contains("capabilities vigil lacks"));
    }
    CHECK(now() == before);
  });
}
