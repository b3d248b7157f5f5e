// Private to patcher/: an image's Entrypoint and Cmd read from its registry through the OCI
// distribution API (docs/patcher.md "Entrypoints from the registry").
#pragma once

#include <map>
#include <string>
#include <vector>

#include "patcher/patcher.hpp"

namespace vigil::patch {

// An image reference as a registry sees it: `nginx` is registry-1.docker.io,
// library/nginx, latest.
struct ImageRef {
  std::string host;        // host[:port] to contact
  std::string repository;  // e.g. library/nginx
  std::string reference;   // the tag, or the digest sha256:HEX
  bool digest = false;
};

// Throws Error on a malformed reference.
ImageRef parse_image_ref(const std::string& image);

// Reads image configs from registries. Credentials: the docker config ($DOCKER_CONFIG/config.json
// or ~/.docker/config.json: auths, credHelpers, credsStore). Plain http only for loopback
// registries and the `insecure` hosts; TLS is verified otherwise.
class Registry {
 public:
  explicit Registry(std::vector<std::string> insecure) : insecure_(std::move(insecure)) {}
  // PLATFORM: linux/amd64 or linux/arm64 (picked from an index). Throws Error, one line naming
  // the registry and the problem.
  ImageConfig image_config(const std::string& image, const std::string& platform);

 private:
  struct Creds {
    std::string basic;   // base64(user:password); empty: none
    std::string source;  // where they came from, for messages
  };
  struct Session;
  Creds credentials(const std::string& host);
  bool plain_http(const std::string& host) const;
  std::string fetch(Session& s, const std::string& path, const char* accept, size_t cap, const std::string& what,
                    std::string* content_type);
  void authenticate(Session& s, const std::string& challenge);

  std::vector<std::string> insecure_;
  std::map<std::string, ImageConfig> cache_;  // by "image platform"
  std::map<std::string, Creds> creds_;        // by host
};

}  // namespace vigil::patch
