// The judging stage: one place owns the rules engine, the output and the
// mode. The tracer hands it each event exactly once (judge), carries out the
// answer (deny the call, kill the process, or nothing) and then hands the
// event back to be emitted (emit). docs/design.md "The path of an event".
#pragma once

#include <array>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <unordered_map>
#include <unordered_set>
#include <vector>

#include "config/config.hpp"
#include "events/events.hpp"
#include "probes/probes.hpp"
#include "probes/sensitive.hpp"

namespace vigil {

class Engine;
class Output;

// The home directories whose dot-directories rules name anywhere
// (Engine::Interest::home_paths): /root, each user's in passwd (absolute,
// trailing slashes dropped) and each directory in `home`; sorted, at most 256.
std::vector<std::string> home_directories(const char* passwd = "/etc/passwd", const char* home = "/home");

// The paths a glob operand's directory part (Interest::glob_paths) names
// when the rules load: its last component literal ("/home/*/.ssh"), that
// name below each match of the rest (a directory made there later is still
// watched by its name); else each match. glob(3): a `*` spans one component.
// At most 256 matches a pattern.
std::vector<std::string> glob_directories(const std::string& pattern);

class Judge {
 public:
  Judge(Output& out, Mode mode);
  ~Judge();
  Judge(const Judge&) = delete;
  Judge& operator=(const Judge&) = delete;

  // The rules (null: none; every event passes, no alerts). Set before the
  // first event is judged.
  void set_rules(std::unique_ptr<Engine> rules);
  // Numbers the event (judged in order: before its syscall proceeds), runs
  // the rules and decides what is done about it: what the rules ask, if the
  // mode is prevent, within what the event allows (`may`). The alerts raised
  // are delivered saying what was done. Sets ev.action and returns it.
  // Built in, whatever the rules: an event with evt.arg.unreadable (an
  // argument vigil could not read in full) raises the Critical alert
  // "Unreadable syscall argument" and is denied in prevent mode.
  Action judge(Event& ev, probes::Enforce may);
  // An inotify report whose process is a guess (ev.proc: a process whose
  // argv names the file, alive or just exited; the reader closed the file
  // before it could be found by its fd): judged as that process, and then as
  // nobody's, the second raising the alerts the first did not. A decoy that
  // names the file (`unix_chkpwd /etc/shadow`, an image admin program the
  // rules trust) must not lend its rule exceptions to the true reader
  // (docs/threat-model.md; tests/shell/opens_attribution.sh).
  Action judge_guessed(Event& ev);
  // The event to the output, once answered (events waiting for their
  // syscall's return value come later than their verdict).
  void emit(Event&& ev);
  Mode mode() const { return mode_; }
  const Engine* rules() const { return rules_.get(); }
  // For the process's last moments: the rules are left to the kernel to
  // free with the rest (their destructor frees thousands of small blocks
  // one by one: ~7% of the CPU time of a short `vigil run`).
  void leak_rules() { (void)rules_.release(); }
  // Whether a verdict on events of this Falco evt.type can stop something:
  // prevent mode and a loaded rule (or detector) with action block or kill
  // that can match the type. Where it can, the tracer makes the verdict rest
  // on what the kernel acts on, not on what it read (docs/threat-model.md).
  bool enforces(std::string_view evt_type) const;
  // The output, for records that are not judged events (the guard's alerts).
  Output& output() { return out_; }
  // Alerts the rules still hold (repeats counted in a rate-limit window).
  void finish();
  // Rate-limited repeats whose window has closed: reported now (the tracer's
  // loop, every second at least).
  void tick(int64_t now_ns);

  // What loaded rules name by path, for the inotify watch of what they can
  // match (probes/sensitive.hpp): the files known by identity, the
  // directories walked for them, the paths named that are not directories,
  // and the directories only alert rules name (walked by the watch's thread).
  const ProtectedObjects& protected_objects() const { return protected_; }
  // A file created under a protected name after the rules loaded: known by
  // identity from now on (a hard link of it matches its rules); a directory:
  // its entries are protected names.
  void learn(const std::string& path, uint64_t dev, uint64_t ino, bool dir);
  // The files and directories the watch's thread found below the
  // directories only alert rules name (ProtectedObjects::walk): known by
  // identity from now on, like those learnt when the rules loaded.
  void adopt(Walked walked) { walked_ = std::move(walked); }
  // Whether a trapped event on this protected object (by (dev, ino), or by
  // path for one that did not exist yet) was judged less than kRecentNs
  // before or after time_ns: the inotify report of that same change is then
  // a duplicate (docs/threat-model.md, "Writes to protected files in detect
  // mode"). After too: only the latest judgement is kept, and the tracer may
  // judge the object's next trapped call before it drains a report stamped
  // earlier (a busy host).
  // Only a change of the same kind counts (Change: file_change of the
  // event's type, events/events.hpp): a trapped chmod does not stand for a
  // write, a dup2 of a kept fd, an mmap or a read-open for nothing; the app
  // must not be able to hide its next write's report behind one
  // (tests/shell/opens_alert.sh).
  static constexpr int64_t kRecentNs = 2'000'000'000;
  using Change = FileChange;
  bool judged_recently(uint64_t dev, uint64_t ino, const std::string& path, int64_t time_ns, Change kind) const;

 private:
  Action allowed(Action asked, probes::Enforce may) const;
  void learn_identities();
  bool renamed_in_place(const std::string& known, const std::string& now) const;
  Output& out_;
  // (dev, ino) -> path of the files a rule names by path
  // (Engine::Interest::named_paths, learnt when the rules are set, and from
  // the watch thread's walk): an event whose resolved object is one of them
  // is named by that path.
  struct DevIno {
    uint64_t dev, ino;
    bool operator==(const DevIno&) const = default;
  };
  struct DevInoHash {
    size_t operator()(const DevIno& k) const { return std::hash<uint64_t>()(k.ino * 1000003u ^ k.dev); }
  };
  std::unordered_map<DevIno, std::string, DevInoHash> identities_;
  ProtectedObjects protected_;
  Walked walked_;  // adopt()
  // Trapped events judged on a protected object: when (judged_recently).
  // Pruned of entries older than kRecentNs when it reaches kRecentMax.
  static constexpr size_t kRecentMax = 4096;
  using Times = std::array<int64_t, 4>;  // by Change (0: none)
  std::unordered_map<DevIno, Times, DevInoHash> recent_;
  std::unordered_map<std::string, Times> recent_paths_;
  // protected_.dirs and protected_.names, for the paths of trapped events on
  // objects that do not exist yet (creates): is the name protected?
  struct PathHash {  // (lookups by string_view: protected_name walks a path's ancestors without copies)
    using is_transparent = void;
    size_t operator()(std::string_view s) const { return std::hash<std::string_view>{}(s); }
  };
  std::unordered_set<std::string, PathHash, std::equal_to<>> protected_dirs_, protected_names_;
  bool protected_name(const std::string& path) const;
  void note_recent(const Event& ev, Change kind);
  void send_repeats();  // alerts_ (flush, flush_due) to the sinks
  std::vector<std::string>* raised_ = nullptr;  // judge(): the rules of the alerts it sends (judge_guessed)
  Mode mode_;
  std::unique_ptr<Engine> rules_;
  std::vector<Alert> alerts_;
  uint64_t seq_ = 0;
};

}  // namespace vigil
