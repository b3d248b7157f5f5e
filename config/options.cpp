#include <cstring>
#include <functional>

#include <fmt/format.h>

#include "probes/sensitive.hpp"
#include "config/config.hpp"

namespace vigil {
namespace {

bool parse_trace(const std::string& v, TraceLevel* out) {
  static const std::pair<const char*, TraceLevel> kLevels[] = {
      {"none", TraceLevel::None}, {"err", TraceLevel::Err},     {"warn", TraceLevel::Warn},
      {"info", TraceLevel::Info}, {"debug", TraceLevel::Debug},
  };
  for (const auto& [name, level] : kLevels)
    if (v == name) {
      *out = level;
      return true;
    }
  return false;
}

bool prefixed(const char* option, bool ok, std::string* err, const char* why = nullptr) {
  if (!ok) *err = why ? fmt::format("invalid {} value: {}", option, why) : fmt::format("{}: {}", option, *err);
  return ok;
}

bool text_value(const char* option, const std::string& v, std::string* out, std::string* err) {
  if (v.empty()) return prefixed(option, false, err, "it needs a value (--name=value)");
  *out = v;
  return true;
}

// A repeatable option: each non-empty value is appended; `what` says what it takes.
bool list_value(const char* option, const std::string& v, std::vector<std::string>* out, std::string* err,
                const char* what) {
  if (v.empty()) {
    *err = fmt::format("{} needs a value: {}", option, what);
    return false;
  }
  out->push_back(v);
  return true;
}

bool sink_spec_ok(const char* option, const std::string& v, std::string* err) {
  SinkSpec spec;
  return prefixed(option, parse_sink_spec(v, &spec, err), err);
}

// One row per option: the whole option surface of `vigil run` is this table.
struct OptionSpec {
  const char* name;
  const char* help;
  std::function<bool(const std::string& value, Options& o, std::string* err)> set;
};

const std::vector<OptionSpec>& option_table() {
  static const std::vector<OptionSpec> kTable = {
      {"trace", "none|err|warn|info|debug: sensor log level on stderr (default warn)",
       [](const std::string& v, Options& o, std::string* err) {
         if (parse_trace(v, &o.trace)) return true;
         *err = fmt::format("invalid --trace value '{}': use none, err, warn, info or debug", v);
         return false;
       }},
      {"events", "SPEC: send events there (repeatable): stderr, file:PATH[,max_bytes=..,max_files=..], PATH, "
                 "http(s)://URL (NDJSON batches), falcosidekick+http(s)://URL",
       [](const std::string& v, Options& o, std::string* err) {
         if (!sink_spec_ok("--events", v, err)) return false;
         o.sinks.events.push_back(v);
         return true;
       }},
      {"alerts", "SPEC: send alerts there (repeatable, same SPECs as --events; default stderr)",
       [](const std::string& v, Options& o, std::string* err) {
         if (!sink_spec_ok("--alerts", v, err)) return false;
         o.sinks.alerts.push_back(v);
         return true;
       }},
      {"spool-dir", "DIR: disk spool for records a sink cannot take yet (default $TMPDIR/vigil-spool)",
       [](const std::string& v, Options& o, std::string* err) { return text_value("--spool-dir", v, &o.sinks.spool_dir, err); }},
      {"spool-max", "SIZE: spool cap per sink, beyond it records are dropped and counted (default 256M)",
       [](const std::string& v, Options& o, std::string* err) { return prefixed("--spool-max", parse_size(v, &o.sinks.spool_max, err), err); }},
      {"journal-size", "SIZE: ring of <spool-dir>/journal that alerts reach before the call is answered; they outlive a "
                       "SIGKILL of vigil (default 4M, 0: off)",
       [](const std::string& v, Options& o, std::string* err) { return prefixed("--journal-size", parse_size(v, &o.sinks.journal_bytes, err), err); }},
      {"alerts-format", "falco|ocsf: alerts in Falco's JSON shape (default) or as OCSF Detection Findings (2004)",
       [](const std::string& v, Options& o, std::string* err) {
         if (v != "falco" && v != "ocsf") {
           *err = "--alerts-format: '" + v + "' is not falco or ocsf";
           return false;
         }
         o.sinks.alerts_ocsf = v == "ocsf";
         return true;
       }},
      {"batch-max", "SIZE: cap on the body of one HTTP request, below the receiver's limit (default 1M)",
       [](const std::string& v, Options& o, std::string* err) {
         if (!prefixed("--batch-max", parse_size(v, &o.sinks.batch_bytes, err), err)) return false;
         if (o.sinks.batch_bytes >= 1024) return true;
         *err = "--batch-max: at least 1k (a request must hold a record)";
         return false;
       }},
      {"queue", "N: records held in memory before spooling (default 10000)",
       [](const std::string& v, Options& o, std::string* err) {
         uint64_t n = 0;
         if (!parse_size(v, &n, err) || n == 0) return prefixed("--queue", false, err, "use a positive number");
         o.sinks.queue = size_t(n);
         return true;
       }},
      {"http-header-env", "NAME: env var holding extra HTTP headers, one 'Name: value' per line (never logged)",
       [](const std::string& v, Options& o, std::string* err) { return text_value("--http-header-env", v, &o.sinks.header_env, err); }},
      {"http-header-file", "PATH: file holding extra HTTP headers, one 'Name: value' per line (never logged)",
       [](const std::string& v, Options& o, std::string* err) { return text_value("--http-header-file", v, &o.sinks.header_file, err); }},
      {"bearer-token-env", "NAME: env var holding a bearer token for HTTP sinks (never logged)",
       [](const std::string& v, Options& o, std::string* err) { return text_value("--bearer-token-env", v, &o.sinks.bearer_token_env, err); }},
      {"bearer-token-file", "PATH: file holding a bearer token for HTTP sinks (never logged)",
       [](const std::string& v, Options& o, std::string* err) { return text_value("--bearer-token-file", v, &o.sinks.bearer_token_file, err); }},
      {"ca-file", "PATH: CA bundle for https sinks (default: the rootfs's etc/vigil/ca-certificates.crt)",
       [](const std::string& v, Options& o, std::string* err) { return text_value("--ca-file", v, &o.sinks.ca_file, err); }},
      {"tls-insecure", "[=true|false]: do not verify TLS certificates (tests only)",
       [](const std::string& v, Options& o, std::string* err) {
         if (v.empty() || v == "true" || v == "1") o.sinks.tls_insecure = true;
         else if (v == "false" || v == "0") o.sinks.tls_insecure = false;
         else return prefixed("--tls-insecure", false, err, "use --tls-insecure, =true or =false");
         return true;
       }},
      {"flush-timeout", "DURATION: how long to deliver pending records at exit (default 5s)",
       [](const std::string& v, Options& o, std::string* err) { return prefixed("--flush-timeout", parse_duration(v, &o.sinks.flush_timeout, err), err); }},
      {"stats-interval", "DURATION: period of the stats record (default 60s, 0 = off)",
       [](const std::string& v, Options& o, std::string* err) { return prefixed("--stats-interval", parse_duration(v, &o.sinks.stats_interval, err), err); }},
      {"rules", "FILE|DIR: rules file or directory of *.yaml (repeatable; default: etc/vigil/rules/ of the rootfs)",
       [](const std::string& v, Options& o, std::string* err) {
         return list_value("--rules", v, &o.rules, err, "a rules file or a directory of *.yaml");
       }},
      {"strict", "[=true|false]: a rule using a field vigil cannot provide is an error instead of skipped",
       [](const std::string& v, Options& o, std::string* err) {
         if (v.empty() || v == "true") o.strict = true;
         else if (v == "false") o.strict = false;
         else {
           *err = fmt::format("invalid --strict value '{}': use --strict, --strict=true or --strict=false", v);
           return false;
         }
         return true;
       }},
      {"mode", "detect|prevent: prevent lets rules with action block/kill stop the syscall (default detect)",
       [](const std::string& v, Options& o, std::string* err) {
         if (v != "detect" && v != "prevent") {
           *err = fmt::format("invalid --mode value '{}': use detect or prevent", v);
           return false;
         }
         o.mode = v == "prevent" ? Mode::Prevent : Mode::Detect;
         return true;
       }},
      {"exit-codes", "async|exact: exact traps exit_group for the exact exit code of every process; async (default) "
                     "reports exits from pidfds, the code when the kernel still has it, else \"status\":\"unknown\" "
                     "(docs/events.md)",
       [](const std::string& v, Options& o, std::string* err) {
         if (v != "async" && v != "exact") {
           *err = fmt::format("invalid --exit-codes value '{}': use async or exact", v);
           return false;
         }
         o.exact_exits = v == "exact";
         return true;
       }},
      {"app-ptrace", "drop|keep: keep leaves the app CAP_SYS_PTRACE (debuggers in the app; the kernel then no longer "
                     "keeps it off the sensor: docs/threat-model.md; default drop)",
       [](const std::string& v, Options& o, std::string* err) {
         if (v != "drop" && v != "keep") {
           *err = fmt::format("invalid --app-ptrace value '{}': use drop or keep", v);
           return false;
         }
         o.app_ptrace = v == "keep";
         return true;
       }},
      {"read-deadline", "DURATION: longest read of the app's memory (a syscall argument); one that lasts longer "
                        "(a userfaultfd or hung-filesystem page) is ended by killing the process read, with a "
                        "Critical alert (10ms to 10s; default 250ms; docs/threat-model.md)",
       [](const std::string& v, Options& o, std::string* err) {
         if (!prefixed("--read-deadline", parse_duration(v, &o.read_deadline, err), err)) return false;
         if (o.read_deadline >= std::chrono::milliseconds(10) && o.read_deadline <= std::chrono::seconds(10)) return true;
         *err = fmt::format("invalid --read-deadline value '{}': use 10ms to 10s (e.g. 250ms)", v);
         return false;
       }},
      {"alert-window", "DURATION: one alert per rule and process per window; repeats inside it are counted and "
                       "reported, with what they were about, when it closes (0 to 1h; 0: every match alerts; "
                       "default 60s; docs/rules.md)",
       [](const std::string& v, Options& o, std::string* err) {
         if (v == "0") return o.alert_window = std::chrono::milliseconds(0), true;
         if (!prefixed("--alert-window", parse_duration(v, &o.alert_window, err), err)) return false;
         if (o.alert_window <= std::chrono::hours(1)) return true;
         *err = fmt::format("invalid --alert-window value '{}': use 0 to 1h (e.g. 60s)", v);
         return false;
       }},
      {"threat-intel", "FILE: list of IPs/CIDRs, domains and SHA-256 hashes to alert on (repeatable)",
       [](const std::string& v, Options& o, std::string* err) {
         return list_value("--threat-intel", v, &o.threat_intel, err,
                           "a file with one IP, CIDR, domain or SHA-256 per line");
       }},
      {"sensitive-files",
       "LIST: credential files whose reads are reported (inotify): 'none', or comma-separated absolute "
       "glob patterns, 'default' standing for the built-in list (default: default)",
       [](const std::string& v, Options& o, std::string* err) {
         o.sensitive_default = false;
         return parse_sensitive_patterns(v, &o.sensitive_files, err);
       }},
  };
  return kTable;
}

// Splits a VIGIL_OPTS string like a POSIX shell splits words (no expansion).
bool split_words(const std::string& s, std::vector<std::string>* out, std::string* err) {
  std::string cur;
  bool in_word = false;
  char quote = 0;
  for (size_t i = 0; i < s.size(); ++i) {
    char c = s[i];
    if (quote) {
      if (c == quote) quote = 0;
      else if (c == '\\' && quote == '"' && i + 1 < s.size() && (s[i + 1] == '"' || s[i + 1] == '\\')) cur += s[++i];
      else cur += c;
    } else if (c == '\'' || c == '"') {
      quote = c;
      in_word = true;
    } else if (c == '\\' && i + 1 < s.size()) {
      cur += s[++i];
      in_word = true;
    } else if (c == ' ' || c == '\t' || c == '\n') {
      if (in_word) out->push_back(cur);
      cur.clear();
      in_word = false;
    } else {
      cur += c;
      in_word = true;
    }
  }
  if (quote) {
    *err = fmt::format("VIGIL_OPTS: unterminated {} quote in '{}'", quote, s);
    return false;
  }
  if (in_word) out->push_back(cur);
  return true;
}

bool apply(const std::string& word, const char* origin, Options& o, std::string* err) {
  if (word.rfind("--", 0) != 0) {
    *err = fmt::format("{}: unexpected argument '{}' (options look like --name=value)", origin, word);
    return false;
  }
  std::string body = word.substr(2);
  auto eq = body.find('=');
  std::string name = body.substr(0, eq);
  std::string value = eq == std::string::npos ? "" : body.substr(eq + 1);
  for (const auto& spec : option_table()) {
    if (name == spec.name) {
      if (spec.set(value, o, err)) return true;
      *err = fmt::format("{}: {}", origin, *err);
      return false;
    }
  }
  std::string known;
  for (const auto& spec : option_table()) known += fmt::format(" --{}", spec.name);
  *err = fmt::format("{}: unknown option '--{}' (known:{})", origin, name, known);
  return false;
}

}  // namespace

std::string options_help() {
  std::string out;
  for (const auto& spec : option_table()) out += fmt::format("  --{:<18} {}\n", spec.name, spec.help);
  return out;
}

bool parse_options(const char* vigil_opts, int argc, char** argv, Options* out, int* rest, std::string* error) {
  if (vigil_opts && *vigil_opts) {
    std::vector<std::string> words;
    if (!split_words(vigil_opts, &words, error)) return false;
    for (const auto& w : words)
      if (!apply(w, "VIGIL_OPTS", *out, error)) return false;
  }
  int i = 1;
  for (; i < argc; ++i) {
    if (!std::strcmp(argv[i], "--")) {
      ++i;
      break;
    }
    if (argv[i][0] != '-') break;
    if (!apply(argv[i], "command line", *out, error)) return false;
  }
  *rest = i;
  return true;
}

}  // namespace vigil
