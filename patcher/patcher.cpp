// `vigil patch ecs|cfn`: command line, input and output. The patch itself is in task.cpp.
#include "patcher/patcher.hpp"

#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <functional>
#include <iostream>
#include <memory>
#include <sstream>

#include <fmt/format.h>

#include "patcher/registry.hpp"
#include "patcher/task.hpp"
#include "config/config.hpp"

namespace vigil {
namespace {

using patch::Error;

constexpr const char* kUsage = R"(usage: vigil patch ecs|cfn [OPTIONS]

Adds vigil to an ECS task definition (ecs) or to every AWS::ECS::TaskDefinition of a
CloudFormation template, JSON or YAML (cfn). Prints the result; register it as usual.

  --in FILE|-                   input (default: stdin): `aws ecs describe-task-definition` output,
                                a task definition, register-task-definition input, or a template
  --out FILE|-                  output (default: stdout)
  --image IMAGE                 the vigil sensor image (required)
  --opts "VALUE"                VIGIL_OPTS for the app containers, e.g. "--trace=info"
  --volume-path DIR             where the vigil volume is mounted (default /vigil)
  --container NAME              patch only this container (repeatable; default: all)
  --exclude NAME                leave this container alone (repeatable)
  --image-config NAME=FILE      the image config (`docker image inspect IMAGE`) of a container
                                without entryPoint in the task definition (repeatable); without
                                it, the image's Entrypoint and Cmd are read from its registry
                                (credentials: the docker config, ~/.docker/config.json)
  --offline                     never contact a registry: such a container is an error
  --insecure-registry HOST      plain http for this registry host[:port] (repeatable; loopback
                                registries always may use http)

Containers labelled vigil.io/injection=disabled (dockerLabels) are left alone. Patching a
patched task changes nothing. Errors exit 2. Details: docs/patcher.md.
)";

std::string read_input(const std::string& path, const std::string& what) {
  if (path == "-") {
    if (isatty(STDIN_FILENO)) throw Error(fmt::format("no {}: pass --in FILE or pipe it on stdin", what));
    std::ostringstream ss;
    ss << std::cin.rdbuf();
    return ss.str();
  }
  std::ifstream f(path, std::ios::binary);
  std::ostringstream ss;
  if (f) ss << f.rdbuf();
  if (!f || f.bad())
    throw Error(fmt::format("cannot read {} {}: {}; check the path", what, path, std::strerror(errno)));
  return ss.str();
}

void write_output(const std::string& path, const std::string& text) {
  if (path == "-") {
    std::fwrite(text.data(), 1, text.size(), stdout);
    if (std::fflush(stdout) != 0) throw Error(fmt::format("cannot write the output: {}", std::strerror(errno)));
    return;
  }
  std::ofstream f(path, std::ios::binary | std::ios::trunc);
  f << text;
  f.close();
  if (!f) throw Error(fmt::format("cannot write --out {}: {}; check the path", path, std::strerror(errno)));
}

std::string volume_path(std::string dir) {
  while (dir.size() > 1 && dir.back() == '/') dir.pop_back();
  if (dir.empty() || dir[0] != '/' || dir == "/" || dir.find_first_of(" \t\n") != std::string::npos)
    throw Error(fmt::format("--volume-path '{}': expected an absolute directory such as /vigil", dir));
  return dir;
}

void add_image_config(patch::Settings& s, const std::string& arg) {
  auto eq = arg.find('=');
  if (eq == 0 || eq == std::string::npos || eq + 1 == arg.size())
    throw Error(fmt::format("--image-config '{}': expected CONTAINER=FILE", arg));
  std::string name = arg.substr(0, eq), file = arg.substr(eq + 1);
  if (s.image_configs.count(name)) throw Error(fmt::format("--image-config {}: given twice", name));
  s.image_configs[name] = patch::parse_image_config(read_input(file, "--image-config file"), file);
}

// --opts is checked against this build's option table; the sensor image may be newer, so a
// mismatch is a warning.
void check_opts(const std::string& opts) {
  Options o;
  std::string err;
  int rest = 0;
  char arg0[] = "vigil";
  char* argv[] = {arg0, nullptr};
  if (!parse_options(opts.c_str(), 1, argv, &o, &rest, &err))
    std::fprintf(stderr, "vigil patch: warning: --opts: %s (accepted as given, in case the sensor image is newer)\n",
                 err.c_str());
}

int run(int argc, char** argv) {
  if (argc < 2 || (std::strcmp(argv[1], "ecs") && std::strcmp(argv[1], "cfn"))) {
    if (argc >= 2 && (!std::strcmp(argv[1], "--help") || !std::strcmp(argv[1], "-h"))) {
      std::fputs(kUsage, stdout);
      return 0;
    }
    throw Error(argc < 2 ? "missing target: expected ecs or cfn (see vigil patch --help)"
                         : fmt::format("unknown target '{}': expected ecs or cfn (see vigil patch --help)", argv[1]));
  }
  const bool cfn = !std::strcmp(argv[1], "cfn");
  std::string in = "-", out = "-";
  bool image_given = false;
  patch::Settings s;
  bool offline = false;
  std::vector<std::string> insecure;
  const std::pair<const char*, std::function<void(const std::string&)>> table[] = {
      {"in", [&](const std::string& v) { in = v; }},
      {"out", [&](const std::string& v) { out = v; }},
      {"image", [&](const std::string& v) { s.image = v, image_given = true; }},
      {"opts", [&](const std::string& v) { s.opts = v; }},
      {"volume-path", [&](const std::string& v) { s.volume_path = volume_path(v); }},
      {"container", [&](const std::string& v) { s.containers.push_back(v); }},
      {"exclude", [&](const std::string& v) { s.excludes.push_back(v); }},
      {"image-config", [&](const std::string& v) { add_image_config(s, v); }},
      {"insecure-registry", [&](const std::string& v) { insecure.push_back(v); }},
  };
  for (int i = 2; i < argc; ++i) {
    std::string arg = argv[i];
    if (arg == "--help" || arg == "-h") {
      std::fputs(kUsage, stdout);
      return 0;
    }
    if (arg == "--offline") {
      offline = true;
      continue;
    }
    if (arg.rfind("--", 0) != 0)
      throw Error(fmt::format("unexpected argument '{}' (input is --in FILE; see vigil patch --help)", arg));
    auto eq = arg.find('=');
    std::string name = arg.substr(2, eq == std::string::npos ? std::string::npos : eq - 2);
    auto opt = std::find_if(std::begin(table), std::end(table), [&](auto& o) { return name == o.first; });
    if (opt == std::end(table)) throw Error(fmt::format("unknown option '--{}' (see vigil patch --help)", name));
    if (eq == std::string::npos && i + 1 >= argc) throw Error(fmt::format("--{} needs a value", name));
    opt->second(eq == std::string::npos ? argv[++i] : arg.substr(eq + 1));
  }
  if (!image_given || s.image.empty())
    throw Error("missing --image IMAGE: the vigil sensor image the init container runs, e.g. "
                "123456789012.dkr.ecr.us-east-1.amazonaws.com/vigil:0.1.0");
  if (!s.opts.empty()) check_opts(s.opts);
  if (!offline)
    s.registry = [registry = std::make_shared<patch::Registry>(insecure)](const std::string& image,
                                                                         const std::string& platform) {
      return registry->image_config(image, platform);
    };
  const std::string what = cfn ? "CloudFormation template" : "task definition";
  const std::string text = read_input(in, what);
  const std::string source = in == "-" ? "stdin" : in;
  if (text.find_first_not_of(" \t\r\n") == std::string::npos)
    throw Error(fmt::format("{}: empty input; expected a {}", source, what));
  std::string result = cfn ? patch::patch_cfn(text, s)
                           : patch::to_text(patch::patch_ecs(patch::parse_json(text, source), s));
  write_output(out, result);
  return 0;
}

}  // namespace

int cmd_patch(int argc, char** argv) {
  try {
    return run(argc, argv);
  } catch (const Error& e) {
    std::fprintf(stderr, "vigil patch: %s\n", e.what());
    return 2;
  }
}

}  // namespace vigil
