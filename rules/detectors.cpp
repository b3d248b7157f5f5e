// Stateful detectors and threat-intelligence lists: what a condition cannot
// express (rates, distinct counts, reputation). Their alerts have the same
// shape as rule alerts.
#include <arpa/inet.h>
#include <fcntl.h>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <fstream>
#include <set>

#include <fmt/format.h>

#include "rules/internal.hpp"

namespace vigil::rules {

const std::map<std::string, std::map<std::string, double>>& detector_defaults() {
  static const std::map<std::string, std::map<std::string, double>> kDefaults = {
      // distinct ports on one host, or distinct hosts, contacted by one process within window
      {"port_scan", {{"ports", 15}, {"hosts", 30}, {"window", 60e9}}},
      // distinct files truncated-for-write or renamed by one process within window
      {"mass_file_rewrite", {{"files", 50}, {"window", 60e9}}},
      // registered label: length, Shannon entropy (bits/char), vowel share
      {"dga_domain", {{"min_length", 12}, {"min_entropy", 3.3}, {"max_vowel_ratio", 0.25}}},
  };
  return kDefaults;
}

namespace {

void add_proc_fields(const Event& ev, Hit* h) {
  if (!ev.proc) return;
  h->fields.push_back({"proc.name", ev.proc->name});
  h->fields.push_back({"proc.pid", FieldValue::num(ev.proc->pid)});
  h->fields.push_back({"proc.exepath", ev.proc->exe});
  h->fields.push_back({"proc.cmdline", ev.proc->cmdline()});
}

Hit make_hit(const DetectorCfg& d, const Event& ev, std::string rule, std::string text, int key) {
  Hit h;
  h.rule = std::move(rule);
  h.priority = d.priority;
  h.tags = d.tags;
  h.action = d.action;
  h.key = key;
  h.output = fmt::format("{} (process={} pid={} command={})", text,
                         ev.proc ? output_value(ev.proc->name) : "<NA>", ev.proc ? ev.proc->pid : 0,
                         ev.proc ? output_value(ev.proc->cmdline()) : "<NA>");
  add_proc_fields(ev, &h);
  return h;
}

bool is_connect(const Event& ev) {
  return ev.net && ev.net->remote.family && (ev.type == "connect" || ev.type == "sendto" || ev.type == "sendmsg");
}

// Opens that destroy data (O_TRUNC of a file that had some: the sensor's
// evt.arg.overwrites) and renames; creating new files is not a rewrite.
bool is_rewrite(const Event& ev) {
  if (!ev.file || ev.file->path.empty()) return false;
  if (ev.type.rfind("rename", 0) == 0) return true;
  const std::string* over = ev.arg("overwrites");
  return over && *over == "true";
}

bool is_create(const Event& ev) {
  bool open = ev.type == "open" || ev.type == "openat" || ev.type == "openat2" || ev.type == "creat";
  return open && ev.file && (ev.type == "creat" || (ev.file->flags & O_CREAT));
}

// The label an owner registered: "c2" in "x.c2.example"-like names, the
// label before a two-level public suffix (co.uk, com.au) when there is one.
std::string_view registered_label(std::string_view q) {
  while (!q.empty() && q.back() == '.') q.remove_suffix(1);
  auto label_before = [&](size_t end) {  // label ending at end (exclusive)
    size_t b = q.rfind('.', end ? end - 1 : 0);
    b = (b == std::string_view::npos || end == 0) ? 0 : b + 1;
    return q.substr(b, end - b);
  };
  size_t last = q.rfind('.');
  if (last == std::string_view::npos) return q;
  std::string_view tld = q.substr(last + 1), second = label_before(last);
  size_t second_start = size_t(second.data() - q.data());
  if (tld.size() == 2 && second.size() <= 3 && second_start > 0) return label_before(second_start - 1);
  return second;
}

}  // namespace

bool dga_like(std::string_view qname, const std::map<std::string, double>& p) {
  std::string_view l = registered_label(qname);
  if (double(l.size()) < p.at("min_length")) return false;
  int counts[256] = {};
  int vowels = 0, letters = 0;
  for (unsigned char c : l) {
    c = static_cast<unsigned char>(std::tolower(c));
    ++counts[c];
    if (std::isalpha(c)) ++letters;
    if (std::strchr("aeiouy", c)) ++vowels;
  }
  double h = 0;
  for (int c : counts)
    if (c) {
      double f = double(c) / double(l.size());
      h -= f * std::log2(f);
    }
  double vowel_ratio = double(vowels) / double(l.size());
  return h >= p.at("min_entropy") && vowel_ratio <= p.at("max_vowel_ratio") && letters > 0;
}

// Adds one observation and forgets those older than the window (and the
// oldest beyond a cap, so memory stays bounded).
void Detectors::Window::add(int64_t t, const std::string& a, int port, double window) {
  q.push_back({t, a, port});
  ++by_key[a][port];
  while (!q.empty() && (double(t - q.front().t) > window || q.size() > 4096)) {
    auto k = by_key.find(q.front().a);
    if (--k->second[q.front().port] == 0) k->second.erase(q.front().port);
    if (k->second.empty()) by_key.erase(k);
    q.pop_front();
  }
}

Detectors::Detectors(std::vector<DetectorCfg> cfg) {
  for (auto& d : cfg)
    if (d.enabled) cfg_.push_back(std::move(d));
  for (const auto& d : cfg_) {
    const auto& p = d.params;
    if (d.name == "port_scan") active_.push_back({&d, Kind::PortScan, p.at("window"), p.at("ports"), p.at("hosts")});
    else if (d.name == "mass_file_rewrite") active_.push_back({&d, Kind::MassRewrite, p.at("window"), p.at("files")});
    else if (d.name == "dga_domain") active_.push_back({&d, Kind::Dga});
  }
}

namespace {
// The evt.types that carry each detector's input: connects and addressed
// sends; write-opens and renames; DNS messages (the sends and receives of a
// DNS exchange, docs/design-probes.md "DNS window").
constexpr std::string_view kConnectTypes[] = {"connect", "sendto", "sendmsg"};
constexpr std::string_view kRewriteTypes[] = {"open", "openat", "openat2", "creat", "rename", "renameat", "renameat2"};
constexpr std::string_view kDnsTypes[] = {"sendto", "sendmsg", "sendmmsg", "write", "writev",
                                          "read", "recvfrom", "recvmsg", "recvmmsg"};
}  // namespace

std::vector<Detectors::Interest> Detectors::interest() const {
  std::vector<Interest> out;
  for (const Active& a : active_) {
    auto add = [&](const auto& types) {
      for (std::string_view t : types) out.push_back({t, a.cfg->action, &a.cfg->name});
    };
    if (a.kind == Kind::PortScan) add(kConnectTypes);
    else if (a.kind == Kind::MassRewrite) add(kRewriteTypes);
    else add(kDnsTypes);
  }
  return out;
}

void Detectors::observe(const Event& ev, std::vector<Hit>* hits, const Admit& admit) {
  int pid = ev.proc ? ev.proc->pid : 0;
  for (size_t i = 0; i < active_.size(); ++i) {
    const Active& a = active_[i];
    const DetectorCfg& d = *a.cfg;
    const auto& p = d.params;
    if (a.kind == Kind::PortScan && ev.net && is_connect(ev) && ev.net->remote.port) {
      Window& w = conns_[pid];
      w.add(ev.time_ns, ev.net->remote.addr, ev.net->remote.port, a.window);
      size_t ports = w.by_key[ev.net->remote.addr].size(), hosts = w.by_key.size();
      bool by_ports = double(ports) >= a.a;
      void* token = nullptr;
      if ((by_ports || double(hosts) >= a.b) && admit(int(i), &token)) {
        std::string what = by_ports ? fmt::format("{} distinct ports on {}", ports, ev.net->remote.addr)
                                    : fmt::format("{} distinct hosts", hosts);
        Hit h = make_hit(d, ev, "Port scan", fmt::format("Port scan: {} contacted within {}s", what, p.at("window") / 1e9), int(i));
        h.fields.push_back({"fd.sip", ev.net->remote.addr});
        h.fields.push_back({"vigil.distinct_ports", FieldValue::num(int64_t(ports))});
        h.fields.push_back({"vigil.distinct_hosts", FieldValue::num(int64_t(hosts))});
        h.token = token;
        hits->push_back(std::move(h));
      }
      if (by_ports || double(hosts) >= a.b) w.clear();  // start counting again
    } else if (a.kind == Kind::MassRewrite && ev.file && (is_rewrite(ev) || is_create(ev))) {
      // Renaming a file this process created in the window is an atomic
      // write (write a temp file, rename it over the target), not a rewrite.
      Window& made = created_[pid];
      if (!is_rewrite(ev) || (ev.type.rfind("rename", 0) == 0 && made.by_key.count(ev.file->path))) {
        if (is_create(ev)) made.add(ev.time_ns, ev.file->path, 0, a.window);
        continue;
      }
      if (is_create(ev)) made.add(ev.time_ns, ev.file->path, 0, a.window);
      Window& w = writes_[pid];
      w.add(ev.time_ns, ev.file->path, 0, a.window);
      size_t files = w.by_key.size();
      void* token = nullptr;
      if (double(files) >= a.a && admit(int(i), &token)) {
        Hit h = make_hit(d, ev, "Mass file rewrite or rename",
                         fmt::format("Ransomware-like activity: {} distinct files rewritten or renamed within {}s (last={})",
                                     files, p.at("window") / 1e9, output_value(ev.file->path)),
                         int(i));
        h.fields.push_back({"fd.name", ev.file->path});
        h.fields.push_back({"vigil.distinct_files", FieldValue::num(int64_t(files))});
        h.token = token;
        hits->push_back(std::move(h));
      }
      if (double(files) >= a.a) w.clear();
    } else if (void* token = nullptr; a.kind == Kind::Dga && ev.dns && !ev.dns->qname.empty() && dga_like(ev.dns->qname, p) &&
                                      admit(int(i), &token)) {
      Hit h = make_hit(d, ev, "DGA-like domain queried",
                       fmt::format("DNS query for an algorithmically generated-looking name (query={})",
                                   output_value(ev.dns->qname)),
                       int(i));
      h.fields.push_back({"dns.qname", ev.dns->qname});
      h.token = token;
      hits->push_back(std::move(h));
    }
  }
  if (!ev.file && !ev.net && ev.type == "exit") {
    conns_.erase(pid);
    writes_.erase(pid);
    created_.erase(pid);
  }
}

// ------------------------------------------------------------ threat intel --
namespace {
bool is_sha256(const std::string& s) {
  return s.size() == 64 && std::all_of(s.begin(), s.end(), [](char c) { return std::isxdigit(static_cast<unsigned char>(c)); });
}

bool is_domain(const std::string& s) {
  if (s.empty() || s.size() > 253 || s.find('.') == std::string::npos) return false;
  return std::all_of(s.begin(), s.end(), [](char c) { return std::isalnum(static_cast<unsigned char>(c)) || c == '.' || c == '-' || c == '_'; });
}

std::string lower(std::string s) {
  for (auto& c : s) c = char(std::tolower(static_cast<unsigned char>(c)));
  return s;
}
}  // namespace

std::vector<std::string_view> Intel::types() const {
  std::vector<std::string_view> out;
  if (!nets_.empty()) out.insert(out.end(), std::begin(kConnectTypes), std::end(kConnectTypes));
  if (!nets_.empty() || !domains_.empty()) out.insert(out.end(), std::begin(kDnsTypes), std::end(kDnsTypes));
  if (!hashes_.empty()) out.insert(out.end(), {"execve", "execveat"});
  return out;
}

bool Intel::load(const std::vector<std::string>& files, std::string* error) {
  for (const auto& f : files) {
    std::ifstream in(f);
    if (!in) {
      *error = fmt::format("{}: cannot read threat-intel file: {} (check --threat-intel)", f, std::strerror(errno));
      return false;
    }
    std::string line;
    for (int n = 1; std::getline(in, line); ++n) {
      if (auto h = line.find('#'); h != std::string::npos) line.erase(h);
      auto b = line.find_first_not_of(" \t\r");
      if (b == std::string::npos) continue;
      auto e = line.find_last_not_of(" \t\r");
      std::string v = line.substr(b, e - b + 1);
      Net net;
      if (Cidr::parse(v, &net.cidr)) {
        net.text = v;
        nets_.push_back(net);
      } else if (is_sha256(v)) {
        hashes_.insert(lower(v));
      } else if (is_domain(v)) {
        std::string d = lower(v);
        while (!d.empty() && d.back() == '.') d.pop_back();
        domains_.insert(d);
      } else {
        *error = fmt::format("{}:{}:1: expected an IP, CIDR, domain or SHA-256 hash, got '{}'", f, n, v);
        return false;
      }
    }
  }
  return true;
}

const Intel::Net* Intel::match_ip(const std::string& ip) const {
  unsigned char a[16] = {};
  int fam = parse_ip(ip, a);
  if (!fam) return nullptr;
  for (const auto& n : nets_)
    if (n.cidr.contains(a, fam)) return &n;
  return nullptr;
}

void Intel::observe(const Event& ev, std::vector<Hit>* hits) const {
  if (empty()) return;
  auto hit = [&](const char* rule, const char* what, const std::string& field, const std::string& value,
                 const std::string& entry, std::vector<std::string> tags, int key) {
    Hit h;
    h.rule = rule;
    h.priority = "Critical";
    h.tags = std::move(tags);
    h.tags.push_back("threat_intel");
    h.key = key;
    h.output = fmt::format("{} matches the threat-intel list ({}={} entry={} process={} pid={} command={})", what,
                           field, output_value(value), entry, ev.proc ? output_value(ev.proc->name) : "<NA>",
                           ev.proc ? ev.proc->pid : 0, ev.proc ? output_value(ev.proc->cmdline()) : "<NA>");
    add_proc_fields(ev, &h);
    h.fields.push_back({field, value});
    h.fields.push_back({"vigil.intel_entry", entry});
    hits->push_back(std::move(h));
  };
  if (ev.net && ev.net->remote.family && !ev.net->remote.addr.empty())
    if (const Net* n = match_ip(ev.net->remote.addr))
      hit("Threat intel IP contacted", "Remote address", "fd.rip", ev.net->remote.addr, n->text,
          {"network", "T1071", "Backdoor:Runtime/C&CActivity.B"}, 0);
  if (ev.dns && !ev.dns->qname.empty()) {
    std::string q = lower(ev.dns->qname);
    while (!q.empty() && q.back() == '.') q.pop_back();
    for (size_t p = 0; p != std::string::npos; p = q.find('.', p) == std::string::npos ? std::string::npos : q.find('.', p) + 1) {
      if (domains_.count(q.substr(p))) {
        hit("Threat intel domain queried", "DNS query", "dns.qname", ev.dns->qname, q.substr(p),
            {"network", "dns", "T1071.004", "Backdoor:Runtime/C&CActivity.B!DNS"}, 1);
        break;
      }
    }
    for (const auto& a : ev.dns->answers)
      if (const Net* n = match_ip(a)) {
        hit("Threat intel IP contacted", "DNS answer", "dns.answer", a, n->text, {"network", "dns", "T1071"}, 0);
        break;
      }
  }
  if (ev.type == "exec" && ev.proc && !ev.proc->sha256.empty() && hashes_.count(lower(ev.proc->sha256)))
    hit("Threat intel malicious file executed", "Executable hash", "proc.sha256", ev.proc->sha256, lower(ev.proc->sha256),
        {"process", "T1204", "Execution:Runtime/MaliciousFileExecuted"}, 2);
  else if (ev.file && !ev.file->sha256.empty() && hashes_.count(lower(ev.file->sha256)))
    hit("Threat intel malicious file", "File hash", "file.sha256", ev.file->sha256, lower(ev.file->sha256),
        {"filesystem", "T1204", "Execution:Runtime/MaliciousFileExecuted"}, 3);
}

}  // namespace vigil::rules
