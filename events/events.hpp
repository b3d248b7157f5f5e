// vigil events: the one data model that flows probes -> rules -> sinks.
//
// An Event is a plain value built by the tracer (sensor/) from a decoded
// syscall (probes/) or a lifecycle change it saw, judged (sensor/judge.hpp with
// the rules engine, rules/) and serialised by the sinks (sinks/). The JSON schema is documented
// in docs/events.md; to_json() below is the only place that writes it.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json_fwd.hpp>

namespace vigil {

// OCSF class of an event (docs/events.md).
enum class EventClass : uint16_t {
  FileSystem = 1001,
  Process = 1007,
  Network = 4001,
  Dns = 4003,
  Sensor = 0,  // vigil's own records (stats, errors)
};

// What we know of a process at the time of an event. Immutable once shared:
// exec builds a new Process, so older events keep what was true then.
struct Process {
  int pid = 0;   // thread-group id, in the sensor's pid namespace
  int ppid = 0;  // parent's pid (real parent, not the tracer)
  int uid = -1, gid = -1, euid = -1, egid = -1;
  int64_t start_ns = 0;  // wall-clock time of fork (or of first sight)
  std::string exe;       // resolved executable path (/proc/PID/exe)
  std::string name;      // basename of exe, or comm
  std::vector<std::string> argv;  // in full up to kArgvReadMaxBytes; records show kArgvMaxBytes
  bool argv_truncated = false;
  std::string cwd;
  std::string sha256;  // hex SHA-256 of the executable, empty if unknown
  std::string tty;     // controlling terminal name, empty if none
  int tty_nr = 0;      // controlling terminal device number (/proc/PID/stat), 0 if none
  int sid = 0;
  int64_t cap_effective = -1;  // effective capability mask (CapEff), -1 if unknown
  // Exec enrichment (probes/exec.cpp; defaults are "not known").
  std::string interpreter_script;  // "#!" script path when exe is an interpreter
  bool exe_from_memfd = false;
  bool exe_deleted = false;
  bool exe_drift = false;  // executable created/modified after container start
  std::string_view exe_drift_reason;  // why (probes/drift.hpp names: traced_write, toolchain_build, ...), "" if none
  bool stdio_net = false;  // stdin or stdout is an IPv4/IPv6 socket (at exec)
  // Accepted an IPv4/IPv6 connection since its exec (a network service);
  // a fork inherits it (pre-fork and fork-per-connection servers).
  bool accepted_conn = false;
  int64_t exe_mtime_ns = 0;
  // The file /proc/PID/exe names (a script's interpreter), 0 if unknown: a
  // process learnt late is checked against it (sensor/tracer.cpp learn).
  uint64_t exe_dev = 0, exe_ino = 0;
  std::shared_ptr<const Process> parent;  // may be null (outside the tree)

  std::string cmdline() const;  // argv joined by spaces
};
using ProcessPtr = std::shared_ptr<const Process>;

// Cap on the bytes of argv written in a record (documented in docs/events.md):
// rules see all of argv, the JSON record its first kArgvMaxBytes.
inline constexpr size_t kArgvMaxBytes = 4096;
// Cap on the bytes of argv (strings and pointers) read at an exec: an argv
// over it (the kernel allows up to 6 MiB) is argv_too_long, denied in prevent mode.
inline constexpr size_t kArgvReadMaxBytes = 2u << 20;

// A socket endpoint. family: AF_INET, AF_INET6, AF_UNIX, ... (0 = unknown).
struct Endpoint {
  int family = 0;
  std::string addr;  // textual IP, or unix socket path
  int port = 0;
};

struct FileInfo {
  std::string path;      // normalised absolute path
  std::string raw_path;  // path as the process passed it
  std::string target;    // second path (rename/link/symlink target, mount point)
  int64_t flags = 0;     // open flags, mount flags, ...
  int64_t mode = -1;     // mode argument when there is one
  int fd = -1;
  std::string sha256;    // of the file, when computed
  uint64_t dev = 0, ino = 0;  // of the object the path resolved to (0: not resolved, or not there yet)
};

struct NetInfo {
  int domain = 0, type = 0, protocol = 0;
  Endpoint local, remote;
  int fd = -1;
  std::string remote_name;  // DNS name the remote address was resolved from, when seen
};

struct DnsInfo {
  std::string qname;
  int qtype = 0;  // 1=A, 28=AAAA, ...
  std::vector<std::string> answers;  // resolved addresses, when seen
};
// The mnemonic of a DNS query type ("A", "AAAA", "TXT", ...); null if vigil
// does not name it (the number is then reported).
const char* dns_qtype_name(int qtype);

// What an event of a file row does to its object: one entry per event type
// (events/events.cpp kFileTypes), read by the OCSF mapping (activity), the
// rules (evt.is_open_*, which rules name a file to watch) and the watch's
// duplicate check (Judge). A file row's type missing here is caught by the
// unit test "every file row's type is in the file-type table".
enum class FileOp : uint8_t { Open, Create, Update, Delete, Rename, Attrib, Times, Mount, Unmount };
// What a call changes of its object, as inotify reports it: its content (a
// write-open, a create, truncate), its mode or owner, or its names.
enum class FileChange : uint8_t { None, Write, Attrib, Name };
struct FileType {
  std::string_view type;
  FileOp op;
  bool open;    // an open (evt.is_open_read/write, fd.name the file opened): creat too
  bool object;  // its path is a file or directory a rule can name to be watched (not mounts, memfd_create)
};
// The entry of an event type; null for any other type (exec, connect, mmap, ...).
const FileType* file_type(std::string_view type);
std::span<const FileType> file_types();  // all of them, sorted by type
inline bool is_open_type(std::string_view type) {
  const FileType* f = file_type(type);
  return f && f->open;
}
// What an event of this type with these open flags (opens only) changes.
FileChange file_change(std::string_view type, int64_t open_flags);

// Small generic argument list for anything not covered by the typed parts
// (setuid target, signal number, prctl option, ...); exposed as evt.arg.NAME.
struct Arg {
  std::string name;
  std::string value;
};

// What the sensor did about the syscall that produced this event.
enum class Action : uint8_t { None, Denied, Killed };

struct Event {
  uint64_t seq = 0;         // per-sensor sequence number, strictly increasing
  int64_t time_ns = 0;      // CLOCK_REALTIME, nanoseconds
  EventClass cls = EventClass::Process;
  std::string type;         // "exec", "fork", "exit", or the syscall name
  int tid = 0;              // thread that made the call
  ProcessPtr proc;          // never null for process-caused events
  int64_t res = 0;          // syscall return value when known
  bool has_res = false;
  // Lifecycle details
  int exit_code = -1;       // exit: code, or -1 if killed
  int exit_signal = 0;      // exit: terminating signal, 0 if exited
  int child_pid = 0;        // fork: the new process
  std::optional<FileInfo> file;
  std::optional<NetInfo> net;
  std::optional<DnsInfo> dns;
  std::vector<Arg> args;
  Action action = Action::None;

  const std::string* arg(std::string_view name) const;
};

// A typed value of an alert's output field, as Falco sends them: numbers as
// numbers, booleans as booleans, a field with no value as null.
struct FieldValue {
  enum class Kind : uint8_t { Null, Str, Int, Bool };
  Kind kind = Kind::Null;
  std::string s;
  int64_t n = 0;
  FieldValue() = default;
  FieldValue(std::string v) : kind(Kind::Str), s(std::move(v)) {}  // NOLINT: implicit on purpose
  FieldValue(const char* v) : FieldValue(std::string(v)) {}         // NOLINT
  static FieldValue num(int64_t v) {
    FieldValue f;
    f.kind = Kind::Int;
    f.n = v;
    return f;
  }
  static FieldValue boolean(bool v) {
    FieldValue f = num(v);
    f.kind = Kind::Bool;
    return f;
  }
  bool is_null() const { return kind == Kind::Null; }
  std::string text() const;  // as in the output text: "<NA>" for null
};
using OutputFields = std::vector<std::pair<std::string, FieldValue>>;

// An alert raised by the rules engine (rules/) about one event. Serialised in
// Falco's JSON alert shape by to_json(Alert) so falcosidekick accepts it.
struct Alert {
  int64_t time_ns = 0;
  std::string rule;
  std::string priority;  // Falco priority name: Emergency ... Debug
  std::string output;    // the rule's output with %fields substituted
  OutputFields output_fields;  // typed; to_json adds evt.time, container.id, vigil.action, vigil.count
  std::string source = "syscall";
  std::vector<std::string> tags;
  Action action = Action::None;  // what vigil did (prevent mode)
  uint64_t event_seq = 0;        // the event that raised it
  uint64_t count = 1;            // > 1 when repeats were rate-limited into this one
};

// Container context stamped on every record (hostname, cgroup container id,
// later ECS metadata). Filled once at start.
struct Context {
  std::string sensor_id;    // unique per sensor run; ids are sensor_id:seq
  std::string hostname;
  std::string container_id;
  std::string container_image;
  nlohmann::json* extra = nullptr;  // optional extra fields (ECS metadata)
};

// JSON encoding (docs/events.md): events as OCSF 1.5.0 classes. Strings that are not valid UTF-8 get each
// invalid byte written as the 4 characters \xNN, so output is always JSON.
nlohmann::json to_json(const Event& ev, const Context& ctx);
std::string to_json_line(const Event& ev, const Context& ctx);  // no trailing newline
nlohmann::json to_json(const Alert& a, const Context& ctx);
// The alert as an OCSF Detection Finding (class 2004), MITRE ATT&CK attacks
// from the rule's tags (T1234[.001], mitre_<tactic>); uid = the alert's uuid.
nlohmann::json to_ocsf_finding(const Alert& a, const Context& ctx, const std::string& uid);
std::string utf8_sanitize(std::string_view s);

// Alerts carry strings the app chose (paths, argv, names). Each string an
// alert holds (an output_fields value, a value pasted into its output) is
// cut to kAlertValueMaxBytes, as records cut argv (docs/rules.md "Alerts"):
// else one exec with a 2 MiB argv makes an alert no HTTP batch takes, no
// journal keeps, and a queue of them holds gigabytes.
inline constexpr size_t kAlertValueMaxBytes = 4096;
// v in at most max bytes: unchanged when it fits, else its first bytes (never
// part of a UTF-8 character) and "...[N bytes cut]", N the bytes left out.
std::string cut_value(std::string_view v, size_t max = kAlertValueMaxBytes);
void cut_values(OutputFields* fields);  // each string value, by cut_value
// v as it is pasted into an alert's output text: every character that would
// change what the line shows (a newline forges a second alert line, ESC or a
// bidi control hides or reorders text where the output is printed: a
// terminal, Slack, vigil's own log) written as \xNN per byte, as is a byte not
// valid UTF-8, and a backslash as \\, so \ in the result only ever starts one
// of those; then cut like cut_value (never inside an escape). Which ones:
// docs/rules.md "Alerts". output_fields keep the true value (JSON escapes it).
std::string output_value(std::string_view v, size_t max = kAlertValueMaxBytes);

// The compact binary form of an event (events/record.cpp): what the journal
// keeps until a sink has the event (docs/sinks.md "Durability"). It holds
// what to_json reads (argv: as much as a record shows), so
// to_json_line(decoded, ctx) == to_json_line(ev, ctx). encode writes exactly
// event_record_size(ev) bytes (no allocation); decode accepts only a whole,
// well-formed record (else false and *error says what and where).
size_t event_record_size(const Event& ev);
void encode_event_record(const Event& ev, char* out);
std::string encode_event_record(const Event& ev);
bool decode_event_record(std::string_view rec, Event* ev, std::string* error);

// Helpers used across libraries.
// The context of this run: a random sensor_id, the hostname and the container
// id named by /proc/self/cgroup (events/context.cpp).
Context make_context();
std::string host_name();
// The container id named by a /proc/self/cgroup text: a 64-hex-digit id
// (docker, containerd), else the last component of an /ecs/ path (Fargate:
// TASKID-NNNN); empty if none.
std::string container_id_from_cgroup(std::string_view cgroup_text);
// SHA-256 (OpenSSL EVP): update() the data, then hex() (empty if OpenSSL failed).
class Sha256 {
 public:
  Sha256();
  ~Sha256();
  Sha256(const Sha256&) = delete;
  Sha256& operator=(const Sha256&) = delete;
  bool ok() const { return ctx_ != nullptr; }
  void update(const void* p, size_t n);
  std::string hex();

 private:
  void* ctx_;  // EVP_MD_CTX
};
// The CA bundle for TLS (HTTP sinks, registry lookups): the rootfs's own
// (<rootfs>/etc/vigil/ca-certificates.crt, two levels above /proc/self/exe:
// <rootfs>/bin/vigil or the bundled loader <rootfs>/lib64/ld-*), else the
// system's; "" if none.
std::string default_ca_file();
int64_t now_realtime_ns();
std::string rfc3339_ns(int64_t time_ns);  // 2026-11-23T12:00:00.123456789Z
std::string_view class_name(EventClass c);

}  // namespace vigil
