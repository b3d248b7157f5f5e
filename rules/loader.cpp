// Rules files: YAML items (rule, macro, list, detector, required_engine_version)
// with Falco's append/override semantics, then compilation of every rule.
#include <algorithm>
#include <cctype>
#include <filesystem>
#include <fstream>
#include <sstream>

#include <fmt/format.h>
#include "rules/internal.hpp"
#include "rules/yaml.hpp"

namespace vigil::rules {
namespace {

namespace fs = std::filesystem;

using Source = RulesText;

// Where a piece of text came from: file, 0-based line/column of the YAML scalar.
struct Where {
  const Source* src = nullptr;
  int line = 0, col = 0;
  std::string str() const { return fmt::format("{}:{}:{}", src ? src->file : "?", line + 1, col + 1); }
};

struct LoadError {
  std::string msg;  // complete "file:line:col: what"
};

[[noreturn]] void fail(const Where& w, const std::string& what) { throw LoadError{fmt::format("{}: {}", w.str(), what)}; }

Where where(const Source& s, const yaml::Node& n) { return Where{&s, n.Mark().line, n.Mark().column}; }

// Maps an offset inside a condition scalar back to the file: walks the file
// from the scalar's start and the condition text together, matching
// non-blank characters (folding and indentation only change blanks).
Where map_offset(const Where& start, const std::string& cond, size_t off) {
  if (!start.src) return start;
  const std::string& t = start.src->text;
  size_t p = 0;
  for (int l = 0; l < start.line && p != std::string::npos; ++l) p = t.find('\n', p) == std::string::npos ? std::string::npos : t.find('\n', p) + 1;
  if (p == std::string::npos) return start;
  p += start.col;
  if (p < t.size() && (t[p] == '>' || t[p] == '|')) p = t.find('\n', p);
  else if (p < t.size() && (t[p] == '"' || t[p] == '\'')) ++p;
  if (p == std::string::npos) return start;
  auto blank = [](char c) { return std::isspace(static_cast<unsigned char>(c)); };
  for (size_t i = 0; i < off && i < cond.size(); ++i) {
    if (blank(cond[i])) continue;
    while (p < t.size() && blank(t[p])) ++p;
    if (p >= t.size() || t[p] != cond[i]) return start;  // escapes etc.: give up
    ++p;
  }
  while (p < t.size() && blank(t[p]) && off < cond.size() && !blank(cond[off])) ++p;
  size_t ls = t.rfind('\n', p ? p - 1 : 0);
  ls = (ls == std::string::npos || p == 0) ? 0 : ls + 1;
  return Where{start.src, int(std::count(t.begin(), t.begin() + long(ls), '\n')), int(p - ls)};
}

struct ListItem {
  std::string name;
  std::vector<std::string> items;
  Where at;
};
struct MacroItem {
  std::string name, condition;
  Where at;
  std::unique_ptr<Ast> ast;
};
struct ExceptionDef {
  std::string name;
  std::vector<std::string> fields, comps;
  bool single_field = false;
  std::vector<std::vector<std::vector<std::string>>> values;  // tuple -> field -> value(s)
  Where at;
};
struct RuleItem {
  RuleInfo info;
  std::string desc, condition, output, source = "syscall";
  Where at, cond_at;
  bool cond_from_append = false;
  std::vector<ExceptionDef> exceptions;
  RuleAction action = RuleAction::None;
};

std::string scalar(const Source& s, const yaml::Node& n, const std::string& what) {
  if (!n.IsScalar()) fail(where(s, n), fmt::format("expected a string for '{}', got a {}", what, n.IsSequence() ? "list" : n.IsMap() ? "mapping" : "null"));
  return n.Scalar();
}

std::vector<std::string> strings(const Source& s, const yaml::Node& n, const std::string& what) {
  std::vector<std::string> out;
  if (n.IsNull()) return out;
  if (!n.IsSequence()) fail(where(s, n), fmt::format("expected a list for '{}'", what));
  for (const auto& e : n) out.push_back(scalar(s, e, what));
  return out;
}

bool boolean(const Source& s, const yaml::Node& n, const std::string& what) {
  std::string v = scalar(s, n, what);
  if (v == "true" || v == "True" || v == "yes") return true;
  if (v == "false" || v == "False" || v == "no") return false;
  fail(where(s, n), fmt::format("expected true or false for '{}', got '{}'", what, v));
}

RuleAction parse_action(const Source& s, const yaml::Node& n) {
  std::string v = scalar(s, n, "action");
  if (v == "block") return RuleAction::Block;
  if (v == "kill") return RuleAction::Kill;
  if (v == "none" || v == "alert") return RuleAction::None;
  fail(where(s, n), fmt::format("expected action block, kill or none, got '{}'", v));
}

const char* action_name(RuleAction a) { return a == RuleAction::Block ? "block" : a == RuleAction::Kill ? "kill" : ""; }

// Strips one level of quotes from a list item ('"a b"' -> a b).
std::string unquote(const std::string& v) {
  if (v.size() >= 2 && (v.front() == '"' || v.front() == '\'') && v.back() == v.front()) {
    std::string out;
    for (size_t i = 1; i + 1 < v.size(); ++i) {
      if (v[i] == '\\' && i + 2 < v.size()) ++i;
      out += v[i];
    }
    return out;
  }
  return v;
}

// Override/append mode of one key: "", "append" or "replace".
std::string override_mode(const Source& s, const yaml::Node& item, const std::string& key) {
  const yaml::Node o = item["override"];
  if (!o) return "";
  if (!o.IsMap()) fail(where(s, o), "expected a mapping of key: append|replace for 'override'");
  const yaml::Node m = o[key];
  if (!m) return "";
  std::string v = scalar(s, m, "override");
  if (v != "append" && v != "replace") fail(where(s, m), fmt::format("expected append or replace for override of '{}', got '{}'", key, v));
  return v;
}

class Loader {
 public:
  Loader(bool strict, std::vector<std::string>* warnings) : strict_(strict), warnings_(warnings) {}

  void add(const Source& src) {
    std::unique_ptr<yaml::Stream> docs;
    try {
      docs = yaml::load_all(src.text);
    } catch (const yaml::ParseError& e) {
      throw LoadError{fmt::format("{}:{}:{}: invalid YAML: {}", src.file, e.mark.line + 1, e.mark.column + 1, e.msg)};
    }
    for (const auto& doc : docs->documents) {
      if (doc.IsNull()) continue;
      if (!doc.IsSequence()) fail(where(src, doc), "expected a list of rule, macro and list items at the top level");
      for (const auto& item : doc) add_item(src, item);
    }
  }

  void finish(Loaded* out) {
    // Lists: expand references to other lists, strip quotes.
    Scope scope;
    for (const auto& name : list_order_) expand_list(name, &scope, 0);
    for (auto& [name, m] : macros_) {
      m.ast = parse(m.condition, m.at, fmt::format("macro '{}'", name));
      scope.macros[name] = m.ast.get();
    }
    for (const auto& name : rule_order_) {
      RuleItem& r = rules_.at(name);
      RuleInfo info = r.info;
      info.action = action_name(r.action);
      if (!info.enabled) {
        out->infos.push_back(info);
        continue;
      }
      auto ast = parse(r.condition, r.cond_from_append ? r.at : r.cond_at, fmt::format("rule '{}'", name));
      if (!r.exceptions.empty()) ast = with_exceptions(std::move(ast), r);
      CompiledRule cr;
      try {
        cr.cond = compile(*ast, scope, &out->slots);
      } catch (const CompileError& e) {
        Where w = map_offset(r.cond_from_append ? r.at : r.cond_at, r.condition, e.pos);
        if (e.unsupported_field.empty() || strict_)
          throw LoadError{fmt::format("{}: rule '{}': {}{}", w.str(), name, e.msg,
                                      e.unsupported_field.empty() ? "" : " (an error because of --strict)")};
        info.skip_reason = e.msg;
        if (warnings_) warnings_->push_back(fmt::format("{}: skipping rule '{}': {}", r.at.str(), name, e.msg));
        out->infos.push_back(info);
        continue;
      }
      info.active = true;
      cr.output = compile_output(r.output, &out->slots);
      for (const auto& p : cr.output)
        if (p.is_field && !p.field.def && strict_)
          fail(r.at, fmt::format("rule '{}': output field '{}' is not provided by vigil", name, p.field.name));
      cr.types = event_types_of(*cr.cond);
      cr.source = r.source;
      cr.action = r.action;
      cr.info = info;
      out->infos.push_back(info);
      out->rules.push_back(std::move(cr));
    }
    for (const auto& name : detector_order_) {
      const DetectorCfg& d = detectors_.at(name);
      RuleInfo info;
      info.name = d.name;
      info.file = d.file;
      info.line = d.line;
      info.priority = d.priority;
      info.action = action_name(d.action);
      info.tags = d.tags;
      info.enabled = d.enabled;
      info.active = d.enabled;
      info.detector = true;
      out->infos.push_back(info);
      out->detectors.push_back(d);
    }
  }

 private:
  std::unique_ptr<Ast> parse(const std::string& text, const Where& at, const std::string& what) {
    try {
      return parse_condition(text);
    } catch (const SyntaxError& e) {
      throw LoadError{fmt::format("{}: {}: condition column {}: {}", map_offset(at, text, e.pos).str(), what, e.pos + 1, e.msg)};
    }
  }

  void expand_list(const std::string& name, Scope* scope, int depth) {
    if (scope->lists.count(name)) return;
    if (depth > 32) fail(lists_.at(name).at, fmt::format("list '{}' refers to itself", name));
    std::vector<std::string> out;
    for (const auto& it : lists_.at(name).items) {
      if (it != name && lists_.count(it)) {
        expand_list(it, scope, depth + 1);
        const auto& sub = scope->lists.at(it);
        out.insert(out.end(), sub.begin(), sub.end());
      } else {
        out.push_back(unquote(it));
      }
    }
    scope->lists[name] = std::move(out);
  }

  std::unique_ptr<Ast> with_exceptions(std::unique_ptr<Ast> cond, const RuleItem& r) {
    auto any = std::make_unique<Ast>(Ast{Ast::Or, 0});
    for (const auto& ex : r.exceptions) {
      for (const auto& tuple : ex.values) {
        auto all = std::make_unique<Ast>(Ast{Ast::And, 0});
        for (size_t i = 0; i < ex.fields.size(); ++i) {
          auto c = std::make_unique<Ast>(Ast{Ast::Compare, 0});
          c->field = ex.fields[i];
          c->op = find_op(ex.comps[i]);
          c->values = tuple[i];
          c->quoted.assign(c->values.size(), false);
          c->is_list = c->op->arity == OpDef::List;
          if (!c->is_list && c->values.size() != 1)
            fail(ex.at, fmt::format("rule '{}' exception '{}': field '{}' with '{}' needs one value", r.info.name, ex.name, c->field, c->op->name));
          all->kids.push_back(std::move(c));
        }
        any->kids.push_back(std::move(all));
      }
    }
    if (any->kids.empty()) return cond;
    auto n = std::make_unique<Ast>(Ast{Ast::And, 0});
    auto neg = std::make_unique<Ast>(Ast{Ast::Not, 0});
    neg->kids.push_back(std::move(any));
    n->kids.push_back(std::move(cond));
    n->kids.push_back(std::move(neg));
    return n;
  }

  ExceptionDef parse_exception(const Source& s, const yaml::Node& e, const std::string& rule) {
    ExceptionDef ex;
    ex.at = where(s, e);
    if (!e.IsMap()) fail(ex.at, fmt::format("rule '{}': expected an exception mapping with name, fields, values", rule));
    if (!e["name"]) fail(ex.at, fmt::format("rule '{}': exception without 'name'", rule));
    ex.name = scalar(s, e["name"], "name");
    const yaml::Node f = e["fields"];
    if (!f) fail(ex.at, fmt::format("rule '{}' exception '{}': missing 'fields'", rule, ex.name));
    if (f.IsScalar()) {
      ex.single_field = true;
      ex.fields = {f.Scalar()};
    } else {
      ex.fields = strings(s, f, "fields");
    }
    const yaml::Node c = e["comps"];
    if (!c) ex.comps.assign(ex.fields.size(), ex.single_field ? "in" : "=");
    else if (c.IsScalar()) ex.comps = {c.Scalar()};
    else ex.comps = strings(s, c, "comps");
    if (ex.comps.size() != ex.fields.size())
      fail(where(s, c), fmt::format("rule '{}' exception '{}': {} fields but {} comps", rule, ex.name, ex.fields.size(), ex.comps.size()));
    for (auto& op : ex.comps) {
      const OpDef* d = find_op(op);
      if (!d || d->arity == OpDef::Unary)
        fail(where(s, c), fmt::format("rule '{}' exception '{}': expected a comparison operator (=, !=, in, startswith, ...), got '{}'", rule, ex.name, op));
    }
    const yaml::Node v = e["values"];
    if (!v) return ex;
    if (!v.IsSequence()) fail(where(s, v), fmt::format("rule '{}' exception '{}': expected a list of values", rule, ex.name));
    if (ex.single_field) {
      std::vector<std::string> all;
      for (const auto& x : v) all.push_back(scalar(s, x, "values"));
      std::vector<std::vector<std::string>> tuple(1);
      for (auto& a : all)
        if (find_op(ex.comps[0])->arity == OpDef::List) tuple[0].push_back(a);
        else ex.values.push_back({{a}});
      if (!tuple[0].empty()) ex.values.push_back(tuple);
      return ex;
    }
    for (const auto& t : v) {
      if (!t.IsSequence() || t.size() != ex.fields.size())
        fail(where(s, t), fmt::format("rule '{}' exception '{}': expected a list of {} values (one per field)", rule, ex.name, ex.fields.size()));
      std::vector<std::vector<std::string>> tuple;
      for (const auto& x : t) tuple.push_back(x.IsSequence() ? strings(s, x, "values") : std::vector<std::string>{scalar(s, x, "values")});
      ex.values.push_back(std::move(tuple));
    }
    return ex;
  }

  void add_item(const Source& s, const yaml::Node& item) {
    Where at = where(s, item);
    if (!item.IsMap()) fail(at, "expected a mapping (rule, macro, list, detector or required_engine_version)");
    if (item["required_engine_version"] || item["required_plugin_versions"]) return;  // accepted
    if (item["rule"]) return add_rule(s, item);
    if (item["macro"]) return add_macro(s, item);
    if (item["list"]) return add_list(s, item);
    if (item["detector"]) return add_detector(s, item);
    std::string got = item.begin() != item.end() ? item.begin()->first.as<std::string>("?") : "an empty mapping";
    fail(at, fmt::format("expected one of rule, macro, list, detector, required_engine_version, got '{}'", got));
  }

  void add_list(const Source& s, const yaml::Node& item) {
    std::string name = scalar(s, item["list"], "list");
    Where at = where(s, item["list"]);
    bool append = (item["append"] && boolean(s, item["append"], "append")) || override_mode(s, item, "items") == "append";
    if (!item["items"]) fail(at, fmt::format("list '{}': missing 'items'", name));
    std::vector<std::string> items;
    const yaml::Node n = item["items"];
    if (!n.IsNull()) {
      if (!n.IsSequence()) fail(where(s, n), fmt::format("list '{}': expected a list for 'items'", name));
      for (const auto& e : n) items.push_back(scalar(s, e, "items"));
    }
    auto it = lists_.find(name);
    if (append) {
      if (it == lists_.end()) fail(at, fmt::format("list '{}' appends to a list that is not defined before", name));
      it->second.items.insert(it->second.items.end(), items.begin(), items.end());
      return;
    }
    if (it == lists_.end()) list_order_.push_back(name);
    lists_[name] = ListItem{name, std::move(items), at};
  }

  void add_macro(const Source& s, const yaml::Node& item) {
    std::string name = scalar(s, item["macro"], "macro");
    Where at = where(s, item["macro"]);
    if (!item["condition"]) fail(at, fmt::format("macro '{}': missing 'condition'", name));
    std::string cond = scalar(s, item["condition"], "condition");
    Where cat = where(s, item["condition"]);
    bool append = (item["append"] && boolean(s, item["append"], "append")) || override_mode(s, item, "condition") == "append";
    auto it = macros_.find(name);
    if (append) {
      if (it == macros_.end()) fail(at, fmt::format("macro '{}' appends to a macro that is not defined before", name));
      it->second.condition += " " + cond;
      return;
    }
    macros_[name] = MacroItem{name, cond, cat, nullptr};
  }

  void add_rule(const Source& s, const yaml::Node& item) {
    std::string name = scalar(s, item["rule"], "rule");
    Where at = where(s, item["rule"]);
    static const std::set<std::string> kKeys = {"rule", "desc", "condition", "output", "priority", "tags", "enabled",
                                                "exceptions", "source", "append", "override", "action",
                                                "warn_evttypes", "skip-if-unknown-filter", "required_engine_version"};
    for (const auto& kv : item) {
      std::string k = kv.first.as<std::string>("");
      if (!kKeys.count(k)) fail(where(s, kv.first), fmt::format("rule '{}': unknown key '{}' (expected desc, condition, output, priority, tags, enabled, exceptions, source, action, append, override)", name, k));
    }
    auto it = rules_.find(name);
    bool legacy_append = item["append"] && boolean(s, item["append"], "append");
    bool has_override = bool(item["override"]);
    bool only_enabled = item["enabled"] && !item["condition"] && !item["output"] && !item["desc"] && !item["priority"];
    if (legacy_append || has_override || (only_enabled && it != rules_.end())) {
      if (it == rules_.end()) fail(at, fmt::format("rule '{}' appends to or overrides a rule that is not defined before", name));
      RuleItem& r = it->second;
      auto mode = [&](const char* key) {
        if (legacy_append) return std::string(std::string(key) == "condition" || std::string(key) == "exceptions" ? "append" : "replace");
        if (only_enabled && !has_override) return std::string("replace");
        return override_mode(s, item, key);
      };
      if (has_override)
        for (const auto& kv : item["override"]) {
          std::string k = kv.first.as<std::string>("");
          if (!item[k]) fail(where(s, kv.first), fmt::format("rule '{}': override of '{}' without a '{}' key", name, k, k));
        }
      if (item["condition"]) {
        std::string m = mode("condition");
        std::string c = scalar(s, item["condition"], "condition");
        if (m == "append") {
          r.condition += " " + c;
          r.cond_from_append = true;
        } else if (m == "replace") {
          r.condition = c;
          r.cond_at = where(s, item["condition"]);
          r.cond_from_append = false;
        }
      }
      if (item["output"]) {
        std::string m = mode("output");
        std::string o = scalar(s, item["output"], "output");
        r.output = m == "append" ? r.output + " " + o : o;
      }
      if (item["desc"]) r.desc = mode("desc") == "append" ? r.desc + " " + scalar(s, item["desc"], "desc") : scalar(s, item["desc"], "desc");
      if (item["priority"]) r.info.priority = priority(s, item["priority"], name);
      if (item["tags"]) {
        auto t = strings(s, item["tags"], "tags");
        if (mode("tags") == "append") r.info.tags.insert(r.info.tags.end(), t.begin(), t.end());
        else r.info.tags = t;
      }
      if (item["enabled"]) r.info.enabled = boolean(s, item["enabled"], "enabled");
      if (item["action"]) r.action = parse_action(s, item["action"]);
      if (item["exceptions"]) {
        if (mode("exceptions") != "append") r.exceptions.clear();
        for (const auto& e : item["exceptions"]) r.exceptions.push_back(parse_exception(s, e, name));
      }
      return;
    }
    RuleItem r;
    r.at = at;
    r.info.name = name;
    r.info.file = s.file;
    r.info.line = at.line + 1;
    for (const char* k : {"condition", "output", "priority"})
      if (!item[k]) fail(at, fmt::format("rule '{}': missing '{}'", name, k));
    r.condition = scalar(s, item["condition"], "condition");
    r.cond_at = where(s, item["condition"]);
    r.output = scalar(s, item["output"], "output");
    if (item["desc"]) r.desc = scalar(s, item["desc"], "desc");
    r.info.priority = priority(s, item["priority"], name);
    if (item["tags"]) r.info.tags = strings(s, item["tags"], "tags");
    if (item["enabled"]) r.info.enabled = boolean(s, item["enabled"], "enabled");
    if (item["source"]) r.source = scalar(s, item["source"], "source");
    if (item["action"]) r.action = parse_action(s, item["action"]);
    if (item["exceptions"]) {
      if (!item["exceptions"].IsSequence()) fail(where(s, item["exceptions"]), fmt::format("rule '{}': expected a list for 'exceptions'", name));
      for (const auto& e : item["exceptions"]) r.exceptions.push_back(parse_exception(s, e, name));
    }
    if (r.source != "syscall") {
      r.info.enabled = false;
      r.info.skip_reason = fmt::format("source '{}' is not supported (only syscall)", r.source);
      if (warnings_) warnings_->push_back(fmt::format("{}: skipping rule '{}': {}", at.str(), name, r.info.skip_reason));
    }
    if (it == rules_.end()) rule_order_.push_back(name);
    rules_[name] = std::move(r);
  }

  std::string priority(const Source& s, const yaml::Node& n, const std::string& rule) {
    std::string p = normalize_priority(scalar(s, n, "priority"));
    if (p.empty())
      fail(where(s, n), fmt::format("rule '{}': expected a priority (EMERGENCY, ALERT, CRITICAL, ERROR, WARNING, NOTICE, INFO, DEBUG), got '{}'", rule, n.Scalar()));
    return p;
  }

  void add_detector(const Source& s, const yaml::Node& item) {
    std::string name = scalar(s, item["detector"], "detector");
    Where at = where(s, item["detector"]);
    const auto& defaults = detector_defaults();
    auto def = defaults.find(name);
    if (def == defaults.end()) {
      std::string known;
      for (const auto& [k, v] : defaults) known += " " + k;
      fail(at, fmt::format("unknown detector '{}' (known:{})", name, known));
    }
    auto it = detectors_.find(name);
    if (it == detectors_.end()) {
      DetectorCfg d;
      d.name = name;
      d.params = def->second;
      d.file = s.file;
      d.line = at.line + 1;
      it = detectors_.emplace(name, d).first;
      detector_order_.push_back(name);
    }
    DetectorCfg& d = it->second;
    for (const auto& kv : item) {
      std::string k = kv.first.as<std::string>("");
      const yaml::Node& v = kv.second;
      if (k == "detector") continue;
      if (k == "enabled") d.enabled = boolean(s, v, k);
      else if (k == "priority") d.priority = priority(s, v, name);
      else if (k == "tags") d.tags = strings(s, v, k);
      else if (k == "action") d.action = parse_action(s, v);
      else if (d.params.count(k)) d.params[k] = number(s, v, name, k);
      else {
        std::string known;
        for (const auto& [p, x] : d.params) known += " " + p;
        fail(where(s, kv.first), fmt::format("detector '{}': unknown setting '{}' (expected enabled, priority, tags, action,{})", name, k, known));
      }
    }
  }

  // A number, or a duration with unit (500ms, 60s, 5m) returned in ns.
  double number(const Source& s, const yaml::Node& n, const std::string& det, const std::string& key) {
    std::string v = scalar(s, n, key);
    size_t used = 0;
    double x = 0;
    try {
      x = std::stod(v, &used);
    } catch (...) {
      used = 0;
    }
    std::string unit = v.substr(used);
    static const std::map<std::string, double> kUnits = {{"", 0}, {"ns", 1}, {"ms", 1e6}, {"s", 1e9}, {"m", 60e9}, {"h", 3600e9}};
    auto u = kUnits.find(unit);
    bool is_window = key == "window";
    if (used == 0 || u == kUnits.end() || x < 0 || (is_window && unit.empty()) || (!is_window && !unit.empty()))
      fail(where(s, n), fmt::format("detector '{}': expected {} for '{}', got '{}'", det,
                                    is_window ? "a duration like 60s or 500ms" : "a non-negative number", key, v));
    return is_window ? x * u->second : x;
  }

  bool strict_;
  std::vector<std::string>* warnings_;
  std::map<std::string, ListItem> lists_;
  std::vector<std::string> list_order_;
  std::map<std::string, MacroItem> macros_;
  std::map<std::string, RuleItem> rules_;
  std::vector<std::string> rule_order_;
  std::map<std::string, DetectorCfg> detectors_;
  std::vector<std::string> detector_order_;
};

// The files of these --rules paths, in load order; false with *error if a
// directory cannot be listed.
bool rules_files(const std::vector<std::string>& paths, std::vector<std::string>* files, std::string* error) {
  for (const auto& p : paths) {
    std::error_code ec;
    if (fs::is_directory(p, ec)) {
      std::vector<std::string> in_dir;
      fs::directory_iterator it(p, ec);
      if (ec) {
        *error = fmt::format("{}: cannot list rules directory: {} (check --rules)", p, ec.message());
        return false;
      }
      for (const auto& e : it) {
        auto ext = e.path().extension().string();
        if (e.is_regular_file(ec) && (ext == ".yaml" || ext == ".yml")) in_dir.push_back(e.path().string());
      }
      std::sort(in_dir.begin(), in_dir.end());
      files->insert(files->end(), in_dir.begin(), in_dir.end());
    } else {
      files->push_back(p);
    }
  }
  return true;
}

}  // namespace
}  // namespace vigil::rules

namespace vigil {

bool read_rules(const std::vector<std::string>& paths, std::vector<RulesText>* out, std::string* error) {
  std::vector<std::string> files;
  if (!rules::rules_files(paths, &files, error)) return false;
  for (const auto& f : files) {
    std::ifstream in(f, std::ios::binary);
    if (!in) {
      *error = fmt::format("{}: cannot read rules file: {} (check --rules)", f, std::strerror(errno));
      return false;
    }
    std::stringstream ss;
    ss << in.rdbuf();
    out->push_back({f, ss.str()});
  }
  return true;
}

}  // namespace vigil

namespace vigil::rules {

bool load_texts(const std::vector<RulesText>& texts, bool strict, Loaded* out, std::string* error,
                std::vector<std::string>* warnings) {
  const Source* last = nullptr;
  Loader loader(strict, warnings);
  try {
    for (const auto& t : texts) loader.add(*(last = &t));
    loader.finish(out);
  } catch (const LoadError& e) {
    *error = e.msg;
    return false;
  } catch (const std::exception& e) {  // never crash the sensor on a rules file
    *error = fmt::format("{}: unexpected error loading rules: {}", last ? last->file : "rules", e.what());
    return false;
  }
  return true;
}

}  // namespace vigil::rules
