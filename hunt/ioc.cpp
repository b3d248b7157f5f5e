// IoC files: plain lists, CSV, STIX 2.1 (docs/hunt.md "Indicator files").
#include <arpa/inet.h>

#include <algorithm>
#include <cctype>
#include <cstring>
#include <fstream>
#include <sstream>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "hunt/hunt.hpp"

namespace vigil::hunt {

namespace {

using nlohmann::json;

std::string lower(std::string_view s) {
  std::string out(s);
  for (auto& c : out) c = char(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

std::string_view trim(std::string_view s) {
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.front()))) s.remove_prefix(1);
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.back()))) s.remove_suffix(1);
  return s;
}

void replace_all(std::string& s, std::string_view from, std::string_view to) {
  for (size_t pos = 0; (pos = s.find(from, pos)) != std::string::npos; pos += to.size()) s.replace(pos, from.size(), to);
}

// Threat reports "defang" indicators so nobody clicks them: evil[.]com, hxxps://.
std::string undefang(std::string_view s) {
  std::string out(trim(s));
  replace_all(out, "[.]", ".");
  replace_all(out, "(.)", ".");
  replace_all(out, "[:]", ":");
  if (out.size() >= 4 && strncasecmp(out.c_str(), "hxxp", 4) == 0) out.replace(0, 4, "http");
  return out;
}

bool all_hex(std::string_view s) {
  return std::all_of(s.begin(), s.end(), [](char c) { return std::isxdigit(static_cast<unsigned char>(c)); });
}

bool hash_ioc(std::string_view text, Ioc& out, std::string* why) {
  auto t = trim(text);
  if (t.size() == 64 && all_hex(t)) {
    out = {IocType::Sha256, lower(t), {}};
    return true;
  }
  if ((t.size() == 32 || t.size() == 40) && all_hex(t))
    *why = fmt::format("'{}' is an {} hash: vigil records SHA-256 only", t, t.size() == 32 ? "MD5" : "SHA-1");
  else
    *why = fmt::format("'{}' is not a SHA-256 (64 hex digits)", t);
  return false;
}

// "ADDR" or "ADDR/PREFIX" -> "NETWORK/PREFIX" (host bits cleared, canonical text).
bool ip_ioc(std::string_view text, Ioc& out, std::string* why) {
  std::string t(trim(text));
  int prefix = -1;
  if (auto slash = t.find('/'); slash != std::string::npos) {
    std::string p = t.substr(slash + 1);
    t.resize(slash);
    if (p.empty() || p.size() > 3 || !std::all_of(p.begin(), p.end(), ::isdigit)) {
      *why = fmt::format("'{}/{}': the prefix length is not a number", t, p);
      return false;
    }
    prefix = std::stoi(p);
  }
  unsigned char addr[16];
  int family = t.find(':') != std::string::npos ? AF_INET6 : AF_INET;
  if (inet_pton(family, t.c_str(), addr) != 1) {
    *why = fmt::format("'{}' is not an IP{} address", t, family == AF_INET6 ? "v6" : "v4");
    return false;
  }
  int bits = family == AF_INET6 ? 128 : 32;
  if (prefix < 0) prefix = bits;
  if (prefix > bits) {
    *why = fmt::format("'{}/{}': the prefix length is more than {}", t, prefix, bits);
    return false;
  }
  for (int b = prefix; b < bits; ++b) addr[b / 8] &= static_cast<unsigned char>(~(0x80u >> (b % 8)));
  char buf[INET6_ADDRSTRLEN];
  inet_ntop(family, addr, buf, sizeof buf);
  out = {IocType::Ip, prefix == bits ? std::string(buf) : fmt::format("{}/{}", buf, prefix), {}};
  return true;
}

bool valid_domain(std::string_view d) {
  if (d.empty() || d.size() > 253) return false;
  size_t label = 0;
  for (char c : d) {
    if (c == '.') {
      if (label == 0) return false;
      label = 0;
    } else if (std::isalnum(static_cast<unsigned char>(c)) || c == '-' || c == '_') {
      if (++label > 63) return false;
    } else {
      return false;
    }
  }
  return label > 0;
}

bool domain_ioc(std::string_view text, Ioc& out, std::string* why) {
  std::string d = lower(undefang(text));
  if (d.starts_with("*.")) d.erase(0, 2);  // subdomains match anyway
  if (!d.empty() && d.back() == '.') d.pop_back();
  if (!valid_domain(d)) {
    *why = fmt::format("'{}' is not a domain name", text);
    return false;
  }
  out = {IocType::Domain, d, {}};
  return true;
}

// A URL indicator matches its host: a domain (and its subdomains) or an IP.
bool url_ioc(std::string_view text, Ioc& out, std::string* why) {
  std::string u = undefang(text);
  auto scheme = u.find("://");
  std::string host = scheme == std::string::npos ? u : u.substr(scheme + 3);
  host = host.substr(0, host.find_first_of("/?#"));
  if (auto at = host.rfind('@'); at != std::string::npos) host.erase(0, at + 1);
  if (host.starts_with("[")) {  // [v6]:port
    auto close = host.find(']');
    host = close == std::string::npos ? "" : host.substr(1, close - 1);
  } else if (auto colon = host.rfind(':'); colon != std::string::npos) {
    host.resize(colon);
  }
  if (host.empty()) {
    *why = fmt::format("URL '{}' has no host", text);
    return false;
  }
  if (ip_ioc(host, out, why)) return true;
  if (domain_ioc(host, out, why)) return true;
  *why = fmt::format("URL '{}': host '{}' is neither a domain nor an IP address", text, host);
  return false;
}

bool path_ioc(std::string_view text, Ioc& out, std::string* why) {
  auto t = trim(text);
  if (t.empty() || (t[0] != '/' && t[0] != '*')) {
    *why = fmt::format("'{}' is not an absolute path or a glob starting with '/' or '*'", t);
    return false;
  }
  out = {IocType::Path, std::string(t), {}};
  return true;
}

// A file name without a directory matches it in any directory.
bool filename_ioc(std::string_view text, Ioc& out, std::string* why) {
  auto t = trim(text);
  if (t.find('/') != std::string_view::npos) return path_ioc(t, out, why);
  if (t.empty()) {
    *why = "empty file name";
    return false;
  }
  out = {IocType::Path, fmt::format("*/{}", t), {}};
  return true;
}

void add(IocSet& out, Ioc ioc, std::string origin) {
  ioc.origin = std::move(origin);
  out.iocs.push_back(std::move(ioc));
}

// ---- plain lists -------------------------------------------------------------

void parse_plain(std::string_view text, std::string_view origin, IocSet& out) {
  std::istringstream in{std::string(text)};
  std::string line;
  for (int n = 1; std::getline(in, line); ++n) {
    std::string_view l = line;
    for (size_t pos = 0; (pos = l.find('#', pos)) != std::string_view::npos; ++pos)
      if (pos == 0 || std::isspace(static_cast<unsigned char>(l[pos - 1]))) {
        l = l.substr(0, pos);
        break;
      }
    l = trim(l);
    if (l.empty()) continue;
    Ioc ioc;
    std::string why;
    if (infer_ioc(l, ioc, &why))
      add(out, std::move(ioc), fmt::format("{}:{}", origin, n));
    else
      out.errors.push_back(fmt::format("{}:{}: {}{}", origin, n, why,
                                       l.find(',') != std::string_view::npos
                                           ? " (a CSV file needs a header line naming a 'value' column)"
                                           : ""));
  }
}

// ---- CSV (RFC 4180 fields on one line; a header names the columns) ----------

std::vector<std::string> csv_fields(std::string_view line) {
  std::vector<std::string> fields(1);
  bool quoted = false;
  for (size_t i = 0; i < line.size(); ++i) {
    char c = line[i];
    if (quoted) {
      if (c == '"' && i + 1 < line.size() && line[i + 1] == '"') fields.back() += '"', ++i;
      else if (c == '"') quoted = false;
      else fields.back() += c;
    } else if (c == '"') {
      quoted = true;
    } else if (c == ',') {
      fields.emplace_back();
    } else if (c != '\r') {
      fields.back() += c;
    }
  }
  for (auto& f : fields) f = std::string(trim(f));
  return fields;
}

int column(const std::vector<std::string>& header, std::initializer_list<std::string_view> names) {
  for (auto name : names)
    for (size_t i = 0; i < header.size(); ++i)
      if (lower(header[i]) == name) return int(i);
  return -1;
}

// A CSV type column's value -> how to read the value. Names from MISP, OTX,
// STIX and plain usage.
enum class CsvKind { Sha256, Ip, Domain, Url, Path, FileName, Infer, Unmatchable, Unknown };
CsvKind csv_kind(std::string_view type) {
  std::string t = lower(trim(type));
  for (auto& c : t)
    if (c == '_' || c == ' ') c = '-';
  static const std::pair<std::string_view, CsvKind> kNames[] = {
      {"sha256", CsvKind::Sha256},       {"sha-256", CsvKind::Sha256},       {"filehash-sha256", CsvKind::Sha256},
      {"hash-sha256", CsvKind::Sha256},  {"file:hashes.sha-256", CsvKind::Sha256},
      {"ip", CsvKind::Ip},               {"ipv4", CsvKind::Ip},              {"ipv6", CsvKind::Ip},
      {"ip-dst", CsvKind::Ip},           {"ip-src", CsvKind::Ip},            {"ipv4-addr", CsvKind::Ip},
      {"ipv6-addr", CsvKind::Ip},        {"cidr", CsvKind::Ip},              {"ip-address", CsvKind::Ip},
      {"domain", CsvKind::Domain},       {"hostname", CsvKind::Domain},      {"domain-name", CsvKind::Domain},
      {"fqdn", CsvKind::Domain},         {"host", CsvKind::Domain},          {"url", CsvKind::Url},
      {"uri", CsvKind::Url},             {"path", CsvKind::Path},            {"filepath", CsvKind::Path},
      {"file-path", CsvKind::Path},      {"filename", CsvKind::FileName},    {"file-name", CsvKind::FileName},
      {"", CsvKind::Infer},              {"hash", CsvKind::Infer},           {"md5", CsvKind::Unmatchable},
      {"sha1", CsvKind::Unmatchable},    {"sha-1", CsvKind::Unmatchable},    {"filehash-md5", CsvKind::Unmatchable},
      {"filehash-sha1", CsvKind::Unmatchable},
  };
  for (const auto& [name, kind] : kNames)
    if (t == name) return kind;
  return CsvKind::Unknown;
}

void parse_csv(std::string_view text, std::string_view origin, IocSet& out) {
  std::istringstream in{std::string(text)};
  std::string line;
  std::vector<std::string> header;
  int type_col = -1, value_col = -1;
  for (int n = 1; std::getline(in, line); ++n) {
    auto l = trim(line);
    if (l.empty() || l[0] == '#') continue;
    auto f = csv_fields(l);
    if (header.empty()) {
      header = f;
      type_col = column(header, {"type", "indicator_type", "ioc_type", "kind"});
      value_col = column(header, {"value", "indicator", "ioc", "observable", "data"});
      continue;
    }
    auto where = fmt::format("{}:{}", origin, n);
    if (size_t(value_col) >= f.size() || trim(f[value_col]).empty()) {
      out.errors.push_back(fmt::format("{}: no value in column '{}'", where, header[value_col]));
      continue;
    }
    const std::string& value = f[value_col];
    std::string type = type_col >= 0 && size_t(type_col) < f.size() ? f[type_col] : "";
    Ioc ioc;
    std::string why;
    bool ok = false;
    switch (csv_kind(type)) {
      case CsvKind::Sha256: ok = hash_ioc(value, ioc, &why); break;
      case CsvKind::Ip: ok = ip_ioc(value, ioc, &why); break;
      case CsvKind::Domain: ok = domain_ioc(value, ioc, &why); break;
      case CsvKind::Url: ok = url_ioc(value, ioc, &why); break;
      case CsvKind::Path: ok = path_ioc(value, ioc, &why); break;
      case CsvKind::FileName: ok = filename_ioc(value, ioc, &why); break;
      case CsvKind::Infer: ok = infer_ioc(value, ioc, &why); break;
      case CsvKind::Unmatchable:
        out.unsupported.push_back(fmt::format("{}: type '{}': vigil records SHA-256 hashes only", where, type));
        continue;
      case CsvKind::Unknown:
        out.unsupported.push_back(
            fmt::format("{}: type '{}' is not one vigil can match (sha256, ip, cidr, domain, url, path, filename)",
                        where, type));
        continue;
    }
    if (ok) add(out, std::move(ioc), where);
    else out.errors.push_back(fmt::format("{}: {}", where, why));
  }
}

bool looks_like_csv(std::string_view text) {
  std::istringstream in{std::string(text)};
  std::string line;
  while (std::getline(in, line)) {
    auto l = trim(line);
    if (l.empty() || l[0] == '#') continue;
    if (l.find(',') == std::string_view::npos) return false;
    auto header = csv_fields(l);
    return column(header, {"value", "indicator", "ioc", "observable", "data"}) >= 0;
  }
  return false;
}

// ---- STIX 2.1 patterns: the subset "[obj:path = 'v' OR ...] OR [...]" ---------

class StixPattern {
 public:
  explicit StixPattern(std::string_view p) : p_(p) {}

  // Appends the comparisons; false with `why` set if the pattern is outside
  // the subset (AND, FOLLOWEDBY, qualifiers, other operators or objects).
  bool parse(std::vector<Ioc>& out, std::string* why) {
    why_ = why;
    if (!expr(out)) return false;
    skip();
    if (pos_ != p_.size()) return fail(fmt::format("unexpected '{}'", rest()));
    return true;
  }

 private:
  bool fail(std::string msg) {
    if (why_->empty()) *why_ = std::move(msg);
    return false;
  }
  void skip() {
    while (pos_ < p_.size() && std::isspace(static_cast<unsigned char>(p_[pos_]))) ++pos_;
  }
  std::string rest() const { return std::string(p_.substr(pos_, 24)); }
  bool eat(char c) {
    skip();
    if (pos_ < p_.size() && p_[pos_] == c) return ++pos_, true;
    return false;
  }
  std::string word() {  // keyword or operator
    skip();
    size_t start = pos_;
    while (pos_ < p_.size() && (std::isalpha(static_cast<unsigned char>(p_[pos_])) || std::strchr("=!<>", p_[pos_])))
      ++pos_;
    return std::string(p_.substr(start, pos_ - start));
  }
  bool keyword(std::string_view kw) {
    size_t save = pos_;
    auto w = word();
    if (strcasecmp(w.c_str(), std::string(kw).c_str()) == 0) return true;
    pos_ = save;
    return false;
  }
  bool expr(std::vector<Ioc>& out) {
    do {
      if (!term(out)) return false;
    } while (keyword("OR"));
    skip();
    if (pos_ < p_.size() && p_[pos_] != ')') {
      auto w = word();
      return fail(w.empty() ? fmt::format("unexpected '{}'", rest())
                            : fmt::format("'{}' between observations (only OR is supported)", w));
    }
    return true;
  }
  bool term(std::vector<Ioc>& out) {
    if (eat('(')) {
      if (!expr(out)) return false;
      return eat(')') || fail("missing ')'");
    }
    if (!eat('[')) return fail(fmt::format("expected '[' at '{}'", rest()));
    do {
      if (!comparison(out)) return false;
    } while (keyword("OR"));
    if (!eat(']')) {
      auto w = word();
      return fail(w.empty() ? "missing ']'" : fmt::format("'{}' inside an observation (only OR is supported)", w));
    }
    skip();
    size_t save = pos_;
    auto w = word();
    if (!w.empty() && strcasecmp(w.c_str(), "OR") != 0)
      return fail(fmt::format("'{}' qualifier or operator after an observation (not supported)", w));
    pos_ = save;
    return true;
  }
  bool quoted(std::string& s) {
    skip();
    if (pos_ >= p_.size() || p_[pos_] != '\'') return fail(fmt::format("expected a quoted string at '{}'", rest()));
    for (++pos_; pos_ < p_.size(); ++pos_) {
      char c = p_[pos_];
      if (c == '\\' && pos_ + 1 < p_.size()) s += p_[++pos_];
      else if (c == '\'') return ++pos_, true;
      else s += c;
    }
    return fail("unterminated string");
  }
  bool comparison(std::vector<Ioc>& out) {
    skip();
    std::string path;  // object path, quotes removed, lower case: file:hashes.sha-256
    while (pos_ < p_.size() && !std::isspace(static_cast<unsigned char>(p_[pos_])) && !std::strchr("=!<>]", p_[pos_])) {
      if (p_[pos_] == '\'') {
        std::string seg;
        if (!quoted(seg)) return false;
        path += lower(seg);
      } else {
        path += char(std::tolower(static_cast<unsigned char>(p_[pos_++])));
      }
    }
    if (path.empty()) return fail(fmt::format("expected an object path at '{}'", rest()));
    auto op = word();
    std::string upper_op = op;
    for (auto& c : upper_op) c = char(std::toupper(static_cast<unsigned char>(c)));
    std::string value;
    if (upper_op == "NOT") return fail("NOT comparisons are not supported");
    if (upper_op != "=" && !(upper_op == "ISSUBSET" && (path == "ipv4-addr:value" || path == "ipv6-addr:value")))
      return fail(fmt::format("operator '{}' on {} (only = and ISSUBSET on addresses are supported)", op, path));
    if (!quoted(value)) return false;
    Ioc ioc;
    std::string why;
    bool ok;
    if (path == "file:hashes.sha-256" || path == "file:hashes.sha256") ok = hash_ioc(value, ioc, &why);
    else if (path == "ipv4-addr:value" || path == "ipv6-addr:value") ok = ip_ioc(value, ioc, &why);
    else if (path == "domain-name:value") ok = domain_ioc(value, ioc, &why);
    else if (path == "url:value") ok = url_ioc(value, ioc, &why);
    else if (path == "file:name") ok = filename_ioc(value, ioc, &why);
    else return fail(fmt::format("object path '{}' is not supported", path));
    if (!ok) return fail(why);
    out.push_back(std::move(ioc));
    return true;
  }

  std::string_view p_;
  size_t pos_ = 0;
  std::string* why_ = nullptr;
};

void stix_object(const json& obj, std::string_view origin, IocSet& out) {
  if (!obj.is_object() || obj.value("type", "") != "indicator") return;  // malware, identity, relationship, ...
  std::string id = obj.value("id", "(indicator without id)");
  auto where = fmt::format("{}: {}", origin, id);
  if (obj.value("revoked", false)) return;  // withdrawn by its producer
  if (auto pt = obj.value("pattern_type", "stix"); pt != "stix") {
    out.unsupported.push_back(fmt::format("{}: pattern_type '{}' (only 'stix' is supported)", where, pt));
    return;
  }
  if (!obj.contains("pattern") || !obj["pattern"].is_string()) {
    out.errors.push_back(fmt::format("{}: no 'pattern' string", where));
    return;
  }
  std::string pattern = obj["pattern"];
  std::vector<Ioc> iocs;
  std::string why;
  if (!StixPattern(pattern).parse(iocs, &why)) {
    out.unsupported.push_back(fmt::format("{}: unsupported pattern {}: {}", where, pattern, why));
    return;
  }
  for (auto& ioc : iocs) add(out, std::move(ioc), where);
}

void parse_stix(std::string_view text, std::string_view origin, IocSet& out) {
  json j;
  try {
    j = json::parse(text);
  } catch (const json::parse_error& e) {
    out.errors.push_back(fmt::format("{}: not valid JSON (byte {}): {}", origin, e.byte, e.what()));
    return;
  }
  const json* list = &j;
  if (j.is_object() && j.value("type", "") == "bundle") {
    if (!j.contains("objects") || !j["objects"].is_array()) {
      out.errors.push_back(fmt::format("{}: STIX bundle without an 'objects' array", origin));
      return;
    }
    list = &j["objects"];
  }
  if (list->is_array()) {
    for (const auto& o : *list) stix_object(o, origin, out);
  } else if (list->is_object() && list->value("type", "") == "indicator") {
    stix_object(*list, origin, out);
  } else {
    out.errors.push_back(fmt::format("{}: JSON that is neither a STIX bundle nor an indicator", origin));
  }
}

}  // namespace

std::string_view type_name(IocType t) {
  switch (t) {
    case IocType::Sha256: return "sha256";
    case IocType::Ip: return "ip";
    case IocType::Domain: return "domain";
    case IocType::Path: return "path";
  }
  return "?";
}

bool typed_ioc(IocType type, std::string_view text, Ioc& out, std::string* why) {
  switch (type) {
    case IocType::Sha256: return hash_ioc(text, out, why);
    case IocType::Ip: return ip_ioc(text, out, why);
    case IocType::Domain: return domain_ioc(text, out, why);
    case IocType::Path: return path_ioc(text, out, why);
  }
  return false;
}

bool infer_ioc(std::string_view text, Ioc& out, std::string* why) {
  std::string t = undefang(text);
  if (t.empty()) {
    *why = "empty indicator";
    return false;
  }
  if (all_hex(t) && (t.size() == 64 || t.size() == 40 || t.size() == 32)) return hash_ioc(t, out, why);
  if (t[0] == '/') return path_ioc(t, out, why);
  if (t.find("://") != std::string::npos) return url_ioc(t, out, why);
  std::string ignored;
  if (ip_ioc(t, out, why)) return true;
  bool ip_chars = std::all_of(t.begin(), t.end(), [](char c) { return std::isxdigit(static_cast<unsigned char>(c)) || std::strchr(".:/", c); });
  bool digits = std::all_of(t.begin(), t.end(), [](char c) { return std::isdigit(static_cast<unsigned char>(c)) || c == '.'; });
  if (ip_chars && (digits || t.find_first_of(":/") != std::string::npos)) return false;  // a bad address: say why
  if (t.find('.') != std::string::npos && domain_ioc(t, out, &ignored)) return true;
  *why = fmt::format("cannot tell the type of '{}' (expected a SHA-256, IP address, CIDR, domain, URL or absolute path)", t);
  return false;
}

void parse_iocs(std::string_view text, std::string_view origin, IocSet& out) {
  auto t = trim(text);
  if (!t.empty() && (t[0] == '{' || t[0] == '[')) parse_stix(t, origin, out);
  else if (looks_like_csv(text)) parse_csv(text, origin, out);
  else parse_plain(text, origin, out);
}

void load_ioc_file(const std::string& path, IocSet& out) {
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    out.errors.push_back(fmt::format("{}: cannot open: {}", path, std::strerror(errno)));
    return;
  }
  std::ostringstream ss;
  ss << in.rdbuf();
  auto before = out.iocs.size() + out.unsupported.size() + out.errors.size();
  parse_iocs(ss.str(), path, out);
  if (out.iocs.size() + out.unsupported.size() + out.errors.size() == before)
    out.errors.push_back(fmt::format("{}: no indicators in the file", path));
}

}  // namespace vigil::hunt
