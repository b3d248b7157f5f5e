// `vigil rules validate FILE...` and `vigil rules list [FILE...]`.
#include <unistd.h>

#include <cstdio>
#include <cstring>
#include <filesystem>
#include <string>
#include <vector>

#include <fmt/format.h>

#include "rules/internal.hpp"
#include "rules/rules.hpp"

namespace vigil {
namespace {

constexpr const char* kUsage =
    "usage: vigil rules validate [--strict] FILE|DIR...   check rules files; exit 1 on the first error\n"
    "       vigil rules list [--strict] [FILE|DIR...]     list rules (default: the rootfs' etc/vigil/rules)\n"
    "       vigil rules fields                            list the fields conditions and outputs can use\n";

std::string join(const std::vector<std::string>& v) {
  std::string out;
  for (const auto& s : v) out += (out.empty() ? "" : ",") + s;
  return out;
}

}  // namespace

// The rootfs layout: <root>/bin/vigil and <root>/etc/vigil/rules/. When vigil
// is started through the rootfs loader (<root>/lib64/ld-linux-x86-64.so.2 ...
// bin/vigil), /proc/self/exe is the loader: <root>/lib64/.. is the same root.
std::string default_rules_dir() {
  std::error_code ec;
  auto exe = std::filesystem::read_symlink("/proc/self/exe", ec);
  if (ec) return "";
  auto dir = exe.parent_path().parent_path() / "etc" / "vigil" / "rules";
  return std::filesystem::is_directory(dir, ec) ? dir.string() : "";
}

int cmd_rules(int argc, char** argv) {
  if (argc < 2 || !std::strcmp(argv[1], "--help") || !std::strcmp(argv[1], "-h")) {
    std::fputs(kUsage, argc < 2 ? stderr : stdout);
    return argc < 2 ? 2 : 0;
  }
  std::string verb = argv[1];
  if (verb == "fields") {
    static const char* kTypes[] = {"string", "number", "bool", "ip/net"};
    for (const auto& f : rules::field_table())
      std::printf("%-28s %-7s %s\n", (std::string(f.name) + (f.arg ? (std::string(f.name) == "evt.arg" ? ".NAME" : "[n]") : "")).c_str(),
                  kTypes[int(f.type)], f.desc);
    return 0;
  }
  if (verb != "validate" && verb != "list") {
    std::fprintf(stderr, "vigil rules: unknown action '%s' (use validate, list or fields)\n%s", argv[1], kUsage);
    return 2;
  }
  RulesConfig cfg;
  for (int i = 2; i < argc; ++i) {
    if (!std::strcmp(argv[i], "--strict")) cfg.strict = true;
    else if (argv[i][0] == '-' && argv[i][1]) {
      std::fprintf(stderr, "vigil rules %s: unknown option '%s'\n%s", verb.c_str(), argv[i], kUsage);
      return 2;
    } else cfg.files.push_back(argv[i]);
  }
  if (cfg.files.empty()) {
    if (verb == "validate") {
      std::fprintf(stderr, "vigil rules validate: no rules file given\n%s", kUsage);
      return 2;
    }
    std::string dir = default_rules_dir();
    if (dir.empty()) {
      std::fprintf(stderr, "vigil rules list: no FILE given and no etc/vigil/rules/ next to the binary\n");
      return 2;
    }
    cfg.files.push_back(dir);
  }
  std::string error;
  std::vector<std::string> warnings;
  auto engine = Engine::load(cfg, &error, &warnings);
  for (const auto& w : warnings) std::fprintf(stderr, "warning: %s\n", w.c_str());
  if (!engine) {
    std::fprintf(stderr, "error: %s\n", error.c_str());
    return 1;
  }
  size_t active = 0, skipped = 0, disabled = 0;
  for (const auto& r : engine->rules()) {
    if (r.active) ++active;
    else if (!r.enabled) ++disabled;
    else ++skipped;
  }
  if (verb == "list") {
    for (const auto& r : engine->rules()) {
      const char* status = r.active ? "active" : !r.enabled ? "disabled" : "skipped";
      std::string line = fmt::format("{:<9} {:<13} {:<6} {}{}  [{}]", status, r.priority, r.action.empty() ? "-" : r.action,
                                     r.detector ? "(detector) " : "", r.name, join(r.tags));
      if (!r.skip_reason.empty()) line += "  reason: " + r.skip_reason;
      std::puts(line.c_str());
    }
  }
  std::printf("%zu rules: %zu active, %zu skipped, %zu disabled\n", engine->rules().size(), active, skipped, disabled);
  return 0;
}

}  // namespace vigil
