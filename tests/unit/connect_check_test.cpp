// ConnectCheck (sensor/connect_check.hpp), in one process that is both the
// "app" and vigil: its own sockets taken through a pidfd of itself. A socket
// connected elsewhere than judged is reported with its true address, the
// same address (in any form the kernel keeps it) is not, non-IP sockets are
// never reported (a connected one is not even held), and the held duplicates
// stay bounded.
#include <arpa/inet.h>
#include <dirent.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/un.h>
#include <unistd.h>

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
  // AF_UNIX: a connected one is not held; an unconnected one (its family
  // unknown until connected) ends at the caller's next notification, unreported
  int pair[2];
  REQUIRE(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, pair) == 0);
  sockaddr_un ua{};
  ua.sun_family = AF_UNIX;
  std::strcpy(ua.sun_path, "/run/a-long-enough-socket-path");
  REQUIRE(f.cc.watch(f.self, f.tid, getpid(), pair[0], Fixture::copy(ua), n) == 0);
  CHECK(f.cc.empty());
  int un = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  REQUIRE(f.cc.watch(f.self, f.tid, getpid(), un, Fixture::copy(ua), n) == 0);
  f.cc.on_notify(f.tid, getpid());
  CHECK(f.cc.empty());
  CHECK(f.reports.size() == 1);
  close(s), close(un), close(pair[0]), close(pair[1]);
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
