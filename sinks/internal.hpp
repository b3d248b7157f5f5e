// Private to sinks/: backends, channels, HTTP settings.
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <deque>
#include <filesystem>
#include <functional>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "sinks/sinks.hpp"

namespace vigil::sinks_detail {

using Clock = std::chrono::steady_clock;

// Settings every HTTP request of a sink uses (built once by make_output).
struct HttpSettings {
  std::vector<std::string> headers;  // "Name: value", secrets: never logged
  std::string ca_file;               // empty: curl's default
  bool insecure = false;
  uint64_t batch_bytes = kDefaultBatchBytes;  // cap on the body of one POST
};
// Reads headers and bearer token as configured; one-line error on failure.
// tls: a sink needs the CA bundle (the default one is looked for only then:
// a lookup of the binary's path, not on every start for nothing).
bool load_http_settings(const SinkConfig& cfg, bool tls, HttpSettings* out, std::string* error);
std::string mask_url(const std::string& url);  // user:password@ -> ***@
// A sink URL's host (an IPv6 literal without its brackets), port (the
// scheme's default if none) and scheme, as libcurl parses it; false if it
// does not.
struct UrlParts {
  std::string host, port, scheme;
};
bool url_parts(const std::string& url, UrlParts* out);
void apply_tls(void* curl, const HttpSettings& http);  // CA file and verification on a CURL*
void curl_init_once();
// DNS (getaddrinfo), TCP connect and TLS handshake of a network sink, logged
// with timings; failures at error level with hints. True when all passed.
// abort (may be null) ends the checks early (at exit): a resolver that never
// answers must not hold vigil's exit.
bool check_endpoint(const SinkSpec& spec, const HttpSettings& http, const std::atomic<bool>* abort = nullptr);

// An alert bound for the stderr sink is queued with this byte in front (a
// JSON line never holds it, and unlike a newline it survives the spool's
// line format); the stderr backend writes a newline in its place, so the
// alert starts a line of its own after a partial line of the app's
// (docs/sinks.md, "stderr is the app's too").
inline constexpr char kOwnLine = '\x1e';

// Where records go. deliver() gets a batch of JSON lines and returns how many
// of them, from the front, were delivered; a shorter count means "retry the
// rest later" (error set) unless *reject is set (the receiver refused them for
// good: they are counted as dropped).
class Backend {
 public:
  virtual ~Backend() = default;
  virtual size_t deliver(const std::vector<std::string>& lines, Clock::time_point deadline, std::string* error,
                         bool* reject) = 0;
  virtual size_t max_batch() const { return 500; }
  virtual uint64_t max_batch_bytes() const { return 0; }  // bytes (lines + newlines) per delivery; 0: no cap
  virtual bool one_record_per_request() const { return false; }  // a rejection then loses one record
  virtual bool is_network() const { return false; }
  virtual void diagnose() {}
  // Ends a delivery in progress and refuses new ones; from another thread.
  virtual void interrupt() { abort = true; }
  std::atomic<bool> abort{false};
  // Set by deliver(): the last failure was a connection closed without any
  // HTTP status (Fluent Bit does that to a body over its buffer size).
  bool closed_without_status = false;
};
std::unique_ptr<Backend> make_backend(const SinkSpec& spec, const HttpSettings& http, std::string* error);

// One sink's queue: bounded memory -> disk spool -> drop, and its delivery thread.
class Journal;
class Channel {
 public:
  Channel(SinkSpec spec, std::unique_ptr<Backend> backend, size_t queue_max, std::filesystem::path spool_dir,
          uint64_t spool_max);
  ~Channel();  // stops the thread; what is left in memory is kept in the spool
  void start();
  // Never blocks on delivery. start: the record's journal offset (or the
  // journal's end when it is not journaled), published as pending while the
  // record waits in memory (sinks/journal.hpp).
  void push(std::string line, uint64_t start = 0);
  void set_journal(Journal* journal, int index) { journal_ = journal, journal_index_ = index; }
  bool wait_idle(Clock::time_point deadline);
  DeliveryStats stats() const;
  const SinkSpec& spec() const { return spec_; }
  const std::filesystem::path& spool_dir() const { return spool_dir_; }
  std::string last_error() const;

 private:
  void run();
  bool take_batch(std::vector<std::string>* batch, std::filesystem::path* segment);
  bool spool_append(const std::string& line);  // mutex held
  void spool_seal();                           // mutex held
  void persist_memory();                       // at stop: memory -> spool
  void lock_spool();
  void memory_done(size_t n);  // mutex held: the n oldest memory records are delivered or dropped
  void scan_spool();

  SinkSpec spec_;
  std::unique_ptr<Backend> backend_;
  size_t queue_max_;
  std::filesystem::path spool_dir_;
  uint64_t spool_max_;

  mutable std::mutex mu_;
  std::condition_variable cv_, idle_cv_;
  std::deque<std::string> memory_;
  std::deque<uint64_t> marks_;  // journal offsets of the memory records (and of a batch taken from it)
  Journal* journal_ = nullptr;
  int journal_index_ = -1;
  bool spooling_ = false;  // once set, new lines go to the spool until it is empty (keeps order)
  bool spool_ok_ = true;
  Clock::time_point spool_failed_{};  // the last failure: tried again kSpoolRetry later (spool_append)
  std::deque<std::filesystem::path> segments_;  // sealed, oldest first
  std::filesystem::path write_segment_;
  int write_fd_ = -1;
  int lock_fd_ = -1;  // flock on <spool dir>/.lock
  uint64_t write_segment_bytes_ = 0;
  uint64_t write_segment_lines_ = 0;
  uint64_t spool_bytes_ = 0, spool_lines_ = 0;
  uint64_t next_segment_ = 0;
  uint64_t segment_lines_ = 0;  // lines in the segment being delivered
  size_t inflight_ = 0;
  uint64_t kick_ = 0;
  uint64_t oversize_ = 0;  // records dropped for being larger than the batch cap  // bumped by wait_idle() to end a backoff wait
  bool stop_ = false;
  std::string last_error_;
  DeliveryStats st_;
  std::thread thread_;
};

// Runs fn on a new thread with every signal blocked (signals are PID 1's job).
std::thread start_thread(const char* name, std::function<void()> fn);

}  // namespace vigil::sinks_detail
