// Private to patcher/: the one task-definition patch, shared by `patch ecs` and `patch cfn`.
#pragma once

#include <string>
#include <vector>

#include "patcher/patcher.hpp"

namespace vigil::patch {

// Field names: the ECS API spells them camelCase, CloudFormation PascalCase; every field the
// patcher touches differs only in its first letter.
struct Naming {
  bool pascal = false;
  std::string operator()(const char* camel) const;
};

// cfn.cpp encodes a YAML short-form tag (`!Sub x`) as {"\x01!Sub": "x"}.
constexpr char kTagMarker = '\x01';

// Parses JSON; on bad input throws Error "SOURCE: invalid JSON at line L, column C: ...".
json parse_json(const std::string& text, const std::string& source);

// Literal container names of a task definition (throws Error on a malformed one).
std::vector<std::string> container_names(const json& td, const Naming& k, const std::string& where);

// Checks that every --container, --exclude and --image-config name exists in `names`.
void check_names(const Settings& s, const std::vector<std::string>& names, const std::string& where);

// Patches one task definition in place. `where` names it in error messages.
void patch_task(json& td, const Settings& s, const Naming& k, const std::string& where);

}  // namespace vigil::patch
