// Diagnostics: DNS/TCP/TLS checks of network sinks.
#include <arpa/inet.h>
#include <fcntl.h>
#include <netdb.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <fstream>

#include <curl/curl.h>
#include <fmt/format.h>
#include <openssl/ssl.h>
#include <spdlog/spdlog.h>

#include "sinks/internal.hpp"

namespace vigil {
namespace {

using sinks_detail::Clock;

double ms_since(Clock::time_point t0) {
  return std::chrono::duration<double, std::milli>(Clock::now() - t0).count();
}

std::string resolvers() {
  std::ifstream in("/etc/resolv.conf");
  std::string out;
  for (std::string line; std::getline(in, line);)
    if (line.rfind("nameserver", 0) == 0) out += (out.empty() ? "" : ", ") + line.substr(10 + line.substr(10).find_first_not_of(" \t"));
  return out.empty() ? "none in /etc/resolv.conf" : out;
}

std::string dns_hint(int rc) {
  std::string where = fmt::format("resolvers: {}", resolvers());
  if (rc == EAI_NONAME || rc == EAI_NODATA)
    return "hint: this resolver does not know the name. If it is in a Route 53 private hosted zone, associate the zone "
           "with the task's VPC; for an AWS service, use an interface VPC endpoint with private DNS enabled; check the "
           "VPC has enableDnsSupport and enableDnsHostnames; check the spelling (" + where + ")";
  if (rc == EAI_AGAIN)
    return "hint: the resolver did not answer (unreachable or timed out). Check that the VPC resolver (VPC CIDR base + 2) is reachable "
           "(security groups, network ACLs, a custom DHCP options set) (" + where + ")";
  return "hint: check /etc/resolv.conf and the VPC's DNS settings (" + where + ")";
}

bool aborted(const std::atomic<bool>* abort) { return abort && abort->load(); }

// getaddrinfo, but given up when *abort is set. The request lives on the heap
// and is leaked if glibc cannot cancel it (its helper thread still writes it).
int resolve(const std::string& host, const std::string& port, addrinfo** res, const std::atomic<bool>* abort) {
  struct Request {
    std::string host, port;
    addrinfo hints{};
    gaicb cb{};
  };
  auto* r = new Request{host, port};
  r->hints.ai_family = AF_UNSPEC;
  r->hints.ai_socktype = SOCK_STREAM;
  r->cb = {r->host.c_str(), r->port.c_str(), &r->hints, nullptr};
  gaicb* list[1] = {&r->cb};
  int rc = getaddrinfo_a(GAI_NOWAIT, list, 1, nullptr);
  if (rc != 0) {
    delete r;
    return rc;
  }
  while ((rc = gai_error(&r->cb)) == EAI_INPROGRESS) {
    if (aborted(abort)) {
      if (gai_cancel(&r->cb) == EAI_CANCELED) delete r;
      return EAI_CANCELED;
    }
    timespec slice{0, 100'000'000};
    gai_suspend(list, 1, &slice);
  }
  *res = r->cb.ar_result;
  delete r;
  return rc;
}

// Non-blocking connect with a timeout; returns 0 or an errno.
int tcp_connect(const addrinfo* ai, int timeout_ms, const std::atomic<bool>* abort) {
  int fd = socket(ai->ai_family, ai->ai_socktype | SOCK_NONBLOCK | SOCK_CLOEXEC, ai->ai_protocol);
  if (fd < 0) return errno;
  int err = 0;
  if (connect(fd, ai->ai_addr, ai->ai_addrlen) != 0) {
    err = errno;
    for (int waited = 0; err == EINPROGRESS; waited += 100) {
      if (waited >= timeout_ms || aborted(abort)) {
        err = waited >= timeout_ms ? ETIMEDOUT : ECANCELED;
        break;
      }
      pollfd p{fd, POLLOUT, 0};
      int n = poll(&p, 1, 100);
      socklen_t len = sizeof err;
      if (n < 0 || (n > 0 && getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len) != 0)) err = errno;
    }
  }
  close(fd);
  return err;
}

int on_progress(void* abort, curl_off_t, curl_off_t, curl_off_t, curl_off_t) {
  return aborted(static_cast<const std::atomic<bool>*>(abort)) ? 1 : 0;
}

std::string addr_text(const addrinfo* ai) {
  char buf[INET6_ADDRSTRLEN] = "";
  const void* a = ai->ai_family == AF_INET ? static_cast<const void*>(&reinterpret_cast<sockaddr_in*>(ai->ai_addr)->sin_addr)
                                           : static_cast<const void*>(&reinterpret_cast<sockaddr_in6*>(ai->ai_addr)->sin6_addr);
  inet_ntop(ai->ai_family, a, buf, sizeof buf);
  return buf;
}

bool tls_check(const std::string& name, const SinkSpec& spec, const sinks_detail::HttpSettings& http,
               const std::atomic<bool>* abort) {
  CURL* c = curl_easy_init();
  char errbuf[CURL_ERROR_SIZE] = "";
  curl_easy_setopt(c, CURLOPT_URL, spec.target.c_str());
  curl_easy_setopt(c, CURLOPT_CONNECT_ONLY, 1L);
  curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
  curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT_MS, 5000L);
  curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, 10000L);
  curl_easy_setopt(c, CURLOPT_ERRORBUFFER, errbuf);
  curl_easy_setopt(c, CURLOPT_NOPROGRESS, 0L);
  curl_easy_setopt(c, CURLOPT_XFERINFOFUNCTION, on_progress);
  curl_easy_setopt(c, CURLOPT_XFERINFODATA, abort);
  sinks_detail::apply_tls(c, http);
  CURLcode rc = curl_easy_perform(c);
  curl_off_t connect_us = 0, tls_us = 0;
  curl_easy_getinfo(c, CURLINFO_CONNECT_TIME_T, &connect_us);
  curl_easy_getinfo(c, CURLINFO_APPCONNECT_TIME_T, &tls_us);
  long verify = 0;
  curl_easy_getinfo(c, CURLINFO_SSL_VERIFYRESULT, &verify);
  bool ok = rc == CURLE_OK;
  if (ok) {
    std::string proto;
    curl_tlssessioninfo* info = nullptr;
    if (curl_easy_getinfo(c, CURLINFO_TLS_SSL_PTR, &info) == CURLE_OK && info && info->backend == CURLSSLBACKEND_OPENSSL &&
        info->internals)
      proto = SSL_get_version(static_cast<SSL*>(info->internals));
    spdlog::info("sink {}: TLS: handshake ok in {:.1f} ms ({}), certificate {}", name, double(tls_us - connect_us) / 1000,
                 proto.empty() ? "?" : proto,
                 http.insecure ? "NOT verified (--tls-insecure)" : "verified against " + http.ca_file);
  } else {
    std::string hint =
        rc == CURLE_PEER_FAILED_VERIFICATION
            ? fmt::format("hint: the server certificate is not trusted by {} (verify result {}): pass the collector's "
                          "CA with --ca-file, or --tls-insecure for a test only",
                          http.ca_file.empty() ? "curl's default CA bundle" : http.ca_file, verify)
        : rc == CURLE_SSL_CACERT_BADFILE ? fmt::format("hint: cannot use the CA file {}: fix --ca-file", http.ca_file)
                                         : "hint: is the server speaking TLS on this port (https:// vs http://)?";
    spdlog::error("sink {}: TLS: handshake failed after {:.1f} ms: {}. {}", name,
                  double(tls_us ? tls_us - connect_us : 0) / 1000, *errbuf ? errbuf : curl_easy_strerror(rc), hint);
  }
  curl_easy_cleanup(c);
  return ok;
}

}  // namespace

namespace sinks_detail {

bool check_endpoint(const SinkSpec& spec, const HttpSettings& http, const std::atomic<bool>* abort) {
  const std::string& name = spec.text;
  UrlParts url;
  if (!url_parts(spec.target, &url)) {
    spdlog::error("sink {}: cannot parse the URL", name);
    return false;
  }
  const std::string &h = url.host, &p = url.port, &s = url.scheme;

  addrinfo* res = nullptr;
  auto t0 = Clock::now();
  int rc = resolve(h, p, &res, abort);
  double dns_ms = ms_since(t0);
  if (rc == EAI_CANCELED) return false;  // stopping
  if (rc != 0) {
    spdlog::error("sink {}: DNS: cannot resolve '{}' ({:.1f} ms): {}. {}", name, h, dns_ms, gai_strerror(rc),
                  dns_hint(rc));
    return false;
  }
  std::string addrs;
  for (auto* ai = res; ai; ai = ai->ai_next) addrs += (addrs.empty() ? "" : ", ") + addr_text(ai);
  spdlog::info("sink {}: DNS: {} -> {} ({:.1f} ms)", name, h, addrs, dns_ms);

  bool connected = false;
  int tried = 0;
  for (auto* ai = res; ai && tried < 4 && !connected; ai = ai->ai_next, ++tried) {
    t0 = Clock::now();
    int err = tcp_connect(ai, 3000, abort);
    if (err == ECANCELED) break;
    double ms = ms_since(t0);
    connected = err == 0;
    if (connected) spdlog::info("sink {}: TCP: connected to {} port {} in {:.1f} ms", name, addr_text(ai), p, ms);
    else
      spdlog::error("sink {}: TCP: connect to {} port {} failed after {:.1f} ms: {}. hint: {}", name, addr_text(ai), p,
                    ms, std::strerror(err),
                    err == ECONNREFUSED ? "nothing listens there: is the collector (e.g. the FireLens container) "
                                          "running, and does the task wait for it (dependsOn)?"
                                        : "check security groups, network ACLs and routes (NAT gateway or VPC "
                                          "endpoint) between the task and the collector");
  }
  freeaddrinfo(res);
  if (!connected) return false;
  if (s != "https") return true;
  return tls_check(name, spec, http, abort);
}

}  // namespace sinks_detail

bool check_network_sink(const SinkSpec& spec, const SinkConfig& cfg) {
  sinks_detail::HttpSettings http;
  std::string err;
  if (!sinks_detail::load_http_settings(cfg, /*tls=*/true, &http, &err)) {
    spdlog::error("{}", err);
    return false;
  }
  sinks_detail::curl_init_once();
  return sinks_detail::check_endpoint(spec, http);
}

}  // namespace vigil
