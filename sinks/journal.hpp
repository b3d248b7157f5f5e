// Private to sinks/: the journal (docs/sinks.md "Durability"). Records reach
// it on the tracer thread: alerts as the JSON lines the sinks get, before the
// call that raised them is answered; events as binary records
// (events/record.cpp), rendered to JSON only if vigil died before a sink had
// them (by the same renderer as the sinks'). A fixed-size ring in a file of the spool
// directory (<spool>/journal), mapped MAP_SHARED: what is stored there is in
// the page cache, so it outlives a SIGKILL of vigil, the keeper (forked
// later) maps it too, and the next start finds it.
//
// Offsets are byte counts since the journal was created (position = offset
// mod capacity). The tracer advances `committed`; the dispatcher advances
// `dispatched` (every record before it was handed to its sinks' channels);
// each channel publishes `pending[i]`, the offset of the oldest record it
// holds in memory and has not delivered (none: nothing). A record at offset s
// for sink i is undelivered when s >= dispatched or s >= pending[i]; the
// oldest of those bounds the ring (a commit that would overwrite it is lost
// and counted, never waited for). Events may fill 3/4 of the ring at most:
// the rest is kept for alerts. Records a channel wrote to its disk spool
// count as delivered: the spool is replayed by the next run.
#pragma once

#include <atomic>
#include <cstdint>
#include <filesystem>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "sinks/sinks.hpp"

namespace vigil::sinks_detail {

inline constexpr int kJournalSinks = 16;  // sinks beyond the 16th are not journaled
inline constexpr uint64_t kNoPending = ~uint64_t{0};

struct JournalHeader;

// Lets SIGBUS reach the journal's fault handler in the calling thread (vigil's
// threads start with every signal blocked; a blocked fault signal kills).
void allow_journal_faults();

// A record an earlier run left undelivered, with the sinks that miss it.
struct Leftover {
  std::string line;    // a JSON line; event: a binary event record (Journal::render_event)
  uint32_t sinks = 0;  // bits: indexes into Journal::Earlier::sinks
  bool event = false;
};

class Journal {
 public:
  struct Sink {
    SinkSpec::Kind kind;
    std::string target;  // file sinks: the path; others: the SPEC (credentials masked)
  };
  // What the journal file held when it was opened.
  struct Earlier {
    std::vector<Sink> sinks;
    std::vector<Leftover> records;
    Context ctx;  // that run's sensor id, hostname, container id and image (to render its events)
    bool died = false;  // that run neither closed the journal nor had its death reported by a keeper
    bool in_use = false;  // another vigil holds the file: this one journals in memory
  };

  // Creates or takes over <dir>/journal (flock) with `bytes` of ring for
  // these sinks; *earlier gets what a run before left undelivered. Falls back
  // to anonymous shared memory (survives vigil's death only through the
  // keeper) when the file cannot be used: *note says why. Null when bytes is 0.
  static std::unique_ptr<Journal> open(const std::filesystem::path& dir, uint64_t bytes,
                                       const std::vector<Sink>& sinks, Earlier* earlier, std::string* note);
  ~Journal();  // closes it: nothing undelivered is left to recover
  Journal(const Journal&) = delete;
  Journal& operator=(const Journal&) = delete;

  // Tracer thread only. Stores line for the sinks in mask; false (and
  // counted as lost) when the ring has no room. *start/*end: the record's
  // offsets (both the current end when not stored).
  bool commit(std::string_view line, uint32_t mask, uint64_t* start, uint64_t* end);
  // The same for an event, as a binary record (encoded in place: no
  // allocation, no JSON); at most 3/4 of the ring holds events.
  bool commit_event(const Event& ev, uint32_t mask, uint64_t* start, uint64_t* end);
  // Stored in the file for the next start, which renders this run's events
  // with it (the keeper uses its own copy).
  void set_context(const Context& ctx);
  uint64_t committed() const;
  void set_dispatched(uint64_t end);  // dispatcher: every record before end is in its channels
  void set_pending(int sink, uint64_t start);  // channel i: oldest undelivered record (kNoPending: none)
  uint64_t lost() const;  // records not journaled (ring full or too large)
  bool file_backed() const { return file_backed_; }
  // A page of the file was lost under this run (sinks/journal.cpp on_sigbus):
  // it is vigil's memory now; nothing stored there outlives vigil. Lost
  // because the file was truncated (truncated()), or because its file
  // system could not back a write (no space: a file system without
  // fallocate, where its blocks could not be reserved at the start).
  bool cut() const;
  bool truncated() const;  // the file is shorter than its mapping
  std::string path() const { return path_; }
  int fd() const { return fd_; }

  // After vigil died (the keeper): `first` (a complete JSON line, the
  // keeper's alert; may be empty) to the sinks in first_mask, then every
  // undelivered record appended to its file sinks and written once to stderr
  // for its other sinks, with "recovered":true; then all is marked
  // delivered. The sinks are this process's, never read from the file.
  // Alerts: async-signal-safe (open/writev/close only). Events are rendered
  // with ctx (none: not written), which allocates: the keeper runs this in a
  // child of its own, bounded by alarm() (sensor/keeper.cpp, docs/sinks.md).
  // Returns the number of records that could not be rendered (damaged).
  size_t recover(std::string_view first, uint32_t first_mask, const Context* ctx = nullptr) noexcept;

  // An event record to the JSON line a sink gets (to_json_line); false and
  // *error when it is damaged (or renders to no JSON).
  static bool render_event(std::string_view rec, const Context& ctx, std::string* line, std::string* error);

  // A record of an earlier run's sink that this run does not have: to
  // stderr, with "recovered":true (never to a path read from the file); an
  // alert after a newline (a line of its own).
  static void write_stderr(std::string_view line, bool alert);

 private:
  Journal() = default;
  char* place(size_t n, uint32_t mask, uint64_t limit, uint64_t* start, uint64_t* end);
  JournalHeader* h_ = nullptr;
  char* data_ = nullptr;
  size_t map_bytes_ = 0;
  uint64_t cap_ = 0;
  int fd_ = -1;
  int guard_ = -1;  // its slot in the SIGBUS guard (journal.cpp), -1: none (a memfd cannot be truncated by the app)
  bool file_backed_ = false;
  std::string path_;
  std::vector<Sink> sinks_;
};

}  // namespace vigil::sinks_detail
