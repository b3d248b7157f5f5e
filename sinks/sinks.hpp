// vigil sinks: event and alert delivery. The tracer hands records to an
// Output; delivery happens elsewhere and never stalls the traced app.
//
// Pipeline (docs/sinks.md): tracer -> bounded record queue -> dispatcher
// thread (serialises events, stamps ECS metadata) -> one channel per sink
// (bounded memory queue -> disk spool -> drop, all counted) -> one delivery
// thread per sink (batches, retries with exponential backoff and jitter).
// Alerts are serialised by the tracer and journaled before it answers the
// call (sinks/journal.hpp): they outlive a SIGKILL of vigil.
#pragma once

#include <array>
#include <atomic>
#include <chrono>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "events/events.hpp"

namespace vigil {

// One sink, parsed from a SPEC (docs/sinks.md):
//   stderr | file:PATH[,max_bytes=SIZE][,max_files=N] | PATH |
//   http(s)://HOST[:PORT]/PATH (NDJSON batches) | falcosidekick+http(s)://... (one JSON per POST)
struct SinkSpec {
  enum class Kind { Stderr, File, Http, Falcosidekick };
  Kind kind = Kind::Stderr;
  std::string target;  // file path or URL (without the falcosidekick+ prefix)
  uint64_t max_bytes = 100ull << 20;  // file: rotate when the file would exceed this (0: never)
  int max_files = 10;                 // file: keep at most this many files (current + rotated)
  std::string text;                   // the SPEC as given, for messages (URL credentials masked)
};
bool parse_sink_spec(const std::string& spec, SinkSpec* out, std::string* error);

// "250ms", "5s", "2m", "1h" (a bare number is seconds); "64M", "1G", "512k", "1000".
bool parse_duration(const std::string& text, std::chrono::milliseconds* out, std::string* error);
bool parse_size(const std::string& text, uint64_t* out, std::string* error);

// Default cap on the body of one HTTP request: well under the 4 MB buffer of
// Fluent Bit's http input (FireLens), which closes the connection without a
// status on anything larger.
inline constexpr uint64_t kDefaultBatchBytes = 1ull << 20;

struct SinkConfig {
  std::vector<std::string> events;  // sink SPECs for events (empty: no events)
  std::vector<std::string> alerts;  // sink SPECs for alerts (empty: stderr)
  std::string spool_dir;            // empty: $TMPDIR or /tmp, + /vigil-spool
  uint64_t spool_max = 256ull << 20;  // bytes of spool per sink
  size_t queue = 10000;               // records held in memory (record queue, and per sink)
  uint64_t journal_bytes = 4ull << 20;  // ring of <spool_dir>/journal (docs/sinks.md "Durability"); 0: none
  std::string header_env, header_file;            // extra HTTP headers, "Name: value" per line
  std::string bearer_token_env, bearer_token_file;  // Authorization: Bearer <token>
  bool tls_insecure = false;
  std::string ca_file;  // empty: <rootfs>/etc/vigil/ca-certificates.crt, else the system bundle
  uint64_t batch_bytes = kDefaultBatchBytes;  // HTTP sinks: cap on one request's body
  bool alerts_ocsf = false;  // alerts as OCSF Detection Findings (2004) instead of Falco's shape
  std::chrono::milliseconds flush_timeout{5000};
  std::chrono::milliseconds stats_interval{60000};  // 0: no stats records
};

// An address an HTTP sink delivers to that any process of the task can
// listen on: a loopback one. A process of the app bound there (before the
// collector's sidecar is up, or while it restarts) would take vigil's alerts
// and answer 200: they would be lost without a word (docs/threat-model.md).
struct LocalEndpoint {
  int family = 0;                  // AF_INET or AF_INET6
  std::array<uint8_t, 16> addr{};  // network order (AF_INET: the first 4 bytes)
  uint16_t port = 0;               // host order
  bool operator==(const LocalEndpoint&) const = default;
};
// The loopback endpoints of cfg's HTTP and falcosidekick sinks: a host
// `localhost` or `*.localhost` (libcurl resolves it to 127.0.0.1 and ::1
// itself, never through /etc/hosts), an IPv4 address in 127.0.0.0/8, ::1,
// or an IPv4-mapped loopback address (as AF_INET). A name that resolves to
// loopback some other way (/etc/hosts) is not one: say localhost.
std::vector<LocalEndpoint> loopback_endpoints(const SinkConfig& cfg);

// Counters of one sink, or of all sinks added up.
struct DeliveryStats {
  uint64_t sent = 0;       // records acknowledged by the sink
  uint64_t spooled = 0;    // records written to the disk spool
  uint64_t dropped = 0;    // records lost (spool full or unusable, or rejected by the receiver)
  uint64_t failures = 0;   // failed delivery attempts (each one retried)
  uint64_t queue_depth = 0;  // records waiting (memory + spool)
  uint64_t unjournaled = 0;  // records not journaled (ring full): lost if vigil is killed before delivery
  // Records not yet handed to their sinks (nor marked so in the journal): a
  // sink may deliver a record before the dispatcher marks it, and a SIGKILL
  // in between makes the recovery write it again (at-least-once).
  uint64_t undispatched = 0;
};

class Output {
 public:
  virtual ~Output() = default;
  // Both calls return at once (alert() after serialising and journaling
  // the alert); they may be called from the tracer thread only.
  virtual void event(Event ev) = 0;
  virtual void alert(Alert a) = 0;
  // Whether event() delivers anywhere (an event sink is configured): else
  // the tracer reads only what the rules need (sensor/tracer.cpp).
  virtual bool wants_events() const { return true; }
  // Deliver what is pending, waiting at most `deadline`. Afterwards
  // stats().queue_depth says what is still undelivered.
  virtual void flush(std::chrono::milliseconds deadline) = 0;
  // Starts the delivery threads of an output made with start = false
  // (make_output); flush() and the destructor start them too.
  virtual void start() {}
  // The tracer's count of ptrace stops, reported per second in stats records.
  virtual void set_stop_counter(const std::atomic<uint64_t>*) {}
  virtual DeliveryStats stats() const { return {}; }
  // The journal (docs/sinks.md "Durability") for the keeper
  // (sensor/keeper.hpp), forked after prepare_recovery(): recover() runs in
  // a child of the keeper once vigil died: it writes the records not
  // delivered yet ("recovered":true) and a Critical "Sensor died" alert;
  // alerts with async-signal-safe calls only, events rendered to JSON
  // (allocates; sensor/keeper.cpp says why that is safe there).
  // journal_fd() is to stay open in the keeper (-1: none).
  virtual void prepare_recovery(int /*vigil_pid*/) {}
  virtual void recover() noexcept {}
  virtual int journal_fd() const { return -1; }
  // What vigil keeps in the spool directory (absolute paths): the journal and
  // each sink's spool segment directory. The app must not write them
  // (sensor/guard.hpp protect_spool).
  virtual std::vector<std::string> spool_paths() const { return {}; }
  // The loopback addresses and ports the HTTP sinks deliver to
  // (loopback_endpoints). The app must not listen there (sensor/guard.hpp
  // protect_sinks).
  virtual std::vector<LocalEndpoint> sink_endpoints() const { return {}; }
};

// Builds the outputs described by cfg. On bad configuration returns null and
// sets *error to one line (what, where, how to fix). When the log level is
// info, logs the configuration (secrets masked) and,
// from the delivery threads, the DNS/TCP/TLS checks of each network sink.
// When ECS_CONTAINER_METADATA_URI_V4 is set, the task and container metadata
// are fetched once (off the tracer thread) and stamped on every record.
// start = false: no thread yet (Output::start), e.g. so that a fork that
// follows (sensor/keeper.hpp) copies a process of one thread.
std::unique_ptr<Output> make_output(const SinkConfig& cfg, const Context& ctx, std::string* error, bool start = true);

// Diagnostics shared by `vigil run --trace=info` and `vigil check`.
// Logs the configuration at info level (secrets masked); false and one line
// in *error when it is not usable.
bool log_sink_config(const SinkConfig& cfg, std::string* error);
// DNS, TCP connect and TLS handshake checks of one network sink, logged at
// info (failures at error, with hints). Returns true when all passed.
bool check_network_sink(const SinkSpec& spec, const SinkConfig& cfg);
// GET ${uri} and ${uri}/task (ECS task metadata endpoint v4) and condense them
// into {cluster, task_arn, task_family, task_revision, container_name, image,
// container_id, availability_zone}. timeout bounds the whole fetch.
bool fetch_ecs_metadata(const std::string& uri, std::chrono::milliseconds timeout, nlohmann::json* out,
                        std::string* error);

}  // namespace vigil
