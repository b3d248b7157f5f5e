// An image's Entrypoint and Cmd from its registry: GET /v2/NAME/manifests/REF (an index picks
// the task's platform), then the config blob, both checked against their sha256 digests.
// Authentication follows the registry's WWW-Authenticate challenge: Bearer (a token from the
// realm, anonymous or with the docker config's credentials) or Basic. docs/patcher.md.
#include "patcher/registry.hpp"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <memory>
#include <mutex>
#include <sstream>

#include <curl/curl.h>
#include <fmt/format.h>
#include <fmt/ranges.h>
#include <openssl/evp.h>

#include "events/events.hpp"
#include "patcher/task.hpp"
#include "vigil/version.hpp"

extern char** environ;

namespace vigil::patch {
namespace {

constexpr size_t kManifestCap = 4u << 20;  // responses larger than this are refused
constexpr size_t kConfigCap = 16u << 20;   // image configs carry the build history
constexpr size_t kTokenCap = 1u << 20;
constexpr const char* kDockerHub = "registry-1.docker.io";
constexpr const char* kDockerHubKey = "https://index.docker.io/v1/";  // docker login's key
constexpr const char* kIndexTypes[] = {"application/vnd.oci.image.index.v1+json",
                                       "application/vnd.docker.distribution.manifest.list.v2+json"};
constexpr const char* kManifestTypes[] = {"application/vnd.oci.image.manifest.v1+json",
                                          "application/vnd.docker.distribution.manifest.v2+json"};
constexpr const char* kAcceptAll =
    "Accept: application/vnd.oci.image.index.v1+json, application/vnd.docker.distribution.manifest.list.v2+json, "
    "application/vnd.oci.image.manifest.v1+json, application/vnd.docker.distribution.manifest.v2+json";

template <typename... Args>
[[noreturn]] void fail(fmt::format_string<Args...> f, Args&&... args) {
  throw Error(fmt::format(f, std::forward<Args>(args)...));
}

std::string lower(std::string s) {
  for (char& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return s;
}

// obj[key] if obj is an object and that member a string, else "".
std::string text(const json& obj, const char* key) {
  if (!obj.is_object()) return "";
  auto it = obj.find(key);
  return it != obj.end() && it->is_string() ? it->get<std::string>() : "";
}

bool one_of(const std::string& s, const char* const (&list)[2]) {
  return std::find(std::begin(list), std::end(list), s) != std::end(list);
}

// host[:port] without the port; [::1]:5000 -> [::1].
std::string host_name(const std::string& host) {
  if (!host.empty() && host[0] == '[') return host.substr(0, host.find(']') + 1);
  return host.substr(0, host.find(':'));
}

bool loopback(const std::string& host) {
  std::string h = lower(host_name(host));
  return h == "localhost" || h.rfind("127.", 0) == 0 || h == "[::1]";
}

// The host[:port] of an http(s) URL, or "" if it is not one.
std::string url_host(const std::string& url, std::string* scheme) {
  auto sep = url.find("://");
  if (sep == std::string::npos) return "";
  *scheme = lower(url.substr(0, sep));
  std::string rest = url.substr(sep + 3);
  return rest.substr(0, rest.find_first_of("/?#"));
}

std::string sha256(const std::string& data) {
  Sha256 h;
  h.update(data.data(), data.size());
  std::string hex = h.hex();
  if (hex.empty()) fail("sha256 failed (OpenSSL)");
  return "sha256:" + hex;
}

std::string base64(const std::string& data) {
  std::string out(4 * ((data.size() + 2) / 3) + 1, '\0');
  int n = EVP_EncodeBlock(reinterpret_cast<unsigned char*>(out.data()),
                          reinterpret_cast<const unsigned char*>(data.data()), static_cast<int>(data.size()));
  out.resize(static_cast<size_t>(n));
  return out;
}

// First line of a registry's or helper's message, for an error line.
std::string brief(const std::string& text) {
  std::string s = text.substr(0, text.find_first_of("\r\n"));
  if (s.size() > 200) s = s.substr(0, 200) + "...";
  return s;
}

// The first error of a registry's JSON error body ({"errors": [{"code", "message"}]}), or its text.
std::string registry_message(const std::string& body) {
  try {
    json doc = json::parse(body);
    const json& e = doc.at("errors").at(0);
    return brief(text(e, "code") + ": " + text(e, "message"));
  } catch (const json::exception&) {
    return brief(body);
  }
}

// Parameters of a WWW-Authenticate challenge: Bearer realm="...",service="...",scope="...".
std::map<std::string, std::string> challenge_params(const std::string& challenge) {
  std::map<std::string, std::string> out;
  size_t i = challenge.find(' ');
  while (i != std::string::npos && i < challenge.size()) {
    while (i < challenge.size() && (challenge[i] == ' ' || challenge[i] == ',')) ++i;
    size_t eq = challenge.find('=', i);
    if (eq == std::string::npos) break;
    std::string key = lower(challenge.substr(i, eq - i)), value;
    i = eq + 1;
    if (i < challenge.size() && challenge[i] == '"') {
      for (++i; i < challenge.size() && challenge[i] != '"'; ++i) {
        if (challenge[i] == '\\' && i + 1 < challenge.size()) ++i;
        value += challenge[i];
      }
      ++i;
    } else {
      size_t end = challenge.find(',', i);
      value = challenge.substr(i, end == std::string::npos ? std::string::npos : end - i);
      i = end;
    }
    out[key] = value;
  }
  return out;
}

struct Response {
  long status = 0;
  std::string body;
  std::map<std::string, std::string> headers;  // lower-case names, of the last response
  size_t cap = 0;
  bool too_large = false;
};

size_t on_body(char* p, size_t size, size_t n, void* data) {
  auto* r = static_cast<Response*>(data);
  if (r->body.size() + size * n > r->cap) {
    r->too_large = true;
    return 0;
  }
  r->body.append(p, size * n);
  return size * n;
}

size_t on_header(char* p, size_t size, size_t n, void* data) {
  auto* r = static_cast<Response*>(data);
  std::string line(p, size * n);
  if (line.rfind("HTTP/", 0) == 0) r->headers.clear();  // a new response (after a redirect)
  auto colon = line.find(':');
  if (colon != std::string::npos) {
    std::string value = line.substr(colon + 1);
    value.erase(0, value.find_first_not_of(" \t"));
    value.erase(value.find_last_not_of(" \t\r\n") + 1);
    r->headers[lower(line.substr(0, colon))] = value;
  }
  return size * n;
}


// One GET. `plain`: http allowed (loopback or --insecure-registry). Throws when the server
// cannot be reached or the body is larger than `cap`.
Response get(const std::string& url, const std::vector<std::string>& headers, size_t cap, bool plain,
             const std::string& host, const std::string& what) {
  static std::once_flag once;
  std::call_once(once, [] { curl_global_init(CURL_GLOBAL_DEFAULT); });
  std::unique_ptr<CURL, decltype(&curl_easy_cleanup)> curl(curl_easy_init(), curl_easy_cleanup);
  if (!curl) fail("cannot initialise libcurl");
  std::unique_ptr<curl_slist, decltype(&curl_slist_free_all)> list(nullptr, curl_slist_free_all);
  for (const auto& h : headers) list.reset(curl_slist_append(list.release(), h.c_str()));
  Response r;
  r.cap = cap;
  char err[CURL_ERROR_SIZE] = "";
  CURL* c = curl.get();
  curl_easy_setopt(c, CURLOPT_URL, url.c_str());
  curl_easy_setopt(c, CURLOPT_HTTPHEADER, list.get());
  curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_body);
  curl_easy_setopt(c, CURLOPT_WRITEDATA, &r);
  curl_easy_setopt(c, CURLOPT_HEADERFUNCTION, on_header);
  curl_easy_setopt(c, CURLOPT_HEADERDATA, &r);
  curl_easy_setopt(c, CURLOPT_ERRORBUFFER, err);
  // Blobs are often redirected to a storage service; curl does not send our Authorization
  // header to another host.
  curl_easy_setopt(c, CURLOPT_FOLLOWLOCATION, 1L);
  curl_easy_setopt(c, CURLOPT_MAXREDIRS, 5L);
  curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, plain ? "http,https" : "https");
  curl_easy_setopt(c, CURLOPT_REDIR_PROTOCOLS_STR, plain ? "http,https" : "https");
  curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT, 15L);
  curl_easy_setopt(c, CURLOPT_TIMEOUT, 120L);
  curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
  curl_easy_setopt(c, CURLOPT_USERAGENT, "vigil-patch/" VIGIL_VERSION);
  static const std::string ca = default_ca_file();
  if (!ca.empty()) curl_easy_setopt(c, CURLOPT_CAINFO, ca.c_str());
  CURLcode rc = curl_easy_perform(c);
  if (r.too_large) fail("registry {}: the {} is larger than {} MiB; refused", host, what, cap >> 20);
  if (rc != CURLE_OK)
    fail("registry {} unreachable ({}): {}", host, url.substr(0, url.find('?')),
         err[0] ? err : curl_easy_strerror(rc));
  curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &r.status);
  return r;
}

std::string docker_config_path() {
  if (const char* dir = std::getenv("DOCKER_CONFIG"); dir && *dir) return std::string(dir) + "/config.json";
  const char* home = std::getenv("HOME");
  return std::string(home && *home ? home : "/") + "/.docker/config.json";
}

// docker config keys are "host", "https://host" or "https://host/v1/"; docker.io has aliases.
std::string normalize_key(std::string key) {
  auto sep = key.find("://");
  if (sep != std::string::npos) key = key.substr(sep + 3);
  key = lower(key.substr(0, key.find('/')));
  if (key == "docker.io" || key == "index.docker.io") return kDockerHub;
  return key;
}

// Runs docker-credential-HELPER get, SERVER on stdin, as docker does. Returns its stdout; `ok`
// tells whether it exited 0. Killed after 30 s.
std::string run_helper(const std::string& helper, const std::string& server, bool* ok) {
  const std::string prog = "docker-credential-" + helper;
  int in[2], out[2];
  if (pipe2(in, O_CLOEXEC) || pipe2(out, O_CLOEXEC)) fail("cannot run {}: pipe: {}", prog, std::strerror(errno));
  // The server name is written before the helper starts: it fits the pipe, and no SIGPIPE.
  ssize_t w = write(in[1], server.data(), server.size());
  close(in[1]);
  posix_spawn_file_actions_t fa;
  posix_spawn_file_actions_init(&fa);
  posix_spawn_file_actions_adddup2(&fa, in[0], 0);
  posix_spawn_file_actions_adddup2(&fa, out[1], 1);
  posix_spawn_file_actions_addopen(&fa, 2, "/dev/null", O_WRONLY, 0);
  char* argv[] = {const_cast<char*>(prog.c_str()), const_cast<char*>("get"), nullptr};
  pid_t pid = 0;
  int rc = w == static_cast<ssize_t>(server.size()) ? posix_spawnp(&pid, prog.c_str(), &fa, nullptr, argv, environ)
                                                    : EIO;
  posix_spawn_file_actions_destroy(&fa);
  close(in[0]);
  close(out[1]);
  if (rc != 0) {
    close(out[0]);
    fail("credential helper {} (named in {}) cannot be run: {}; install it or remove it from that file", prog,
         docker_config_path(), std::strerror(rc));
  }
  std::string text;
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(30);
  bool timed_out = false;
  for (;;) {
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now());
    pollfd p{out[0], POLLIN, 0};
    if (left.count() <= 0 || (poll(&p, 1, static_cast<int>(left.count())) == 0)) {
      timed_out = true;
      break;
    }
    char buf[4096];
    ssize_t n = read(out[0], buf, sizeof buf);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break;
    text.append(buf, static_cast<size_t>(n));
    if (text.size() > 65536) break;
  }
  close(out[0]);
  if (timed_out) kill(pid, SIGKILL);
  int status = 0;
  while (waitpid(pid, &status, 0) < 0 && errno == EINTR) {
  }
  if (timed_out) fail("credential helper {} did not answer within 30 s for {}", prog, server);
  *ok = WIFEXITED(status) && WEXITSTATUS(status) == 0;
  return text;
}

}  // namespace

ImageRef parse_image_ref(const std::string& image) {
  auto bad = [&](const char* why) {
    fail("image '{}': {}; expected [REGISTRY/]REPOSITORY[:TAG][@sha256:DIGEST]", image, why);
  };
  if (image.empty() || image.find_first_of(" \t\r\n") != std::string::npos) bad("empty or contains blanks");
  ImageRef r;
  std::string rest = image;
  if (auto at = rest.find('@'); at != std::string::npos) {
    r.reference = rest.substr(at + 1);
    rest.resize(at);
    r.digest = true;
    if (r.reference.size() != 71 || r.reference.rfind("sha256:", 0) != 0 ||
        r.reference.find_first_not_of("0123456789abcdef", 7) != std::string::npos)
      bad("the digest is not sha256: and 64 lower-case hex digits");
  }
  if (auto colon = rest.rfind(':'); colon != std::string::npos && rest.find('/', colon) == std::string::npos) {
    std::string tag = rest.substr(colon + 1);
    rest.resize(colon);
    auto tag_char = [](char ch) { return std::isalnum(static_cast<unsigned char>(ch)) || ch == '_' || ch == '.' || ch == '-'; };
    if (tag.empty() || tag.size() > 128 || tag[0] == '.' || tag[0] == '-' || !std::all_of(tag.begin(), tag.end(), tag_char))
      bad("the tag is not 1-128 letters, digits, '_', '.' or '-'");
    if (!r.digest) r.reference = tag;  // a digest wins over a tag, as in docker pull
  }
  if (!r.digest && r.reference.empty()) r.reference = "latest";
  auto slash = rest.find('/');
  std::string first = rest.substr(0, slash);
  if (slash != std::string::npos && (first.find_first_of(".:[") != std::string::npos || first == "localhost")) {
    r.host = first;
    r.repository = rest.substr(slash + 1);
  } else {
    r.host = "docker.io";
    r.repository = rest;
  }
  if (normalize_key(r.host) == kDockerHub) {
    r.host = kDockerHub;
    if (r.repository.find('/') == std::string::npos) r.repository = "library/" + r.repository;
  }
  auto host_char = [](char ch) { return std::isalnum(static_cast<unsigned char>(ch)) || std::strchr(".-:[]", ch); };
  const std::string port = r.host.size() > host_name(r.host).size() ? r.host.substr(host_name(r.host).size()) : "";
  if (!std::all_of(r.host.begin(), r.host.end(), host_char) || host_name(r.host).size() < 1 ||
      (!port.empty() && (port.size() < 2 || port[0] != ':' || port.find_first_not_of("0123456789", 1) != std::string::npos)))
    bad("the registry host is not a host name[:port]");
  auto repo_char = [](char ch) { return std::islower(static_cast<unsigned char>(ch)) || std::isdigit(static_cast<unsigned char>(ch)) || std::strchr("._-/", ch); };
  if (r.repository.empty() || r.repository.front() == '/' || r.repository.back() == '/' ||
      r.repository.find("//") != std::string::npos || !std::all_of(r.repository.begin(), r.repository.end(), repo_char))
    bad("the repository is not lower-case letters, digits, '.', '_', '-' and '/'");
  return r;
}

struct Registry::Session {
  ImageRef ref;
  std::string base;  // scheme://host/v2/REPOSITORY/
  bool plain = false;
  std::string auth;  // Authorization header; empty until challenged
  bool challenged = false;
};

bool Registry::plain_http(const std::string& host) const {
  return loopback(host) || std::find(insecure_.begin(), insecure_.end(), host) != insecure_.end();
}

Registry::Creds Registry::credentials(const std::string& host) {
  if (auto it = creds_.find(host); it != creds_.end()) return it->second;
  const std::string path = docker_config_path();
  Creds creds;
  std::ifstream f(path, std::ios::binary);
  if (f) {
    std::ostringstream ss;
    ss << f.rdbuf();
    json doc = parse_json(ss.str(), "docker config " + path);
    auto find = [&](const char* section) -> const json* {
      const json* s = doc.is_object() && doc.contains(section) ? &doc[section] : nullptr;
      if (s && s->is_object())
        for (const auto& [key, value] : s->items())
          if (normalize_key(key) == normalize_key(host)) return &value;
      return nullptr;
    };
    std::string helper;
    if (const json* h = find("credHelpers"); h && h->is_string()) helper = h->get<std::string>();
    const std::string store = text(doc, "credsStore");
    const json* auth = find("auths");
    if (helper.empty() && auth && auth->is_object() && !auth->empty()) {
      if (!text(*auth, "auth").empty())
        creds.basic = text(*auth, "auth");
      else if (!text(*auth, "username").empty() && !text(*auth, "password").empty())
        creds.basic = base64(text(*auth, "username") + ":" + text(*auth, "password"));
      else
        fail("docker config {}: the entry for {} has no auth or username/password (identity tokens are not "
             "supported); run `docker login {}` again",
             path, host, host);
      creds.source = "docker config " + path;
    } else if (helper.empty()) {
      helper = store;
    }
    if (!helper.empty()) {
      bool ok = false;
      const std::string server = host == kDockerHub ? kDockerHubKey : host;
      std::string out = run_helper(helper, server, &ok);
      if (ok) {
        json answer = parse_json(out, "the answer of docker-credential-" + helper);
        std::string user = text(answer, "Username"), secret = text(answer, "Secret");
        if (user == "<token>")
          fail("docker-credential-{} gave an identity token for {}, which vigil patch does not support; use "
               "`docker login` with a password or access token",
               helper, host);
        if (!secret.empty()) creds = {base64(user + ":" + secret), "docker-credential-" + helper};
      } else if (out.find("credentials not found") == std::string::npos) {
        fail("credential helper docker-credential-{} failed for {}: {}", helper, host, brief(out));
      }
    }
  } else if (errno != ENOENT) {
    fail("cannot read docker config {}: {}", path, std::strerror(errno));
  }
  return creds_[host] = creds;
}

void Registry::authenticate(Session& s, const std::string& challenge) {
  const std::string& host = s.ref.host;
  std::string scheme = lower(challenge.substr(0, challenge.find(' ')));
  Creds creds = credentials(host);
  if (scheme == "basic") {
    if (creds.basic.empty())
      fail("registry {} needs credentials and the docker config ({}) has none for it: run `docker login {}` "
           "(for ECR: aws ecr get-login-password | docker login --username AWS --password-stdin {})",
           host, docker_config_path(), host, host);
    s.auth = "Authorization: Basic " + creds.basic;
    return;
  }
  if (scheme != "bearer") fail("registry {} asks for {} authentication; vigil patch supports Bearer and Basic", host, scheme);
  auto params = challenge_params(challenge);
  const std::string realm = params["realm"];
  std::string realm_scheme;
  const std::string realm_host = url_host(realm, &realm_scheme);
  if (realm_host.empty() || (realm_scheme != "https" && !(realm_scheme == "http" && plain_http(realm_host))))
    fail("registry {}: its token service '{}' is not an https URL (http only for loopback or "
         "--insecure-registry hosts)",
         host, realm);
  std::unique_ptr<char, decltype(&curl_free)> service(
      curl_easy_escape(nullptr, params["service"].c_str(), 0), curl_free);
  const std::string scope = params.count("scope") ? params["scope"] : "repository:" + s.ref.repository + ":pull";
  std::unique_ptr<char, decltype(&curl_free)> scope_q(curl_easy_escape(nullptr, scope.c_str(), 0), curl_free);
  std::string url = realm + (realm.find('?') == std::string::npos ? "?" : "&") + "scope=" + scope_q.get();
  if (!params["service"].empty()) url += std::string("&service=") + service.get();
  std::vector<std::string> headers;
  if (!creds.basic.empty()) headers.push_back("Authorization: Basic " + creds.basic);
  Response r = get(url, headers, kTokenCap, realm_scheme == "http", realm_host, "token");
  const std::string who = creds.basic.empty() ? "an anonymous token" : "a token for the credentials from " + creds.source;
  if (r.status == 401 || r.status == 403)
    fail("registry {}: authentication failed: the token service {} refused {} (HTTP {}: {}); run `docker login {}`",
         host, realm_host, who, r.status, registry_message(r.body), host);
  if (r.status != 200)
    fail("registry {}: the token service {} answered HTTP {}: {}", host, realm_host, r.status, registry_message(r.body));
  std::string token;
  try {
    json doc = json::parse(r.body);
    for (const char* key : {"token", "access_token"})
      if (token.empty()) token = text(doc, key);
  } catch (const json::exception&) {
  }
  if (token.empty()) fail("registry {}: the token service {} answered without a token (not JSON with \"token\")", host, realm_host);
  s.auth = "Authorization: Bearer " + token;
}

std::string Registry::fetch(Session& s, const std::string& path, const char* accept, size_t cap,
                            const std::string& what, std::string* content_type) {
  for (;;) {
    std::vector<std::string> headers;
    if (accept) headers.emplace_back(accept);
    if (!s.auth.empty()) headers.push_back(s.auth);
    Response r = get(s.base + path, headers, cap, s.plain, s.ref.host, what);
    if (r.status == 401 && !s.challenged && r.headers.count("www-authenticate")) {
      s.challenged = true;
      authenticate(s, r.headers["www-authenticate"]);
      continue;
    }
    if (r.status == 200) {
      if (content_type) *content_type = r.headers["content-type"];
      return r.body;
    }
    const std::string image = s.ref.host + "/" + s.ref.repository;
    if (r.status == 401 || r.status == 403) {
      Creds creds = credentials(s.ref.host);
      fail("registry {}: authentication failed for {} (HTTP {}: {}): {}", s.ref.host, image, r.status,
           registry_message(r.body),
           creds.basic.empty() ? fmt::format("the repository does not exist or needs credentials; run `docker login {}`", s.ref.host)
                               : fmt::format("the credentials from {} were refused", creds.source));
    }
    if (r.status == 404)
      fail("registry {}: {} not found in {} (HTTP 404: {}); check the image name and tag", s.ref.host, what, image,
           registry_message(r.body));
    fail("registry {}: HTTP {} for the {} of {}: {}", s.ref.host, r.status, what, image, registry_message(r.body));
  }
}

ImageConfig Registry::image_config(const std::string& image, const std::string& platform) {
  const std::string key = image + " " + platform;
  if (auto it = cache_.find(key); it != cache_.end()) return it->second;
  Session s;
  s.ref = parse_image_ref(image);
  s.plain = plain_http(s.ref.host);
  s.base = fmt::format("{}://{}/v2/{}/", s.plain ? "http" : "https", s.ref.host, s.ref.repository);
  const std::string& host = s.ref.host;
  const std::string os = platform.substr(0, platform.find('/')), arch = platform.substr(platform.find('/') + 1);

  // The manifest, through at most one index; a digest is checked against the content.
  std::string reference = s.ref.reference, type, expected = s.ref.digest ? s.ref.reference : "";
  json manifest;
  for (int depth = 0;; ++depth) {
    const std::string what = expected.empty() ? "tag '" + reference + "'" : "manifest " + reference;
    std::string body = fetch(s, "manifests/" + reference, kAcceptAll, kManifestCap, what, &type);
    if (!expected.empty() && sha256(body) != expected)
      fail("registry {}: the manifest {} does not match its digest; refused", host, expected);
    try {
      manifest = json::parse(body);
    } catch (const json::exception&) {
      fail("registry {}: the {} of {} is not JSON", host, what, image);
    }
    if (!manifest.is_object()) fail("registry {}: the {} of {} is not a JSON object", host, what, image);
    if (!text(manifest, "mediaType").empty()) type = text(manifest, "mediaType");
    type = type.substr(0, type.find(';'));
    if (one_of(type, kManifestTypes)) break;
    if (!one_of(type, kIndexTypes) || depth > 0)
      fail("registry {}: the {} of {} has media type '{}'; vigil patch reads OCI and Docker v2 manifests and "
           "indexes; pass --image-config",
           host, what, image, type);
    const json list = manifest.value("manifests", json::array());
    if (!list.is_array()) fail("registry {}: the index of {} has no manifests list", host, image);
    std::vector<std::string> seen;
    const json* pick = nullptr;
    for (const auto& m : list) {
      const json p = m.is_object() ? m.value("platform", json::object()) : json::object();
      const std::string o = text(p, "os"), a = text(p, "architecture"), v = text(p, "variant");
      if (o == "unknown") continue;  // attestations
      seen.push_back(o + "/" + a + (v.empty() ? "" : "/" + v));
      if (!pick && o == os && a == arch && (arch != "arm64" || v.empty() || v == "v8")) pick = &m;
    }
    if (!pick || text(*pick, "digest").empty())
      fail("registry {}: {} has no image for {} (it has: {}); check the task's runtimePlatform.cpuArchitecture",
           host, image, platform, seen.empty() ? std::string("none") : fmt::format("{}", fmt::join(seen, ", ")));
    reference = expected = (*pick)["digest"].get<std::string>();
  }

  const std::string digest = text(manifest.value("config", json()), "digest");
  if (digest.empty()) fail("registry {}: the manifest of {} has no config digest", host, image);
  std::string body = fetch(s, "blobs/" + digest, nullptr, kConfigCap, "config blob " + digest, nullptr);
  if (sha256(body) != digest) fail("registry {}: the config blob {} does not match its digest; refused", host, digest);
  json doc;
  try {
    doc = json::parse(body);
  } catch (const json::exception&) {
    fail("registry {}: the config blob {} of {} is not JSON", host, digest, image);
  }
  if (!doc.is_object()) fail("registry {}: the config blob {} of {} is not a JSON object", host, digest, image);
  if (!text(doc, "architecture").empty() && text(doc, "architecture") != arch)
    std::fprintf(stderr, "vigil patch: warning: image %s is built for %s/%s, the task runs %s\n", image.c_str(),
                 text(doc, "os").c_str(), text(doc, "architecture").c_str(), platform.c_str());
  const json config = doc.value("config", json::object());
  auto list = [&](const char* name) {
    std::vector<std::string> out;
    const json v = config.is_object() ? config.value(name, json()) : json();
    if (v.is_null()) return out;
    if (!v.is_array()) fail("registry {}: config.{} of {} is not a list of strings", host, name, image);
    for (const auto& e : v) {
      if (!e.is_string()) fail("registry {}: config.{} of {} is not a list of strings", host, name, image);
      out.push_back(e.get<std::string>());
    }
    return out;
  };
  return cache_[key] = ImageConfig{list("Entrypoint"), list("Cmd")};
}

}  // namespace vigil::patch
