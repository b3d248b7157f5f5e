// vigil rules: Falco-compatible rules engine (docs/rules.md).
//
// Rules files (YAML: rule, macro, list, detector, required_engine_version) are
// loaded once; each condition is lexed, parsed to an AST and compiled into a
// branch program of checks against one registered extractor per field. Rules are indexed
// by evt.type so an event only runs the rules that can match it. Stateful
// detectors (port scan, mass rewrite, DGA) and threat-intel lists raise alerts
// of the same shape.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include "events/events.hpp"

namespace vigil {

struct RulesText;
struct RulesConfig {
  std::vector<std::string> files;         // rules files or directories (*.yaml, sorted)
  const std::vector<RulesText>* texts = nullptr;  // the files read already (read_rules): compiled instead
  bool strict = false;                    // unsupported field: error instead of skip
  std::vector<std::string> threat_intel;  // files of IPs/CIDRs, domains, SHA-256s
  int64_t rate_limit_ns = 60'000'000'000; // one alert per (rule, pid) per window; 0 = off
};

// What `vigil rules list` shows; one per rule name after override/append.
struct RuleInfo {
  std::string name, file;
  int line = 0;
  std::string priority;  // Falco name: Emergency ... Debug
  std::string action;    // "", "block" or "kill"
  std::vector<std::string> tags;
  bool enabled = true;
  bool active = false;      // enabled and compiled
  std::string skip_reason;  // why an enabled rule is not active
  bool detector = false;    // a stateful detector, not a condition rule
};

class Engine {
 public:
  // Loads and compiles everything. On error returns null and sets *error to
  // one line "file:line:col: what". Warnings (skipped rules) go to *warnings.
  static std::unique_ptr<Engine> load(const RulesConfig& cfg, std::string* error,
                                      std::vector<std::string>* warnings = nullptr);
  ~Engine();

  // Runs the candidate rules, detectors and threat intel on one event and
  // appends alerts (after rate limiting). Returns what the matching rules ask
  // for (action block: Denied, kill: Killed, the stronger one), and each alert
  // carries its own rule's ask: whether it is done (the mode, what the event
  // allows) is the caller's decision (sensor/judge.cpp). Called from one thread.
  Action evaluate(const Event& ev, std::vector<Alert>* out);
  // Alerts still holding suppressed repeats (count > 0), e.g. at exit.
  void flush(std::vector<Alert>* out);
  // The same for the windows closed by now (ns, the events' clock): a
  // window's repeats are reported when it closes, not only with the next
  // alert of that rule and process or at exit (the caller's timer).
  void flush_due(int64_t now, std::vector<Alert>* out);

  const std::vector<RuleInfo>& rules() const;

  // What the loaded rules, detectors and threat-intel lists can look at, by
  // Falco evt.type ("execve", "openat", "connect", ...): the strongest action
  // asked by something that can match that type (Action::None: alert only,
  // Denied: a block, Killed: a kill). `any` is the same for what looks at
  // every type (rules without an evt.type condition). The tracer uses it to
  // choose what to trap and where a verdict must rest on more than a read.
  struct Interest {
    std::map<std::string, Action, std::less<>> types;
    std::optional<Action> any;
    // What looks, for `vigil syscalls` and --trace=info: by evt.type (and for
    // `any`), "rule 'NAME'", "detector NAME" or "threat intel", in load order.
    std::map<std::string, std::vector<std::string>, std::less<>> who;
    std::vector<std::string> any_who;
    // The fields the active rules read (conditions, macros and outputs), as
    // written ("proc.exe_drift_reason", "evt.arg.drift"): the sensor keeps the
    // state they need (sensor/rows.cpp).
    std::set<std::string, std::less<>> fields;
    // The strongest action for events of this type; nullopt: nothing looks.
    std::optional<Action> of(std::string_view evt_type) const;
    // Absolute paths a rule that can match a file row (open, the path rows:
    // rename, unlink, chmod, ...) compares a path field with (fd.name,
    // evt.arg.newpath, evt.arg.oldpath, evt.arg.linkpath; =, in, startswith,
    // pmatch operands, not under a `not`), and what for: the sensor learns
    // the files they name by identity (a hard link or a renamed inode of one
    // matches the same rules) and watches them with inotify, so that a change
    // a racing thread hid from vigil's read is still reported on the true
    // object (sensor/judge.cpp, probes/sensitive.hpp).
    struct NamedPath {
      bool block = false;  // a block/kill rule names it: known by identity before the app starts
      bool write = false;  // a rule can match a change of it (a write-open, a path row)
      bool read = false;   // a rule can match a read-open of it (read-opens are never trapped)
      std::vector<std::string> rules;  // the rules naming it ("why", for --trace)
    };
    std::map<std::string, NamedPath, std::less<>> named_paths;
    // Directories a rule names anywhere by a `contains` of a dot-directory
    // ("/.ssh/", "/.aws/", "/.config/gcloud/", or "/.ssh/authorized_keys":
    // its directory part), outside any `not`, stored without slashes
    // (".ssh", ".config/gcloud"): per-user directories, watched as named
    // paths below every home directory (sensor/judge.cpp), so that what a
    // racing thread hid from vigil's read there is reported on the true file.
    std::map<std::string, NamedPath, std::less<>> home_paths;
    // The directory part of an absolute `glob` operand on a path field,
    // outside any `not` ("/home/*/.ssh/*" -> "/home/*/.ssh"): expanded with
    // glob(3) when the rules load (sensor/judge.cpp), each match (one level a
    // `*`, where the rule's own match may span more) watched as a named path.
    std::map<std::string, NamedPath, std::less<>> glob_paths;
  };
  const Interest& interest() const;
  // Container id/image and hostname for container.* fields (set once at start).
  void set_context(const Context& ctx);

  struct Impl;

 private:
  explicit Engine(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

// The rootfs' etc/vigil/rules/ next to the running binary (<root>/bin/vigil),
// or "" if there is none: the default for --rules.
std::string default_rules_dir();

// The rules files of these --rules paths (a directory: its *.yaml/*.yml,
// sorted), each path with its contents, in the order Engine::load compiles
// them; false with *error ("FILE: cannot read rules file: ...", "DIR: cannot
// list rules directory: ...") if one cannot be read.
struct RulesText {
  std::string file, text;
};
bool read_rules(const std::vector<std::string>& paths, std::vector<RulesText>* out, std::string* error);

// Falco's evt.type name of a vigil event ("exec" -> "execve").
std::string_view falco_evt_type(const Event& ev);

int cmd_rules(int argc, char** argv);

}  // namespace vigil
