#include "sensor/judge.hpp"

#include <sys/stat.h>

#include <filesystem>

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include "rules/rules.hpp"
#include "sinks/sinks.hpp"

namespace vigil {

Judge::Judge(Output& out, Mode mode) : out_(out), mode_(mode) {}
Judge::~Judge() = default;

void Judge::set_rules(std::unique_ptr<Engine> rules) {
  rules_ = std::move(rules);
  learn_identities();
}

// The files behind each guarded path: the file itself, or every regular
// file below a directory (bounded); pseudo-filesystems are skipped.
void Judge::learn_identities() {
  identities_.clear();
  if (!rules_) return;
  constexpr size_t kMax = 20000;
  auto add = [&](const std::string& path, const struct stat& st) {
    if (S_ISREG(st.st_mode)) identities_.try_emplace(DevIno{uint64_t(st.st_dev), uint64_t(st.st_ino)}, path);
  };
  for (const std::string& p : rules_->interest().guarded_paths) {
    if (p == "/" || p.starts_with("/proc") || p.starts_with("/sys") || p.starts_with("/dev")) continue;
    struct stat st {};
    if (lstat(p.c_str(), &st) < 0) continue;
    if (!S_ISDIR(st.st_mode)) {
      add(p, st);
      continue;
    }
    std::error_code ec;
    for (auto it = std::filesystem::recursive_directory_iterator(
             p, std::filesystem::directory_options::skip_permission_denied, ec);
         !ec && it != std::filesystem::recursive_directory_iterator() && identities_.size() < kMax; it.increment(ec)) {
      const std::string path = it->path().string();
      if (lstat(path.c_str(), &st) == 0) add(path, st);
    }
  }
  if (identities_.size() >= kMax)
    spdlog::warn("rules: more than {} files below the paths block rules name: hard links of the others are not known",
                 kMax);
  spdlog::debug("rules: {} files known by identity (hard links and renames of them match their rules)",
                identities_.size());
}

bool Judge::enforces(std::string_view evt_type) const {
  if (mode_ != Mode::Prevent || !rules_) return false;
  std::optional<Action> a = rules_->interest().of(evt_type);
  return a && *a != Action::None;
}

Action Judge::allowed(Action asked, probes::Enforce may) const {
  if (mode_ != Mode::Prevent || asked == Action::None || may == probes::Enforce::Alert) return Action::None;
  return may == probes::Enforce::Kill ? Action::Killed : asked;
}

Action Judge::judge(Event& ev, probes::Enforce may) {
  ev.seq = ++seq_;
  if (ev.file && ev.file->ino && !identities_.empty())
    if (auto it = identities_.find(DevIno{ev.file->dev, ev.file->ino});
        it != identities_.end() && it->second != ev.file->path) {
      // Another name of a file a rule names (a hard link, or renamed): judged by the rule's name.
      ev.args.push_back({"resolved_path", ev.file->path});
      ev.file->path = it->second;
    }
  ev.action = rules_ ? allowed(rules_->evaluate(ev, &alerts_), may) : Action::None;
  if (const std::string* what = ev.arg("unreadable")) {
    // Built in, whatever the rules: a verdict on memory vigil could not read
    // in full would be a verdict on something else (docs/threat-model.md).
    Alert a;
    a.time_ns = ev.time_ns;
    a.rule = "Unreadable syscall argument";
    a.priority = "Critical";
    a.output = fmt::format("Syscall argument vigil could not read in full (syscall={} argument={} pid={} exe={})",
                           ev.type, *what, ev.proc ? ev.proc->pid : 0, ev.proc ? ev.proc->exe : "<NA>");
    a.output_fields = {{"evt.type", ev.type},
                       {"evt.arg.unreadable", *what},
                       {"proc.name", ev.proc ? FieldValue(ev.proc->name) : FieldValue()},
                       {"proc.pid", ev.proc ? FieldValue::num(ev.proc->pid) : FieldValue()},
                       {"proc.exepath", ev.proc ? FieldValue(ev.proc->exe) : FieldValue()}};
    a.tags = {"vigil", "integrity", "mitre_defense_evasion", "T1211"};
    a.action = allowed(Action::Denied, may);
    a.event_seq = ev.seq;
    if (ev.action == Action::None) ev.action = a.action;
    alerts_.push_back(std::move(a));
  }
  for (auto& a : alerts_) {
    a.action = allowed(a.action, may);
    out_.alert(std::move(a));
  }
  alerts_.clear();
  return ev.action;
}

void Judge::emit(Event&& ev) {
  if (spdlog::should_log(spdlog::level::debug))
    spdlog::debug("event #{} {} pid={} tid={} exe={}{}{}", ev.seq, ev.type, ev.proc ? ev.proc->pid : 0, ev.tid,
                  ev.proc ? ev.proc->exe : "", ev.child_pid ? fmt::format(" child={}", ev.child_pid) : "",
                  ev.action == Action::None ? "" : ev.action == Action::Denied ? " denied" : " killed");
  out_.event(std::move(ev));
}

void Judge::finish() {
  if (!rules_) return;
  rules_->flush(&alerts_);
  for (auto& a : alerts_) {  // repeats of an alert: what was done about its first event
    a.action = allowed(a.action, probes::Enforce::Deny);
    out_.alert(std::move(a));
  }
  alerts_.clear();
}

}  // namespace vigil
