// The compiled indicator set: raw-line pre-filter and exact match on records.
//
// Pre-filter (docs/hunt.md "Speed"): every indicator is matched against a
// JSON string value, so only the quotes that can close a value matter: a '"'
// not followed by ':' (that one closes a key) and not preceded by ':', ',',
// '[' or '{' (that one opens a value or key in compact JSON). Those quotes
// are found 64 bytes at a time with SIMD compares turned into a 64-bit mask
// (SSE2 on x86-64, NEON on arm64, a portable byte loop elsewhere and in the
// tests). At each closing quote the last L bytes (L = 1..8, the lengths in
// use) are folded to lower case and packed into a 64-bit key, tested against
// a small Bloom bitmap (8 KiB, two bits a key, stays in L1) and then a hash
// set. A SHA-256, a domain (and so its subdomains), an exact path and a
// glob's literal suffix all end a value, so a line without such a key cannot
// match. IP indicators (addresses and CIDRs) are tested by parsing the value
// when it is 2..45 bytes of [0-9a-f.:]. Globs that end in a wildcard use
// memmem on their longest literal. Only lines that pass are parsed.
#include <arpa/inet.h>
#include <fnmatch.h>

#include <algorithm>
#include <array>
#include <bit>
#include <cstring>
#include <unordered_map>
#include <unordered_set>

#if defined(__SSE2__)
#include <emmintrin.h>
#elif defined(__ARM_NEON)
#include <arm_neon.h>
#endif

#include <nlohmann/json.hpp>

#include "hunt/hunt.hpp"

namespace vigil::hunt {

namespace {

using nlohmann::json;

// Where each kind of indicator is looked for: vigil's former layout and the
// OCSF 1.x layout vigil writes now (docs/events.md: process.file.hashes,
// actor.process, src/dst_endpoint, query, answers, unmapped). "[]" walks every element of an array. A new layout is supported
// by adding its paths here (and to docs/hunt.md).
struct FieldPath {
  IocType type;
  const char* path;
};
constexpr FieldPath kFieldPaths[] = {
    {IocType::Sha256, "process.sha256"},
    {IocType::Sha256, "file.sha256"},
    {IocType::Sha256, "process.file.hashes[].value"},
    {IocType::Sha256, "actor.process.file.hashes[].value"},
    {IocType::Sha256, "file.hashes[].value"},
    {IocType::Ip, "network.remote.addr"},
    {IocType::Ip, "network.local.addr"},
    {IocType::Ip, "dns.answers[]"},
    {IocType::Ip, "dst_endpoint.ip"},
    {IocType::Ip, "src_endpoint.ip"},
    {IocType::Ip, "answers[].rdata"},
    {IocType::Domain, "dns.qname"},
    {IocType::Domain, "network.remote_name"},
    {IocType::Domain, "dst_endpoint.hostname"},
    {IocType::Domain, "query.hostname"},
    {IocType::Path, "process.exe"},
    {IocType::Path, "process.script"},
    {IocType::Path, "file.path"},
    {IocType::Path, "file.target"},
    {IocType::Path, "process.file.path"},
    {IocType::Path, "actor.process.file.path"},
    {IocType::Path, "unmapped.process.script"},
    {IocType::Path, "file_result.path"},
};

struct Segment {
  std::string key;
  bool each = false;  // "key[]"
};
std::vector<Segment> split_path(std::string_view p) {
  std::vector<Segment> out;
  while (!p.empty()) {
    auto dot = p.find('.');
    std::string_view s = p.substr(0, dot);
    Segment seg;
    if (s.ends_with("[]")) seg.each = true, s.remove_suffix(2);
    seg.key = s;
    out.push_back(std::move(seg));
    if (dot == std::string_view::npos) break;
    p.remove_prefix(dot + 1);
  }
  return out;
}

template <class F>
void walk(const json& j, const std::vector<Segment>& segs, size_t i, F&& f) {
  if (i == segs.size()) {
    if (j.is_string()) f(j.get_ref<const std::string&>());
    return;
  }
  if (!j.is_object()) return;
  auto it = j.find(segs[i].key);
  if (it == j.end()) return;
  if (segs[i].each) {
    if (it->is_array())
      for (const auto& e : *it) walk(e, segs, i + 1, f);
  } else {
    walk(*it, segs, i + 1, f);
  }
}

inline unsigned char fold(unsigned char c) { return c >= 'A' && c <= 'Z' ? c | 0x20 : c; }

constexpr uint64_t kOnes = 0x0101010101010101ull, kHigh = 0x8080808080808080ull, kLow7 = 0x7f7f7f7f7f7f7f7full;
constexpr bool kLittle = std::endian::native == std::endian::little;

inline uint64_t load64(const char* p) {
  uint64_t v;
  std::memcpy(&v, p, 8);
  return v;
}

// ASCII upper case to lower case in 8 bytes at once (SWAR).
inline uint64_t fold8(uint64_t v) {
  uint64_t h = v & kLow7;
  uint64_t ge_a = h + (0x80 - 'A') * kOnes, gt_z = h + (0x80 - 'Z' - 1) * kOnes;
  return v | ((ge_a & ~gt_z & ~v & kHigh) >> 2);
}

// The `len` (1..8) bytes before p + end, case-folded, as one integer: the
// same bytes give the same key whichever way they are read, since the
// indicator side is computed by this function too.
inline uint64_t pack(const char* p, size_t end, int len) {
  if (kLittle && end >= 8) {
    uint64_t v = fold8(load64(p + end - 8));
    return len == 8 ? v : v >> (8 * (8 - len));
  }
  uint64_t v = 0;  // near the start of the buffer, or big-endian
  for (int k = 0; k < len; ++k) v |= uint64_t(fold(static_cast<unsigned char>(p[end - len + k]))) << (8 * k);
  return v;
}

// ---- closing quotes, 64 bytes at a time ----------------------------------
// For the 64 bytes at p (p[-2], p[-1] and p[64] are readable too): bit k of
// `quotes` is set when p[k] is '"', bit k of `ends` when that quote may close
// a string value: it is not followed by ':' (it closes a key) and, when
// `skip_openers`, not preceded by ',', '[', '{' or '":' (it opens a key or a
// value in compact JSON). `skip_openers` is false when some indicator key
// ends with one of those bytes. masks_portable is the definition;
// masks_simd computes the same (a unit test compares them).
struct Masks {
  uint64_t quotes = 0, ends = 0;
};

inline bool opens(const char* q) {  // q points at a '"'
  return q[-1] == ',' || q[-1] == '[' || q[-1] == '{' || (q[-1] == ':' && q[-2] == '"');
}

[[gnu::always_inline]] inline Masks masks_portable(const char* p, bool skip_openers) {
  Masks m;
  for (int k = 0; k < 64; ++k) {
    if (p[k] != '"') continue;
    m.quotes |= 1ull << k;
    if (p[k + 1] != ':' && !(skip_openers && opens(p + k))) m.ends |= 1ull << k;
  }
  return m;
}

#if defined(__SSE2__) || (defined(__ARM_NEON) && defined(__aarch64__))
// 16 bytes at a time with GCC/Clang vector extensions: `a == b` gives 0xff
// in each lane where the bytes are equal; bits16 turns that into one bit a
// lane (SSE2 movemask; on arm64, weight each lane by its bit and add up).
using V16 = unsigned char __attribute__((vector_size(16)));
inline V16 load16(const char* p) {
  V16 v;
  std::memcpy(&v, p, 16);
  return v;
}
inline uint64_t bits16(V16 lanes) {
#if defined(__SSE2__)
  return uint16_t(_mm_movemask_epi8(__m128i(lanes)));
#else
  const uint8x16_t weight = {1, 2, 4, 8, 16, 32, 64, 128, 1, 2, 4, 8, 16, 32, 64, 128};
  uint8x16_t t = vandq_u8(uint8x16_t(lanes), weight);
  return vaddv_u8(vget_low_u8(t)) | uint64_t(vaddv_u8(vget_high_u8(t))) << 8;
#endif
}
[[gnu::always_inline]] inline Masks masks_simd(const char* p, bool skip_openers) {
  Masks m;
  for (int j = 0; j < 64; j += 16) {
    V16 c = load16(p + j), next = load16(p + j + 1), prev = load16(p + j - 1);
    V16 quote = V16(c == '"');
    V16 end = quote & ~V16(next == ':');
    if (skip_openers) {
      V16 prev2 = load16(p + j - 2);  // '[' | 0x20 == '{'
      end &= ~V16((prev == ',') | ((prev | 0x20) == '{') | ((prev == ':') & (prev2 == '"')));
    }
    m.quotes |= bits16(quote) << j;
    m.ends |= bits16(end) << j;
  }
  return m;
}
#else
Masks masks_simd(const char* p, bool skip_openers) { return masks_portable(p, skip_openers); }
#endif

// Could `v` be an IP address ("1.2.3.4", "2001:db8::1", "::ffff:1.2.3.4")?
// A cheap test before inet_pton: many values are numbers, hex ids or
// versions ("1.5.0"). IPv4 has 3 dots, IPv6 at least 2 colons, the first
// within its first 5 bytes.
inline bool maybe_ip(std::string_view v) {
  static constexpr auto kIpChar = [] {
    std::array<bool, 256> t{};
    for (unsigned char c : std::string_view("0123456789abcdefABCDEF.:")) t[c] = true;
    return t;
  }();
  if (v.size() < 2 || v.size() > 45) return false;
  // IPv4 is at most 15 bytes; IPv6 has a ':' after at most 4 hex digits:
  // ids, hashes and long numbers end here, before the byte loop
  if (v.size() > 15 && v.substr(0, 5).find(':') == std::string_view::npos) return false;
  int dots = 0, colons = 0;
  for (char c : v) {
    if (!kIpChar[static_cast<unsigned char>(c)]) return false;
    dots += c == '.';
    colons += c == ':';
  }
  return colons >= 2 || (colons == 0 && dots == 3);
}

using V6 = std::array<unsigned char, 16>;
struct V6Hash {
  size_t operator()(const V6& a) const {
    uint64_t x, y;
    std::memcpy(&x, a.data(), 8);
    std::memcpy(&y, a.data() + 8, 8);
    return std::hash<uint64_t>()(x * 0x9E3779B97F4A7C15ull ^ y);
  }
};

// JSON-escaped form, as the value appears in the raw line.
std::string escaped(const std::string& s) {
  auto d = json(s).dump(-1, ' ', false, json::error_handler_t::replace);
  return d.substr(1, d.size() - 2);
}

std::string lower(std::string s) {
  for (auto& c : s) c = char(fold(static_cast<unsigned char>(c)));
  return s;
}

}  // namespace

struct Matcher::Impl {
  std::vector<Ioc> iocs;
  std::unordered_map<std::string, const Ioc*> hashes, domains, paths;
  std::vector<const Ioc*> globs;
  std::array<std::unordered_map<uint32_t, const Ioc*>, 33> v4;
  std::array<std::unordered_map<V6, const Ioc*, V6Hash>, 129> v6;
  std::vector<int> v4_prefixes, v6_prefixes;  // in use, longest first
  std::vector<std::pair<IocType, std::vector<Segment>>> fields;

  // pre-filter
  static constexpr int kBloomBits = 1 << 16;
  std::vector<uint64_t> bloom = std::vector<uint64_t>(kBloomBits / 64);
  std::unordered_set<uint64_t> keys;
  std::vector<int> lens;  // key lengths in use
  std::vector<std::string> needles;
  bool always = false;  // a glob without any literal: every line is a candidate
  // No key ends with ':', ',', '[' or '{', so a quote after one (an opening
  // quote in compact JSON) need not be looked at (Masks).
  bool skip_openers = true;

  template <bool kSimd>
  Scan scan(std::string_view line) const;

  // two bits a key, from the top and the next 16 bits of one multiply
  static uint64_t bloom_hash(uint64_t v) { return v * 0x9E3779B97F4A7C15ull; }
  void bloom_set(size_t bit) { bloom[bit / 64] |= 1ull << (bit % 64); }
  bool bloom_has(size_t bit) const { return bloom[bit / 64] >> (bit % 64) & 1; }

  void add_key(std::string_view tail) {
    int len = int(std::min<size_t>(tail.size(), 8));
    uint64_t v = pack(tail.data(), tail.size(), len);
    keys.insert(v);
    if (std::strchr(":,[{", tail.back())) skip_openers = false;
    bloom_set(bloom_hash(v) >> 48);
    bloom_set(bloom_hash(v) >> 32 & 0xffff);
    if (std::find(lens.begin(), lens.end(), len) == lens.end()) lens.push_back(len);
  }

  void add_glob(const Ioc& ioc) {
    globs.push_back(&ioc);
    const std::string& g = ioc.value;
    auto last_wild = g.find_last_of("*?[]\\");
    std::string suffix = g.substr(last_wild + 1);
    if (!suffix.empty()) return add_key(escaped(suffix));
    // the longest literal piece
    std::string best, cur;
    for (char c : g) {
      if (std::strchr("*?[]\\", c)) cur.clear();
      else if ((cur += c).size() > best.size()) best = cur;
    }
    if (best.size() >= 2) needles.push_back(escaped(best));
    else always = true;
  }

  static bool parse_ip(std::string_view text, bool* is_v6, uint32_t* v4addr, V6* v6addr) {
    char buf[INET6_ADDRSTRLEN];
    if (text.size() >= sizeof buf || text.size() < 2) return false;
    std::memcpy(buf, text.data(), text.size());
    buf[text.size()] = 0;
    if (text.find(':') == std::string_view::npos) {
      in_addr a;
      if (inet_pton(AF_INET, buf, &a) != 1) return false;
      *is_v6 = false;
      *v4addr = ntohl(a.s_addr);
      return true;
    }
    if (inet_pton(AF_INET6, buf, v6addr->data()) != 1) return false;
    static const unsigned char kMapped[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};
    if (std::memcmp(v6addr->data(), kMapped, 12) == 0) {  // ::ffff:a.b.c.d is an IPv4 peer
      *is_v6 = false;
      *v4addr = uint32_t(v6addr->at(12)) << 24 | uint32_t(v6addr->at(13)) << 16 | uint32_t(v6addr->at(14)) << 8 | v6addr->at(15);
      return true;
    }
    *is_v6 = true;
    return true;
  }

  const Ioc* match_ip(std::string_view text) const {
    bool is_v6;
    uint32_t a4;
    V6 a6;
    if (!parse_ip(text, &is_v6, &a4, &a6)) return nullptr;
    if (!is_v6) {
      for (int p : v4_prefixes) {
        uint32_t net = p == 0 ? 0 : a4 & (~uint32_t(0) << (32 - p));
        if (auto it = v4[p].find(net); it != v4[p].end()) return it->second;
      }
      return nullptr;
    }
    for (int p : v6_prefixes) {
      V6 net = a6;
      for (int b = p; b < 128; ++b) net[b / 8] &= static_cast<unsigned char>(~(0x80u >> (b % 8)));
      if (auto it = v6[p].find(net); it != v6[p].end()) return it->second;
    }
    return nullptr;
  }

  [[gnu::always_inline]] bool ends_with_key(const char* p, size_t e) const {
    for (int len : lens) {
      if (e < size_t(len)) continue;
      uint64_t v = pack(p, e, len), h = bloom_hash(v);
      if (bloom_has(h >> 48) && bloom_has(h >> 32 & 0xffff) && keys.count(v)) return true;
    }
    return false;
  }
};

Matcher::Matcher(std::vector<Ioc> iocs) : impl_(std::make_unique<Impl>()) {
  auto& m = *impl_;
  m.iocs = std::move(iocs);
  for (const auto& ioc : m.iocs) {
    switch (ioc.type) {
      case IocType::Sha256:
        m.hashes.emplace(ioc.value, &ioc);
        m.add_key(ioc.value);
        break;
      case IocType::Domain:
        m.domains.emplace(ioc.value, &ioc);
        m.add_key(ioc.value);
        break;
      case IocType::Path:
        if (ioc.value.find_first_of("*?[") != std::string::npos) {
          m.add_glob(ioc);
        } else {
          m.paths.emplace(ioc.value, &ioc);
          m.add_key(escaped(ioc.value));
        }
        break;
      case IocType::Ip: {
        auto slash = ioc.value.find('/');  // "ADDR" (a host) or "NET/PREFIX"
        int prefix = slash == std::string::npos ? (ioc.value.find(':') == std::string::npos ? 32 : 128)
                                                : std::stoi(ioc.value.substr(slash + 1));
        bool is_v6;
        uint32_t a4;
        V6 a6;
        if (!Impl::parse_ip(ioc.value.substr(0, slash), &is_v6, &a4, &a6)) break;  // normalised by ip_ioc
        if (is_v6) m.v6[prefix].emplace(a6, &ioc);
        else m.v4[ioc.value.find(':') == std::string::npos ? prefix : std::max(0, prefix - 96)].emplace(a4, &ioc);
        break;
      }
    }
  }
  for (int p = 128; p >= 0; --p) {
    if (!m.v6[p].empty()) m.v6_prefixes.push_back(p);
    if (p <= 32 && !m.v4[p].empty()) m.v4_prefixes.push_back(p);
  }
  for (const auto& f : kFieldPaths) m.fields.emplace_back(f.type, split_path(f.path));
}

Matcher::~Matcher() = default;

size_t Matcher::size() const { return impl_->iocs.size(); }

template <bool kSimd>
Matcher::Scan Matcher::Impl::scan(std::string_view line) const {
  Scan s;
  s.candidate = always;
  const bool ips = !v4_prefixes.empty() || !v6_prefixes.empty();
  const char* p = line.data();
  const size_t n = line.size();
  size_t last_quote = SIZE_MAX;  // the last '"' before the current block
  for (size_t i = 0; i < n; i += 64) {
    Masks k;
    if (i >= 2 && i + 65 <= n) {
      k = kSimd ? masks_simd(p + i, skip_openers) : masks_portable(p + i, skip_openers);
    } else {  // the line's first and last blocks: a copy, zeros outside the line
      char pad[2 + 64 + 1] = {};
      size_t from = i < 2 ? 0 : i - 2, to = std::min(n, i + 65);
      std::memcpy(pad + 2 - (i - from), p + from, to - from);
      k = kSimd ? masks_simd(pad + 2, skip_openers) : masks_portable(pad + 2, skip_openers);
    }
    for (uint64_t ends = k.ends; ends; ends &= ends - 1) {
      const size_t bit = size_t(std::countr_zero(ends)), e = i + bit;  // p[e] closes a value
      const uint64_t before = k.quotes & ((uint64_t(1) << bit) - 1);
      const size_t start = (before ? i + 63 - size_t(std::countl_zero(before)) : last_quote) + 1;  // its first byte
      const std::string_view value(p + start, e - start);
      if (value == "exec" || value == "fork") s.process = true;
      if (s.candidate || e == 0) continue;
      if (ends_with_key(p, e) || (p[e - 1] == '.' && ends_with_key(p, e - 1)))
        s.candidate = true;
      else if (ips && maybe_ip(value) && match_ip(value))
        s.candidate = true;
    }
    if (k.quotes) last_quote = i + 63 - size_t(std::countl_zero(k.quotes));
  }
  if (!s.candidate)
    for (const auto& nd : needles)
      if (memmem(p, n, nd.data(), nd.size())) {
        s.candidate = true;
        break;
      }
  return s;
}

Matcher::Scan Matcher::scan(std::string_view line) const { return impl_->scan<true>(line); }
Matcher::Scan Matcher::scan_portable(std::string_view line) const { return impl_->scan<false>(line); }

std::vector<Hit> Matcher::match(const json& record) const {
  const auto& m = *impl_;
  std::vector<Hit> hits;
  for (const auto& field_path : m.fields) {
    // not a structured binding: clang before 16 cannot capture one in the lambda
    const IocType type = field_path.first;
    const std::vector<Segment>& segs = field_path.second;
    walk(record, segs, 0, [&](const std::string& v) {
      const Ioc* hit = nullptr;
      switch (type) {
        case IocType::Sha256:
          if (v.size() == 64)
            if (auto it = m.hashes.find(lower(v)); it != m.hashes.end()) hit = it->second;
          break;
        case IocType::Ip: hit = m.match_ip(v); break;
        case IocType::Domain: {
          std::string d = lower(v);
          if (!d.empty() && d.back() == '.') d.pop_back();
          for (size_t pos = 0; !hit && pos != std::string::npos; pos = d.find('.', pos), pos += pos != std::string::npos) {
            if (auto it = m.domains.find(d.substr(pos)); it != m.domains.end()) hit = it->second;
          }
          break;
        }
        case IocType::Path:
          if (auto it = m.paths.find(v); it != m.paths.end()) hit = it->second;
          for (size_t g = 0; !hit && g < m.globs.size(); ++g)
            if (fnmatch(m.globs[g]->value.c_str(), v.c_str(), 0) == 0) hit = m.globs[g];
          break;
      }
      if (hit) {
        std::string field;
        for (const auto& s : segs) field += (field.empty() ? "" : ".") + s.key + (s.each ? "[]" : "");
        hits.push_back({hit, std::move(field), v});
      }
    });
  }
  return hits;
}

}  // namespace vigil::hunt
