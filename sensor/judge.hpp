// The judging stage: one place owns the rules engine, the output and the
// mode. The tracer hands it each event exactly once (judge), carries out the
// answer (deny the call, kill the process, or nothing) and then hands the
// event back to be emitted (emit). docs/design.md "The path of an event".
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "config/config.hpp"
#include "events/events.hpp"
#include "probes/probes.hpp"

namespace vigil {

class Engine;
class Output;

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

 private:
  Action allowed(Action asked, probes::Enforce may) const;
  void learn_identities();
  Output& out_;
  // (dev, ino) -> path of the files a block/kill rule names by path
  // (Engine::Interest::guarded_paths, learnt when the rules are set): an
  // event whose resolved object is one of them is named by that path.
  struct DevIno {
    uint64_t dev, ino;
    bool operator==(const DevIno&) const = default;
  };
  struct DevInoHash {
    size_t operator()(const DevIno& k) const { return std::hash<uint64_t>()(k.ino * 1000003u ^ k.dev); }
  };
  std::unordered_map<DevIno, std::string, DevInoHash> identities_;
  Mode mode_;
  std::unique_ptr<Engine> rules_;
  std::vector<Alert> alerts_;
  uint64_t seq_ = 0;
};

}  // namespace vigil
