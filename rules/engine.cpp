// The engine: per-event dispatch through the evt.type index, alerts in
// Falco's shape, prevention verdicts, and rate limiting of repeats.
#include <unistd.h>

#include <algorithm>
#include <climits>
#include <utility>
#include <map>
#include <set>
#include <string_view>
#include <tuple>

#include <fmt/format.h>

#include "rules/internal.hpp"

namespace vigil {

using namespace rules;

struct Engine::Impl {
  RulesConfig cfg;
  Loaded loaded;
  std::unique_ptr<Detectors> detectors;
  Intel intel;
  Context host;
  EvalCtx ctx;
  std::unordered_map<int, std::string> user_names, group_names;
  // evt.type -> indexes of candidate rules (typed ones merged with the any-type ones).
  struct SvHash {
    using is_transparent = void;
    size_t operator()(std::string_view s) const { return std::hash<std::string_view>()(s); }
  };
  struct Bucket {
    std::vector<int> rules;  // candidate rules, in file order
    int id = -1;             // interned evt.type (bind_types)
  };
  std::unordered_map<std::string, Bucket, SvHash, std::equal_to<>> by_type;
  std::vector<int> any_rules;
  std::map<std::string, int, std::less<>> type_ids;
  Engine::Interest interest;

  struct Limit {
    int64_t window_start = 0;
    uint64_t suppressed = 0;  // repeats counted since the window opened
    uint64_t count = 1;       // count of the alert being sent
    Alert last;               // the window's alert, for flush()
    std::vector<std::string> repeats;  // the repeats' objects (object_of), distinct, kMaxRepeats at most
    std::vector<std::string> carried;  // a closed window's, reported with the next alert (emitted)
    std::string first;                 // the window's alert's object (not listed again)
    bool dropped = false;              // a repeat's object not kept (kMaxRepeats, kRepeatBudget)
    bool carried_dropped = false;
  };
  static constexpr size_t kMaxRepeats = 8;
  // Memory: an object is kept to kMaxObject bytes, and all windows' objects
  // to kRepeatBudget together (an app of many processes, each repeating on
  // long distinct paths, would grow the sensor): past it, repeats are only
  // counted (the alert says "..." then).
  static constexpr size_t kMaxObject = 256, kRepeatBudget = 256 * 1024;
  size_t repeat_bytes = 0;
  static std::string shortened(std::string_view o) { return cut_value(o, kMaxObject); }
  void forget(std::vector<std::string>* objs) {
    for (const auto& o : *objs) repeat_bytes -= o.size();
    objs->clear();
  }
  // What a repeat was about, for the window's report (vigil.repeats): an
  // app must not hide the change it cares about behind a harmless one of the
  // same rule (one alert per (rule, process) per window). The file, the
  // remote end, the DNS name; else nothing (the process is the alert's).
  static std::string object_of(const Event& ev) {
    if (ev.file && !ev.file->path.empty()) return ev.file->path;
    if (ev.net && !ev.net->remote.addr.empty())
      return ev.net->remote.port ? fmt::format("{}:{}", ev.net->remote.addr, ev.net->remote.port) : ev.net->remote.addr;
    if (ev.dns) return ev.dns->qname;
    return {};
  }
  // A window's repeats as an alert: the window's first alert, count = the
  // repeats, their objects in vigil.repeats and at the end of its output.
  static void add_repeats(Alert* a, uint64_t n, const std::vector<std::string>& objs, bool dropped) {
    if (objs.empty() && !dropped) return;
    std::string list = fmt::format("{}", fmt::join(objs, ", ")), shown;  // shown: escaped, for the output
    for (const auto& o : objs) shown += (shown.empty() ? "" : ", ") + output_value(o);
    const char* more = objs.empty() ? "..." : ", ...";
    if (dropped) list += more, shown += more;
    a->output += fmt::format(" (and {} more in the window: {})", n, shown);
    a->output_fields.emplace_back("vigil.repeats", std::move(list));
  }
  Alert repeats_alert(Limit& l) {
    Alert a = l.last;
    a.count = l.suppressed;
    add_repeats(&a, l.suppressed, l.repeats, l.dropped);
    l.suppressed = 0;
    l.dropped = false;
    forget(&l.repeats);
    return a;
  }
  std::unordered_map<uint64_t, Limit> limits;  // (source, rule/key, pid)
  size_t evict_at = 65536;

  void index() {
    std::set<std::string> all;
    for (size_t i = 0; i < loaded.rules.size(); ++i) {
      const auto& r = loaded.rules[i];
      if (!r.types) any_rules.push_back(int(i));
      else all.insert(r.types->begin(), r.types->end());
    }
    for (const auto& t : all) {
      std::vector<int> v = any_rules;
      for (size_t i = 0; i < loaded.rules.size(); ++i)
        if (loaded.rules[i].types && loaded.rules[i].types->count(t)) v.push_back(int(i));
      std::sort(v.begin(), v.end());
      by_type[t].rules = std::move(v);
    }
    int id = 0;
    for (const auto& t : all) type_ids[t] = by_type[t].id = id++;
    index_interest();
    for (auto& r : loaded.rules) bind_types(*r.cond, type_ids);
    for (auto& [name, node] : loaded.slots.macros) bind_types(*node, type_ids);
    size_t n = size_t(loaded.slots.n);
    ctx.slots.assign(n, std::string());
    ctx.slot_gen.assign(n, 0);
    ctx.one.assign(n, Val{});
    ctx.one_gen.assign(n, 0);
    ctx.one_n.assign(n, 0);
    ctx.memo_gen.assign(size_t(loaded.slots.memos), 0);
    ctx.memo_val.assign(size_t(loaded.slots.memos), 0);
    ctx.lowered.assign(n, std::string());
    ctx.lowered_gen.assign(n, 0);
    ctx.user_names = &user_names;
    ctx.group_names = &group_names;
    ctx.host = &host;
  }

  // Rate limiting: one alert per (source, rule, pid; object when no process)
  // per window; repeats inside the window are only counted (not rendered),
  // their objects noted, and reported when the window closes (flush_due,
  // flush at exit: the window's first alert again) or, if the same key
  // alerts first, with that alert (emitted).
  // True when the alert must be built and sent; *lim is its limiter state.
  bool should_emit(int source, int key, int64_t now, Limit** lim) {
    *lim = nullptr;
    if (cfg.rate_limit_ns <= 0) return true;
    if (limits.size() > evict_at) {  // bounded memory: forget closed windows with nothing pending
      for (auto it = limits.begin(); it != limits.end();)
        it = (it->second.suppressed == 0 && now - it->second.window_start >= cfg.rate_limit_ns) ? limits.erase(it) : std::next(it);
      evict_at = std::max<size_t>(65536, limits.size() * 2);
    }
    uint64_t k = (uint64_t(source) << 56) ^ (uint64_t(uint32_t(key)) << 32) ^ uint32_t(last_pid);
    auto [it, fresh] = limits.try_emplace(k);
    Limit& l = it->second;
    *lim = &l;
    if (!fresh && now - l.window_start < cfg.rate_limit_ns) {
      ++l.suppressed;
      next_due = std::min(next_due, l.window_start + cfg.rate_limit_ns);
      if (ctx.ev)
        if (std::string o = shortened(object_of(*ctx.ev));
            !o.empty() && o != l.first && std::find(l.repeats.begin(), l.repeats.end(), o) == l.repeats.end()) {
          if (l.repeats.size() < kMaxRepeats && repeat_bytes + o.size() <= kRepeatBudget) {
            repeat_bytes += o.size();
            l.repeats.push_back(std::move(o));
          } else {
            l.dropped = true;
          }
        }
      return false;
    }
    l.count = 1 + l.suppressed;  // the window opens now (never evicted within this call)
    l.window_start = now;
    l.suppressed = 0;
    forget(&l.carried);
    l.carried = std::exchange(l.repeats, {});  // the closed window's repeats: with this alert
    l.carried_dropped = std::exchange(l.dropped, false);
    l.first = ctx.ev ? shortened(object_of(*ctx.ev)) : std::string();
    return true;
  }
  int64_t next_due = INT64_MAX;  // flush_due: the earliest end of a window holding repeats
  void emitted(Limit* l, Alert a, std::vector<Alert>* out) {
    cut_values(&a.output_fields);  // (a detector's or intel's: a rule's are cut already)
    if (l) {
      a.count = l->count;
      l->last = a;
      add_repeats(&a, l->count - 1, l->carried, std::exchange(l->carried_dropped, false));
      forget(&l->carried);
    }
    out->push_back(std::move(a));
  }
  int last_pid = 0;

  std::string output_prefix(int64_t t, const std::string& prio) {
    std::string ts = rfc3339_ns(t);  // 2026-11-23T12:00:00.123456789Z -> 12:00:00.123456789
    return fmt::format("{}: {} ", ts.substr(11, 18), prio);
  }

  Alert rule_alert(const CompiledRule& r, const Event& ev, Action act) {
    Alert a;
    a.time_ns = ev.time_ns;
    a.rule = r.info.name;
    a.priority = r.info.priority;
    a.source = r.source;
    a.tags = r.info.tags;
    a.action = act;
    a.event_seq = ev.seq;
    std::string text;
    for (const auto& p : r.output) {
      if (!p.is_field) {
        text += p.text;
        continue;
      }
      FieldValue v = render_value(ctx, p.field);
      text += output_value(v.text());  // escaped: the app chose it, the output is printed as text
      if (v.kind == FieldValue::Kind::Str) v.s = cut_value(v.s);
      if (!has_field(a, p.field.name)) a.output_fields.emplace_back(p.field.name, std::move(v));
    }
    a.output = output_prefix(ev.time_ns, a.priority) + text;
    add_common_fields(ev, &a);
    return a;
  }

  static bool has_field(const Alert& a, std::string_view name) {
    return std::any_of(a.output_fields.begin(), a.output_fields.end(), [&](const auto& kv) { return kv.first == name; });
  }
  // Fields every alert carries whatever the rule's output names (the ones
  // falcosidekick outputs template on); to_json adds evt.time, container.id
  // and vigil.*. Typed like Falco's: numbers, null when unknown.
  static void add_common_fields(const Event& ev, Alert* a) {
    if (!has_field(*a, "evt.type")) a->output_fields.emplace_back("evt.type", std::string(falco_evt_type(ev)));
    if (!has_field(*a, "proc.name"))
      a->output_fields.emplace_back("proc.name", ev.proc ? FieldValue(ev.proc->name) : FieldValue());
    if (!has_field(*a, "proc.pid"))
      a->output_fields.emplace_back("proc.pid", ev.proc ? FieldValue::num(ev.proc->pid) : FieldValue());
  }

  // Engine::Interest::named_paths: the absolute paths a path field is
  // compared with (=, in, startswith, pmatch) in a rule's condition and its
  // macros, outside any `not`. What for: an operand under an `and` that also
  // requires a write (evt.is_open_write = true, or evt.type naming no
  // read-open) is named for writes only; one under `evt.is_open_read = true`
  // for reads only (and only where the rule's types hold a read-open).
  static constexpr std::string_view kReadOpens[] = {"open", "openat", "openat2"};
  // The file rows' evt.types whose path is a file (events/events.hpp
  // file_type): rules on nothing else (connect to a socket path, exec, a
  // mount) name no file to watch.
  static bool file_type(std::string_view t) {
    const FileType* f = vigil::file_type(t);
    return f && f->object;
  }
  static bool path_field(const std::string& f) {
    return f == "fd.name" || f == "evt.arg.newpath" || f == "evt.arg.oldpath" || f == "evt.arg.linkpath";
  }
  static bool bool_check(const Node& n, const char* field) {
    return n.kind == Node::Check && n.field.name == field && n.opc == Op::Eq && n.nums.size() == 1 && n.nums[0] == 1;
  }
  // Whether n can only hold for a write (no read-open), or only for a read.
  static bool only_for(const Node& n, bool write, int depth) {
    if (depth > 64) return false;
    switch (n.kind) {
      case Node::Check:
        if (bool_check(n, write ? "evt.is_open_write" : "evt.is_open_read")) return true;
        if (write && n.field.name == "evt.type" && !n.negate && !n.strs.empty() &&
            (n.opc == Op::Eq || n.opc == Op::In || n.opc == Op::TypeIn))
          return std::none_of(n.strs.begin(), n.strs.end(), [](const std::string& t) {
            return std::find(std::begin(kReadOpens), std::end(kReadOpens), t) != std::end(kReadOpens);
          });
        return false;
      case Node::Macro: return n.target && only_for(*n.target, write, depth + 1);
      case Node::And:
        return std::any_of(n.kids.begin(), n.kids.end(), [&](const NodePtr& k) { return only_for(*k, write, depth + 1); });
      case Node::Or:
        return !n.kids.empty() &&
               std::all_of(n.kids.begin(), n.kids.end(), [&](const NodePtr& k) { return only_for(*k, write, depth + 1); });
      case Node::Not: return false;
    }
    return false;
  }
  // The dot-directory a `contains` operand names, without slashes: "/.ssh/"
  // and "/.ssh/authorized_keys" -> ".ssh", "/.config/gcloud/" ->
  // ".config/gcloud"; "" for anything else ("/.", "/tmp/", ".ssh", "/../").
  static std::string home_dir_of(std::string_view s) {
    if (!s.starts_with("/.")) return "";
    const size_t last = s.rfind('/');
    if (last == 0) return "";
    const std::string_view d = s.substr(1, last - 1);
    for (size_t at = 0; at <= d.size();) {  // each component a plain name
      const size_t end = std::min(d.find('/', at), d.size());
      const std::string_view part = d.substr(at, end - at);
      if (part.empty() || part == "." || part == "..") return "";
      at = end + 1;
    }
    return std::string(d);
  }
  struct PathCtx {
    const CompiledRule* rule;
    bool can_read;  // the rule's types hold a read-open
    bool negated = false, write_only = false, read_only = false;
  };
  void named_paths(const Node& n, PathCtx c, int depth) {
    if (depth > 64) return;
    if (n.kind == Node::Not) c.negated = !c.negated;
    if (n.kind == Node::And) {
      c.write_only = c.write_only || only_for(n, true, 0);
      c.read_only = c.read_only || only_for(n, false, 0);
    }
    auto name = [&](std::map<std::string, Interest::NamedPath, std::less<>>& map, const std::string& s) {
      auto& np = map[s];
      np.block = np.block || c.rule->action != RuleAction::None;
      np.write = np.write || !c.read_only;
      np.read = np.read || (c.can_read && !c.write_only);
      if (std::find(np.rules.begin(), np.rules.end(), c.rule->info.name) == np.rules.end())
        np.rules.push_back(c.rule->info.name);
    };
    if (n.kind == Node::Check && !c.negated && path_field(n.field.name) &&
        (n.opc == Op::Eq || n.opc == Op::In || n.opc == Op::StartsWith || n.opc == Op::PMatch))
      for (const auto& s : n.strs)
        if (s.starts_with("/")) name(interest.named_paths, s);
    if (n.kind == Node::Check && !c.negated && path_field(n.field.name) && n.opc == Op::Contains)
      for (const auto& s : n.strs)
        if (std::string d = home_dir_of(s); !d.empty()) name(interest.home_paths, d);
    if (n.kind == Node::Check && !c.negated && path_field(n.field.name) && n.opc == Op::Glob)
      for (const auto& s : n.strs)
        if (const size_t last = s.rfind('/'); s.starts_with("/") && last != 0 && last != std::string::npos)
          name(interest.glob_paths, s.substr(0, last));
    for (const auto& k : n.kids) named_paths(*k, c, depth + 1);
    if (n.target) named_paths(*n.target, c, depth + 1);
  }
  void named_paths(const CompiledRule& r) {
    if (!r.cond) return;
    if (r.types && std::none_of(r.types->begin(), r.types->end(), [](const std::string& t) { return file_type(t); }))
      return;
    const bool can_read = !r.types || std::any_of(std::begin(kReadOpens), std::end(kReadOpens),
                                                  [&](std::string_view t) { return r.types->contains(std::string(t)); });
    named_paths(*r.cond, PathCtx{&r, can_read}, 0);
  }

  // Engine::Interest: each active rule's evt.types (or every type), and the
  // types the detectors and threat-intel lists read.
  void index_interest() {
    auto add = [](std::optional<Action>& slot, RuleAction ra) {
      Action a = ra == RuleAction::Kill ? Action::Killed : ra == RuleAction::Block ? Action::Denied : Action::None;
      if (!slot || uint8_t(a) > uint8_t(*slot)) slot = a;
    };
    auto add_type = [&](std::string_view t, RuleAction ra, const std::string& who) {
      std::optional<Action> slot;
      if (auto it = interest.types.find(t); it != interest.types.end()) slot = it->second;
      add(slot, ra);
      interest.types[std::string(t)] = *slot;
      auto& w = interest.who[std::string(t)];
      if (std::find(w.begin(), w.end(), who) == w.end()) w.push_back(who);
    };
    for (const auto& r : loaded.rules) {
      const std::string who = fmt::format("rule '{}'", r.info.name);
      if (!r.types) add(interest.any, r.action), interest.any_who.push_back(who);
      else
        for (const auto& t : *r.types) add_type(t, r.action, who);
      named_paths(r);
      std::set<const Node*> seen;
      fields_of(*r.cond, &seen);
      for (const auto& part : r.output)
        if (part.is_field && part.field.def) interest.fields.insert(part.field.name);
    }
    for (const auto& d : detectors->interest()) add_type(d.type, d.action, "detector " + *d.name);
    for (std::string_view t : intel.types()) add_type(t, RuleAction::None, "threat intel");
  }
  // The fields a condition reads, through its macros.
  void fields_of(const Node& n, std::set<const Node*>* seen) {
    if (!seen->insert(&n).second) return;
    if (n.kind == Node::Check && n.field.def) interest.fields.insert(n.field.name);
    for (const auto& k : n.kids) fields_of(*k, seen);
    if (n.target) fields_of(*n.target, seen);
  }

  // What a rule's action asks for; *v: the strongest ask so far.
  static Action act_for(RuleAction ra, Action* v) {
    if (ra == RuleAction::None) return Action::None;
    if (ra == RuleAction::Kill) {
      *v = Action::Killed;
      return Action::Killed;
    }
    if (*v != Action::Killed) *v = Action::Denied;
    return Action::Denied;
  }
};

Engine::Engine(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
Engine::~Engine() = default;

std::unique_ptr<Engine> Engine::load(const RulesConfig& cfg, std::string* error, std::vector<std::string>* warnings) {
  auto impl = std::make_unique<Impl>();
  impl->cfg = cfg;
  impl->cfg.texts = nullptr;
  std::vector<RulesText> read;
  if (!cfg.texts && !read_rules(cfg.files, &read, error)) return nullptr;
  if (!load_texts(cfg.texts ? *cfg.texts : read, cfg.strict, &impl->loaded, error, warnings)) return nullptr;
  if (!impl->intel.load(cfg.threat_intel, error)) return nullptr;
  impl->detectors = std::make_unique<Detectors>(impl->loaded.detectors);
  impl->host.hostname = host_name();
  impl->index();
  return std::unique_ptr<Engine>(new Engine(std::move(impl)));
}

Action Engine::evaluate(const Event& ev, std::vector<Alert>* out) {
  Impl& m = *impl_;
  Action verdict = Action::None;
  m.ctx.ev = &ev;
  ++m.ctx.gen;
  m.last_pid = ev.proc ? ev.proc->pid : 0;
  // No process (a change the watch saw and could not attribute): each object
  // is its own "process" for the limiter, else the first such alert would
  // stand for every other object's, whoever changed it, for the window.
  if (m.last_pid <= 0 && ev.file)
    m.last_pid = int(0x80000000u | uint32_t(ev.file->ino ? std::hash<uint64_t>{}(ev.file->ino * 1000003u ^ ev.file->dev)
                                                          : std::hash<std::string>{}(ev.file->path)));
  auto it = m.by_type.find(falco_evt_type(ev));
  m.ctx.type_id = it != m.by_type.end() ? it->second.id : -1;
  const std::vector<int>& cand = it != m.by_type.end() ? it->second.rules : m.any_rules;
  for (int i : cand) {
    const CompiledRule& r = m.loaded.rules[size_t(i)];
    if (!eval(*r.cond, m.ctx)) continue;
    Action act = Impl::act_for(r.action, &verdict);
    Impl::Limit* lim;
    if (m.should_emit(0, i, ev.time_ns, &lim)) m.emitted(lim, m.rule_alert(r, ev, act), out);
  }
  if (m.detectors->wants_all() || !m.intel.empty()) {
    std::vector<Hit> hits;
    // Detectors ask the limiter before building an alert (repeats are only
    // counted); a repeat still gets the detector's verdict.
    struct AdmitCtx {
      Impl* m;
      int64_t now;
      Action* verdict;
    } ac{&m, ev.time_ns, &verdict};
    m.detectors->observe(ev, &hits, [&ac](int key, void** token) {  // one capture: no allocation
      Impl::Limit* lim;
      bool ok = ac.m->should_emit(1, key, ac.now, &lim);
      *token = lim;
      if (!ok) Impl::act_for(ac.m->detectors->action(key), ac.verdict);
      return ok;
    });
    size_t ndet = hits.size();
    m.intel.observe(ev, &hits);
    for (size_t k = 0; k < hits.size(); ++k) {
      Hit& h = hits[k];
      Impl::Limit* lim = static_cast<Impl::Limit*>(h.token);
      Action act = Impl::act_for(h.action, &verdict);
      if (k >= ndet && !m.should_emit(2, h.key, ev.time_ns, &lim)) continue;
      Alert a;
      a.time_ns = ev.time_ns;
      a.rule = h.rule;
      a.priority = h.priority;
      a.output = m.output_prefix(ev.time_ns, h.priority) + h.output;
      a.output_fields = std::move(h.fields);
      Impl::add_common_fields(ev, &a);
      a.tags = std::move(h.tags);
      a.action = act;
      a.event_seq = ev.seq;
      m.emitted(lim, std::move(a), out);
    }
  }
  m.ctx.ev = nullptr;
  return verdict;
}

void Engine::flush(std::vector<Alert>* out) {
  for (auto& [key, l] : impl_->limits)
    if (l.suppressed) out->push_back(impl_->repeats_alert(l));
}

void Engine::flush_due(int64_t now, std::vector<Alert>* out) {
  Impl& m = *impl_;
  if (m.cfg.rate_limit_ns <= 0 || now < m.next_due) return;
  m.next_due = INT64_MAX;
  for (auto& [key, l] : m.limits) {
    if (!l.suppressed) continue;
    const int64_t end = l.window_start + m.cfg.rate_limit_ns;
    if (now >= end) out->push_back(m.repeats_alert(l));
    else m.next_due = std::min(m.next_due, end);
  }
}

const std::vector<RuleInfo>& Engine::rules() const { return impl_->loaded.infos; }

const Engine::Interest& Engine::interest() const { return impl_->interest; }

std::optional<Action> Engine::Interest::of(std::string_view evt_type) const {
  std::optional<Action> a = any;
  if (auto it = types.find(evt_type); it != types.end() && (!a || uint8_t(it->second) > uint8_t(*a))) a = it->second;
  return a;
}
void Engine::set_context(const Context& ctx) {
  impl_->host.hostname = ctx.hostname.empty() ? impl_->host.hostname : ctx.hostname;
  impl_->host.container_id = ctx.container_id;
  impl_->host.container_image = ctx.container_image;
}

}  // namespace vigil
