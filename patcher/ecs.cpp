// `vigil patch ecs`: the input shapes of a task definition, and image configs.
#include <fmt/format.h>

#include "patcher/task.hpp"

namespace vigil::patch {
namespace {

// Fields describe-task-definition returns and register-task-definition rejects.
constexpr const char* kReadOnly[] = {"taskDefinitionArn", "revision",   "status",       "requiresAttributes",
                                     "compatibilities",   "registeredAt", "registeredBy", "deregisteredAt"};

// describe-task-definition writes some absent members as null (logConfiguration.secretOptions);
// RegisterTaskDefinition refuses null for any member, so they are left out.
void drop_nulls(json& j) {
  if (j.is_object()) {
    for (auto it = j.begin(); it != j.end();) {
      if (it->is_null()) {
        it = j.erase(it);
      } else {
        drop_nulls(*it);
        ++it;
      }
    }
  } else if (j.is_array()) {
    for (auto& e : j) drop_nulls(e);
  }
}

}  // namespace

json patch_ecs(const json& input, const Settings& s) {
  if (!input.is_object())
    throw Error(fmt::format("input is a JSON {}, expected an object (`aws ecs describe-task-definition` output or "
                            "register-task-definition input)",
                            input.type_name()));
  // describe-task-definition output: {"taskDefinition": {...}, "tags": [...]}
  const bool wrapped = input.contains("taskDefinition") && !input.contains("containerDefinitions");
  json td = wrapped ? input["taskDefinition"] : input;
  if (!td.is_object()) throw Error("input: taskDefinition is not an object");
  for (const char* key : kReadOnly) td.erase(key);
  if (wrapped) drop_nulls(td);
  const json family = td.value("family", json());
  const std::string where = family.is_string() ? fmt::format("task definition '{}'", family.get<std::string>())
                                               : std::string("task definition");
  const Naming k;
  check_names(s, container_names(td, k, where), where);
  patch_task(td, s, k, where);
  if (wrapped && input.contains("tags")) td["tags"] = input["tags"];  // register input takes the same shape
  return td;
}

ImageConfig parse_image_config(const std::string& text, const std::string& source) {
  const std::string what = "--image-config " + source;
  const char* fix = "expected `docker image inspect IMAGE` output or an OCI image config "
                    "(`skopeo inspect --config docker://IMAGE`)";
  json doc = parse_json(text, what);
  if (doc.is_array()) {
    if (doc.size() != 1)
      throw Error(fmt::format("{}: describes {} images, expected one; inspect only the container's image", what,
                              doc.size()));
    doc = json(doc[0]);
  }
  const json* config = nullptr;
  for (const char* key : {"config", "Config"})  // OCI image config / docker inspect
    if (doc.is_object() && doc.contains(key) && doc[key].is_object()) config = &doc[key];
  if (!config) throw Error(fmt::format("{}: no config.Entrypoint or Config.Entrypoint found; {}", what, fix));
  auto list = [&](const char* key) {
    std::vector<std::string> out;
    const json v = config->value(key, json());
    if (v.is_null()) return out;
    if (!v.is_array()) throw Error(fmt::format("{}: {} must be a list of strings; {}", what, key, fix));
    for (const auto& e : v) {
      if (!e.is_string()) throw Error(fmt::format("{}: {} must be a list of strings; {}", what, key, fix));
      out.push_back(e.get<std::string>());
    }
    return out;
  };
  return {list("Entrypoint"), list("Cmd")};
}

}  // namespace vigil::patch
