// vigil patch: turn an ECS task definition (or CloudFormation template) into a sensored one.
// Design and the entrypoint truth table: docs/patcher.md.
#pragma once

#include <functional>
#include <map>
#include <stdexcept>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

namespace vigil {
int cmd_patch(int argc, char** argv);

namespace patch {
using json = nlohmann::ordered_json;

// Bad input. what() is one line: what, where, how to fix (cmd_patch prefixes "vigil patch: ").
struct Error : std::runtime_error {
  using std::runtime_error::runtime_error;
};

// An image's ENTRYPOINT and CMD, as an OCI image config or `docker image inspect` shows them.
struct ImageConfig {
  std::vector<std::string> entrypoint, cmd;
};
ImageConfig parse_image_config(const std::string& text, const std::string& source);

struct Settings {
  std::string image;                    // sensor image (runs `vigil init`)
  std::string opts;                     // VIGIL_OPTS value; empty: not set
  std::string volume_path = "/vigil";   // where the task volume is mounted
  std::vector<std::string> containers;  // --container; empty: every container
  std::vector<std::string> excludes;    // --exclude
  std::map<std::string, ImageConfig> image_configs;  // --image-config NAME=FILE
  // For a container with neither entryPoint nor --image-config: reads the image's config from
  // its registry (image reference, platform linux/amd64 or linux/arm64); throws Error. Empty:
  // offline (--offline), the container is an error.
  std::function<ImageConfig(const std::string& image, const std::string& platform)> registry;
};

// Patches a task definition: `aws ecs describe-task-definition` output, a bare task definition,
// or register-task-definition input. Returns register-task-definition input.
json patch_ecs(const json& input, const Settings& settings);

// Patches every AWS::ECS::TaskDefinition of a CloudFormation template (JSON or YAML text).
std::string patch_cfn(const std::string& text, const Settings& settings);

// Output text of a JSON document: 2-space indent, trailing newline.
std::string to_text(const json& doc);
}  // namespace patch
}  // namespace vigil
