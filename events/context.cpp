// Shared helpers of every library: the container context stamped on records
// (sensor id, hostname, container id) and SHA-256.
#include <sys/random.h>
#include <unistd.h>

#include <cctype>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iterator>

#include <fmt/format.h>

#include <openssl/evp.h>

#include "events/events.hpp"

namespace vigil {
namespace {

std::string read_cgroup() {
  std::ifstream in("/proc/self/cgroup");
  return std::string(std::istreambuf_iterator<char>(in), {});
}

}  // namespace

std::string host_name() {
  char host[256] = {};
  return gethostname(host, sizeof host - 1) == 0 ? host : "";
}

Sha256::Sha256() : ctx_(EVP_MD_CTX_new()) {
  // Fetched once: EVP_sha256() makes every init look the algorithm up in
  // OpenSSL's providers again (locks, a property query), which cost about
  // as much as hashing a small binary (one hash per exec).
  static EVP_MD* const md = EVP_MD_fetch(nullptr, "SHA256", nullptr);
  if (ctx_ && !EVP_DigestInit_ex(static_cast<EVP_MD_CTX*>(ctx_), md ? md : EVP_sha256(), nullptr)) {
    EVP_MD_CTX_free(static_cast<EVP_MD_CTX*>(ctx_));
    ctx_ = nullptr;
  }
}
Sha256::~Sha256() { EVP_MD_CTX_free(static_cast<EVP_MD_CTX*>(ctx_)); }
void Sha256::update(const void* p, size_t n) {
  if (ctx_) EVP_DigestUpdate(static_cast<EVP_MD_CTX*>(ctx_), p, n);
}
std::string Sha256::hex() {
  unsigned char md[EVP_MAX_MD_SIZE];
  unsigned len = 0;
  if (!ctx_ || !EVP_DigestFinal_ex(static_cast<EVP_MD_CTX*>(ctx_), md, &len)) return "";
  static constexpr char kHex[] = "0123456789abcdef";
  std::string out(2 * len, '0');
  for (unsigned i = 0; i < len; ++i) out[2 * i] = kHex[md[i] >> 4], out[2 * i + 1] = kHex[md[i] & 15];
  return out;
}

std::string container_id_from_cgroup(std::string_view text) {
  std::string hex64, ecs;
  size_t start = 0;
  while (start < text.size()) {
    size_t end = text.find('\n', start);
    if (end == std::string_view::npos) end = text.size();
    std::string_view line = text.substr(start, end - start);
    start = end + 1;
    size_t colon = line.find(':', line.find(':') + 1);
    std::string_view path = colon == std::string_view::npos ? line : line.substr(colon + 1);
    size_t run = 0;
    for (size_t i = 0; i <= path.size(); ++i) {
      if (i < path.size() && std::isxdigit(static_cast<unsigned char>(path[i]))) {
        ++run;
        continue;
      }
      if (run == 64) hex64 = path.substr(i - 64, 64);
      run = 0;
    }
    if (path.starts_with("/ecs/") && path.size() > 5) ecs = path.substr(path.rfind('/') + 1);
  }
  return !hex64.empty() ? hex64 : ecs;
}

Context make_context() {
  Context ctx;
  unsigned char rnd[8] = {};
  if (getrandom(rnd, sizeof rnd, 0) != sizeof rnd) {
    uint64_t fallback = uint64_t(now_realtime_ns()) ^ uint64_t(getpid());
    std::memcpy(rnd, &fallback, sizeof rnd);
  }
  for (unsigned char c : rnd) ctx.sensor_id += fmt::format("{:02x}", c);
  ctx.hostname = host_name();
  ctx.container_id = container_id_from_cgroup(read_cgroup());
  return ctx;
}

std::string default_ca_file() {
  std::error_code ec;
  auto exe = std::filesystem::canonical("/proc/self/exe", ec);
  if (!ec) {
    auto bundle = exe.parent_path().parent_path() / "etc/vigil/ca-certificates.crt";
    if (std::filesystem::exists(bundle, ec)) return bundle.string();
  }
  for (const char* p : {"/etc/ssl/certs/ca-certificates.crt", "/etc/pki/tls/certs/ca-bundle.crt"})
    if (std::filesystem::exists(p, ec)) return p;
  return "";
}

}  // namespace vigil
