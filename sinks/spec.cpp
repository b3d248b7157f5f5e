// Sink SPECs, sizes, durations, HTTP headers and secrets.
#include <arpa/inet.h>
#include <netinet/in.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>

#include <curl/curl.h>
#include <fmt/format.h>

#include "sinks/internal.hpp"

namespace vigil {
namespace {

bool starts_with(const std::string& s, const char* p) { return s.rfind(p, 0) == 0; }

// Number followed by a unit from the table; returns false on anything else.
template <size_t N>
bool parse_scaled(const std::string& text, const std::pair<const char*, uint64_t> (&units)[N], uint64_t* out) {
  size_t i = 0;
  while (i < text.size() && std::isdigit(static_cast<unsigned char>(text[i]))) ++i;
  if (i == 0 || i > 18) return false;
  uint64_t n = std::strtoull(text.substr(0, i).c_str(), nullptr, 10);
  std::string unit = text.substr(i);
  for (const auto& [name, mult] : units)
    if (unit == name) {
      *out = n * mult;
      return true;
    }
  return false;
}

bool parse_url(const std::string& url, std::string* error) {
  if (!starts_with(url, "http://") && !starts_with(url, "https://")) {
    *error = fmt::format("invalid sink URL '{}': only http:// and https:// are supported", sinks_detail::mask_url(url));
    return false;
  }
  CURLU* u = curl_url();
  CURLUcode rc = curl_url_set(u, CURLUPART_URL, url.c_str(), 0);
  char* host = nullptr;
  if (rc == CURLUE_OK) rc = curl_url_get(u, CURLUPART_HOST, &host, 0);
  bool ok = rc == CURLUE_OK && host && *host;
  if (!ok)
    *error = fmt::format("invalid sink URL '{}': {} (expected e.g. https://collector.example:8888/path)",
                         sinks_detail::mask_url(url), rc == CURLUE_OK ? "no host" : curl_url_strerror(rc));
  curl_free(host);
  curl_url_cleanup(u);
  return ok;
}

std::string trim(std::string s) {
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.back()))) s.pop_back();
  size_t i = 0;
  while (i < s.size() && std::isspace(static_cast<unsigned char>(s[i]))) ++i;
  return s.substr(i);
}

bool read_file(const std::string& path, std::string* out) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return false;
  out->assign(std::istreambuf_iterator<char>(in), {});
  return true;
}

// A secret from an env var or a file (exactly one of them set). Never logged.
bool load_secret(const std::string& env, const std::string& file, const char* what, std::string* out,
                 std::string* error) {
  if (!env.empty()) {
    const char* v = std::getenv(env.c_str());
    if (!v || !*v) {
      *error = fmt::format("{}: environment variable {} is not set or empty: set it or drop the option", what, env);
      return false;
    }
    *out = v;
  } else if (!file.empty()) {
    if (!read_file(file, out)) {
      *error = fmt::format("{}: cannot read '{}': {}: fix the path or its permissions", what, file,
                           std::strerror(errno));
      return false;
    }
  }
  return true;
}

}  // namespace

bool parse_sink_spec(const std::string& spec, SinkSpec* out, std::string* error) {
  SinkSpec s;
  s.text = spec;
  if (spec.empty()) {
    *error = "empty sink: use stderr, file:PATH, a path, http(s)://... or falcosidekick+http(s)://...";
    return false;
  }
  if (spec == "stderr") {
    s.kind = SinkSpec::Kind::Stderr;
  } else if (starts_with(spec, "falcosidekick+")) {
    s.kind = SinkSpec::Kind::Falcosidekick;
    s.target = spec.substr(std::strlen("falcosidekick+"));
    if (!parse_url(s.target, error)) return false;
  } else if (starts_with(spec, "http://") || starts_with(spec, "https://")) {
    s.kind = SinkSpec::Kind::Http;
    s.target = spec;
    if (!parse_url(s.target, error)) return false;
  } else if (spec.find("://") != std::string::npos) {
    *error = fmt::format("unsupported sink '{}': use http://, https:// or falcosidekick+http(s)://",
                         sinks_detail::mask_url(spec));
    return false;
  } else {
    s.kind = SinkSpec::Kind::File;
    std::string rest = starts_with(spec, "file:") ? spec.substr(5) : spec;
    // Options follow the path after commas only with the file: prefix, so
    // bare paths may contain commas.
    size_t comma = starts_with(spec, "file:") ? rest.find(',') : std::string::npos;
    s.target = rest.substr(0, comma);
    while (comma != std::string::npos) {
      size_t next = rest.find(',', comma + 1);
      std::string kv = rest.substr(comma + 1, next == std::string::npos ? std::string::npos : next - comma - 1);
      comma = next;
      auto eq = kv.find('=');
      std::string key = kv.substr(0, eq), val = eq == std::string::npos ? "" : kv.substr(eq + 1);
      uint64_t n = 0;
      if (key == "max_bytes" && parse_size(val, &n, error)) {
        s.max_bytes = n;
      } else if (key == "max_files" && parse_size(val, &n, error) && n >= 1 && n <= 1000) {
        s.max_files = int(n);
      } else {
        *error = fmt::format("invalid file sink option '{}' in '{}': use max_bytes=SIZE (e.g. 100M) or max_files=N (1..1000)",
                             kv, spec);
        return false;
      }
    }
    if (s.target.empty()) {
      *error = fmt::format("file sink '{}' has no path: use file:/path/to/events.json", spec);
      return false;
    }
  }
  if (s.kind == SinkSpec::Kind::Http || s.kind == SinkSpec::Kind::Falcosidekick) s.text = sinks_detail::mask_url(spec);
  *out = std::move(s);
  return true;
}

bool parse_duration(const std::string& text, std::chrono::milliseconds* out, std::string* error) {
  static const std::pair<const char*, uint64_t> kUnits[] = {{"", 1000}, {"ms", 1}, {"s", 1000}, {"m", 60000},
                                                            {"h", 3600000}};
  uint64_t ms = 0;
  if (!parse_scaled(text, kUnits, &ms)) {
    *error = fmt::format("invalid duration '{}': use a number with ms, s, m or h (e.g. 5s, 250ms)", text);
    return false;
  }
  *out = std::chrono::milliseconds(ms);
  return true;
}

bool parse_size(const std::string& text, uint64_t* out, std::string* error) {
  static const std::pair<const char*, uint64_t> kUnits[] = {
      {"", 1}, {"k", 1ull << 10}, {"K", 1ull << 10}, {"M", 1ull << 20}, {"G", 1ull << 30}};
  if (!parse_scaled(text, kUnits, out)) {
    *error = fmt::format("invalid size '{}': use a number with an optional k, M or G suffix (e.g. 64M)", text);
    return false;
  }
  return true;
}

std::vector<LocalEndpoint> loopback_endpoints(const SinkConfig& cfg) {
  std::vector<LocalEndpoint> out;
  auto add = [&](int family, const void* addr, uint16_t port) {
    LocalEndpoint e;
    e.family = family;
    std::memcpy(e.addr.data(), addr, family == AF_INET ? 4 : 16);
    e.port = port;
    if (std::find(out.begin(), out.end(), e) == out.end()) out.push_back(e);
  };
  for (const auto* list : {&cfg.events, &cfg.alerts})
    for (const std::string& text : *list) {
      SinkSpec spec;
      std::string ignored;
      if (!parse_sink_spec(text, &spec, &ignored) ||
          (spec.kind != SinkSpec::Kind::Http && spec.kind != SinkSpec::Kind::Falcosidekick))
        continue;
      sinks_detail::UrlParts url;
      if (!sinks_detail::url_parts(spec.target, &url)) continue;
      std::string& h = url.host;
      const long p = std::strtol(url.port.c_str(), nullptr, 10);
      if (h.empty() || p <= 0 || p > 65535) continue;
      for (char& c : h) c = char(std::tolower(static_cast<unsigned char>(c)));
      in_addr v4{};
      in6_addr v6{};
      if (h == "localhost" || h.ends_with(".localhost")) {
        v4.s_addr = htonl(INADDR_LOOPBACK);
        add(AF_INET, &v4, uint16_t(p));
        add(AF_INET6, &in6addr_loopback, uint16_t(p));
      } else if (inet_pton(AF_INET, h.c_str(), &v4) == 1) {
        if ((ntohl(v4.s_addr) >> 24) == 127) add(AF_INET, &v4, uint16_t(p));
      } else if (inet_pton(AF_INET6, h.c_str(), &v6) == 1) {
        if (IN6_IS_ADDR_LOOPBACK(&v6)) add(AF_INET6, &v6, uint16_t(p));
        else if (IN6_IS_ADDR_V4MAPPED(&v6) && v6.s6_addr[12] == 127) add(AF_INET, &v6.s6_addr[12], uint16_t(p));
      }
    }
  return out;
}

namespace sinks_detail {

bool url_parts(const std::string& url, UrlParts* out) {
  CURLU* u = curl_url();
  char *host = nullptr, *port = nullptr, *scheme = nullptr;
  const bool parsed = curl_url_set(u, CURLUPART_URL, url.c_str(), 0) == CURLUE_OK &&
                      curl_url_get(u, CURLUPART_HOST, &host, 0) == CURLUE_OK &&
                      curl_url_get(u, CURLUPART_PORT, &port, CURLU_DEFAULT_PORT) == CURLUE_OK &&
                      curl_url_get(u, CURLUPART_SCHEME, &scheme, 0) == CURLUE_OK;
  *out = {host ? host : "", port ? port : "", scheme ? scheme : ""};
  curl_free(host);
  curl_free(port);
  curl_free(scheme);
  curl_url_cleanup(u);
  std::string& h = out->host;
  if (h.size() > 2 && h.front() == '[') h = h.substr(1, h.size() - 2);  // IPv6 literal
  return parsed;
}

std::string mask_url(const std::string& url) {
  auto scheme = url.find("://");
  if (scheme == std::string::npos) return url;
  auto host_start = scheme + 3;
  auto path = url.find_first_of("/?#", host_start);
  auto at = url.rfind('@', path == std::string::npos ? std::string::npos : path);
  if (at == std::string::npos || at < host_start) return url;
  return url.substr(0, host_start) + "***@" + url.substr(at + 1);
}

bool load_http_settings(const SinkConfig& cfg, bool tls, HttpSettings* out, std::string* error) {
  HttpSettings h;
  h.insecure = cfg.tls_insecure;
  h.batch_bytes = cfg.batch_bytes;
  h.ca_file = !cfg.ca_file.empty() ? cfg.ca_file : tls ? default_ca_file() : "";
  if (!cfg.ca_file.empty() && access(cfg.ca_file.c_str(), R_OK) != 0) {
    *error = fmt::format("--ca-file: cannot read '{}': {}", cfg.ca_file, std::strerror(errno));
    return false;
  }
  std::string headers;
  if (!load_secret(cfg.header_env, cfg.header_file, "HTTP headers", &headers, error)) return false;
  size_t pos = 0;
  while (pos < headers.size()) {
    size_t nl = headers.find('\n', pos);
    std::string line = trim(headers.substr(pos, nl == std::string::npos ? std::string::npos : nl - pos));
    pos = nl == std::string::npos ? headers.size() : nl + 1;
    if (line.empty() || line[0] == '#') continue;
    auto colon = line.find(':');
    if (colon == std::string::npos || colon == 0 || line.find(' ') < colon) {
      // Never echo the line: it may hold a secret.
      *error = fmt::format("HTTP headers (from {}): a line is not 'Name: value': fix the header list",
                           cfg.header_env.empty() ? cfg.header_file : "$" + cfg.header_env);
      return false;
    }
    h.headers.push_back(line);
  }
  std::string token;
  if (!load_secret(cfg.bearer_token_env, cfg.bearer_token_file, "bearer token", &token, error)) return false;
  token = trim(token);
  if (!token.empty()) h.headers.push_back("Authorization: Bearer " + token);
  *out = std::move(h);
  return true;
}

}  // namespace sinks_detail
}  // namespace vigil
