// Condition language: lexer -> parser -> AST -> compiled checks run as a
// branch program (one evaluator). Operators come from one table (op_table).
// Grammar (as Falco's):  expr := and ('or' and)* ; and := not ('and' not)* ;
//   not := 'not' not | '(' expr ')' | FIELD OP VALUE | FIELD LISTOP '(' VALUES ')'
//        | FIELD 'exists' | MACRO
#include <arpa/inet.h>
#include <fnmatch.h>

#include <algorithm>
#include <cctype>
#include <charconv>
#include <cstring>

#include <fmt/format.h>

#include "rules/internal.hpp"

namespace vigil::rules {

// --------------------------------------------------------- operator table ---
const std::vector<OpDef>& op_table() {
  constexpr uint8_t S = 1 << unsigned(FieldType::Str), I = 1 << unsigned(FieldType::Int),
                    B = 1 << unsigned(FieldType::Bool), P = 1 << unsigned(FieldType::Ip), All = S | I | B | P;
  static const std::vector<OpDef> t = {
      {"=", Op::Eq, All, OpDef::One, false},           {"==", Op::Eq, All, OpDef::One, false},
      {"!=", Op::Ne, All, OpDef::One, false},          {"<", Op::Lt, I, OpDef::One, false},
      {"<=", Op::Le, I, OpDef::One, false},            {">", Op::Gt, I, OpDef::One, false},
      {">=", Op::Ge, I, OpDef::One, false},            {"contains", Op::Contains, S, OpDef::One, false},
      {"bcontains", Op::Contains, S, OpDef::One, false}, {"icontains", Op::IContains, S, OpDef::One, true},
      {"startswith", Op::StartsWith, S, OpDef::One, false}, {"bstartswith", Op::StartsWith, S, OpDef::One, false},
      {"endswith", Op::EndsWith, S, OpDef::One, false}, {"glob", Op::Glob, S, OpDef::One, false},
      {"iglob", Op::IGlob, S, OpDef::One, true},       {"regex", Op::Regex, S, OpDef::One, false},
      {"in", Op::In, All, OpDef::List, false},          {"intersects", Op::In, S | I | P, OpDef::List, false},
      {"pmatch", Op::PMatch, S, OpDef::List, false},   {"exists", Op::Exists, All, OpDef::Unary, false},
  };
  return t;
}

const OpDef* find_op(std::string_view name) {
  for (const OpDef& o : op_table())
    if (name == o.name) return &o;
  return nullptr;
}

namespace {
void flatten(Node& n);

// ---------------------------------------------------------------- lexer ---
bool ident_start(char c) { return std::isalpha(static_cast<unsigned char>(c)); }
bool ident_char(char c) { return std::isalnum(static_cast<unsigned char>(c)) || c == '_'; }
bool bare_char(char c) {
  return !std::isspace(static_cast<unsigned char>(c)) && !std::strchr("()\"'=,", c) && c != '\0';
}


class Lexer {
 public:
  explicit Lexer(std::string_view s) : s_(s) {}
  size_t pos() const { return p_; }
  void skip_ws() {
    while (p_ < s_.size() && std::isspace(static_cast<unsigned char>(s_[p_]))) ++p_;
  }
  bool at_end() {
    skip_ws();
    return p_ >= s_.size();
  }
  // Describes what is at the cursor, for "got X".
  std::string peek_desc() {
    skip_ws();
    if (p_ >= s_.size()) return "end of condition";
    size_t e = p_;
    while (e < s_.size() && !std::isspace(static_cast<unsigned char>(s_[e])) && e - p_ < 20) ++e;
    return fmt::format("'{}'", s_.substr(p_, std::max<size_t>(1, e - p_)));
  }
  bool punct(char c) {
    skip_ws();
    if (p_ < s_.size() && s_[p_] == c) {
      ++p_;
      return true;
    }
    return false;
  }
  // A keyword (and/or/not) followed by a non-identifier character.
  bool keyword(std::string_view kw) {
    skip_ws();
    if (s_.substr(p_, kw.size()) != kw) return false;
    size_t e = p_ + kw.size();
    if (e < s_.size() && (ident_char(s_[e]) || s_[e] == '.')) return false;
    p_ = e;
    return true;
  }
  // identifier or field name (with dots and an optional [arg]).
  std::optional<std::string> word() {
    skip_ws();
    if (p_ >= s_.size() || !ident_start(s_[p_])) return std::nullopt;
    size_t b = p_;
    while (p_ < s_.size() && (ident_char(s_[p_]) || (s_[p_] == '.' && p_ + 1 < s_.size() && ident_start(s_[p_ + 1]))))
      ++p_;
    if (p_ < s_.size() && s_[p_] == '[') {
      size_t close = s_.find(']', p_);
      if (close == std::string_view::npos) throw SyntaxError{p_, "expected ']' closing the field argument, got end of condition"};
      p_ = close + 1;
    }
    return std::string(s_.substr(b, p_ - b));
  }
  // An operator of op_table(): the longest symbol, or a whole word.
  const OpDef* op() {
    skip_ws();
    const OpDef* best = nullptr;
    size_t best_len = 0;
    for (const OpDef& o : op_table()) {
      std::string_view name = o.name;
      if (ident_start(name[0]) || name.size() <= best_len || s_.substr(p_, name.size()) != name) continue;
      best = &o, best_len = name.size();
    }
    if (best) {
      p_ += best_len;
      return best;
    }
    for (const OpDef& o : op_table())
      if (ident_start(o.name[0]) && keyword(o.name)) return &o;
    return nullptr;
  }
  // A value: quoted string (with \ escapes) or a bare string.
  std::optional<std::string> value(bool* quoted) {
    skip_ws();
    if (p_ >= s_.size()) return std::nullopt;
    char q = s_[p_];
    if (q == '"' || q == '\'') {
      size_t b = p_++;
      std::string out;
      while (p_ < s_.size() && s_[p_] != q) {
        char c = s_[p_++];
        if (c == '\\' && p_ < s_.size()) {
          c = s_[p_++];
          c = c == 'n' ? '\n' : c == 't' ? '\t' : c;
        }
        out += c;
      }
      if (p_ >= s_.size()) throw SyntaxError{b, fmt::format("expected closing {} of the string, got end of condition", q)};
      ++p_;
      *quoted = true;
      return out;
    }
    size_t b = p_;
    while (p_ < s_.size() && bare_char(s_[p_])) ++p_;
    if (p_ == b) return std::nullopt;
    *quoted = false;
    return std::string(s_.substr(b, p_ - b));
  }

 private:
  std::string_view s_;
  size_t p_ = 0;
};

// --------------------------------------------------------------- parser ---
class Parser {
 public:
  explicit Parser(std::string_view s) : lx_(s) {}
  std::unique_ptr<Ast> parse() {
    if (lx_.at_end()) throw SyntaxError{0, "expected a condition, got an empty string"};
    auto e = expr();
    if (!lx_.at_end()) throw SyntaxError{lx_.pos(), fmt::format("expected 'and', 'or' or ')', got {}", lx_.peek_desc())};
    return e;
  }

 private:
  std::unique_ptr<Ast> binary(Ast::Kind kind, const char* kw, std::unique_ptr<Ast> (Parser::*sub)()) {
    size_t pos = (lx_.skip_ws(), lx_.pos());
    auto first = (this->*sub)();
    if (!lx_.keyword(kw)) return first;
    auto n = std::make_unique<Ast>(Ast{kind, pos});
    n->kids.push_back(std::move(first));
    do n->kids.push_back((this->*sub)());
    while (lx_.keyword(kw));
    return n;
  }
  std::unique_ptr<Ast> expr() { return binary(Ast::Or, "or", &Parser::and_expr); }
  std::unique_ptr<Ast> and_expr() { return binary(Ast::And, "and", &Parser::not_expr); }
  std::unique_ptr<Ast> not_expr() {
    lx_.skip_ws();
    size_t pos = lx_.pos();
    if (lx_.keyword("not")) {
      auto n = std::make_unique<Ast>(Ast{Ast::Not, pos});
      n->kids.push_back(not_expr());
      return n;
    }
    if (lx_.punct('(')) {
      auto e = expr();
      if (!lx_.punct(')')) throw SyntaxError{lx_.pos(), fmt::format("expected ')', got {}", lx_.peek_desc())};
      return e;
    }
    return check();
  }
  std::unique_ptr<Ast> check() {
    lx_.skip_ws();
    size_t pos = lx_.pos();
    auto w = lx_.word();
    if (!w) throw SyntaxError{pos, fmt::format("expected a field, a macro, 'not' or '(', got {}", lx_.peek_desc())};
    if (w->find('.') == std::string::npos && w->find('[') == std::string::npos) {
      auto n = std::make_unique<Ast>(Ast{Ast::Macro, pos});
      n->name = *w;
      return n;
    }
    size_t op_pos = (lx_.skip_ws(), lx_.pos());
    const OpDef* op = lx_.op();
    if (!op) throw SyntaxError{op_pos, fmt::format("expected an operator after '{}', got {}", *w, lx_.peek_desc())};
    auto n = std::make_unique<Ast>(Ast{Ast::Compare, pos});
    n->field = *w;
    n->op = op;
    if (op->arity == OpDef::Unary) {
      n->kind = Ast::Unary;
      return n;
    }
    if (op->arity == OpDef::List) {
      if (!lx_.punct('(')) throw SyntaxError{lx_.pos(), fmt::format("expected '(' after '{}', got {}", op->name, lx_.peek_desc())};
      n->is_list = true;
      if (lx_.punct(')')) return n;
      do {
        bool quoted = false;
        size_t vpos = lx_.pos();
        auto v = lx_.value(&quoted);
        if (!v) throw SyntaxError{vpos, fmt::format("expected a list value, got {}", lx_.peek_desc())};
        n->values.push_back(*v);
        n->quoted.push_back(quoted);
      } while (lx_.punct(','));
      if (!lx_.punct(')')) throw SyntaxError{lx_.pos(), fmt::format("expected ',' or ')' in the list, got {}", lx_.peek_desc())};
      return n;
    }
    bool quoted = false;
    size_t vpos = (lx_.skip_ws(), lx_.pos());
    auto v = lx_.value(&quoted);
    if (!v) throw SyntaxError{vpos, fmt::format("expected a value after '{}', got {}", op->name, lx_.peek_desc())};
    n->values.push_back(*v);
    n->quoted.push_back(quoted);
    return n;
  }

  Lexer lx_;
};

// -------------------------------------------------------------- compile ---
std::string lower(std::string_view s) {
  std::string out(s);
  for (auto& c : out) c = char(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

bool parse_int(std::string_view s, int64_t* out) {
  auto r = std::from_chars(s.data(), s.data() + s.size(), *out);
  return r.ec == std::errc() && r.ptr == s.data() + s.size();
}

struct Compiler {
  const Scope& scope;
  Slots* slots;
  std::vector<std::string> stack;  // macros being expanded (recursion check)
  size_t pos_override = SIZE_MAX;  // inside a macro, errors point at its use

  size_t where(const Ast& a) const { return pos_override != SIZE_MAX ? pos_override : a.pos; }

  NodePtr run(const Ast& a) {
    switch (a.kind) {
      case Ast::And:
      case Ast::Or:
      case Ast::Not: {
        auto n = std::make_unique<Node>();
        n->kind = a.kind == Ast::And ? Node::And : a.kind == Ast::Or ? Node::Or : Node::Not;
        for (const auto& k : a.kids) n->kids.push_back(run(*k));
        return n;
      }
      case Ast::Macro: return macro(a);
      case Ast::Compare:
      case Ast::Unary: return check(a);
    }
    return nullptr;
  }

  NodePtr macro(const Ast& a) {
    auto it = scope.macros.find(a.name);
    if (it == scope.macros.end()) throw CompileError{where(a), fmt::format("undefined macro '{}'", a.name), ""};
    if (std::find(stack.begin(), stack.end(), a.name) != stack.end())
      throw CompileError{where(a), fmt::format("macro '{}' refers to itself", a.name), ""};
    if (auto e = slots->macro_errors.find(a.name); e != slots->macro_errors.end())
      throw CompileError{where(a), e->second.first, e->second.second};
    auto n = std::make_unique<Node>();
    n->kind = Node::Macro;
    if (auto m = slots->macros.find(a.name); m != slots->macros.end()) {
      n->target = m->second.get();
      n->memo = m->second->memo;
      return n;
    }
    stack.push_back(a.name);
    size_t saved = pos_override;
    if (pos_override == SIZE_MAX) pos_override = a.pos;
    NodePtr body;
    try {
      body = run(*it->second);
    } catch (CompileError& e) {
      if (e.unsupported_field.empty() && e.msg.find("(in macro") == std::string::npos)
        e.msg += fmt::format(" (in macro '{}')", a.name);
      slots->macro_errors[a.name] = {e.msg, e.unsupported_field};
      pos_override = saved;
      stack.pop_back();
      throw;
    }
    pos_override = saved;
    stack.pop_back();
    body->memo = slots->memos++;
    flatten(*body);
    n->target = body.get();
    n->memo = body->memo;
    slots->macros[a.name] = std::move(body);
    return n;
  }

  NodePtr check(const Ast& a) {
    auto n = std::make_unique<Node>();
    n->kind = Node::Check;
    n->field = lookup_field(a.field);
    if (!n->field.def) {
      std::string via = stack.empty() ? "" : fmt::format(" (via macro '{}')", stack.back());
      throw CompileError{where(a), fmt::format("field '{}' is not provided by vigil{}", a.field, via), a.field};
    }
    n->field.slot = slots->get(n->field.name);
    n->opc = a.op->op;
    FieldType t = n->field.def->type;
    if (!(a.op->types & (1u << unsigned(t))))
      throw CompileError{where(a), fmt::format("operator '{}' cannot be used with field '{}'", a.op->name, a.field), ""};
    if (a.kind == Ast::Unary) return n;
    // Expand list names inside (...) lists.
    std::vector<std::string> vals;
    for (size_t i = 0; i < a.values.size(); ++i) {
      auto l = a.is_list && !a.quoted[i] ? scope.lists.find(a.values[i]) : scope.lists.end();
      if (l != scope.lists.end()) vals.insert(vals.end(), l->second.begin(), l->second.end());
      else vals.push_back(a.values[i]);
    }
    for (const auto& v : vals) {
      switch (t) {
        case FieldType::Str: n->strs.push_back(a.op->fold ? lower(v) : v); break;
        case FieldType::Int: {
          int64_t x;
          if (!parse_int(v, &x))
            throw CompileError{where(a), fmt::format("expected a number for field '{}', got '{}'", a.field, v), ""};
          n->nums.push_back(x);
          break;
        }
        case FieldType::Bool:
          if (v != "true" && v != "false")
            throw CompileError{where(a), fmt::format("expected true or false for field '{}', got '{}'", a.field, v), ""};
          n->nums.push_back(v == "true");
          break;
        case FieldType::Ip: {
          Cidr net;
          if (!Cidr::parse(v, &net))
            throw CompileError{where(a), fmt::format("expected an IP address or CIDR for field '{}', got '{}'", a.field, v), ""};
          n->nets.push_back(net);
          break;
        }
      }
    }
    if (n->opc == Op::In)
      for (const auto& s : n->strs) n->set.insert(s);
    if (n->opc == Op::Regex) {
      RE2::Options o;
      o.set_log_errors(false);
      n->re = std::make_unique<RE2>(n->strs.at(0), o);
      if (!n->re->ok())
        throw CompileError{where(a), fmt::format("invalid regular expression '{}': {}", n->strs[0], n->re->error()), ""};
    }
    return n;
  }
};

// ----------------------------------------------------------------- eval ---
bool icontains(std::string_view hay, std::string_view needle_lower) {
  if (needle_lower.size() > hay.size()) return false;
  for (size_t i = 0; i + needle_lower.size() <= hay.size(); ++i) {
    size_t k = 0;
    while (k < needle_lower.size() &&
           std::tolower(static_cast<unsigned char>(hay[i + k])) == static_cast<unsigned char>(needle_lower[k]))
      ++k;
    if (k == needle_lower.size()) return true;
  }
  return false;
}

bool pmatch(std::string_view v, std::string_view prefix) {
  if (v.substr(0, prefix.size()) != prefix) return false;
  return v.size() == prefix.size() || prefix.back() == '/' || v[prefix.size()] == '/';
}

bool glob(std::string_view v, const std::string& pattern, bool fold) {
  static thread_local std::string s;  // reused: no allocation per check
  s.assign(v);
  if (fold)
    for (auto& c : s) c = char(std::tolower(static_cast<unsigned char>(c)));
  return fnmatch(pattern.c_str(), s.c_str(), 0) == 0;
}

// One value against the check (positive form; != is handled by the caller).
bool match_one(const Node& n, const Val& v, FieldType t) {
  using O = Op;
  if (t == FieldType::Int || t == FieldType::Bool) {
    switch (n.opc) {
      case O::In: return std::find(n.nums.begin(), n.nums.end(), v.n) != n.nums.end();
      case O::Eq:
      case O::Ne: return v.n == n.nums[0];
      case O::Lt: return v.n < n.nums[0];
      case O::Le: return v.n <= n.nums[0];
      case O::Gt: return v.n > n.nums[0];
      case O::Ge: return v.n >= n.nums[0];
      default: return false;
    }
  }
  if (t == FieldType::Ip) {
    unsigned char a[16] = {};
    int fam = parse_ip(v.s, a);
    for (const auto& net : n.nets)
      if (fam && net.contains(a, fam)) return true;
    return false;
  }
  const std::string_view s = v.s;
  switch (n.opc) {
    case O::Eq:
    case O::Ne: return s == n.strs[0];
    case O::In:
      if (n.strs.size() <= 8) return std::find(n.strs.begin(), n.strs.end(), s) != n.strs.end();
      return n.set.count(s) > 0;
    case O::IContains: return icontains(s, n.strs[0]);
    case O::Contains: return s.find(n.strs[0]) != std::string_view::npos;
    case O::StartsWith: return s.substr(0, n.strs[0].size()) == n.strs[0];
    case O::EndsWith: return s.size() >= n.strs[0].size() && s.substr(s.size() - n.strs[0].size()) == n.strs[0];
    case O::Glob: return glob(s, n.strs[0], false);
    case O::IGlob: return glob(s, n.strs[0], true);
    case O::PMatch:
      for (const auto& p : n.strs)
        if (!p.empty() && pmatch(s, p)) return true;
      return false;
    case O::Regex: return RE2::FullMatch(re2::StringPiece(s.data(), s.size()), *n.re);
    default: return false;
  }
}

}  // namespace

// ------------------------------------------------------------------ CIDR ---
bool Cidr::parse(std::string_view text, Cidr* out) {
  std::string addr(text.substr(0, text.find('/')));
  int64_t prefix = -1;
  if (auto slash = text.find('/'); slash != std::string_view::npos && !parse_int(text.substr(slash + 1), &prefix)) return false;
  *out = Cidr{};
  if (inet_pton(AF_INET, addr.c_str(), out->addr) == 1) out->family = AF_INET;
  else if (inet_pton(AF_INET6, addr.c_str(), out->addr) == 1) out->family = AF_INET6;
  else return false;
  int max = out->family == AF_INET ? 32 : 128;
  out->prefix = prefix < 0 ? max : int(prefix);
  return prefix <= max && (prefix >= 0 || text.find('/') == std::string_view::npos);
}

bool Cidr::contains(const unsigned char* a, int fam) const {
  if (fam != family) return false;
  int full = prefix / 8, rest = prefix % 8;
  if (std::memcmp(a, addr, size_t(full))) return false;
  if (!rest) return true;
  unsigned char mask = static_cast<unsigned char>(0xFF << (8 - rest));
  return (a[full] & mask) == (addr[full] & mask);
}

int parse_ip(std::string_view text, unsigned char a[16]) {
  char buf[64];
  if (text.empty() || text.size() >= sizeof buf) return 0;
  std::memcpy(buf, text.data(), text.size());
  buf[text.size()] = 0;
  int fam = std::memchr(buf, ':', text.size()) ? AF_INET6 : AF_INET;
  return inet_pton(fam, buf, a) == 1 ? fam : 0;
}

std::unique_ptr<Ast> parse_condition(std::string_view text) { return Parser(text).parse(); }

NodePtr compile(const Ast& ast, const Scope& scope, Slots* slots) {
  Compiler c{scope, slots, {}};
  NodePtr n = c.run(ast);
  flatten(*n);
  return n;
}

namespace {
// Kept out of line so the structural nodes (and/or/not/macro) stay cheap.
[[gnu::noinline]] bool eval_check(const Node& n, EvalCtx& ctx) {
  if (n.opc == Op::TypeIn) {  // evt.type against the event's interned type id
    bool in = ctx.type_id >= 0 && size_t(ctx.type_id) < n.type_bits.size() && n.type_bits[size_t(ctx.type_id)];
    return n.negate ? !in : in;
  }
  auto [vals, count] = values(ctx, n.field);
  if (!count) return false;  // a missing field fails every operator
  if (n.opc == Op::Exists) return true;
  // icontains on a single value: search a lower-case copy made once per event.
  if (n.opc == Op::IContains && count == 1 && n.field.slot >= 0 && size_t(n.field.slot) < ctx.lowered.size()) {
    size_t i = size_t(n.field.slot);
    if (ctx.lowered_gen[i] != ctx.gen) {
      ctx.lowered_gen[i] = ctx.gen;
      ctx.lowered[i].assign(vals[0].s);
      for (auto& c : ctx.lowered[i]) c = char(std::tolower(static_cast<unsigned char>(c)));
    }
    return ctx.lowered[i].find(n.strs[0]) != std::string::npos;
  }
  FieldType t = n.field.def->type;
  bool any = false;
  for (size_t i = 0; i < count && !any; ++i) any = match_one(n, vals[i], t);
  return n.opc == Op::Ne ? !any : any;
}
}  // namespace

namespace {
bool run(const Program& p, EvalCtx& ctx);

bool eval_leaf(const Node& n, EvalCtx& ctx) {
  if (n.kind == Node::Check) return eval_check(n, ctx);
  size_t m = size_t(n.memo);  // Macro
  if (ctx.memo_gen[m] == ctx.gen) return ctx.memo_val[m];
  bool r = run(*n.target->prog, ctx);
  ctx.memo_gen[m] = ctx.gen;
  ctx.memo_val[m] = r;
  return r;
}

bool run(const Program& p, EvalCtx& ctx) {
  int i = p.entry;
  while (i >= 0) {
    const Program::Step& s = p.steps[size_t(i)];
    i = eval_leaf(*s.leaf, ctx) ? s.t : s.f;
  }
  return i == Program::kTrue;
}

// Emits the steps of n so that it continues at t when true, f when false;
// returns its entry. Built from the last operand backwards.
int build(const Node& n, int t, int f, Program* p) {
  switch (n.kind) {
    case Node::And: {
      int next = t;
      for (size_t k = n.kids.size(); k-- > 0;) next = build(*n.kids[k], next, f, p);
      return next;
    }
    case Node::Or: {
      int next = f;
      for (size_t k = n.kids.size(); k-- > 0;) next = build(*n.kids[k], t, next, p);
      return next;
    }
    case Node::Not: return build(*n.kids[0], f, t, p);
    case Node::Check:
    case Node::Macro: p->steps.push_back({&n, t, f}); return int(p->steps.size() - 1);
  }
  return f;
}

void flatten(Node& n) {
  auto p = std::make_unique<Program>();
  p->entry = build(n, Program::kTrue, Program::kFalse, p.get());
  n.prog = std::move(p);
}
}  // namespace

bool eval(const Node& n, EvalCtx& ctx) { return run(*n.prog, ctx); }

void bind_types(Node& n, const std::map<std::string, int, std::less<>>& ids) {
  for (auto& k : n.kids) bind_types(*k, ids);
  if (n.kind != Node::Check || n.field.name != "evt.type") return;
  if (n.opc != Op::Eq && n.opc != Op::Ne && n.opc != Op::In) return;
  n.negate = n.opc == Op::Ne;
  n.type_bits.assign(ids.size(), 0);
  for (const auto& s : n.strs)
    if (auto it = ids.find(s); it != ids.end()) n.type_bits[size_t(it->second)] = 1;
  n.opc = Op::TypeIn;
}

std::optional<std::set<std::string>> event_types_of(const Node& n) {
  switch (n.kind) {
    case Node::Macro: return event_types_of(*n.target);
    case Node::Not: return std::nullopt;  // conservative
    case Node::Or: {
      std::set<std::string> all;
      for (const auto& k : n.kids) {
        auto s = event_types_of(*k);
        if (!s) return std::nullopt;
        all.insert(s->begin(), s->end());
      }
      return all;
    }
    case Node::And: {
      std::optional<std::set<std::string>> acc;
      for (const auto& k : n.kids) {
        auto s = event_types_of(*k);
        if (!s) continue;
        if (!acc) {
          acc = std::move(s);
          continue;
        }
        std::set<std::string> both;
        std::set_intersection(acc->begin(), acc->end(), s->begin(), s->end(), std::inserter(both, both.end()));
        acc = std::move(both);
      }
      return acc;
    }
    case Node::Check:
      if (n.field.name == "evt.type" && (n.opc == Op::Eq || n.opc == Op::In || (n.opc == Op::TypeIn && !n.negate)))
        return std::set<std::string>(n.strs.begin(), n.strs.end());
      return std::nullopt;
  }
  return std::nullopt;
}

std::vector<OutputPart> compile_output(std::string_view fmt, Slots* slots) {
  std::vector<OutputPart> parts;
  std::string lit;
  for (size_t i = 0; i < fmt.size(); ++i) {
    if (fmt[i] != '%' || i + 1 >= fmt.size()) {
      lit += fmt[i];
      continue;
    }
    if (fmt[i + 1] == '%') {
      lit += '%';
      ++i;
      continue;
    }
    // %field, %field[arg] or %(field)
    size_t b = i + 1, e = b;
    bool paren = fmt[b] == '(';
    if (paren) e = ++b;
    while (e < fmt.size() && (ident_char(fmt[e]) || fmt[e] == '.')) ++e;
    if (e < fmt.size() && fmt[e] == '[') {
      size_t close = fmt.find(']', e);
      if (close != std::string_view::npos) e = close + 1;
    }
    std::string_view name = fmt.substr(b, e - b);
    while (!name.empty() && name.back() == '.') name.remove_suffix(1), --e;
    if (name.find('.') == std::string_view::npos) {
      lit += fmt[i];
      continue;
    }
    if (!lit.empty()) parts.push_back({std::move(lit), {}, false}), lit.clear();
    OutputPart p;
    p.is_field = true;
    p.field = lookup_field(name);
    p.field.name = std::string(name);
    if (p.field.def) p.field.slot = slots->get(p.field.name);
    parts.push_back(std::move(p));
    i = (paren && e < fmt.size() && fmt[e] == ')') ? e : e - 1;
  }
  if (!lit.empty()) parts.push_back({std::move(lit), {}, false});
  return parts;
}

std::string normalize_priority(std::string_view p) {
  static const std::pair<const char*, const char*> kNames[] = {
      {"emergency", "Emergency"}, {"alert", "Alert"},     {"critical", "Critical"},
      {"error", "Error"},         {"warning", "Warning"}, {"notice", "Notice"},
      {"informational", "Informational"}, {"info", "Informational"}, {"debug", "Debug"},
  };
  std::string l = lower(p);
  for (const auto& [k, v] : kNames)
    if (l == k) return v;
  return "";
}

int priority_rank(std::string_view p) {
  static const char* kOrder[] = {"Emergency", "Alert", "Critical", "Error", "Warning", "Notice", "Informational", "Debug"};
  for (int i = 0; i < 8; ++i)
    if (p == kOrder[i]) return i;
  return 7;
}

}  // namespace vigil::rules
