#include "sensor/rows.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <string_view>

namespace vigil {
namespace {

// Needs of state, as data: a feed is needed when a rule reads one of its
// fields, or when something wants an event type that only its window
// produces (the DNS and peek windows follow a thread past its row: their
// events are typed after the syscall seen there, read, recvfrom, write, ...).
struct StateNeed {
  uint8_t feed;
  const char* name;
  std::vector<std::string_view> fields;        // exact field names (as written)
  std::vector<std::string_view> field_prefixes;
  std::vector<std::string_view> window_types;  // evt.types this state's window emits
};
const std::vector<StateNeed>& state_needs() {
  static const std::vector<StateNeed> needs = {
      {probes::kFeedDrift, "drift", {"proc.is_exe_upper_layer", "proc.exe_drift_reason", "evt.arg.drift"}, {}, {}},
      {probes::kFeedAccept, "accepted connections", {"proc.accepted_conn", "proc.paccepted_conn"}, {}, {}},
      {probes::kFeedDns,
       "DNS window",
       {},
       {"dns."},
       {"read", "readv", "recv", "recvfrom", "recvmsg", "recvmmsg", "write", "writev", "send", "sendto", "sendmsg",
        "sendmmsg"}},
      {probes::kFeedPeek, "peek window", {}, {}, {"write", "writev", "send", "sendto"}},
  };
  return needs;
}

std::string join(const std::vector<std::string>& v) {
  return v.size() <= 3 ? fmt::format("{}", fmt::join(v, ", "))
                       : fmt::format("{}, {}, {} and {} more", v[0], v[1], v[2], v.size() - 3);
}

}  // namespace

std::vector<RowChoice> choose_rows(const probes::Table& t, const RowWants& w) {
  const Engine::Interest* in = w.rules;
  // The state the rules and the wanted events need, with the first reason.
  uint8_t needed = 0;
  std::string need_why[8];
  for (const StateNeed& n : state_needs()) {
    std::string why;
    if (in) {
      for (const auto& f : in->fields) {
        bool hit = std::find(n.fields.begin(), n.fields.end(), f) != n.fields.end();
        for (auto p : n.field_prefixes) hit = hit || std::string_view(f).starts_with(p);
        if (hit) {
          why = fmt::format("a rule reads {}", f);
          break;
        }
      }
      for (auto type : n.window_types) {
        if (!why.empty()) break;
        if (auto it = in->who.find(type); it != in->who.end())
          why = fmt::format("{} events ({})", type, join(it->second));
      }
    }
    if (why.empty()) continue;
    needed |= n.feed;
    for (int b = 0; b < 8; ++b)
      if (n.feed == (1u << b)) need_why[b] = fmt::format("{}: {}", n.name, why);
  }

  std::vector<RowChoice> out;
  for (const probes::Probe& p : t) {
    std::string why;
    const char* type = probes::falco_type(p);
    if (p.feeds & probes::kFeedExitCode) {
      // Exits come from pidfds: exit_group is only for exact exit codes.
      if (w.exact_exits) out.push_back({&p, "--exit-codes=exact"});
      continue;
    }
    if (p.feeds & probes::kFeedIdentity) why = "process identity (always)";
    else if (p.feeds & probes::kFeedRoot) why = "path resolver's root cache (always)";
    else if (w.all_events) why = "events sink";
    if (why.empty() && in) {
      if (auto it = in->who.find(type); it != in->who.end()) why = join(it->second);
      else if (in->any) why = fmt::format("every event type ({})", join(in->any_who));
    }
    if (why.empty())
      for (int b = 0; b < 8; ++b)
        if ((p.feeds & needed) & (1u << b)) {
          why = need_why[b];
          break;
        }
    // The guard's rows are trapped whatever else wants them: said last, after what else does.
    if (p.feeds & probes::kFeedGuard) why = why.empty() ? "sensor guard (always)" : why + "; sensor guard (always)";
    if (w.guard_binds && std::string_view(p.type) == "bind") {
      constexpr const char* kBind = "sensor guard (an HTTP sink on loopback: the app may not listen there)";
      why = why.empty() ? kBind : why + "; " + kBind;
    }
    if (!why.empty()) out.push_back({&p, std::move(why)});
  }
  return out;
}

probes::Table chosen_table(const std::vector<RowChoice>& rows) {
  probes::Table t;
  t.reserve(rows.size());
  for (const auto& r : rows) t.push_back(*r.row);
  return t;
}

}  // namespace vigil
