// Internal to sensor/: the adaptive filter (docs/design-probes.md "Which rows
// are trapped"). A row of the probes table is in the seccomp filter only if
// something needs it: a loaded rule, detector or threat-intel list can match
// its events, an event sink asked for every event, or the row feeds state
// (probes::Feed) that is always kept (process identity, the guard) or that a
// wanted event or a rule's field reads (drift, the DNS and peek windows,
// proc.accepted_conn, exact exit codes). A row no one needs costs the app
// nothing: its calls never leave the kernel's BPF.
#pragma once

#include <string>
#include <vector>

#include "probes/probes.hpp"
#include "rules/rules.hpp"

namespace vigil {

struct RowWants {
  bool all_events = false;    // an event sink (--events): every row
  bool exact_exits = false;   // --exit-codes=exact: exit_group's row
  bool guard_binds = false;   // an HTTP sink on loopback: bind's row (sensor/guard.hpp protect_sinks)
  const Engine::Interest* rules = nullptr;  // null: no rules engine
};

struct RowChoice {
  const probes::Probe* row;
  std::string why;  // "rule 'X'", "detector Y", "events sink", "state: drift (rule 'Z' reads proc.exe_drift_reason)", ...
};

// The rows of t to trap, in table order, each with why.
std::vector<RowChoice> choose_rows(const probes::Table& t, const RowWants& w);

// The chosen rows as a table of their own (for TracerConfig::table).
probes::Table chosen_table(const std::vector<RowChoice>& rows);

// Known at build time (probes/gen/filter_bpf.cpp; defined in sensor/tracer.cpp):
// whether rules files read (read_rules) are the default rules, byte for byte
// (base names and contents), and the rows the default rules choose with
// alerts only, with or without --exit-codes=exact (what choose_rows gives for
// their Interest, without compiling them).
bool are_default_rules(const std::vector<RulesText>& texts);
std::vector<RowChoice> default_rules_rows(bool exact_exits);

}  // namespace vigil
