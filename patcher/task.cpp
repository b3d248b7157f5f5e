// The task-definition patch: one init container, one volume, and per app container the wrapped
// entrypoint, a read-only mount, SYS_PTRACE, dependsOn and VIGIL_OPTS. See docs/patcher.md.
#include <algorithm>
#include <cctype>
#include <cstdio>
#include <optional>
#include <string_view>

#include <fmt/format.h>
#include <fmt/ranges.h>

#include "patcher/task.hpp"

namespace vigil::patch {
namespace {

constexpr const char* kInit = "vigil-init";        // reserved container name
constexpr const char* kVolume = "vigil";           // task volume holding the rootfs
constexpr const char* kLabel = "vigil.io/injection";  // dockerLabels opt-out: "disabled"

template <typename... Args>
[[noreturn]] void fail(fmt::format_string<Args...> f, Args&&... args) {
  throw Error(fmt::format(f, std::forward<Args>(args)...));
}

// A CloudFormation intrinsic function ({"Ref": ...}, {"Fn::Sub": ...}) or a YAML short-form tag
// (cfn.cpp encodes `!Sub x` as {"\x01!Sub": "x"}). Returns its name, or "" for anything else.
std::string intrinsic(const json& j) {
  if (!j.is_object() || j.size() != 1) return "";
  const std::string& key = j.begin().key();
  if (key == "Ref" || key == "Condition" || key.rfind("Fn::", 0) == 0) return key;
  if (!key.empty() && key[0] == kTagMarker) return key.substr(1);
  return "";
}

// obj[key], or nullptr when absent or null.
const json* member(const json& obj, const std::string& key) {
  if (!obj.is_object()) return nullptr;
  auto it = obj.find(key);
  return it == obj.end() || it->is_null() ? nullptr : &*it;
}

[[noreturn]] void not_literal(const json& j, const std::string& what, const char* expected) {
  std::string fn = intrinsic(j);
  if (!fn.empty())
    fail("{} is computed by {}, but vigil patch needs it as a literal {}; write it out in the template", what, fn,
         expected);
  fail("{} must be a {}, not {}", what, expected, j.type_name());
}

std::string literal(const json& j, const std::string& what) {
  if (!j.is_string()) not_literal(j, what, "string");
  return j.get<std::string>();
}

// obj[key] as a list (created when absent) or object, ready to merge into.
json& merge_target(json& obj, const std::string& key, const std::string& where, bool list) {
  json& v = obj[key];
  if (v.is_null()) v = list ? json::array() : json::object();
  if (list ? !v.is_array() : (!v.is_object() || !intrinsic(v).empty()))
    not_literal(v, where + ": " + key, list ? "list" : "object");
  return v;
}
json& list_member(json& obj, const std::string& key, const std::string& where) {
  return merge_target(obj, key, where, true);
}
json& object_member(json& obj, const std::string& key, const std::string& where) {
  return merge_target(obj, key, where, false);
}

// The element of `list` whose `key` is `value`, or nullptr.
json* find_by(json& list, const std::string& key, const std::string& value) {
  for (auto& e : list)
    if (e.is_object() && e.value(key, json()) == value) return &e;
  return nullptr;
}

// Equal as JSON values, whatever the key order (ECS may describe objects back in its own order).
bool same(const json& a, const json& b) { return nlohmann::json::parse(a.dump()) == nlohmann::json::parse(b.dump()); }

bool contains(const std::vector<std::string>& v, const std::string& s) {
  return std::find(v.begin(), v.end(), s) != v.end();
}

// The dynamic loader for the task's CPU architecture; Windows and unknown values are errors.
std::string loader_name(const json& td, const Naming& k, const std::string& where) {
  const json* rp = member(td, k("runtimePlatform"));
  if (!rp) return "ld-linux-x86-64.so.2";  // ECS default: LINUX, X86_64
  const std::string field = where + ": " + k("runtimePlatform") + ".";
  if (const json* os = member(*rp, k("operatingSystemFamily"))) {
    std::string family = literal(*os, field + k("operatingSystemFamily"));
    if (family.rfind("WINDOWS", 0) == 0)
      fail("{}{} is {}: vigil runs only in Linux containers; patch Linux task definitions only", field,
           k("operatingSystemFamily"), family);
    if (family != "LINUX")
      fail("{}{} is '{}', expected LINUX", field, k("operatingSystemFamily"), family);
  }
  const json* arch = member(*rp, k("cpuArchitecture"));
  std::string a = arch ? literal(*arch, field + k("cpuArchitecture")) : "X86_64";
  if (a == "X86_64") return "ld-linux-x86-64.so.2";
  if (a == "ARM64") return "ld-linux-aarch64.so.1";
  fail("{}{} is '{}', expected X86_64 or ARM64", field, k("cpuArchitecture"), a);
}

// The wrapper prefix of an entryPoint written by vigil patch, for any volume path (its length;
// 0: not patched): DIR/rootfs/bin/vigil-launch run -- ..., or the loader form of vigil 0.1.0
// before vigil-launch, LOADER --library-path DIR/rootfs/lib64 DIR/rootfs/bin/vigil run -- ...
size_t patched_prefix(const json& ep) {
  auto is = [&](size_t i, const char* s) { return ep[i].is_string() && ep[i].get<std::string>() == s; };
  auto ends = [&](size_t i, std::string_view tail) {
    return ep[i].is_string() && ep[i].get<std::string>().ends_with(tail);
  };
  if (!ep.is_array()) return 0;
  if (ep.size() >= 3 && ends(0, "/rootfs/bin/vigil-launch") && is(1, "run") && is(2, "--")) return 3;
  if (ep.size() >= 6 && is(1, "--library-path") && ends(3, "/rootfs/bin/vigil") && is(4, "run") && is(5, "--"))
    return 6;
  return 0;
}

// What a container runs once wrapped: the entrypoint to put after the wrapper prefix and, when
// it must now be set explicitly, the command. The truth table is in docs/patcher.md.
struct Process {
  json entry;
  std::optional<json> command;
};

Process resolve(const json& c, const std::string& name, const std::string& path, const Settings& s,
                const Naming& k, const std::string& platform) {
  const json* entry = member(c, k("entryPoint"));
  const json* command = member(c, k("command"));
  if (command && command->is_array() && command->empty()) command = nullptr;  // [] means "not set"
  if (entry) {
    if (!entry->is_array()) not_literal(*entry, path + ": " + k("entryPoint"), "list");
    if (entry->empty())
      fail("{}: {} is an empty list, which container runtimes read differently; remove it (to run the "
           "image's ENTRYPOINT) or write the entrypoint out",
           path, k("entryPoint"));
    if (s.image_configs.count(name))
      std::fprintf(stderr, "vigil patch: warning: %s: --image-config %s is not needed: the task sets %s\n",
                   path.c_str(), name.c_str(), k("entryPoint").c_str());
    return {*entry, std::nullopt};  // the task's command (if any) stays as it is
  }
  auto it = s.image_configs.find(name);
  if (it == s.image_configs.end() && !s.registry)
    fail("{}: no {} in the task definition, so the container runs its image's ENTRYPOINT, which vigil patch "
         "cannot see offline; pass --image-config {}=FILE (from `docker image inspect IMAGE`), set {} in the task "
         "definition, or leave the container out with --exclude {}",
         path, k("entryPoint"), name, k("entryPoint"), name);
  ImageConfig fetched;  // from the image's registry (registry.cpp)
  if (it == s.image_configs.end()) {
    try {
      const json* ref = member(c, k("image"));
      if (!ref) fail("no {}", k("image"));
      fetched = s.registry(literal(*ref, k("image")), platform);
    } catch (const Error& e) {
      fail("{}: no {} in the task definition and the image's ENTRYPOINT could not be read: {}; or pass "
           "--image-config {}=FILE (from `docker image inspect IMAGE`)",
           path, k("entryPoint"), e.what(), name);
    }
  }
  const ImageConfig& image = it == s.image_configs.end() ? fetched : it->second;
  if (command) return {json(image.entrypoint), std::nullopt};  // the task's command replaces Cmd
  if (image.entrypoint.empty() && image.cmd.empty())
    fail("{}: the image config of '{}' ({}) has neither Entrypoint nor Cmd and the task sets no {}, so "
         "there is nothing to run; check that it describes the container's image",
         path, name, it == s.image_configs.end() ? "from its registry" : "--image-config", k("command"));
  // Setting entryPoint makes the runtime drop the image's Cmd, so carry it over explicitly.
  return {json(image.entrypoint), image.cmd.empty() ? std::nullopt : std::optional<json>(json(image.cmd))};
}

void add_mount(json& c, const std::string& path, const std::string& dir, const Naming& k) {
  json& mounts = list_member(c, k("mountPoints"), path);
  json want = {{k("sourceVolume"), kVolume}, {k("containerPath"), dir}, {k("readOnly"), true}};
  if (json* m = find_by(mounts, k("containerPath"), dir)) {
    if (!same(*m, want))
      fail("{}: {} already mounts something at {}; pass another --volume-path", path, k("mountPoints"), dir);
    return;
  }
  mounts.push_back(want);
}

// True if the container had SYS_PTRACE already: the app itself wants it (a
// debugger), so vigil lets it keep it (--app-ptrace=keep, docs/threat-model.md).
bool add_ptrace(json& c, const std::string& path, const Naming& k) {
  json& caps = object_member(object_member(c, k("linuxParameters"), path), k("capabilities"), path);
  if (const json* drop = member(caps, k("drop")); drop && drop->is_array())
    for (const auto& d : *drop)
      if (d == "SYS_PTRACE")
        fail("{}: {}.{}.{} removes SYS_PTRACE, which vigil needs to trace the app; remove it from that list "
             "(dropping ALL is fine: add wins)",
             path, k("linuxParameters"), k("capabilities"), k("drop"));
  json& add = list_member(caps, k("add"), path);
  if (std::find(add.begin(), add.end(), json("SYS_PTRACE")) != add.end()) return true;
  add.push_back("SYS_PTRACE");
  return false;
}

void add_depends(json& c, const std::string& path, const Naming& k) {
  json& deps = list_member(c, k("dependsOn"), path);
  if (json* d = find_by(deps, k("containerName"), kInit))
    (*d)[k("condition")] = "SUCCESS";
  else
    deps.push_back({{k("containerName"), kInit}, {k("condition"), "SUCCESS"}});
}

// VIGIL_OPTS: ours first, then a value already in the container, so that the container's own
// settings win (later options override earlier ones).
void add_opts(json& c, const std::string& path, const std::string& opts, const Naming& k) {
  if (opts.empty()) return;
  json& env = list_member(c, k("environment"), path);
  if (json* e = find_by(env, k("name"), "VIGIL_OPTS")) {
    std::string theirs = literal((*e)[k("value")], path + ": VIGIL_OPTS in " + k("environment"));
    if (theirs != opts) (*e)[k("value")] = opts + " " + theirs;
    return;
  }
  env.push_back({{k("name"), "VIGIL_OPTS"}, {k("value"), opts}});
}

// `with_memory`: the task sets no task-level memory (EC2), so every container needs its own.
json init_container(const Settings& s, const Naming& k, const json& log, bool with_memory) {
  json c = {{k("name"), kInit},
            {k("image"), s.image},
            {k("essential"), false},
            {k("user"), "0"},
            {k("readonlyRootFilesystem"), true},
            {k("command"), json::array({"--volume", s.volume_path})},
            {k("mountPoints"), json::array({{{k("sourceVolume"), kVolume},
                                             {k("containerPath"), s.volume_path},
                                             {k("readOnly"), false}}})}};
  if (with_memory) c[k("memoryReservation")] = 64;  // MiB; `vigil init` copies files
  if (!log.is_null()) c[k("logConfiguration")] = log;
  return c;
}

// An existing vigil-init must carry what vigil sets; fields vigil does not set are the user's.
void check_init(json& have, const json& want, const std::string& path, const Naming& k) {
  for (const auto& [key, value] : want.items()) {
    if (key == k("logConfiguration") || key == k("memoryReservation")) continue;  // set once, then yours
    const json* v = member(have, key);
    bool ok = v && (key == k("mountPoints")
                        ? v->is_array() && std::any_of(v->begin(), v->end(), [&](auto& m) { return same(m, value[0]); })
                        : same(*v, value));
    if (!ok)
      fail("{}: a container named {} already exists with another {} ({}); it is reserved for vigil: rename "
           "it, or to change vigil's image or volume path patch the original task definition",
           path, kInit, key, v ? v->dump() : "none");
  }
}

void add_volume(json& td, const std::string& where, const Naming& k) {
  json& volumes = list_member(td, k("volumes"), where);
  if (json* v = find_by(volumes, k("name"), kVolume)) {
    // ECS describes {"name": "vigil"} back as {"name": "vigil", "host": {}}: both are what we need.
    for (const auto& [key, value] : v->items())
      if (key != k("name") && !(key == k("host") && value.is_object() && value.empty()))
        fail("{}: a volume named '{}' already exists with {}; vigil needs it as a task-scoped volume: rename "
             "your volume",
             where, kVolume, key);
    return;
  }
  volumes.push_back({{k("name"), kVolume}});
}

}  // namespace

std::string Naming::operator()(const char* camel) const {
  std::string s = camel;
  if (pascal && !s.empty()) s[0] = static_cast<char>(std::toupper(static_cast<unsigned char>(s[0])));
  return s;
}

json parse_json(const std::string& text, const std::string& source) {
  try {
    return json::parse(text);
  } catch (const json::parse_error& e) {
    std::string msg = e.what();
    auto at = msg.find("parse error ");
    msg = at == std::string::npos ? msg : msg.substr(at + 12);
    fail("{}: invalid JSON {}; fix the file", source, msg);
  }
}

std::string to_text(const json& doc) { return doc.dump(2) + "\n"; }

std::vector<std::string> container_names(const json& td, const Naming& k, const std::string& where) {
  const json* defs = member(td, k("containerDefinitions"));
  if (!defs)
    fail("{}: no {}; expected an ECS task definition (`aws ecs describe-task-definition` output or "
         "register-task-definition input)",
         where, k("containerDefinitions"));
  if (!defs->is_array() || defs->empty())
    not_literal(*defs, where + ": " + k("containerDefinitions"), "non-empty list");
  std::vector<std::string> names;
  for (size_t i = 0; i < defs->size(); ++i) {
    const std::string path = fmt::format("{}: {}[{}]", where, k("containerDefinitions"), i);
    if (!(*defs)[i].is_object() || !intrinsic((*defs)[i]).empty()) not_literal((*defs)[i], path, "object");
    const json* name = member((*defs)[i], k("name"));
    if (!name) fail("{}: no {}; every container needs one", path, k("name"));
    names.push_back(literal(*name, path + "." + k("name")));
    if (std::count(names.begin(), names.end(), names.back()) > 1)
      fail("{}: two containers are named '{}'; container names must be unique", path, names.back());
  }
  return names;
}

void check_names(const Settings& s, const std::vector<std::string>& names, const std::string& where) {
  auto check = [&](const char* flag, const std::string& n) {
    if (n == kInit) fail("{} {}: that name is reserved for vigil's init container", flag, n);
    if (!contains(names, n))
      fail("{} {}: no container named '{}' in {} (containers: {}); check the name", flag, n, n, where,
           fmt::join(names, ", "));
  };
  for (const auto& n : s.containers) {
    check("--container", n);
    if (contains(s.excludes, n)) fail("--container {} and --exclude {}: pick one", n, n);
  }
  for (const auto& n : s.excludes) check("--exclude", n);
  for (const auto& [n, config] : s.image_configs) check("--image-config", n);
}

void patch_task(json& td, const Settings& s, const Naming& k, const std::string& where) {
  const std::vector<std::string> names = container_names(td, k, where);
  json& defs = td[k("containerDefinitions")];
  const std::string loader = loader_name(td, k, where);
  const std::string platform = loader == "ld-linux-aarch64.so.1" ? "linux/arm64" : "linux/amd64";  // for registries
  const std::string& dir = s.volume_path;
  const json prefix = {dir + "/rootfs/bin/vigil-launch", "run", "--"};
  const json loader_form = {dir + "/rootfs/lib64/" + loader, "--library-path", dir + "/rootfs/lib64",
                            dir + "/rootfs/bin/vigil", "run", "--"};
  json log;  // the init container logs like the first app container, when that needs no other container
  std::optional<size_t> init;
  size_t selected = 0;
  for (size_t i = 0; i < defs.size(); ++i) {
    json& c = defs[i];
    const std::string& name = names[i];
    const std::string path = fmt::format("{}: {}[{}] ({})", where, k("containerDefinitions"), i, name);
    if (name == kInit) {
      init = i;
      continue;
    }
    const json* labels = member(c, k("dockerLabels"));
    bool disabled = labels && labels->value(kLabel, json()) == "disabled";
    if (disabled && contains(s.containers, name))
      fail("{}: selected with --container but labelled {}: disabled; remove one of the two", path, kLabel);
    if (disabled || contains(s.excludes, name) || (!s.containers.empty() && !contains(s.containers, name)))
      continue;
    ++selected;
    if (const json* lc = member(c, k("logConfiguration")); log.is_null() && lc && lc->is_object() &&
                                                           lc->value(k("logDriver"), json()) == "awslogs") {
      log = *lc;
      // describe-task-definition writes absent members as null (secretOptions: null), which
      // RegisterTaskDefinition refuses: the init container's copy leaves them out.
      for (auto it = log.begin(); it != log.end();) it = it->is_null() ? log.erase(it) : std::next(it);
    }
    const json* ep = member(c, k("entryPoint"));
    if (const size_t n = ep ? patched_prefix(*ep) : 0) {
      const json& want = n == prefix.size() ? prefix : loader_form;
      if (!std::equal(want.begin(), want.end(), ep->begin()))
        fail("{}: already patched for another volume path or CPU architecture ({}); patch the original task "
             "definition instead",
             path, (*ep)[0].dump());
      if (n == loader_form.size()) {  // the loader form: now started through vigil-launch (docs/patcher.md)
        json entry = prefix;
        entry.insert(entry.end(), ep->begin() + n, ep->end());
        c[k("entryPoint")] = std::move(entry);
      }
      continue;  // already patched: otherwise left exactly as it is
    }
    Process p = resolve(c, name, path, s, k, platform);
    json entry = prefix;
    entry.insert(entry.end(), p.entry.begin(), p.entry.end());
    c[k("entryPoint")] = std::move(entry);
    if (p.command) c[k("command")] = std::move(*p.command);
    add_mount(c, path, dir, k);
    const bool app_ptrace = add_ptrace(c, path, k);
    add_depends(c, path, k);
    add_opts(c, path, app_ptrace ? s.opts + (s.opts.empty() ? "" : " ") + "--app-ptrace=keep" : s.opts, k);
  }
  if (selected == 0) {
    std::fprintf(stderr,
                 "vigil patch: warning: %s: no container selected (all excluded or labelled %s: disabled); "
                 "left unchanged\n",
                 where.c_str(), kLabel);
    return;
  }
  json want = init_container(s, k, log, !member(td, k("memory")));
  if (init)
    check_init(defs[*init], want, fmt::format("{}: {}[{}]", where, k("containerDefinitions"), *init), k);
  else
    defs.push_back(std::move(want));
  add_volume(td, where, k);
}

}  // namespace vigil::patch
