#include "sensor/judge.hpp"

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include "rules/rules.hpp"
#include "sinks/sinks.hpp"

namespace vigil {

Judge::Judge(Output& out, Mode mode) : out_(out), mode_(mode) {}
Judge::~Judge() = default;

void Judge::set_rules(std::unique_ptr<Engine> rules) { rules_ = std::move(rules); }

Action Judge::allowed(Action asked, probes::Enforce may) const {
  if (mode_ != Mode::Prevent || asked == Action::None || may == probes::Enforce::Alert) return Action::None;
  return may == probes::Enforce::Kill ? Action::Killed : asked;
}

Action Judge::judge(Event& ev, probes::Enforce may) {
  ev.seq = ++seq_;
  ev.action = rules_ ? allowed(rules_->evaluate(ev, &alerts_), may) : Action::None;
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
