// `vigil patch cfn`: every AWS::ECS::TaskDefinition of a CloudFormation template, JSON or YAML.
// YAML goes through the same JSON tree as the ECS patch: short-form tags (!Ref, !Sub, ...) are
// kept as {"\x01!Ref": value} and written back as tags; plain scalars keep their type.
#include <algorithm>
#include <cctype>
#include <cerrno>
#include <cstdlib>
#include <cstring>

#include <fmt/format.h>
#include <yaml-cpp/yaml.h>

#include "patcher/task.hpp"

namespace vigil::patch {
namespace {

// YAML 1.2 core schema for a plain (unquoted, untagged) scalar: null, bool, integer or string.
json plain_scalar(const std::string& s) {
  if (s.empty() || s == "~" || s == "null" || s == "Null" || s == "NULL") return nullptr;
  if (s == "true" || s == "True" || s == "TRUE") return true;
  if (s == "false" || s == "False" || s == "FALSE") return false;
  size_t digits = s[0] == '-' || s[0] == '+' ? 1 : 0;
  bool integer = s.size() > digits && std::all_of(s.begin() + digits, s.end(), ::isdigit) &&
                 (s[digits] != '0' || s.size() == digits + 1);
  if (integer) {
    errno = 0;
    long long v = std::strtoll(s.c_str(), nullptr, 10);
    if (errno == 0) return v;
  }
  return s;
}

// A string that some YAML reader could take for something else is written quoted.
bool needs_quotes(const std::string& s) {
  if (!plain_scalar(s).is_string()) return true;
  std::string l = s;
  std::transform(l.begin(), l.end(), l.begin(), ::tolower);
  for (const char* word : {"yes", "no", "on", "off", "y", "n", "true", "false", "null"})
    if (l == word) return true;
  return std::isdigit(static_cast<unsigned char>(s[0])) ||
         (s.size() > 1 && std::strchr("+-.", s[0]) && std::isdigit(static_cast<unsigned char>(s[1])));
}

bool is_tag(const std::string& tag) {
  return !tag.empty() && tag != "?" && tag != "!" && tag.rfind("tag:yaml.org,2002:", 0) != 0;
}

json from_yaml(const YAML::Node& n) {
  json v;
  switch (n.Type()) {
    case YAML::NodeType::Map:
      v = json::object();
      for (const auto& kv : n) v[kv.first.Scalar()] = from_yaml(kv.second);
      break;
    case YAML::NodeType::Sequence:
      v = json::array();
      for (const auto& e : n) v.push_back(from_yaml(e));
      break;
    case YAML::NodeType::Scalar:  // quoted ("!") or tagged scalars are strings
      v = n.Tag() == "?" ? plain_scalar(n.Scalar()) : json(n.Scalar());
      break;
    default:
      break;
  }
  if (is_tag(n.Tag())) return json{{std::string(1, kTagMarker) + n.Tag(), std::move(v)}};
  return v;
}

void emit_string(YAML::Emitter& e, const std::string& s, bool flow) {
  if (needs_quotes(s))
    e << YAML::DoubleQuoted << s;
  else if (!flow && s.size() > 1 && s.back() == '\n' && s[s.size() - 2] != '\n' && s[0] != ' ')
    e << YAML::Literal << s;  // a block scalar ("|") keeps exactly one final newline
  else if (s.find('\n') != std::string::npos)
    e << YAML::DoubleQuoted << s;
  else
    e << s;
}

void to_yaml(YAML::Emitter& e, const json& j, bool flow = false) {
  if (j.is_object() && j.size() == 1 && j.begin().key()[0] == kTagMarker) {
    e << YAML::LocalTag(j.begin().key().substr(2));  // "\x01!Sub" -> !Sub
    if (j.begin()->is_array()) e << YAML::Flow;  // !If [a, b, c]
    to_yaml(e, *j.begin(), flow || j.begin()->is_array());
  } else if (j.is_object()) {
    e << YAML::BeginMap;
    for (auto it = j.begin(); it != j.end(); ++it) {
      e << YAML::Key;
      emit_string(e, it.key(), flow);
      e << YAML::Value;
      to_yaml(e, it.value(), flow);
    }
    e << YAML::EndMap;
  } else if (j.is_array()) {
    e << YAML::BeginSeq;
    for (const auto& v : j) to_yaml(e, v, flow);
    e << YAML::EndSeq;
  } else if (j.is_string()) {
    emit_string(e, j.get<std::string>(), flow);
  } else if (j.is_null()) {
    e << YAML::Null;
  } else {
    e << j.dump();  // number or bool
  }
}

}  // namespace

std::string patch_cfn(const std::string& text, const Settings& s) {
  const auto first = text.find_first_not_of(" \t\r\n");
  const bool is_json = first != std::string::npos && text[first] == '{';
  json doc;
  if (is_json) {
    doc = parse_json(text, "template");
  } else {
    try {
      std::vector<YAML::Node> docs = YAML::LoadAll(text);
      if (docs.size() != 1)
        throw Error(fmt::format("template: holds {} YAML documents, expected one", docs.size()));
      doc = from_yaml(docs[0]);
    } catch (const YAML::Exception& e) {
      throw Error(fmt::format("template: invalid YAML at line {}, column {}: {}; fix the file", e.mark.line + 1,
                              e.mark.column + 1, e.msg));
    }
  }
  if (!doc.is_object() || !doc.contains("Resources") || !doc["Resources"].is_object())
    throw Error("template: no Resources section; expected a CloudFormation template");
  const Naming k{true};
  std::vector<std::pair<std::string, json*>> tasks;
  std::vector<std::string> names;
  json& resources = doc["Resources"];
  for (auto it = resources.begin(); it != resources.end(); ++it) {
    if (!it->is_object() || it->value("Type", json()) != "AWS::ECS::TaskDefinition") continue;
    const std::string where = "resource " + it.key();
    json& props = (*it)["Properties"];
    if (!props.is_object()) throw Error(where + ": no Properties; a task definition needs ContainerDefinitions");
    auto n = container_names(props, k, where);
    names.insert(names.end(), n.begin(), n.end());
    tasks.emplace_back(where, &props);
  }
  if (tasks.empty()) throw Error("template: no AWS::ECS::TaskDefinition resource; nothing to patch");
  check_names(s, names, "the template");
  for (auto& [where, props] : tasks) patch_task(*props, s, k, where);
  if (is_json) return to_text(doc);
  YAML::Emitter e;
  e.SetIndent(2);
  to_yaml(e, doc);
  if (!e.good()) throw Error(fmt::format("template: cannot write YAML: {}", e.GetLastError()));
  return std::string(e.c_str()) + "\n";
}

}  // namespace vigil::patch
