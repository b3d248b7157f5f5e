// vigil patch: the entrypoint truth table (docs/patcher.md), merges, idempotence across an ECS
// register/describe round trip, image configs, and CloudFormation YAML round trips.
#include <catch2/catch.hpp>
#include <yaml-cpp/yaml.h>

#include "patcher/patcher.hpp"

using vigil::patch::ImageConfig;
using vigil::patch::json;
using vigil::patch::Settings;

namespace {

const json kPrefix = {"/vigil/rootfs/bin/vigil-launch", "run", "--"};

Settings settings() {
  Settings s;
  s.image = "vigil:test";
  return s;
}

json task_with(const json& container) {
  return json{{"family", "t"}, {"containerDefinitions", json::array({container})}};
}

// Patches a task holding `container` and returns the patched container.
json patch_one(const json& container, const Settings& s = settings()) {
  return vigil::patch::patch_ecs(task_with(container), s)["containerDefinitions"][0];
}

json wrapped(std::initializer_list<const char*> rest) {
  json e = kPrefix;
  for (const char* r : rest) e.push_back(r);
  return e;
}

}  // namespace

TEST_CASE("patch truth table: entryPoint in the task", "[patcher]") {
  // ECS: a task entryPoint replaces the image ENTRYPOINT and drops its CMD unless command is set.
  json c = patch_one({{"name", "app"}, {"image", "x"}, {"entryPoint", {"/bin/app", "-v"}}});
  CHECK(c["entryPoint"] == wrapped({"/bin/app", "-v"}));
  CHECK_FALSE(c.contains("command"));
  c = patch_one({{"name", "app"}, {"image", "x"}, {"entryPoint", {"/bin/app"}}, {"command", {"--port", "1"}}});
  CHECK(c["entryPoint"] == wrapped({"/bin/app"}));
  CHECK(c["command"] == json({"--port", "1"}));
}

TEST_CASE("patch truth table: entryPoint from --image-config", "[patcher]") {
  Settings s = settings();
  auto with_image = [&](std::vector<std::string> entry, std::vector<std::string> cmd) {
    s.image_configs["app"] = ImageConfig{std::move(entry), std::move(cmd)};
  };
  SECTION("image Entrypoint and Cmd, task command: runs Entrypoint + task command") {
    with_image({"/entry"}, {"default"});
    json c = patch_one({{"name", "app"}, {"image", "x"}, {"command", {"task-arg"}}}, s);
    CHECK(c["entryPoint"] == wrapped({"/entry"}));
    CHECK(c["command"] == json({"task-arg"}));
  }
  SECTION("image Entrypoint and Cmd, no task command: Cmd carried over explicitly") {
    with_image({"/entry"}, {"default", "arg"});
    json c = patch_one({{"name", "app"}, {"image", "x"}}, s);
    CHECK(c["entryPoint"] == wrapped({"/entry"}));
    CHECK(c["command"] == json({"default", "arg"}));
  }
  SECTION("image Cmd only, no task command: the Cmd is the process") {
    with_image({}, {"/bin/server", "-p"});
    json c = patch_one({{"name", "app"}, {"image", "x"}}, s);
    CHECK(c["entryPoint"] == kPrefix);
    CHECK(c["command"] == json({"/bin/server", "-p"}));
  }
  SECTION("image Cmd only, task command: the task command is the process") {
    with_image({}, {"/bin/server"});
    json c = patch_one({{"name", "app"}, {"image", "x"}, {"command", {"/bin/other"}}}, s);
    CHECK(c["entryPoint"] == kPrefix);
    CHECK(c["command"] == json({"/bin/other"}));
  }
  SECTION("image Entrypoint only, empty task command: runs the Entrypoint") {
    with_image({"/sbin/tini", "--"}, {});
    json c = patch_one({{"name", "app"}, {"image", "x"}, {"command", json::array()}}, s);
    CHECK(c["entryPoint"] == wrapped({"/sbin/tini", "--"}));
    CHECK(c["command"] == json::array());
  }
  SECTION("neither: an error, never a task that starts the wrong process") {
    with_image({}, {});
    CHECK_THROWS_AS(patch_one({{"name", "app"}, {"image", "x"}}, s), vigil::patch::Error);
  }
  SECTION("no --image-config: an error naming the container and the fix") {
    s.image_configs.clear();
    CHECK_THROWS_WITH(patch_one({{"name", "app"}, {"image", "x"}}, s),
                      Catch::Contains("--image-config app=FILE") && Catch::Contains("--exclude app"));
  }
}

TEST_CASE("patch merges capabilities, dependsOn, mounts and VIGIL_OPTS", "[patcher]") {
  Settings s = settings();
  s.opts = "--trace=info";
  json c = patch_one({{"name", "app"},
                      {"image", "x"},
                      {"entryPoint", {"/bin/app"}},
                      {"environment", {{{"name", "VIGIL_OPTS"}, {"value", "--trace=debug"}}}},
                      {"linuxParameters", {{"capabilities", {{"add", {"NET_ADMIN", "SYS_PTRACE"}}}}}},
                      {"dependsOn", {{{"containerName", "vigil-init"}, {"condition", "COMPLETE"}}}}},
                     s);
  // The container's own VIGIL_OPTS comes last, so it wins over --opts. It
  // had SYS_PTRACE already: the app keeps it (--app-ptrace=keep).
  CHECK(c["environment"] ==
        json({{{"name", "VIGIL_OPTS"}, {"value", "--trace=info --app-ptrace=keep --trace=debug"}}}));
  CHECK(c["linuxParameters"]["capabilities"]["add"] == json({"NET_ADMIN", "SYS_PTRACE"}));
  CHECK(c["dependsOn"] == json({{{"containerName", "vigil-init"}, {"condition", "SUCCESS"}}}));
  CHECK(c["mountPoints"] == json({{{"sourceVolume", "vigil"}, {"containerPath", "/vigil"}, {"readOnly", true}}}));
  // SYS_PTRACE added by the patch (vigil's own need): the app does not keep it.
  CHECK(patch_one({{"name", "app"}, {"image", "x"}, {"entryPoint", {"/a"}}}, s)["environment"] ==
        json({{{"name", "VIGIL_OPTS"}, {"value", "--trace=info"}}}));
  // Without --opts, no VIGIL_OPTS is added.
  CHECK_FALSE(patch_one({{"name", "app"}, {"image", "x"}, {"entryPoint", {"/a"}}}).contains("environment"));
}

TEST_CASE("patch keeps unknown fields and key order, strips read-only fields, keeps tags", "[patcher]") {
  json in = json::parse(R"({"taskDefinition": {"zeta": 1, "family": "t", "revision": 3, "status": "ACTIVE",
    "containerDefinitions": [{"name": "app", "image": "x", "entryPoint": ["/a"], "futureField": {"b": 1, "a": 2}}],
    "alpha": true, "registeredAt": "2025-01-01"}, "tags": [{"key": "team", "value": "x"}]})");
  json out = vigil::patch::patch_ecs(in, settings());
  std::vector<std::string> keys;
  for (auto it = out.begin(); it != out.end(); ++it) keys.push_back(it.key());
  CHECK(keys == std::vector<std::string>{"zeta", "family", "containerDefinitions", "alpha", "volumes", "tags"});
  CHECK(out["containerDefinitions"][0]["futureField"].dump() == R"({"b":1,"a":2})");
  CHECK(out["tags"] == in["tags"]);
}

TEST_CASE("patch is idempotent, also after ECS describes the registered task back", "[patcher]") {
  json in = task_with({{"name", "app"}, {"image", "x"}, {"entryPoint", {"/a"}}});
  Settings s = settings();
  s.opts = "--trace=info";
  json once = vigil::patch::patch_ecs(in, s);
  CHECK(vigil::patch::to_text(vigil::patch::patch_ecs(once, s)) == vigil::patch::to_text(once));
  // describe-task-definition fills in defaults and returns fields in its own order.
  json described = once;
  json& init = described["containerDefinitions"][1];
  init["cpu"] = 0;
  init["environment"] = json::array();
  init["mountPoints"][0] = {{"readOnly", false}, {"containerPath", "/vigil"}, {"sourceVolume", "vigil"}};
  described["volumes"][0]["host"] = json::object();
  json wrapped_in = {{"taskDefinition", described}, {"tags", json::array()}};
  json again = vigil::patch::patch_ecs(wrapped_in, s);
  described["tags"] = json::array();
  CHECK(vigil::patch::to_text(again) == vigil::patch::to_text(described));
  // A container added to a patched task is patched; the others are left as they are.
  again["containerDefinitions"].push_back({{"name", "new"}, {"image", "y"}, {"entryPoint", {"/b"}}});
  json third = vigil::patch::patch_ecs(again, s);
  CHECK(third["containerDefinitions"][0] == again["containerDefinitions"][0]);
  CHECK(third["containerDefinitions"][2]["entryPoint"] == wrapped({"/b"}));
  CHECK(third["containerDefinitions"].size() == 3);
}

TEST_CASE("patch moves the loader form of earlier versions to vigil-launch", "[patcher]") {
  const json loader_form = {"/vigil/rootfs/lib64/ld-linux-x86-64.so.2", "--library-path", "/vigil/rootfs/lib64",
                            "/vigil/rootfs/bin/vigil", "run", "--", "/a", "-v"};
  json once = vigil::patch::patch_ecs(task_with({{"name", "app"}, {"image", "x"}, {"entryPoint", {"/a", "-v"}}}),
                                      settings());
  json old = once;
  old["containerDefinitions"][0]["entryPoint"] = loader_form;
  CHECK(vigil::patch::to_text(vigil::patch::patch_ecs(old, settings())) == vigil::patch::to_text(once));
  // ... for its own volume path and architecture only
  Settings s = settings();
  s.volume_path = "/opt/v";
  CHECK_THROWS_WITH(vigil::patch::patch_ecs(old, s), Catch::Contains("already patched for another volume path"));
  old["runtimePlatform"] = {{"cpuArchitecture", "ARM64"}};
  CHECK_THROWS_WITH(vigil::patch::patch_ecs(old, settings()), Catch::Contains("already patched"));
}

TEST_CASE("patch leaves a task without selected containers unchanged", "[patcher]") {
  json in = task_with({{"name", "app"}, {"image", "x"}, {"dockerLabels", {{"vigil.io/injection", "disabled"}}}});
  CHECK(vigil::patch::patch_ecs(in, settings()) == in);
  Settings s = settings();
  s.excludes = {"app"};
  CHECK(vigil::patch::patch_ecs(task_with({{"name", "app"}, {"image", "x"}}), s).dump() ==
        task_with({{"name", "app"}, {"image", "x"}}).dump());
}

TEST_CASE("patch follows the CPU architecture and the volume path", "[patcher]") {
  json in = task_with({{"name", "app"}, {"image", "x"}, {"entryPoint", {"/a"}}});
  in["runtimePlatform"] = {{"cpuArchitecture", "ARM64"}, {"operatingSystemFamily", "LINUX"}};
  Settings s = settings();
  s.volume_path = "/opt/v";
  json c = vigil::patch::patch_ecs(in, s)["containerDefinitions"];
  CHECK(c[0]["entryPoint"] == json({"/opt/v/rootfs/bin/vigil-launch", "run", "--", "/a"}));
  CHECK(c[1]["command"] == json({"--volume", "/opt/v"}));
  in["runtimePlatform"]["operatingSystemFamily"] = "WINDOWS_SERVER_2019_FULL";
  CHECK_THROWS_WITH(vigil::patch::patch_ecs(in, s), Catch::Contains("Linux"));
}

TEST_CASE("image config: OCI config and docker inspect output", "[patcher]") {
  auto oci = vigil::patch::parse_image_config(R"({"config": {"Entrypoint": ["/e"], "Cmd": ["c"]}})", "f");
  CHECK(oci.entrypoint == std::vector<std::string>{"/e"});
  CHECK(oci.cmd == std::vector<std::string>{"c"});
  auto docker = vigil::patch::parse_image_config(R"([{"Config": {"Entrypoint": null, "Cmd": ["sh"]}}])", "f");
  CHECK(docker.entrypoint.empty());
  CHECK(docker.cmd == std::vector<std::string>{"sh"});
  CHECK_THROWS_WITH(vigil::patch::parse_image_config("{", "f.json"),
                    Catch::StartsWith("--image-config f.json: invalid JSON at line 1, column 2"));
  CHECK_THROWS_AS(vigil::patch::parse_image_config(R"({"Config": {"Cmd": [1]}})", "f"), vigil::patch::Error);
}

TEST_CASE("cfn YAML keeps intrinsic tags, types and quoting, and re-patches to itself", "[patcher]") {
  const char* tmpl = R"(Resources:
  Task:
    Type: AWS::ECS::TaskDefinition
    Properties:
      Family: !Sub "${AWS::StackName}-app"
      Cpu: 256
      Memory: "512"
      ContainerDefinitions:
        - Name: app
          Image: !Ref Image
          EntryPoint: [/app, !Ref Arg]
          Environment:
            - {Name: A, Value: "0123"}
            - {Name: B, Value: "yes"}
            - {Name: C, Value: !GetAtt Db.Endpoint.Address}
            - {Name: D, Value: !If [Prod, "true", !Join ["-", [a, !Ref B]]]}
)";
  Settings s = settings();
  const std::string once = vigil::patch::patch_cfn(tmpl, s);
  CHECK(vigil::patch::patch_cfn(once, s) == once);
  YAML::Node out = YAML::Load(once);
  YAML::Node p = out["Resources"]["Task"]["Properties"];
  CHECK(p["Family"].Tag() == "!Sub");
  CHECK(p["Family"].Scalar() == "${AWS::StackName}-app");
  CHECK(p["Cpu"].Tag() == "?");  // still a plain integer
  CHECK(p["Memory"].Tag() == "!");  // still a string
  YAML::Node app = p["ContainerDefinitions"][0];
  CHECK(app["Image"].Tag() == "!Ref");
  CHECK(app["EntryPoint"][3].Scalar() == "/app");
  CHECK(app["EntryPoint"][4].Tag() == "!Ref");
  CHECK(app["Environment"][0]["Value"].Tag() == "!");
  CHECK(app["Environment"][0]["Value"].Scalar() == "0123");
  CHECK(app["Environment"][1]["Value"].Tag() == "!");
  CHECK(app["Environment"][2]["Value"].Tag() == "!GetAtt");
  YAML::Node d = app["Environment"][3]["Value"];
  CHECK(d.Tag() == "!If");
  CHECK(d[1].Tag() == "!");
  CHECK(d[2].Tag() == "!Join");
  CHECK(d[2][1][1].Tag() == "!Ref");
  CHECK(p["ContainerDefinitions"][1]["Name"].Scalar() == "vigil-init");
  CHECK(p["Volumes"][0]["Name"].Scalar() == "vigil");
}

TEST_CASE("cfn YAML round-trips strings that need quoting or block style", "[patcher]") {
  const std::vector<std::string> values = {
      "a: b", " lead", "#x", "x #y", "*star", "&amp", "!bang", "@at", "`tick", "'sq", "\"dq", "%pct", "- dash",
      "?q", "[x]", "{y}", "multi\nline\n", "multi\nno-end", "two\nnewlines\n\n", "trailing ", "", "~", "null",
      "0x1F", "1e3", ".5", "+1", "-", "yes", "On", "2010-09-09", "a,b", "|pipe", ">gt", "tab\there",
      "back\\slash", "unicod\xc3\xa9", "${AWS::Region}", "Fn::Sub", "x:y", ":"};
  std::string tmpl =
      "Resources:\n  T:\n    Type: AWS::ECS::TaskDefinition\n    Properties:\n      ContainerDefinitions:\n"
      "        - Name: app\n          EntryPoint: [/a]\n          Environment:\n";
  for (size_t i = 0; i < values.size(); ++i)  // a JSON string is a YAML double-quoted scalar
    tmpl += "            - {Name: V" + std::to_string(i) + ", Value: " + json(values[i]).dump() + "}\n";
  const std::string once = vigil::patch::patch_cfn(tmpl, settings());
  CHECK(vigil::patch::patch_cfn(once, settings()) == once);
  YAML::Node env = YAML::Load(once)["Resources"]["T"]["Properties"]["ContainerDefinitions"][0]["Environment"];
  REQUIRE(env.size() == values.size());
  for (size_t i = 0; i < values.size(); ++i) {
    INFO("value " << i << ": " << json(values[i]).dump());
    CHECK(env[i]["Value"].Scalar() == values[i]);
  }
}
