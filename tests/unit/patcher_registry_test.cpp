// vigil patch: image references as a registry sees them (patcher/registry.cpp), and the
// Settings::registry hook of the entrypoint resolution. The registry protocol itself is tested
// against a real registry by tests/shell/patch_registry.sh.
#include <catch2/catch.hpp>

#include "patcher/registry.hpp"

using vigil::patch::Error;
using vigil::patch::ImageConfig;
using vigil::patch::json;
using vigil::patch::parse_image_ref;

namespace {

std::string split(const std::string& image) {
  auto r = parse_image_ref(image);
  return r.host + " " + r.repository + " " + r.reference + (r.digest ? " digest" : "");
}

}  // namespace

TEST_CASE("image references are normalised as docker does", "[patcher][registry]") {
  const std::string d = "sha256:" + std::string(64, 'a');
  CHECK(split("nginx") == "registry-1.docker.io library/nginx latest");
  CHECK(split("nginx:1.25") == "registry-1.docker.io library/nginx 1.25");
  CHECK(split("grafana/grafana:10") == "registry-1.docker.io grafana/grafana 10");
  CHECK(split("docker.io/nginx") == "registry-1.docker.io library/nginx latest");
  CHECK(split("index.docker.io/library/nginx:x") == "registry-1.docker.io library/nginx x");
  CHECK(split("public.ecr.aws/nginx/nginx:stable") == "public.ecr.aws nginx/nginx stable");
  CHECK(split("123456789012.dkr.ecr.us-east-1.amazonaws.com/app:v1") ==
        "123456789012.dkr.ecr.us-east-1.amazonaws.com app v1");
  CHECK(split("localhost/app") == "localhost app latest");
  CHECK(split("127.0.0.1:5000/a/b/c:t") == "127.0.0.1:5000 a/b/c t");
  CHECK(split("[::1]:5000/app") == "[::1]:5000 app latest");
  CHECK(split("nginx@" + d) == "registry-1.docker.io library/nginx " + d + " digest");
  CHECK(split("host:5000/app:tag@" + d) == "host:5000 app " + d + " digest");  // the digest wins
}

TEST_CASE("malformed image references are errors", "[patcher][registry]") {
  for (const char* bad : {"", "a b", "Nginx", "nginx:", "nginx:-x", "nginx@sha256:abc", "nginx@md5:" "0123",
                          "host:5000/", "host/a//b", "nginx:" "t/x"})
    CHECK_THROWS_AS(parse_image_ref(bad), Error);
  CHECK_THROWS_WITH(parse_image_ref("Nginx"), Catch::Contains("expected [REGISTRY/]REPOSITORY[:TAG][@sha256:DIGEST]"));
}

TEST_CASE("the registry hook supplies Entrypoint and Cmd for the task's platform", "[patcher][registry]") {
  vigil::patch::Settings s;
  s.image = "vigil:test";
  std::vector<std::string> asked;
  s.registry = [&](const std::string& image, const std::string& platform) {
    asked.push_back(image + " " + platform);
    if (image == "missing") throw Error("registry x: tag 'missing' not found");
    return ImageConfig{{"/entry"}, {"serve"}};
  };
  json task = {{"family", "t"},
               {"runtimePlatform", {{"cpuArchitecture", "ARM64"}}},
               {"containerDefinitions", json::array({{{"name", "a"}, {"image", "img:1"}},
                                                     {{"name", "b"}, {"image", "x"}, {"entryPoint", {"/own"}}}})}};
  json out = vigil::patch::patch_ecs(task, s);
  CHECK(asked == std::vector<std::string>{"img:1 linux/arm64"});  // b has its own entryPoint
  CHECK(out["containerDefinitions"][0]["entryPoint"].back() == "/entry");
  CHECK(out["containerDefinitions"][0]["command"] == json({"serve"}));
  task["containerDefinitions"][0]["image"] = "missing";
  CHECK_THROWS_WITH(vigil::patch::patch_ecs(task, s),
                    Catch::Contains("(a): no entryPoint in the task definition and the image's ENTRYPOINT could not "
                                    "be read: registry x: tag 'missing' not found; or pass --image-config a=FILE"));
}
