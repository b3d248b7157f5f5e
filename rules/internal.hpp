// Internals of the rules engine, shared by its .cpp files and unit tests.
// Not a public API: other libraries use rules/rules.hpp.
#pragma once

#include <cstdint>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <unordered_map>
#include <unordered_set>
#include <vector>

#include <re2/re2.h>

#include "events/events.hpp"
#include "rules/rules.hpp"

namespace vigil::rules {

// ---------------------------------------------------------------- fields ---
enum class FieldType { Str, Int, Bool, Ip };

// One value produced by an extractor. Strings are views into the event, the
// engine's caches or the evaluation scratch (valid during one evaluation).
struct Val {
  std::string_view s;
  int64_t n = 0;
};

// Per-evaluation state handed to extractors.
struct EvalCtx {
  const Event* ev = nullptr;
  const Context* host = nullptr;
  std::vector<Val> vals;               // extractor output (reused)
  std::vector<std::string> slots;      // computed strings, one per distinct field
  std::vector<uint64_t> slot_gen;      // slots[i] valid when slot_gen[i] == gen
  std::vector<Val> one;                // cached single value per distinct field
  std::vector<uint64_t> one_gen;       // one[i] valid when one_gen[i] == gen
  std::vector<uint8_t> one_n;          // 0 (not available) or 1
  std::vector<uint64_t> memo_gen;      // macro results, valid when memo_gen[i] == gen
  std::vector<uint8_t> memo_val;
  std::vector<std::string> lowered;    // lower-case copy of a slot's value (icontains)
  std::vector<uint64_t> lowered_gen;
  uint64_t gen = 1;
  int type_id = -1;                    // interned evt.type of the event, -1 if no rule names it
  std::unordered_map<int, std::string>* user_names = nullptr;   // uid -> name cache
  std::unordered_map<int, std::string>* group_names = nullptr;  // gid -> name cache
};

struct FieldRef;
// Appends the field's values to ctx.vals; none = not available (<NA>).
// Multi-valued fields (proc.aname without index) append several.
using Extract = void (*)(EvalCtx& ctx, const FieldRef& f);

struct FieldDef {
  const char* name;
  FieldType type;
  bool arg;           // takes [n] or .NAME
  Extract extract;
  const char* desc;
};

// A field as used in a condition or an output: definition plus argument.
struct FieldRef {
  const FieldDef* def = nullptr;
  std::string name;    // as written, e.g. "proc.aname[2]"
  std::string sarg;    // evt.arg.NAME -> NAME
  int iarg = -1;       // proc.aname[2] -> 2; -1 = none
  int slot = -1;       // scratch slot for computed strings
  int akind = 0;       // evt.arg.NAME: which derived value NAME is (fields.cpp)
};

const std::vector<FieldDef>& field_table();
// Parses "proc.aname[2]" / "evt.arg.flags"; null def if vigil has no such field.
FieldRef lookup_field(std::string_view name);
// Extracts into ctx.vals (cleared first). Returns false when no value.
bool extract(EvalCtx& ctx, const FieldRef& f);
// The field's values for this event, cached per distinct field (ctx.gen).
std::pair<const Val*, size_t> values_slow(EvalCtx& ctx, const FieldRef& f);
inline std::pair<const Val*, size_t> values(EvalCtx& ctx, const FieldRef& f) {
  size_t i = size_t(f.slot);  // -1 wraps: never below one_gen.size()
  if (i < ctx.one_gen.size() && ctx.one_gen[i] == ctx.gen) return {&ctx.one[i], ctx.one_n[i]};
  return values_slow(ctx, f);
}

// Renders a field for outputs ("<NA>" when not available).
std::string render(EvalCtx& ctx, const FieldRef& f);
// The field's value for an alert's output_fields, typed as Falco sends it:
// one Int/Bool value as a number/boolean, no value as null, else a string
// (several values joined by commas, as in render()).
FieldValue render_value(EvalCtx& ctx, const FieldRef& f);

// ------------------------------------------------------------ operators ---
// The one operator table: the lexer, parser, validator, exception loader and
// evaluator all derive from it.
enum class Op : uint8_t { Eq, Ne, Lt, Le, Gt, Ge, Contains, IContains, StartsWith, EndsWith, Glob, IGlob, PMatch, In, Exists, Regex, TypeIn };

struct OpDef {
  const char* name;  // as written ("==" is an alias of "=")
  Op op;
  uint8_t types;     // bit (1 << FieldType) for each field type it applies to
  enum Arity : uint8_t { Unary, One, List } arity;  // exists / one value / (list)
  bool fold;         // literals lower-cased (icontains, iglob)
};

const std::vector<OpDef>& op_table();
// The entry for an operator name; null if there is none.
const OpDef* find_op(std::string_view name);

// ----------------------------------------------------------------- CIDR ---
// An address or network (a.b.c.d, a.b.c.d/n, IPv6 likewise): the one parser
// for condition literals and threat-intel lists.
struct Cidr {
  unsigned char addr[16] = {};
  int family = 0, prefix = 0;
  static bool parse(std::string_view text, Cidr* out);
  bool contains(const unsigned char* a, int fam) const;
};
// Parses an address; returns its family (AF_INET/AF_INET6), 0 if not an IP.
int parse_ip(std::string_view text, unsigned char a[16]);

// --------------------------------------------------------------- syntax ---
struct SyntaxError {
  size_t pos;  // offset in the condition text
  std::string msg;
};

// Condition AST (Falco grammar: or < and < not < check).
struct Ast {
  enum Kind { And, Or, Not, Compare, Unary, Macro } kind;
  size_t pos = 0;
  std::vector<std::unique_ptr<Ast>> kids;  // And/Or/Not
  std::string field;                       // Compare/Unary
  const OpDef* op = nullptr;               // Compare/Unary
  std::vector<std::string> values;         // Compare: one value, or a (list)
  std::vector<bool> quoted;                // per value: was it a quoted string
  bool is_list = false;                    // values came in (...)
  std::string name;                        // Macro
};

// Throws SyntaxError.
std::unique_ptr<Ast> parse_condition(std::string_view text);

// -------------------------------------------------------------- compile ---
struct Node;
using NodePtr = std::unique_ptr<Node>;

// A condition flattened into a branch program: each step tests one leaf
// (a check or a memoised macro) and jumps to t or f; kTrue/kFalse end it.
// No recursion and no and/or/not nodes are visited at evaluation time.
struct Program {
  static constexpr int kTrue = -1, kFalse = -2;
  struct Step {
    const Node* leaf;
    int t, f;
  };
  std::vector<Step> steps;
  int entry = kFalse;
};

// The compiled condition: and/or/not nodes only shape the Program built at
// compile time (rule roots and macro bodies); leaves are checks and macros.
struct Node {
  enum Kind { And, Or, Not, Check, Macro } kind;
  std::vector<NodePtr> kids;
  // Macro: compiled once, evaluated at most once per event (memo slot)
  const Node* target = nullptr;
  int memo = -1;
  std::unique_ptr<Program> prog;  // rule roots and macro bodies
  // Check
  FieldRef field;
  Op opc = Op::Eq;
  // TypeIn: evt.type =/!=/in bound to interned type ids (bind_types)
  std::vector<uint8_t> type_bits;
  bool negate = false;
  std::vector<std::string> strs;               // literal strings (lowercased for icontains)
  std::unordered_set<std::string_view> set;    // in/intersects on strings (views into strs)
  std::vector<int64_t> nums;                   // numeric/bool literals
  std::vector<Cidr> nets;                      // Ip literals
  std::unique_ptr<RE2> re;                     // regex
};

// Runs the node's program (a rule root or a macro body).
bool eval(const Node& n, EvalCtx& ctx);
// Rewrites evt.type checks into bit tests on the interned evt.type id.
void bind_types(Node& n, const std::map<std::string, int, std::less<>>& ids);

// Lists and macros visible to compilation.
struct Scope {
  std::map<std::string, std::vector<std::string>, std::less<>> lists;  // expanded items
  std::map<std::string, const Ast*, std::less<>> macros;
};

struct CompileError {
  size_t pos;
  std::string msg;
  std::string unsupported_field;  // set when the problem is a field vigil lacks
};

// Scratch slots: one per distinct field name, so a value computed for one
// rule (proc.cmdline, ...) is reused by every other rule on the same event.
// Also holds each macro compiled once (shared by the rules using it, its
// result memoised per event) or the error compiling it gave.
struct Slots {
  std::map<std::string, int, std::less<>> ids;
  int n = 0;
  int get(const std::string& name) { return ids.try_emplace(name, n).second ? n++ : ids.at(name); }
  std::map<std::string, std::unique_ptr<Node>> macros;
  std::map<std::string, std::pair<std::string, std::string>> macro_errors;  // name -> (msg, field)
  int memos = 0;
};

// Throws CompileError. `slots` counts scratch slots handed out. The result
// and every macro body it reaches carry their Program.
NodePtr compile(const Ast& ast, const Scope& scope, Slots* slots);
// evt.type values the node can match; nullopt = any.
std::optional<std::set<std::string>> event_types_of(const Node& n);

// --------------------------------------------------------------- output ---
struct OutputPart {
  std::string text;  // literal, when field.def == nullptr and !missing
  FieldRef field;
  bool is_field = false;
};
std::vector<OutputPart> compile_output(std::string_view fmt, Slots* slots);

// ----------------------------------------------------------- priorities ---
// Falco priority from a rules file ("WARNING", "info", ...); empty if unknown.
std::string normalize_priority(std::string_view p);
int priority_rank(std::string_view normalized);  // Emergency=0 ... Debug=7

}  // namespace vigil::rules

namespace vigil::rules {

// ----------------------------------------------------------------- load ---
enum class RuleAction { None, Block, Kill };

struct CompiledRule {
  RuleInfo info;
  NodePtr cond;
  std::vector<OutputPart> output;
  std::string source = "syscall";
  RuleAction action = RuleAction::None;
  std::optional<std::set<std::string>> types;  // evt.types it can match; nullopt = any
};

// A stateful detector's settings, from `- detector: NAME` items.
struct DetectorCfg {
  std::string name;
  bool enabled = true;
  std::string priority = "Warning";
  std::vector<std::string> tags;
  RuleAction action = RuleAction::None;
  std::string file;
  int line = 0;
  std::map<std::string, double> params;  // thresholds; durations in ns
};

struct Loaded {
  std::vector<CompiledRule> rules;  // active rules, in file order
  std::vector<RuleInfo> infos;      // every rule and detector, for `rules list`
  std::vector<DetectorCfg> detectors;
  Slots slots;
};

// Compiles the rules files read (read_rules), in their order. Returns false
// with *error = "file:line:col: what" on the first error.
bool load_texts(const std::vector<RulesText>& texts, bool strict, Loaded* out, std::string* error,
                std::vector<std::string>* warnings);

// Known detectors and their default parameters (detectors.cpp).
const std::map<std::string, std::map<std::string, double>>& detector_defaults();

}  // namespace vigil::rules

namespace vigil::rules {

// An alert raised outside condition rules (detectors, threat intel).
struct Hit {
  std::string rule, priority, output;
  std::vector<std::string> tags;
  OutputFields fields;
  RuleAction action = RuleAction::None;
  int key = 0;  // rate-limit key within the source (e.g. detector index)
  void* token = nullptr;  // detectors: the rate limiter's state, already admitted
};

// Asks the engine's rate limiter whether an alert with this key is to be
// sent (true) or only counted (false), before the alert is built.
using Admit = std::function<bool(int key, void** token)>;

// Stateful detectors (port scan, mass rewrite/rename, DGA-like names).
class Detectors {
 public:
  explicit Detectors(std::vector<DetectorCfg> cfg);
  void observe(const Event& ev, std::vector<Hit>* hits, const Admit& admit);
  bool wants_all() const { return !active_.empty(); }
  // The evt.types the active detectors read, with each one's action (the strongest per type).
  struct Interest {
    std::string_view type;
    RuleAction action;
    const std::string* name;  // the detector's
  };
  std::vector<Interest> interest() const;
  RuleAction action(int key) const { return active_[size_t(key)].cfg->action; }

 private:
  // Per-process sliding window with incremental distinct counts.
  struct Window {
    struct Seen {
      int64_t t;
      std::string a;
      int port;
    };
    std::deque<Seen> q;
    std::unordered_map<std::string, std::unordered_map<int, int>> by_key;  // key -> port -> hits
    void add(int64_t t, const std::string& a, int port, double window);
    void clear() { q.clear(), by_key.clear(); }
  };
  enum class Kind { PortScan, MassRewrite, Dga };
  struct Active {
    const DetectorCfg* cfg;
    Kind kind;
    double window = 0, a = 0, b = 0;  // port_scan: ports, hosts; mass_file_rewrite: files
  };
  std::vector<DetectorCfg> cfg_;
  std::vector<Active> active_;
  std::unordered_map<int, Window> conns_, writes_, created_;
};

// DGA heuristics on one name, exposed for tests: true if the registered
// label looks machine-generated.
bool dga_like(std::string_view qname, const std::map<std::string, double>& params);

// Threat-intelligence lists: IPs/CIDRs, domains, SHA-256 hashes.
class Intel {
 public:
  // Each file: one entry per line, '#' comments; kind detected per entry.
  bool load(const std::vector<std::string>& files, std::string* error);
  void observe(const Event& ev, std::vector<Hit>* hits) const;
  bool empty() const { return nets_.empty() && domains_.empty() && hashes_.empty(); }
  size_t size() const { return nets_.size() + domains_.size() + hashes_.size(); }
  // The evt.types its entries can match (none when empty).
  std::vector<std::string_view> types() const;

 private:
  struct Net {
    Cidr cidr;
    std::string text;
  };
  const Net* match_ip(const std::string& ip) const;
  std::vector<Net> nets_;
  std::unordered_set<std::string> domains_, hashes_;
};

}  // namespace vigil::rules
