// ConnectCheck (sensor/connect_check.hpp), in one process that is both the
// "app" and vigil: its own sockets taken through a pidfd of itself. A socket
// connected elsewhere than judged is reported with its true address, the
// same address (in any form the kernel keeps it) is not, non-IP sockets are
// never reported (a connected one is not even held), and the held duplicates
// stay bounded.
#include <arpa/inet.h>
#include <dirent.h>
#include <linux/netlink.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <algorithm>
#include <cstddef>
#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

#include <catch2/catch.hpp>

#include "sensor/connect_check.hpp"

using namespace vigil;

namespace {

struct Fixture {
  std::vector<Endpoint> reports;
  std::vector<std::string> judged;
  ConnectCheck cc{[this](const ConnectCheck::Pending& p, const Endpoint& truth) {
    reports.push_back(truth);
    judged.push_back(p.net.remote.addr);
  }};
  int self = int(syscall(SYS_pidfd_open, getpid(), 0));
  int tid = int(syscall(SYS_gettid));
  int listener = -1;
  int port = 0;
  Fixture() {
    listener = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_in a = v4("127.0.0.1", 0);
    REQUIRE(bind(listener, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0);
    REQUIRE(listen(listener, 512) == 0);
    socklen_t l = sizeof a;
    getsockname(listener, reinterpret_cast<sockaddr*>(&a), &l);
    port = ntohs(a.sin_port);
  }
  ~Fixture() {
    close(listener);
    close(self);
  }
  static sockaddr_in v4(const char* ip, int port) {
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_port = htons(uint16_t(port));
    inet_pton(AF_INET, ip, &a.sin_addr);
    return a;
  }
  template <class A>
  static probes::DecodeContext::SockaddrCopy copy(const A& a) {
    probes::DecodeContext::SockaddrCopy c;
    std::memcpy(c.bytes, &a, sizeof a);
    c.len = sizeof a;
    return c;
  }
  // watch() as the tracer calls it before its answer (the judged address
  // named in the event), then the "kernel's" connect with the true address.
  template <class J, class T>
  int run(int s, const J& judged, const T& truth, const char* judged_ip) {
    NetInfo n;
    n.fd = s;
    n.remote.addr = judged_ip;
    REQUIRE(cc.watch(self, tid, getpid(), s, copy(judged), n) == 0);
    return connect(s, reinterpret_cast<const sockaddr*>(&truth), sizeof truth);
  }
};

size_t open_fds() {
  size_t n = 0;
  DIR* d = opendir("/proc/self/fd");
  while (readdir(d)) ++n;
  closedir(d);
  return n;
}

}  // namespace

TEST_CASE("connect check: another address than judged is reported with the true one", "[connect-check]") {
  Fixture f;
  int s = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  REQUIRE(f.run(s, Fixture::v4("127.0.0.2", f.port), Fixture::v4("127.0.0.1", f.port), "127.0.0.2") == 0);
  close(s);  // the app's own fd: vigil reads its duplicate
  f.cc.on_notify(f.tid, getpid());
  REQUIRE(f.cc.empty());
  REQUIRE(f.reports.size() == 1);
  CHECK(f.reports[0].addr == "127.0.0.1");
  CHECK(f.reports[0].port == f.port);
  CHECK(f.judged[0] == "127.0.0.2");
}

TEST_CASE("connect check: the same address, in the kernel's forms, is not reported", "[connect-check]") {
  Fixture f;
  int s = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  auto a = Fixture::v4("127.0.0.1", f.port);
  REQUIRE(f.run(s, a, a, "127.0.0.1") == 0);
  // EISCONN: another address judged, the socket keeps its peer
  auto b = Fixture::v4("127.0.0.9", f.port + 1);
  CHECK(f.run(s, b, b, "127.0.0.9") < 0);
  // UDP to the any address: connected to a local one
  int u = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  auto any = Fixture::v4("0.0.0.0", 4242);
  REQUIRE(f.run(u, any, any, "0.0.0.0") == 0);
  // an IPv4 address on an IPv6 socket: kept v4-mapped
  int u6 = socket(AF_INET6, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  if (u6 >= 0) {
    sockaddr_in6 m{};
    m.sin6_family = AF_INET6;
    m.sin6_port = htons(4242);
    inet_pton(AF_INET6, "::ffff:127.0.0.1", &m.sin6_addr);
    REQUIRE(f.run(u6, m, m, "::ffff:127.0.0.1") == 0);
  }
  f.cc.on_notify(f.tid, getpid());
  CHECK(f.cc.empty());
  CHECK(f.reports.empty());
  close(s), close(u), close(u6);
}

TEST_CASE("connect check: a socket not connected yet is read again; others are not held", "[connect-check]") {
  Fixture f;
  int s = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  NetInfo n;
  REQUIRE(f.cc.watch(f.self, f.tid, getpid(), s, Fixture::copy(Fixture::v4("127.0.0.2", f.port)), n) == 0);
  f.cc.on_notify(f.tid + 1, getpid());  // another thread: the connect may not have run yet
  REQUIRE(!f.cc.empty());
  auto t = Fixture::v4("127.0.0.1", f.port);
  REQUIRE(connect(s, reinterpret_cast<sockaddr*>(&t), sizeof t) == 0);
  f.cc.gone(getpid());
  CHECK(f.cc.empty());
  CHECK(f.reports.size() == 1);
  // AF_UNIX: one connected already keeps its peer (EISCONN), one never
  // connected ends at the caller's next notification: neither is reported;
  // a socket of another family (netlink) is not held
  int pair[2];
  REQUIRE(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, pair) == 0);
  sockaddr_un ua{};
  ua.sun_family = AF_UNIX;
  std::strcpy(ua.sun_path, "/run/a-long-enough-socket-path");
  REQUIRE(f.cc.watch(f.self, f.tid, getpid(), pair[0], Fixture::copy(ua), n) == 0);
  int un = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  REQUIRE(f.cc.watch(f.self, f.tid, getpid(), un, Fixture::copy(ua), n) == 0);
  f.cc.on_notify(f.tid, getpid());
  CHECK(f.cc.empty());
  CHECK(f.reports.size() == 1);
  int nl = socket(AF_NETLINK, SOCK_DGRAM | SOCK_CLOEXEC, NETLINK_ROUTE);
  REQUIRE(f.cc.watch(f.self, f.tid, getpid(), nl, Fixture::copy(ua), n) == 0);
  CHECK(f.cc.empty());
  close(s), close(un), close(pair[0]), close(pair[1]), close(nl);
}

namespace {

struct UnixFixture : Fixture {
  std::string dir;
  std::vector<int> servers;
  UnixFixture() {
    char t[] = "/tmp/vigil-cc-XXXXXX";
    REQUIRE(mkdtemp(t));
    dir = t;
  }
  ~UnixFixture() {
    for (int s : servers) close(s);
    for (int s : accepted) close(s);
    std::string cmd = "rm -rf " + dir;
    if (std::system(cmd.c_str()) != 0) {
    }
  }
  static sockaddr_un un(const std::string& name) {
    sockaddr_un a{};
    a.sun_family = AF_UNIX;
    std::memcpy(a.sun_path, name.data(), std::min(name.size(), sizeof a.sun_path - 1));
    if (!name.empty() && name[0] == '@') a.sun_path[0] = '\0';  // abstract
    return a;
  }
  static socklen_t len(const std::string& name) {
    return socklen_t(offsetof(sockaddr_un, sun_path) + name.size() + (name[0] == '@' ? 0 : 1));
  }
  void listen_on(const std::string& name) {
    int s = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);  // (accept_all never waits)
    auto a = un(name);
    REQUIRE(bind(s, reinterpret_cast<sockaddr*>(&a), len(name)) == 0);
    REQUIRE(listen(s, 16) == 0);
    servers.push_back(s);
  }
  // The copy as the decoder leaves it: the path read, resolved (identity of the socket file).
  static probes::DecodeContext::SockaddrCopy read_as(const std::string& read, const std::string& resolved = {}) {
    auto a = un(read);
    probes::DecodeContext::SockaddrCopy c;
    std::memcpy(c.bytes, &a, sizeof a);
    c.len = len(read);
    struct stat st {};
    if (!resolved.empty() && stat(resolved.c_str(), &st) == 0) c.resolved = resolved, c.dev = st.st_dev, c.ino = st.st_ino;
    return c;
  }
  // watch() with the judged copy, then the "kernel's" connect to name.
  int run(const probes::DecodeContext::SockaddrCopy& j, const std::string& name) {
    int s = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    NetInfo n;
    n.fd = s;
    n.remote.family = AF_UNIX;
    n.remote.addr = j.resolved;
    REQUIRE(cc.watch(self, tid, getpid(), s, j, n) == 0);
    auto a = un(name);
    const int r = connect(s, reinterpret_cast<sockaddr*>(&a), len(name));
    close(s);  // the app's own fd: vigil reads its duplicate
    if (accepting) accept_all();
    return r;
  }
  // The servers accept what waits (a stream peer has its identity from then on).
  void accept_all() {
    for (int l : servers)
      for (int c; (c = accept4(l, nullptr, nullptr, SOCK_NONBLOCK | SOCK_CLOEXEC)) >= 0;) accepted.push_back(c);
  }
  bool accepting = true;
  std::vector<int> accepted;
  bool diag() {  // unix_diag answers (else AF_UNIX connects are not checked: said once in the log)
    int s = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    auto a = un(dir + "/a.sock");
    uint64_t dev = 0, ino = 0;
    REQUIRE(connect(s, reinterpret_cast<sockaddr*>(&a), len(dir + "/a.sock")) == 0);
    CHECK(cc.peer_file(s, &dev, &ino) != 0);  // not accepted yet: no identity (EINPROGRESS), or no unix_diag
    accept_all();
    const bool ok = cc.peer_file(s, &dev, &ino) == 0;
    struct stat st {};
    if (ok) {
      REQUIRE(stat((dir + "/a.sock").c_str(), &st) == 0);
      CHECK(dev == uint64_t(st.st_dev));
      CHECK(ino == (uint64_t(st.st_ino) & 0xffffffffu));
    }
    close(s);
    return ok;
  }
};

}  // namespace

TEST_CASE("connect check: AF_UNIX, the socket file the kernel connected to against the one judged", "[connect-check]") {
  UnixFixture f;
  const std::string a = f.dir + "/a.sock", b = f.dir + "/b.sock";
  f.listen_on(a);
  f.listen_on(b);
  if (!f.diag()) {
    WARN("skipped: unix_diag (NETLINK_SOCK_DIAG) does not answer here");
    return;
  }
  // Raced: a.sock read and judged, b.sock connected: reported with the name b bound.
  REQUIRE(f.run(UnixFixture::read_as(a, a), b) == 0);
  // An alias: a symlink resolved to a.sock, connected by the symlink: the same file.
  REQUIRE(symlink(a.c_str(), (f.dir + "/link.sock").c_str()) == 0);
  REQUIRE(f.run(UnixFixture::read_as(f.dir + "/link.sock", a), f.dir + "/link.sock") == 0);
  // A server that bound a relative name (SO_PEERNAME says "c.sock"): the same file by identity.
  char cwd[4096];
  REQUIRE(getcwd(cwd, sizeof cwd));
  REQUIRE(chdir(f.dir.c_str()) == 0);
  f.listen_on("c.sock");
  REQUIRE(chdir(cwd) == 0);
  REQUIRE(f.run(UnixFixture::read_as(f.dir + "/c.sock", f.dir + "/c.sock"), f.dir + "/c.sock") == 0);
  // A path vigil could not resolve (not there at its read), then there: by the name.
  REQUIRE(f.run(UnixFixture::read_as(b), b) == 0);
  // Abstract names: by the name.
  f.listen_on("@vigil-cc-x");
  f.listen_on("@vigil-cc-y");
  REQUIRE(f.run(UnixFixture::read_as("@vigil-cc-x"), "@vigil-cc-x") == 0);
  REQUIRE(f.run(UnixFixture::read_as("@vigil-cc-x"), "@vigil-cc-y") == 0);
  // A path judged, an abstract name connected.
  REQUIRE(f.run(UnixFixture::read_as(a, a), "@vigil-cc-y") == 0);
  // Not accepted yet: its identity is waited for (the caller's next notification does not end the check).
  f.accepting = false;
  REQUIRE(f.run(UnixFixture::read_as(a, a), a) == 0);
  f.cc.on_notify(f.tid, getpid());
  CHECK(!f.cc.empty());
  f.accept_all();
  f.accepting = true;
  // A connected socket connected again to another judged path: EISCONN, its peer (a.sock) kept.
  int s = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  auto sa = UnixFixture::un(a), sb = UnixFixture::un(b);
  REQUIRE(connect(s, reinterpret_cast<sockaddr*>(&sa), UnixFixture::len(a)) == 0);
  f.accept_all();
  NetInfo n;
  REQUIRE(f.cc.watch(f.self, f.tid, getpid(), s, UnixFixture::read_as(b, b), n) == 0);
  CHECK(connect(s, reinterpret_cast<sockaddr*>(&sb), UnixFixture::len(b)) < 0);
  f.cc.on_notify(f.tid, getpid());
  CHECK(!f.cc.empty());  // the one accepted late: at the sweep's times
  usleep(3000);
  CHECK(f.cc.sweep() == -1);
  CHECK(f.cc.empty());
  REQUIRE(f.reports.size() == 3);
  CHECK(f.reports[0].family == AF_UNIX);
  CHECK(f.reports[0].addr == b);
  CHECK(f.judged[0] == a);
  CHECK(f.reports[1].addr == "@vigil-cc-y");
  CHECK(f.reports[2].addr == "@vigil-cc-y");
  CHECK(f.judged[2] == a);
  close(s);
}

TEST_CASE("connect check: held duplicates are bounded", "[connect-check]") {
  Fixture f;
  const size_t before = open_fds();
  std::vector<int> socks;
  NetInfo n;
  for (size_t i = 0; i < ConnectCheck::kMaxHeld + 50; ++i) {
    socks.push_back(socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0));
    REQUIRE(f.cc.watch(f.self, f.tid, getpid(), socks.back(), Fixture::copy(Fixture::v4("127.0.0.1", f.port)), n) == 0);
  }
  CHECK(open_fds() - before == socks.size() + ConnectCheck::kMaxHeld);
  for (int s : socks) close(s);
  f.cc.gone(getpid());
  CHECK(open_fds() == before);
  CHECK(f.reports.empty());
}
