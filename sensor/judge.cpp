#include "sensor/judge.hpp"

#include <fcntl.h>
#include <glob.h>
#include <sys/stat.h>

#include <algorithm>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <ranges>
#include <set>
#include <unordered_set>

#include <fmt/format.h>
#include <fmt/ranges.h>
#include <spdlog/spdlog.h>

#include "rules/rules.hpp"
#include "sinks/sinks.hpp"

namespace vigil {

namespace {
constexpr size_t kMaxIdentities = 20000;  // files known by identity (learnt at start and later)
// Files below directories only alert rules name, watched one by one (their
// hard links, a kept fd): at most this many, breadth first. Every directory
// listed is still watched for its entries. Each file watch costs the sensor
// ~0.5 KB and the walk ~15 us a file: the default rules name /usr/lib, 68000
// files on a full Debian (25 MB of RSS and 0.3-0.9 s of CPU for 20000).
constexpr size_t kMaxAlertWalk = 2000;
}  // namespace

Judge::Judge(Output& out, Mode mode) : out_(out), mode_(mode) {}
Judge::~Judge() = default;

void Judge::set_rules(std::unique_ptr<Engine> rules) {
  rules_ = std::move(rules);
  learn_identities();
}

std::vector<std::string> home_directories(const char* passwd, const char* home) {
  std::set<std::string> out = {"/root"};
  constexpr size_t kMaxHomes = 256;  // (a passwd of thousands of users: the first ones)
  if (std::ifstream f(passwd); f)
    for (std::string line; out.size() < kMaxHomes && std::getline(f, line);) {
      // name:password:uid:gid:gecos:home:shell
      size_t at = 0;
      for (int field = 0; field < 5 && at != std::string::npos; ++field)
        if ((at = line.find(':', at)) != std::string::npos) ++at;
      if (at == std::string::npos) continue;
      std::string dir = line.substr(at, line.find(':', at) - at);
      while (dir.size() > 1 && dir.back() == '/') dir.pop_back();
      if (dir.starts_with("/") && dir.find("/..") == std::string::npos) out.insert(dir);
    }
  std::error_code ec;
  for (auto it = std::filesystem::directory_iterator(home, ec); !ec && out.size() < kMaxHomes &&
                                                                 it != std::filesystem::directory_iterator();
       it.increment(ec))
    if (it->is_directory(ec) && !it->is_symlink(ec)) out.insert(it->path().string());
  return {out.begin(), out.end()};
}

std::vector<std::string> glob_directories(const std::string& pattern) {
  constexpr size_t kMaxMatches = 256;
  auto wild = [](std::string_view s) { return s.find_first_of("*?[") != std::string_view::npos; };
  auto expand = [&](const std::string& p) {
    std::vector<std::string> out;
    if (!wild(p)) return out.push_back(p), out;
    glob_t g{};
    if (glob(p.c_str(), GLOB_NOSORT | GLOB_ONLYDIR, nullptr, &g) == 0)
      for (size_t i = 0; i < g.gl_pathc && out.size() < kMaxMatches; ++i) out.emplace_back(g.gl_pathv[i]);
    globfree(&g);
    return out;
  };
  const size_t last = pattern.rfind('/');
  if (!pattern.starts_with("/") || last == std::string::npos || last + 1 == pattern.size()) return {};
  const std::string parent = last == 0 ? "/" : pattern.substr(0, last), leaf = pattern.substr(last + 1);
  if (wild(leaf)) return expand(pattern);
  std::vector<std::string> out;
  for (const std::string& m : expand(parent)) out.push_back((m == "/" ? "" : m) + "/" + leaf);
  return out;
}

// The objects behind each path a rule names (Engine::Interest::named_paths),
// for the inotify watch of what those rules can match (writes, reads) and
// for identities: the file itself, or every regular file below a directory
// (bounded); pseudo-filesystems are skipped. Directories a block rule names
// are walked here, before the app starts (its verdicts need the hard links
// of their files); those only alert rules name are walked by the watch's
// thread, off the app's start-up (SensitiveMonitor::take_setup -> learn).
void Judge::learn_identities() {
  identities_.clear();
  protected_ = {};
  if (!rules_) return;
  auto add = [&](const std::string& path, const struct stat& st, uint8_t use) {
    if (S_ISREG(st.st_mode) && identities_.try_emplace(DevIno{uint64_t(st.st_dev), uint64_t(st.st_ino)}, path).second)
      protected_.files.push_back({path, use});
    else if (S_ISDIR(st.st_mode))
      protected_.dirs.push_back({path, use});
  };
  size_t block = 0, reads = 0;
  // The paths rules name, and the dot-directories they name anywhere below
  // each home directory (Interest::home_paths: "/root/.ssh", "/home/app/.ssh").
  // And the directories of glob operands (Interest::glob_paths), expanded.
  struct Named {
    std::string path;
    const Engine::Interest::NamedPath* np;
    bool expanded;  // from home_paths or glob_paths (most name nothing there yet)
  };
  std::vector<Named> all;
  for (const auto& [named, np] : rules_->interest().named_paths) all.push_back({named, &np, false});
  size_t homes = 0;
  if (!rules_->interest().home_paths.empty())
    for (const std::string& home : home_directories()) {
      ++homes;
      for (const auto& [rel, np] : rules_->interest().home_paths)
        all.push_back({(home == "/" ? "" : home) + "/" + rel, &np, true});
    }
  // (Pseudo-filesystems are not watched: nor expanded, /proc/* is every process.)
  auto pseudo = [](const std::string& p) {
    return p == "/" || p.starts_with("/proc") || p.starts_with("/sys") || p.starts_with("/dev");
  };
  for (const auto& [pattern, np] : rules_->interest().glob_paths)
    if (!pseudo(pattern))
      for (std::string& dir : glob_directories(pattern)) all.push_back({std::move(dir), &np, true});
  for (const auto& [named, npp, expanded] : all) {
    const Engine::Interest::NamedPath& np = *npp;
    if (pseudo(named)) continue;
    const uint8_t use = (np.write ? ProtectedObjects::kWrites : 0) | (np.read ? ProtectedObjects::kReads : 0);
    block += np.block, reads += np.read;
    if (spdlog::should_log(spdlog::level::debug))
      spdlog::debug("rules: {} watched for{}{}{}: named by rule{} '{}'", named, np.write ? " changes" : "",
                    np.write && np.read ? " and" : "", np.read ? " reads" : "", np.rules.size() > 1 ? "s" : "",
                    fmt::join(np.rules, "', '"), np.block ? " (a block rule: known by identity before the start)" : "");
    if (expanded && !np.block) {
      // A per-user or glob-found directory only alert rules name (most homes
      // have none): no lstat here, on the app's start; the watch's thread
      // walks it if it is a directory (SensitiveWatch::protect), else
      // watches its name.
      protected_.names.push_back({named, use});
      continue;
    }
    struct stat st {};
    if (lstat(named.c_str(), &st) < 0 || !S_ISDIR(st.st_mode)) {  // a file, or not there (yet)
      if (named.size() > 1 && named.back() != '/') protected_.names.push_back({named, use});
      if (S_ISREG(st.st_mode)) identities_.try_emplace(DevIno{uint64_t(st.st_dev), uint64_t(st.st_ino)}, named);
      continue;
    }
    const std::string p = named.size() > 1 && named.back() == '/' ? named.substr(0, named.size() - 1) : named;
    if (!np.block) {
      protected_.walk.push_back({p, use});
      continue;
    }
    add(p, st, use);
    std::error_code ec;
    for (auto it = std::filesystem::recursive_directory_iterator(
             p, std::filesystem::directory_options::skip_permission_denied, ec);
         !ec && it != std::filesystem::recursive_directory_iterator() && identities_.size() < kMaxIdentities; it.increment(ec)) {
      const std::string path = it->path().string();
      if (lstat(path.c_str(), &st) == 0) add(path, st, use);
    }
  }
  protected_.walk_files = std::min(kMaxAlertWalk, kMaxIdentities - std::min(identities_.size(), kMaxIdentities));
  protected_dirs_.clear();
  protected_names_.clear();
  for (const auto& d : protected_.dirs) protected_dirs_.insert(d.path);
  for (const auto& d : protected_.walk) protected_dirs_.insert(d.path);
  for (const auto& n : protected_.names) protected_names_.insert(n.path);
  if (identities_.size() >= kMaxIdentities)
    spdlog::warn("rules: more than {} files below the paths block rules name: hard links of the others are not known",
                 kMaxIdentities);
  spdlog::info("rules: {} paths named by rules on files ({} of them found when the rules loaded: per-user directories "
               "named anywhere ({}) below {} home directories, and what glob operands match; {} by block rules, {} for "
               "reads), watched with inotify for what those rules can match: {} files known by identity now, {} "
               "directories walked by the watch thread (--trace=debug: each path and its rules)",
               all.size(), all.size() - rules_->interest().named_paths.size(),
               fmt::join(std::views::keys(rules_->interest().home_paths), " "), homes, block, reads,
               identities_.size(), protected_.walk.size());
}

void Judge::learn(const std::string& path, uint64_t dev, uint64_t ino, bool dir) {
  if (dir) protected_dirs_.insert(path);
  else if (identities_.size() < kMaxIdentities) identities_.try_emplace(DevIno{dev, ino}, path);
}

// A file known by identity only for where it was (below a directory a rule
// names, not by its own name) and now under another name in that same
// directory: rules on the directory match both names alike, and a rule's
// exceptions on names (a rotated log's ".1") must see the name it has now.
// One a rule names exactly keeps that name under any other: a hard link or a
// rename next to it is still that file.
bool Judge::renamed_in_place(const std::string& known, const std::string& now) const {
  const size_t a = known.rfind('/'), b = now.rfind('/');
  return a != std::string::npos && a == b && known.compare(0, a, now, 0, b) == 0 && !protected_names_.contains(known);
}

// path is watched for what rules name, or is below what is: a named path
// or a watched directory is one of its ancestors (a directory made there
// since the start, "/root/.ssh" or a new subdirectory of one a rule names,
// whose entries the watch lists once it sees it).
bool Judge::protected_name(const std::string& path) const {
  if (protected_names_.contains(path)) return true;
  const std::string_view p = path;
  for (size_t at = p.rfind('/'); at != 0 && at != std::string_view::npos; at = p.rfind('/', at - 1)) {
    const std::string_view dir = p.substr(0, at);
    if (protected_dirs_.contains(dir) || protected_names_.contains(dir) || walked_.dir(dir)) return true;
  }
  return false;
}

void Judge::note_recent(const Event& ev, Change kind) {
  if (recent_.size() + recent_paths_.size() >= kRecentMax) {
    auto old = [&](const auto& e) { return ev.time_ns - *std::ranges::max_element(e.second) > kRecentNs; };
    std::erase_if(recent_, old);
    std::erase_if(recent_paths_, old);
    if (recent_.size() + recent_paths_.size() >= kRecentMax) return;
  }
  Times& at = ev.file->ino ? recent_[DevIno{ev.file->dev, ev.file->ino}] : recent_paths_[ev.file->path];
  at[size_t(kind)] = ev.time_ns;
}

bool Judge::judged_recently(uint64_t dev, uint64_t ino, const std::string& path, int64_t time_ns, Change kind) const {
  auto fresh = [&](const Times& at) { return at[size_t(kind)] != 0 && std::abs(time_ns - at[size_t(kind)]) <= kRecentNs; };
  if (kind == Change::None) return false;
  if (ino != 0)
    if (auto it = recent_.find(DevIno{dev, ino}); it != recent_.end() && fresh(it->second)) return true;
  auto it = recent_paths_.find(path);
  return it != recent_paths_.end() && fresh(it->second);
}

bool Judge::enforces(std::string_view evt_type) const {
  if (mode_ != Mode::Prevent || !rules_) return false;
  std::optional<Action> a = rules_->interest().of(evt_type);
  return a && *a != Action::None;
}

Action Judge::allowed(Action asked, probes::Enforce may) const {
  if (mode_ != Mode::Prevent || asked == Action::None || may == probes::Enforce::Alert) return Action::None;
  return may == probes::Enforce::Kill ? Action::Killed : asked;
}

Action Judge::judge(Event& ev, probes::Enforce may) {
  ev.seq = ++seq_;
  bool identity = false;
  if (ev.file && ev.file->ino && (!identities_.empty() || !walked_.empty())) {
    const std::string* named = nullptr;
    if (auto it = identities_.find(DevIno{ev.file->dev, ev.file->ino}); it != identities_.end()) named = &it->second;
    else if (const Learnt* l = walked_.file(dev_t(ev.file->dev), ino_t(ev.file->ino))) named = &l->path;
    if (named) {
      identity = true;
      if (*named != ev.file->path && !renamed_in_place(*named, ev.file->path)) {
        // Another name of a file a rule names (a hard link, or renamed): judged by the rule's name.
        ev.args.push_back({"resolved_path", ev.file->path});
        ev.file->path = *named;
      }
    }
  }
  ev.action = rules_ ? allowed(rules_->evaluate(ev, &alerts_), may) : Action::None;
  // A trapped event on a protected object (known by identity, or a path at or
  // below what rules watch: a create, a file in a subdirectory made since the
  // start): its inotify report is a duplicate (judged_recently).
  if (ev.file && (identity || (!protected_.empty() && protected_name(ev.file->path))) && !ev.arg("source"))
    if (const Change kind = file_change(ev.type, ev.file->flags); kind != Change::None) note_recent(ev, kind);
  if (const std::string* what = ev.arg("unreadable")) {
    // Built in, whatever the rules: a verdict on memory vigil could not read
    // in full would be a verdict on something else (docs/threat-model.md).
    Alert a;
    a.time_ns = ev.time_ns;
    a.rule = "Unreadable syscall argument";
    a.priority = "Critical";
    a.output = fmt::format("Syscall argument vigil could not read in full (syscall={} argument={} pid={} exe={})",
                           ev.type, *what, ev.proc ? ev.proc->pid : 0, ev.proc ? output_value(ev.proc->exe) : "<NA>");
    a.output_fields = {{"evt.type", ev.type},
                       {"evt.arg.unreadable", *what},
                       {"proc.name", ev.proc ? FieldValue(ev.proc->name) : FieldValue()},
                       {"proc.pid", ev.proc ? FieldValue::num(ev.proc->pid) : FieldValue()},
                       {"proc.exepath", ev.proc ? FieldValue(ev.proc->exe) : FieldValue()}};
    a.tags = {"vigil", "integrity", "mitre_defense_evasion", "T1211"};
    a.action = allowed(Action::Denied, may);
    a.event_seq = ev.seq;
    if (ev.action == Action::None) ev.action = a.action;
    alerts_.push_back(std::move(a));
  }
  for (auto& a : alerts_) {
    a.action = allowed(a.action, may);
    if (raised_) raised_->push_back(a.rule);
    out_.alert(std::move(a));
  }
  alerts_.clear();
  return ev.action;
}

Action Judge::judge_guessed(Event& ev) {
  std::vector<std::string> raised;
  raised_ = &raised;
  const Action a = judge(ev, probes::Enforce::Alert);
  raised_ = nullptr;
  if (!rules_ || !ev.proc) return a;
  Event blind = ev;  // (the file as judge() named it: by identity)
  blind.proc = nullptr;
  std::erase_if(blind.args, [](const Arg& x) { return x.name == "attributed_by"; });
  blind.args.push_back({"attributed", "false"});
  rules_->evaluate(blind, &alerts_);
  for (auto& al : alerts_) {
    if (std::find(raised.begin(), raised.end(), al.rule) != raised.end()) continue;
    al.event_seq = ev.seq;  // (the event emitted: the guessed reader's)
    al.action = Action::None;
    out_.alert(std::move(al));
  }
  alerts_.clear();
  return a;
}

void Judge::emit(Event&& ev) {
  if (spdlog::should_log(spdlog::level::debug))
    spdlog::debug("event #{} {} pid={} tid={} exe={}{}{}", ev.seq, ev.type, ev.proc ? ev.proc->pid : 0, ev.tid,
                  ev.proc ? ev.proc->exe : "", ev.child_pid ? fmt::format(" child={}", ev.child_pid) : "",
                  ev.action == Action::None ? "" : ev.action == Action::Denied ? " denied" : " killed");
  out_.event(std::move(ev));
}

void Judge::finish() {
  if (!rules_) return;
  rules_->flush(&alerts_);
  send_repeats();
}

void Judge::tick(int64_t now_ns) {
  if (!rules_) return;
  rules_->flush_due(now_ns, &alerts_);
  send_repeats();
}

void Judge::send_repeats() {
  for (auto& a : alerts_) {  // repeats of an alert: what was done about its first event
    a.action = allowed(a.action, probes::Enforce::Deny);
    out_.alert(std::move(a));
  }
  alerts_.clear();
}

}  // namespace vigil
