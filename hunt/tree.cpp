// The fields of fork/exec events that feed the process tree (hunt.hpp
// TreeFields). ~3 % of the lines of a stored stream are fork/exec events and
// all of them must be read, so this is on the hunt's hot path
// (docs/hunt.md "Speed"). Two readers give the same values:
// - nlohmann's SAX parser, the definition, for any JSON;
// - a validating scanner for the JSON vigil writes: ASCII, no escapes, the
//   usual number forms (no exponents). It follows the JSON grammar (RFC 8259) for that
//   subset, and gives up on everything outside it (a backslash, a byte
//   outside 0x20..0x7f in a string, a negative, fractional or huge number in
//   a slot, an empty key or one with a '.' where it could join a path, deep
//   nesting, any syntax error); the line then goes to the SAX parser, so
//   errors are always reported by nlohmann. It keeps no path string: the
//   objects on the way to a slot form a small fixed tree (kEdges).
#include <cstring>
#include <vector>

#if defined(__SSE2__)
#include <emmintrin.h>
#endif

#include <nlohmann/json.hpp>

#include "hunt/hunt.hpp"

namespace vigil::hunt {

namespace {

using nlohmann::json;
using Slot = TreeFields::Slot;

// ---- the definition: nlohmann's SAX parser ----------------------------------------

class SaxFields {
 public:
  explicit SaxFields(std::string* vals) : vals_(vals) {}

  bool key(std::string& k) {
    path_.resize(lens_.back());
    if (!path_.empty()) path_ += '.';
    path_ += k;
    slot_ = TreeFields::kSlots;
    if (arrays_ == 0)
      for (int i = 0; i < TreeFields::kSlots; ++i)
        if (TreeFields::kPaths[i] == path_) slot_ = i;
    return true;
  }
  bool start_object(size_t) { return lens_.push_back(path_.size()), slot_ = TreeFields::kSlots, true; }
  bool end_object() { return lens_.pop_back(), path_.resize(lens_.back()), true; }
  bool start_array(size_t) { return ++arrays_, slot_ = TreeFields::kSlots, true; }
  bool end_array() { return --arrays_, true; }
  bool string(std::string& v) { return set(std::move(v)); }
  bool number_integer(json::number_integer_t v) { return set(std::to_string(v)); }
  bool number_unsigned(json::number_unsigned_t v) { return set(std::to_string(v)); }
  bool number_float(json::number_float_t, const std::string&) { return set({}); }
  bool boolean(bool) { return set({}); }
  bool null() { return set({}); }
  bool binary(json::binary_t&) { return set({}); }
  bool parse_error(size_t, const std::string&, const nlohmann::detail::exception&) { return false; }

 private:
  bool set(std::string v) {
    if (slot_ != TreeFields::kSlots && arrays_ == 0) vals_[slot_] = std::move(v);
    slot_ = TreeFields::kSlots;
    return true;
  }
  std::string* vals_;
  std::string path_;
  std::vector<size_t> lens_{0};
  int slot_ = TreeFields::kSlots, arrays_ = 0;
};

// ---- the scanner --------------------------------------------------------------------

// The objects on the way to a slot (kPaths), as a tree: from object `parent`,
// `key` leads to object `child` or to the value of `slot`.
enum Node : int8_t { kRoot, kUnmapped, kMetadata, kProcess, kParent, kFile, kHostObj, kDevice, kDevContainer,
                     kContainerObj, kNone };
struct Edge {
  Node parent;
  std::string_view key;
  Node child;
  int8_t slot;
};
constexpr int8_t kNoSlot = TreeFields::kSlots;
constexpr Edge kEdges[] = {
    {kRoot, "type", kNone, TreeFields::kType},
    {kRoot, "id", kNone, TreeFields::kId},
    {kRoot, "child_pid", kNone, TreeFields::kChild},
    {kRoot, "unmapped", kUnmapped, kNoSlot},
    {kRoot, "metadata", kMetadata, kNoSlot},
    {kRoot, "process", kProcess, kNoSlot},
    {kRoot, "host", kHostObj, kNoSlot},
    {kRoot, "device", kDevice, kNoSlot},
    {kRoot, "container", kContainerObj, kNoSlot},
    {kUnmapped, "type", kNone, TreeFields::kTypeOcsf},
    {kUnmapped, "child_pid", kNone, TreeFields::kChildOcsf},
    {kMetadata, "uid", kNone, TreeFields::kMetaUid},
    {kProcess, "pid", kNone, TreeFields::kPid},
    {kProcess, "ppid", kNone, TreeFields::kPpid},
    {kProcess, "parent_process", kParent, kNoSlot},
    {kProcess, "name", kNone, TreeFields::kName},
    {kProcess, "exe", kNone, TreeFields::kExe},
    {kProcess, "file", kFile, kNoSlot},
    {kProcess, "cmd_line", kNone, TreeFields::kCmd},
    {kParent, "pid", kNone, TreeFields::kPpidOcsf},
    {kFile, "path", kNone, TreeFields::kExeOcsf},
    {kHostObj, "hostname", kNone, TreeFields::kHost},
    {kDevice, "hostname", kNone, TreeFields::kHostOcsf},
    {kDevice, "container", kDevContainer, kNoSlot},
    {kDevContainer, "uid", kNone, TreeFields::kContainerOcsf},
    {kContainerObj, "id", kNone, TreeFields::kContainer},
};

class Scanner {
 public:
  Scanner(std::string_view line, std::string* vals) : p_(line.data()), end_(line.data() + line.size()), vals_(vals) {}

  // true: the line is valid JSON inside the subset and the slots are set.
  bool run() {
    ws();
    if (p_ == end_ || *p_ != '{' || !object(kRoot, 0)) return false;  // other values: the definition
    ws();
    return p_ == end_;
  }

 private:
  static constexpr int kMaxDepth = 64;

  void ws() {
    while (p_ < end_ && (*p_ == ' ' || *p_ == '\t' || *p_ == '\n' || *p_ == '\r')) ++p_;
  }

  // At a '"': the string's bytes, if it has no escape and only 0x20..0x7f.
  bool string(std::string_view* out) {
    const char* s = ++p_;
#if defined(__SSE2__)
    // 16 bytes at a time: the first '"', '\\', or byte < 0x20 or >= 0x80
    // (both are below 0x20 as signed bytes)
    const __m128i quote = _mm_set1_epi8('"'), bslash = _mm_set1_epi8('\\'), space = _mm_set1_epi8(0x20);
    while (end_ - p_ >= 16) {
      __m128i v = _mm_loadu_si128(reinterpret_cast<const __m128i*>(p_));
      int m = _mm_movemask_epi8(
          _mm_or_si128(_mm_or_si128(_mm_cmpeq_epi8(v, quote), _mm_cmpeq_epi8(v, bslash)), _mm_cmplt_epi8(v, space)));
      if (m) {
        p_ += __builtin_ctz(unsigned(m));
        return close_string(s, out);
      }
      p_ += 16;
    }
#endif
    while (p_ < end_ && *p_ != '"' && *p_ != '\\' && static_cast<signed char>(*p_) >= 0x20) ++p_;
    return close_string(s, out);
  }
  bool close_string(const char* s, std::string_view* out) {
    if (p_ == end_ || *p_ != '"') return false;  // an escape, a control or non-ASCII byte, or the end
    *out = std::string_view(s, size_t(p_ - s));
    ++p_;
    return true;
  }

  // A number (RFC 8259 grammar, without exponents); `integer`: no sign or fraction.
  bool number(std::string_view* out, bool* integer) {
    const char* s = p_;
    auto digits = [&] {
      const char* d = p_;
      while (p_ < end_ && *p_ >= '0' && *p_ <= '9') ++p_;
      return p_ > d;
    };
    if (*p_ == '-') ++p_;
    if (p_ < end_ && *p_ == '0') ++p_;
    else if (!digits()) return false;
    *integer = *s != '-';
    if (p_ < end_ && *p_ == '.') {
      ++p_;
      if (!digits()) return false;
      *integer = false;
    }
    if (p_ < end_ && (*p_ == 'e' || *p_ == 'E')) return false;  // 1e400: left to the definition
    *out = std::string_view(s, size_t(p_ - s));
    return true;
  }

  bool literal(std::string_view word) {
    if (size_t(end_ - p_) < word.size() || std::memcmp(p_, word.data(), word.size()) != 0) return false;
    p_ += word.size();
    return true;
  }

  // One value: an object followed along `node`, or a slot's value (`slot`
  // kNoSlot: only validated).
  bool value(Node node, int8_t slot, int depth) {
    if (p_ == end_) return false;
    switch (*p_) {
      case '{': return object(node, depth + 1);
      case '[': return array(depth + 1);
      case '"': {
        std::string_view s;
        if (!string(&s)) return false;
        if (slot != kNoSlot) vals_[slot].assign(s);
        return true;
      }
      case 't':
      case 'f':
      case 'n':
        if (!literal(*p_ == 't' ? "true" : *p_ == 'f' ? "false" : "null")) return false;
        if (slot != kNoSlot) vals_[slot].clear();
        return true;
      default: {
        std::string_view n;
        bool integer;
        if (!number(&n, &integer)) return false;
        if (slot == kNoSlot) return true;
        // nlohmann gives a float empty and an integer its decimal text,
        // which is the token itself for digits without sign (no leading
        // zeros); negative and too large ones are left to it
        if (integer && n.size() > 18) return false;
        if (!integer && n.find('.') == std::string_view::npos) return false;
        if (integer) vals_[slot].assign(n);
        else vals_[slot].clear();
        return true;
      }
    }
  }

  bool object(Node node, int depth) {
    if (depth > kMaxDepth) return false;
    ++p_;  // '{'
    ws();
    if (p_ < end_ && *p_ == '}') return ++p_, true;
    for (;;) {
      if (p_ == end_ || *p_ != '"') return false;
      std::string_view key;
      if (!string(&key)) return false;
      Node child = kNone;
      int8_t slot = kNoSlot;
      if (node != kNone) {
        // an empty key or one with a '.' could join a path in the
        // definition ("process.pid" at the top): leave those to it
        if (key.empty() || key.find('.') != std::string_view::npos) return false;
        for (const Edge& e : kEdges)
          if (e.parent == node && e.key == key) child = e.child, slot = e.slot;
      }
      ws();
      if (p_ == end_ || *p_ != ':') return false;
      ++p_;
      ws();
      if (!value(child, slot, depth)) return false;
      ws();
      if (p_ == end_) return false;
      if (*p_ == '}') return ++p_, true;
      if (*p_ != ',') return false;
      ++p_;
      ws();
    }
  }

  bool array(int depth) {
    if (depth > kMaxDepth) return false;
    ++p_;  // '['
    ws();
    if (p_ < end_ && *p_ == ']') return ++p_, true;
    for (;;) {
      if (!value(kNone, kNoSlot, depth)) return false;
      ws();
      if (p_ == end_) return false;
      if (*p_ == ']') return ++p_, true;
      if (*p_ != ',') return false;
      ++p_;
      ws();
    }
  }

  const char* p_;
  const char* const end_;
  std::string* vals_;
};

}  // namespace

bool TreeFields::parse(std::string_view line) {
  for (auto& v : vals_) v.clear();
  if (Scanner(line, vals_).run()) return scanned_ = true;
  return parse_sax(line);
}

bool TreeFields::parse_sax(std::string_view line) {
  scanned_ = false;
  for (auto& v : vals_) v.clear();
  SaxFields handler(vals_);
  return json::sax_parse(line.begin(), line.end(), &handler);
}

int TreeFields::num(Slot a, Slot b) const {
  const std::string& v = b == kSlots ? vals_[a] : first(a, b);
  int n = 0;
  for (char c : v) {
    if (c < '0' || c > '9' || n > 100'000'000) return 0;
    n = n * 10 + (c - '0');
  }
  return n;
}

}  // namespace vigil::hunt
