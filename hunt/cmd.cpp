// `vigil hunt`: the command line, the line reader (plain, gzip, stdin), the
// bounded process index and the output (docs/hunt.md).
#include <fcntl.h>
#include <unistd.h>
#include <zlib.h>

#include <algorithm>
#include <array>
#include <cerrno>
#include <chrono>
#include <cstring>
#include <ctime>
#include <list>
#include <unordered_map>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "events/events.hpp"
#include "hunt/hunt.hpp"

namespace vigil {

namespace {

using nlohmann::json;
using namespace vigil::hunt;

constexpr const char* kUsage =
    "usage: vigil hunt --ioc FILE [--ioc FILE...] [--since T] [--until T] [--json] [--strict] EVENTS...\n"
    "  Searches vigil's JSON-lines events for indicators of compromise and prints the\n"
    "  matching events with their process tree.\n"
    "  --ioc FILE    indicators: a plain list (one a line, '#' comments), CSV with a header\n"
    "                naming 'type'/'value' columns, or a STIX 2.1 bundle (repeatable)\n"
    "  --since T     only events at or after T; --until T: only before T. T is RFC 3339\n"
    "                (2026-11-23T12:00:00Z), a date (2026-11-23) or a duration back from now (24h, 7d)\n"
    "  --json        one JSON object per match (event, hits, process_tree) instead of text\n"
    "  --strict      parse every line: malformed lines and unsupported indicators are errors\n"
    "  EVENTS        event files (rotated .N and gzip'd files too; read oldest first), '-' for stdin\n"
    "exit status: 0 matches found, 1 none, 2 usage or input error. docs/hunt.md\n";

// ---- input ---------------------------------------------------------------------

// Lines of one file or stdin, plain or gzip (by magic, so `.gz` names and
// piped gzip both work), in a fixed buffer: memory does not grow with input.
class LineReader {
 public:
  static constexpr size_t kBuf = 1 << 20, kMaxLine = 16 << 20;

  bool open(const std::string& path, std::string* error) {
    path_ = path == "-" ? "(stdin)" : path;
    fd_ = path == "-" ? dup(0) : ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd_ < 0) return *error = fmt::format("{}: cannot open: {}", path, std::strerror(errno)), false;
    buf_.resize(kBuf);
    ssize_t got = fill_raw(buf_.data(), 2);
    if (got < 0) return *error = fmt::format("{}: {}", path, std::strerror(errno)), false;
    if (got == 2 && static_cast<unsigned char>(buf_[0]) == 0x1f && static_cast<unsigned char>(buf_[1]) == 0x8b) {
      // hand the fd to zlib from its start: re-feed the two magic bytes
      if (lseek(fd_, 0, SEEK_SET) == 0) {
        gz_ = gzdopen(dup(fd_), "rb");
        end_ = 0;
      } else {  // a pipe: zlib cannot rewind, so decode with inflate ourselves
        pipe_gz_ = true;
        zs_ = {};
        if (inflateInit2(&zs_, 16 + MAX_WBITS) != Z_OK) return *error = fmt::format("{}: zlib init failed", path), false;
        zin_.assign(buf_.data(), 2);
        end_ = 0;
      }
      if (gz_) gzbuffer(gz_, 256 << 10);
      if (!gz_ && !pipe_gz_) return *error = fmt::format("{}: cannot read gzip", path), false;
    } else {
      end_ = size_t(std::max<ssize_t>(got, 0));
    }
    return true;
  }
  ~LineReader() {
    if (gz_) gzclose(gz_);
    if (pipe_gz_) inflateEnd(&zs_);
    if (fd_ >= 0) ::close(fd_);
  }

  // Next line without its '\n'; false at the end or on error (error set).
  // A line longer than kMaxLine is skipped (`oversized` set, `line` empty):
  // one huge line must not end the hunt over the rest of the file.
  bool next(std::string_view& line, bool* oversized, std::string* error) {
    *oversized = false;
    for (;;) {
      if (auto* nl = static_cast<char*>(std::memchr(buf_.data() + pos_, '\n', end_ - pos_))) {
        line = std::string_view(buf_.data() + pos_, size_t(nl - buf_.data()) - pos_);
        pos_ = size_t(nl - buf_.data()) + 1;
        if (skipping_) {
          skipping_ = false;
          *oversized = true;
          line = {};
        }
        return true;
      }
      if (eof_) {
        if (skipping_) return skipping_ = false, *oversized = true, line = {}, true;
        if (pos_ == end_) return false;
        line = std::string_view(buf_.data() + pos_, end_ - pos_);  // last line without '\n'
        pos_ = end_;
        return true;
      }
      if (pos_ > 0) {  // keep the partial line, read more after it
        std::memmove(buf_.data(), buf_.data() + pos_, end_ - pos_);
        end_ -= pos_;
        pos_ = 0;
      }
      if (end_ == buf_.size()) {
        if (buf_.size() >= kMaxLine) {
          skipping_ = true;  // drop what we have, up to the next '\n'
          end_ = 0;
        } else {
          buf_.resize(buf_.size() * 2);
        }
      }
      ssize_t got = fill(buf_.data() + end_, buf_.size() - end_, error);
      if (got < 0) return false;
      if (got == 0) eof_ = true;
      end_ += size_t(got);
    }
  }

 private:
  ssize_t fill_raw(char* p, size_t n) {
    size_t done = 0;
    while (done < n) {
      ssize_t r = ::read(fd_, p + done, n - done);
      if (r < 0 && errno == EINTR) continue;
      if (r < 0) return -1;
      if (r == 0) break;
      done += size_t(r);
    }
    return ssize_t(done);
  }
  ssize_t fill(char* p, size_t n, std::string* error) {
    if (gz_) {
      int r = gzread(gz_, p, unsigned(std::min<size_t>(n, 1u << 30)));
      int code = Z_OK;
      const char* msg = r <= 0 ? gzerror(gz_, &code) : nullptr;
      if (r < 0 || code != Z_OK) {  // a truncated file ends with Z_BUF_ERROR, not -1
        *error = fmt::format("{}: gzip: {}", path_, msg);
        return -1;
      }
      return r;
    }
    if (pipe_gz_) return inflate_pipe(p, n, error);
    ssize_t r;
    do r = ::read(fd_, p, n);
    while (r < 0 && errno == EINTR);
    if (r < 0) *error = fmt::format("{}: {}", path_, std::strerror(errno));
    return r;
  }
  // gzip from a pipe (stdin), concatenated members too.
  ssize_t inflate_pipe(char* p, size_t n, std::string* error) {
    zs_.next_out = reinterpret_cast<Bytef*>(p);
    zs_.avail_out = unsigned(std::min<size_t>(n, 1u << 30));
    while (zs_.avail_out == n) {
      if (zs_.avail_in == 0) {
        if (zin_.empty()) {
          zin_.resize(256 << 10);
          ssize_t r = fill_raw(zin_.data(), zin_.size());
          if (r < 0) return *error = fmt::format("{}: {}", path_, std::strerror(errno)), -1;
          zin_.resize(size_t(r));
          if (r == 0) {
            if (!zdone_) return *error = fmt::format("{}: gzip: truncated stream", path_), -1;
            return 0;
          }
        }
        zs_.next_in = reinterpret_cast<Bytef*>(zin_.data());
        zs_.avail_in = unsigned(zin_.size());
      }
      int rc = inflate(&zs_, Z_NO_FLUSH);
      zdone_ = rc == Z_STREAM_END;
      if (rc == Z_STREAM_END) {
        inflateReset(&zs_);  // a following member, if any
      } else if (rc != Z_OK && rc != Z_BUF_ERROR) {
        return *error = fmt::format("{}: gzip: {}", path_, zs_.msg ? zs_.msg : "corrupt data"), -1;
      }
      if (zs_.avail_in == 0) zin_.clear();
    }
    return ssize_t(n - zs_.avail_out);
  }

  std::string path_;
  int fd_ = -1;
  gzFile gz_ = nullptr;
  bool pipe_gz_ = false, zdone_ = false, eof_ = false, skipping_ = false;
  z_stream zs_{};
  std::string zin_;
  std::vector<char> buf_;
  size_t pos_ = 0, end_ = 0;
};

// Rotated files oldest first: events.jsonl.3.gz, .2, .1, events.jsonl (the
// process tree is built in stream order). Other names keep their order.
void order_inputs(std::vector<std::string>& files) {
  auto key = [](const std::string& f) {
    std::string base = f;
    if (base.ends_with(".gz")) base.resize(base.size() - 3);
    long idx = 0;
    auto dot = base.rfind('.');
    if (dot != std::string::npos && dot + 1 < base.size() &&
        std::all_of(base.begin() + long(dot) + 1, base.end(), ::isdigit)) {
      idx = std::stol(base.substr(dot + 1));
      base.resize(dot);
    }
    return std::pair{base, -idx};
  };
  std::vector<std::pair<std::string, long>> keys;
  for (const auto& f : files) keys.push_back(key(f));
  std::vector<size_t> order(files.size());
  for (size_t i = 0; i < order.size(); ++i) order[i] = i;
  auto rank = [&](size_t i) {  // where the file's base first appears
    return size_t(std::find_if(keys.begin(), keys.end(), [&](const auto& k) { return k.first == keys[i].first; }) -
                  keys.begin());
  };
  std::stable_sort(order.begin(), order.end(), [&](size_t a, size_t b) {
    return std::pair{rank(a), keys[a].second} < std::pair{rank(b), keys[b].second};
  });
  std::vector<std::string> sorted;
  for (size_t i : order) sorted.push_back(files[i]);
  files = std::move(sorted);
}

// ---- process index -------------------------------------------------------------

// What is known of a process from fork/exec events, keyed by sensor and pid.
// Bounded (kMax entries, least recently used evicted; each string capped), so
// memory stays constant however long the input; pid reuse overwrites.
struct ProcInfo {
  int pid = 0, ppid = 0;
  std::string name, exe, cmd_line;
};

class ProcIndex {
 public:
  static constexpr size_t kMax = 32768, kMaxString = 512;
  using Key = std::pair<std::string, int>;

  const ProcInfo* find(const std::string& sensor, int pid) {
    auto it = map_.find(Key{sensor, pid});
    if (it == map_.end()) return nullptr;
    lru_.splice(lru_.begin(), lru_, it->second);  // ancestors of live processes stay
    return &it->second->second;
  }
  void put(const std::string& sensor, ProcInfo info) {
    for (auto* s : {&info.name, &info.exe, &info.cmd_line})
      if (s->size() > kMaxString) s->resize(kMaxString);
    Key k{sensor, info.pid};
    if (auto it = map_.find(k); it != map_.end()) {
      it->second->second = std::move(info);
      lru_.splice(lru_.begin(), lru_, it->second);
      return;
    }
    if (map_.size() >= kMax) {
      map_.erase(lru_.back().first);
      lru_.pop_back();
    }
    int ppid = info.ppid;
    lru_.emplace_front(k, std::move(info));
    map_.emplace(std::move(k), lru_.begin());
    // refresh its ancestors too: a busy subtree must not evict the
    // entrypoint and the other long-lived processes above it
    for (int depth = 0; ppid > 0 && depth < 64; ++depth) {
      const ProcInfo* p = find(sensor, ppid);
      if (!p || p->ppid == ppid) break;
      ppid = p->ppid;
    }
  }

 private:
  struct KeyHash {
    size_t operator()(const Key& k) const { return std::hash<std::string>()(k.first) ^ size_t(k.second) * 0x9E3779B1u; }
  };
  std::list<std::pair<Key, ProcInfo>> lru_;
  std::unordered_map<Key, std::list<std::pair<Key, ProcInfo>>::iterator, KeyHash> map_;
};

// Record fields used for the tree and the output; like the indicator paths
// (match.cpp), each is a list of places to look in, vigil's layout first.
const json* at(const json& j, std::initializer_list<const char*> paths) {
  for (const char* path : paths) {
    const json* cur = &j;
    for (std::string_view p = path; cur && !p.empty();) {
      auto dot = p.find('.');
      auto key = p.substr(0, dot);
      auto it = cur->is_object() ? cur->find(key) : cur->end();
      cur = cur->is_object() && it != cur->end() ? &*it : nullptr;
      p = dot == std::string_view::npos ? std::string_view{} : p.substr(dot + 1);
    }
    if (cur && !cur->is_null()) return cur;
  }
  return nullptr;
}
std::string str_at(const json& j, std::initializer_list<const char*> paths) {
  const json* v = at(j, paths);
  return v && v->is_string() ? v->get<std::string>() : v && v->is_number() ? v->dump() : std::string();
}
int int_at(const json& j, std::initializer_list<const char*> paths) {
  const json* v = at(j, paths);
  return v && v->is_number_integer() ? v->get<int>() : 0;
}

// The sensor a record came from: processes of different tasks share pids.
std::string sensor_key(const std::string& id, const std::string& host, const std::string& container) {
  if (auto colon = id.rfind(':'); colon != std::string::npos) return id.substr(0, colon);
  return host + "/" + container;
}
std::string sensor_of(const json& rec) {
  return sensor_key(str_at(rec, {"id", "metadata.uid"}), str_at(rec, {"host.hostname", "device.hostname"}),
                    str_at(rec, {"container.id", "device.container.uid"}));
}

ProcInfo proc_of(const json& p) {
  return {int_at(p, {"pid"}), int_at(p, {"ppid", "parent_process.pid"}), str_at(p, {"name"}),
          str_at(p, {"exe", "file.path"}), str_at(p, {"cmd_line"})};
}

// What a fork/exec event gives the tree (hunt.hpp TreeFields): the sensor
// and the process.
std::string sensor_of(const TreeFields& f) {
  using F = TreeFields;
  return sensor_key(f.first(F::kId, F::kMetaUid), f.first(F::kHost, F::kHostOcsf), f.first(F::kContainer, F::kContainerOcsf));
}
ProcInfo proc_of(const TreeFields& f) {
  using F = TreeFields;
  return {f.num(F::kPid), f.num(F::kPpid, F::kPpidOcsf), f[F::kName], f.first(F::kExe, F::kExeOcsf), f[F::kCmd]};
}

// ---- time ----------------------------------------------------------------------

bool event_time(const json& rec, int64_t* ns) {
  const json* t = at(rec, {"time"});
  if (!t) return false;
  if (t->is_string()) return parse_rfc3339(t->get_ref<const std::string&>(), ns);
  if (t->is_number_integer()) return *ns = t->get<int64_t>() * 1'000'000, true;  // OCSF: epoch milliseconds
  return false;
}

// ---- the hunt ------------------------------------------------------------------

struct Options {
  std::vector<std::string> ioc_files, inputs;
  bool json_out = false, strict = false;
  int64_t since = INT64_MIN, until = INT64_MAX;
};

struct Stats {
  uint64_t lines = 0, parsed = 0, matched = 0, malformed = 0;
  std::vector<std::string> malformed_examples;
};

class Hunt {
 public:
  Hunt(const Options& o, const Matcher& m) : opt_(o), matcher_(m) { out_.reserve(1 << 16); }

  // false on an input error (reported)
  bool run_file(const std::string& path) {
    LineReader reader;
    std::string error;
    if (!reader.open(path, &error)) return fmt::print(stderr, "vigil hunt: {}\n", error), false;
    const std::string& shown = path == "-" ? std::string("(stdin)") : path;
    std::string_view line;
    uint64_t lineno = 0;
    bool oversized;
    while (reader.next(line, &oversized, &error)) {
      ++lineno;
      ++stats_.lines;
      if (oversized) {
        malformed(shown, lineno, fmt::format("longer than {} MiB, skipped", LineReader::kMaxLine >> 20));
        continue;
      }
      while (!line.empty() && (line.back() == '\r' || line.back() == ' ' || line.back() == '\t')) line.remove_suffix(1);
      if (line.empty()) continue;
      one_line(line, shown, lineno);
    }
    flush();
    if (!error.empty()) return fmt::print(stderr, "vigil hunt: {} (after line {})\n", error, lineno), false;
    return true;
  }

  void flush() {
    std::fwrite(out_.data(), 1, out_.size(), stdout);
    out_.clear();
  }
  const Stats& stats() const { return stats_; }

 private:
  void malformed(const std::string& file, uint64_t lineno, std::string_view why) {
    ++stats_.malformed;
    if (stats_.malformed_examples.size() < 5) stats_.malformed_examples.push_back(fmt::format("{}:{}: {}", file, lineno, why));
  }

  void one_line(std::string_view line, const std::string& file, uint64_t lineno) {
    if (line.front() != '{' || line.back() != '}') return malformed(file, lineno, "not a JSON object on one line");
    auto scan = matcher_.scan(line);
    if (!scan.candidate && !scan.process && !opt_.strict) return;
    ++stats_.parsed;
    if (scan.process) {  // fork/exec: feeds the tree
      TreeFields& f = tree_fields_;
      if (!f.parse(line)) return malformed(file, lineno, "not valid JSON");
      const std::string& type = f.first(TreeFields::kType, TreeFields::kTypeOcsf);
      if (type == "exec" || type == "fork") {
        auto sensor = sensor_of(f);
        ProcInfo info = proc_of(f);
        if (info.pid > 0) index_.put(sensor, info);
        // vigil's layout: process is the parent; OCSF (vigil's events): the
        // child, with the parent in parent_process (docs/events.md).
        if (int child = f.num(TreeFields::kChild, TreeFields::kChildOcsf);
            type == "fork" && child > 0 && child != info.pid) {
          info.ppid = info.pid;  // the child runs its parent's image until it execs
          info.pid = child;
          index_.put(sensor, std::move(info));
        }
      }
    }
    if (!scan.candidate && !opt_.strict) return;
    json rec = json::parse(line.begin(), line.end(), nullptr, false);
    if (rec.is_discarded() || !rec.is_object()) return malformed(file, lineno, "not valid JSON");
    if (!scan.candidate) return;
    auto hits = matcher_.match(rec);
    if (hits.empty()) return;
    if (opt_.since != INT64_MIN || opt_.until != INT64_MAX) {
      int64_t t;
      if (!event_time(rec, &t) || t < opt_.since || t >= opt_.until) return;
    }
    ++stats_.matched;
    auto tree = tree_of(rec, sensor_of(rec));
    if (opt_.json_out) write_json(rec, hits, tree, file, lineno);
    else write_text(rec, hits, tree, file, lineno);
    if (out_.size() > (1 << 16)) flush();
  }

  // The process an event is about: `process` in vigil's layout; in OCSF
  // the one that made the call is actor.process, except for exec, fork
  // and exit, whose `process` is the new image, the child, the one ending.
  static const json* subject_of(const json& rec) {
    const std::string type = str_at(rec, {"type", "unmapped.type"});
    if (type == "exec" || type == "fork" || type == "exit") return at(rec, {"process"});
    return at(rec, {"actor.process", "process"});
  }

  // The event's process, then its ancestors up to the first one the input
  // does not describe (the container's entrypoint: its parent is vigil).
  std::vector<ProcInfo> tree_of(const json& rec, const std::string& sensor) {
    std::vector<ProcInfo> chain;
    const json* p = subject_of(rec);
    if (!p) return chain;
    chain.push_back(proc_of(*p));
    for (int ppid = chain.back().ppid; ppid > 0 && chain.size() < 64;) {
      const ProcInfo* info = index_.find(sensor, ppid);
      if (!info) {
        // only the event's own parent summary is known
        // (an OCSF parent_process of only a pid says nothing more)
        const json* parent = at(*p, {"parent", "parent_process"});
        if (chain.size() == 1 && parent && int_at(*parent, {"pid"}) == ppid) {
          ProcInfo summary{ppid, int_at(*parent, {"ppid", "parent_process.pid"}), str_at(*parent, {"name"}),
                           str_at(*parent, {"exe", "file.path"}), str_at(*parent, {"cmd_line"})};
          if (!summary.name.empty() || !summary.exe.empty()) chain.push_back(std::move(summary));
        }
        break;
      }
      if (std::any_of(chain.begin(), chain.end(), [&](const ProcInfo& c) { return c.pid == info->pid; })) break;
      chain.push_back(*info);
      ppid = info->ppid;
    }
    std::reverse(chain.begin(), chain.end());  // entrypoint first
    return chain;
  }

  static std::string what(const json& rec) {
    if (auto path = str_at(rec, {"file.path"}); !path.empty()) return path;
    if (auto q = str_at(rec, {"dns.qname", "query.hostname"}); !q.empty()) return "dns " + q;
    if (auto addr = str_at(rec, {"network.remote.addr", "dst_endpoint.ip"}); !addr.empty()) {
      auto port = str_at(rec, {"network.remote.port", "dst_endpoint.port"});
      auto name = str_at(rec, {"network.remote_name", "dst_endpoint.hostname"});
      return addr + (port.empty() ? "" : ":" + port) + (name.empty() ? "" : " (" + name + ")");
    }
    if (auto c = str_at(rec, {"child_pid", "unmapped.child_pid"}); !c.empty()) return "child " + c;
    return str_at(rec, {"process.cmd_line", "actor.process.cmd_line"});
  }

  // Event contents come from the monitored app: a file name or command
  // line could hold terminal escape sequences. A value from an event as the
  // text output shows it: controls (C0, C1, DEL), bidi controls and bytes
  // not valid UTF-8 as \xNN, a backslash as \\, as in an alert's output (events/events.hpp output_value), uncut: a
  // stored name can neither move the analyst's cursor, reorder what the line
  // shows, nor pass for an escape it is not.
  static std::string printable(std::string_view s) { return output_value(s, std::string::npos); }

  void write_text(const json& rec, const std::vector<Hit>& hits, const std::vector<ProcInfo>& tree,
                  const std::string& file, uint64_t lineno) {
    auto host = str_at(rec, {"host.hostname", "device.hostname"});
    auto p = [](const std::string& v) { return printable(v); };
    auto id = str_at(rec, {"id", "metadata.uid"});
    fmt::format_to(std::back_inserter(out_), "{}:{}  {}  {}  {}{}{}\n", p(file), lineno,
                   p(str_at(rec, {"time_dt", "time"})), p(str_at(rec, {"type", "unmapped.type"})), p(what(rec)),
                   host.empty() ? "" : "  host=" + p(host), id.empty() ? "" : "  id=" + p(id));
    for (const auto& h : hits)
      fmt::format_to(std::back_inserter(out_), "  ioc   {} {} ({}) at {} = {}\n", type_name(h.ioc->type),
                     p(h.ioc->value), p(h.ioc->origin), h.field, p(h.value));
    for (size_t i = 0; i < tree.size(); ++i) {
      const auto& t = tree[i];
      std::string indent = i == 0 ? "" : std::string(3 * (i - 1), ' ') + "└─ ";
      fmt::format_to(std::back_inserter(out_), "  {}{}{} {}  {}{}\n", i == 0 ? "tree  " : "      ", indent, t.pid,
                     p(t.exe.empty() ? t.name : t.exe), p(t.cmd_line), i + 1 == tree.size() ? "   <- this event" : "");
    }
    out_ += '\n';
  }

  void write_json(const json& rec, const std::vector<Hit>& hits, const std::vector<ProcInfo>& tree,
                  const std::string& file, uint64_t lineno) {
    json jh = json::array();
    for (const auto& h : hits)
      jh.push_back({{"type", type_name(h.ioc->type)}, {"indicator", h.ioc->value}, {"source", h.ioc->origin},
                    {"field", h.field}, {"value", h.value}});
    json jt = json::array();
    for (const auto& t : tree)
      jt.push_back({{"pid", t.pid}, {"ppid", t.ppid}, {"name", t.name}, {"exe", t.exe}, {"cmd_line", t.cmd_line}});
    json out = {{"file", file}, {"line", lineno}, {"hits", jh}, {"process_tree", jt}, {"event", rec}};
    out_ += out.dump(-1, ' ', false, json::error_handler_t::replace);
    out_ += '\n';
  }

  const Options& opt_;
  const Matcher& matcher_;
  ProcIndex index_;
  TreeFields tree_fields_;  // reused: its strings keep their capacity
  Stats stats_;
  std::string out_;
};

}  // namespace

int cmd_hunt(int argc, char** argv) {
  Options opt;
  int64_t now = std::chrono::duration_cast<std::chrono::nanoseconds>(
                    std::chrono::system_clock::now().time_since_epoch()).count();
  auto usage_error = [](const std::string& msg) {
    fmt::print(stderr, "vigil hunt: {}\n{}", msg, kUsage);
    return 2;
  };
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i];
    auto value = [&](const char* name) -> const char* {
      if (a.starts_with(std::string(name) + "=")) return argv[i] + std::strlen(name) + 1;
      if (a == name && i + 1 < argc) return argv[++i];
      return nullptr;
    };
    if (a == "--help" || a == "-h") {
      std::fputs(kUsage, stdout);
      return 0;
    }
    if (a == "--json") opt.json_out = true;
    else if (a == "--strict") opt.strict = true;
    else if (a == "--ioc" || a.starts_with("--ioc=")) {
      const char* v = value("--ioc");
      if (!v) return usage_error("--ioc needs a FILE");
      opt.ioc_files.push_back(v);
    } else if (a == "--since" || a.starts_with("--since=") || a == "--until" || a.starts_with("--until=")) {
      bool since = a.starts_with("--since");
      const char* v = value(since ? "--since" : "--until");
      if (!v) return usage_error(fmt::format("{} needs a time", since ? "--since" : "--until"));
      if (!parse_time_bound(v, now, since ? &opt.since : &opt.until))
        return usage_error(fmt::format("'{}' is not a time: use RFC 3339 (2026-11-23T12:00:00Z), a date "
                                       "(2026-11-23) or a duration back from now (90m, 24h, 7d)", v));
    } else if (a.size() > 1 && a[0] == '-') {
      return usage_error(fmt::format("unknown option '{}'", a));
    } else {
      opt.inputs.push_back(a);
    }
  }
  if (opt.ioc_files.empty()) return usage_error("no --ioc FILE given");
  if (opt.inputs.empty()) return usage_error("no EVENTS given (use - for stdin)");

  IocSet set;
  for (const auto& f : opt.ioc_files) load_ioc_file(f, set);
  for (const auto& e : set.errors) fmt::print(stderr, "vigil hunt: {}\n", e);
  for (const auto& u : set.unsupported) fmt::print(stderr, "vigil hunt: {}: {}\n", opt.strict ? "error" : "skipped", u);
  if (!set.errors.empty() || (opt.strict && !set.unsupported.empty())) {
    fmt::print(stderr, "vigil hunt: fix the indicator files above ({} error(s), {} unsupported)\n", set.errors.size(),
               set.unsupported.size());
    return 2;
  }
  if (set.iocs.empty()) return fmt::print(stderr, "vigil hunt: no indicator vigil can match was loaded\n"), 2;

  Matcher matcher(std::move(set.iocs));
  order_inputs(opt.inputs);
  Hunt hunt(opt, matcher);
  bool input_error = false;
  auto t0 = std::chrono::steady_clock::now();
  for (const auto& f : opt.inputs) input_error |= !hunt.run_file(f);
  std::fflush(stdout);
  double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();

  const auto& st = hunt.stats();
  fmt::print(stderr, "vigil hunt: {} indicators, {} lines in {} input(s), {} parsed, {} matching events, {:.2f} s\n",
             matcher.size(), st.lines, opt.inputs.size(), st.parsed, st.matched, secs);
  if (st.malformed) {
    fmt::print(stderr, "vigil hunt: {} malformed line(s) skipped{}:\n", st.malformed,
               opt.strict ? "" : " (lines that cannot match are only checked to be {...}; --strict parses all)");
    for (const auto& m : st.malformed_examples) fmt::print(stderr, "  {}\n", m);
  }
  if (input_error || (opt.strict && st.malformed)) return 2;
  return st.matched ? 0 : 1;
}

// ---- time parsing (declared in hunt.hpp) -----------------------------------------

namespace hunt {

bool parse_rfc3339(std::string_view s, int64_t* out) {
  // YYYY-MM-DD[THH:MM:SS[.frac]](Z|+hh:mm|-hh:mm)?
  auto num = [&](size_t pos, size_t len, int* v) {
    if (pos + len > s.size()) return false;
    *v = 0;
    for (size_t i = pos; i < pos + len; ++i) {
      if (s[i] < '0' || s[i] > '9') return false;
      *v = *v * 10 + (s[i] - '0');
    }
    return true;
  };
  int Y, M, D, h = 0, m = 0, sec = 0;
  if (!num(0, 4, &Y) || s.size() < 10 || s[4] != '-' || !num(5, 2, &M) || s[7] != '-' || !num(8, 2, &D)) return false;
  if (M < 1 || M > 12 || D < 1 || D > 31) return false;
  size_t pos = 10;
  int64_t frac_ns = 0;
  if (pos < s.size() && (s[pos] == 'T' || s[pos] == 't' || s[pos] == ' ')) {
    if (!num(pos + 1, 2, &h) || s.size() < pos + 9 || s[pos + 3] != ':' || !num(pos + 4, 2, &m) || s[pos + 6] != ':' ||
        !num(pos + 7, 2, &sec) || h > 23 || m > 59 || sec > 60)
      return false;
    pos += 9;
    if (pos < s.size() && s[pos] == '.') {
      int64_t scale = 100'000'000;
      size_t start = ++pos;
      for (; pos < s.size() && s[pos] >= '0' && s[pos] <= '9'; ++pos, scale /= 10) frac_ns += (s[pos] - '0') * scale;
      if (pos == start) return false;
    }
  }
  int64_t offset = 0;
  if (pos < s.size()) {
    if (s[pos] == 'Z' || s[pos] == 'z') {
      ++pos;
    } else if (s[pos] == '+' || s[pos] == '-') {
      int oh, om;
      if (!num(pos + 1, 2, &oh) || s.size() < pos + 6 || s[pos + 3] != ':' || !num(pos + 4, 2, &om)) return false;
      offset = (oh * 3600 + om * 60) * (s[pos] == '-' ? -1 : 1);
      pos += 6;
    }
  }
  if (pos != s.size()) return false;
  tm t{};
  t.tm_year = Y - 1900;
  t.tm_mon = M - 1;
  t.tm_mday = D;
  t.tm_hour = h;
  t.tm_min = m;
  t.tm_sec = sec;
  int64_t secs = int64_t(timegm(&t)) - offset;
  *out = secs * 1'000'000'000 + frac_ns;
  return true;
}

bool parse_time_bound(std::string_view text, int64_t now_ns, int64_t* out) {
  if (parse_rfc3339(text, out)) return true;
  if (text.size() < 2) return false;
  int64_t unit;
  switch (text.back()) {
    case 's': unit = 1; break;
    case 'm': unit = 60; break;
    case 'h': unit = 3600; break;
    case 'd': unit = 86400; break;
    case 'w': unit = 7 * 86400; break;
    default: return false;
  }
  int64_t n = 0;
  for (char c : text.substr(0, text.size() - 1)) {
    if (c < '0' || c > '9' || n > 1'000'000'000) return false;
    n = n * 10 + (c - '0');
  }
  *out = now_ns - n * unit * 1'000'000'000;
  return true;
}

}  // namespace hunt

}  // namespace vigil
