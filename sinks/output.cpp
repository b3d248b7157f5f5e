// The Output the tracer talks to: a bounded record queue, a dispatcher thread
// that serialises and fans out to the sinks' channels, and periodic stats.
#include <unistd.h>

#include <cstdlib>
#include <fstream>
#include <cmath>
#include <map>
#include <optional>
#include <random>
#include <variant>

#include <fmt/format.h>
#include <nlohmann/json.hpp>
#include <spdlog/spdlog.h>

#include "sinks/internal.hpp"
#include "sinks/journal.hpp"

namespace vigil {
namespace {

using namespace sinks_detail;
using nlohmann::json;
namespace fs = std::filesystem;

// A queued record: an event (journaled as a binary record, serialised by the
// dispatcher), or a JSON line already serialised and journaled (alerts:
// before the tracer answers the call that raised them) with the sinks it goes
// to (bits of all_). start/end: its journal offsets (both the journal's end
// then when not journaled).
struct Record {
  std::variant<Event, std::string> what;
  uint32_t mask = 0;
  uint64_t start = 0, end = 0;
  // An alert serialised before the ECS metadata came: serialised again at
  // dispatch (same uuid) with it; the journal's copy goes without.
  std::optional<Alert> alert;
  std::string uuid;
  uint64_t ctx_gen = 0;
  bool event_line = false;  // a JSON line that is an event (an earlier run's, recovered): not an alert
};

bool power_of_ten(uint64_t n) {
  while (n >= 10 && n % 10 == 0) n /= 10;
  return n == 1;
}

// Time in the keeper (async-signal-safe): the digits of ns since the epoch,
// and RFC 3339 with nanoseconds as rfc3339_ns() writes it.
void put_digits(char* p, int n, uint64_t v) {
  for (int i = n - 1; i >= 0; --i, v /= 10) p[i] = char('0' + v % 10);
}
void put_rfc3339(char* p, int64_t ns) {  // 30 chars: 2026-11-23T12:00:00.123456789Z
  int64_t secs = ns / 1'000'000'000, days = secs / 86400, rem = secs % 86400;
  // civil_from_days (H. Hinnant, public domain)
  days += 719468;
  const int64_t era = days / 146097, doe = days - era * 146097;
  const int64_t yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
  const int64_t doy = doe - (365 * yoe + yoe / 4 - yoe / 100), mp = (5 * doy + 2) / 153;
  const int64_t d = doy - (153 * mp + 2) / 5 + 1, m = mp < 10 ? mp + 3 : mp - 9, y = yoe + era * 400 + (m <= 2);
  put_digits(p, 4, uint64_t(y));
  p[4] = '-';
  put_digits(p + 5, 2, uint64_t(m));
  p[7] = '-';
  put_digits(p + 8, 2, uint64_t(d));
  p[10] = 'T';
  put_digits(p + 11, 2, uint64_t(rem / 3600));
  p[13] = ':';
  put_digits(p + 14, 2, uint64_t(rem / 60 % 60));
  p[16] = ':';
  put_digits(p + 17, 2, uint64_t(rem % 60));
  p[19] = '.';
  put_digits(p + 20, 9, uint64_t(ns % 1'000'000'000));
  p[29] = 'Z';
}

// Fallback context for what the caller left empty (events/context.cpp).
void fill_context(Context* ctx) {
  if (!ctx->sensor_id.empty() && !ctx->hostname.empty() && !ctx->container_id.empty()) return;
  Context d = make_context();
  if (ctx->sensor_id.empty()) ctx->sensor_id = d.sensor_id;
  if (ctx->hostname.empty()) ctx->hostname = d.hostname;
  if (ctx->container_id.empty()) ctx->container_id = d.container_id;
}

class AsyncOutput final : public Output {
 public:
  AsyncOutput(const SinkConfig& cfg, Context ctx, std::vector<std::shared_ptr<Channel>> events,
              std::vector<std::shared_ptr<Channel>> alerts, const fs::path& spool, bool start_now)
      : cfg_(cfg), ctx_(std::make_shared<Context>(std::move(ctx))), events_(std::move(events)),
        alerts_(std::move(alerts)) {
    if (const char* uri = std::getenv("ECS_CONTAINER_METADATA_URI_V4")) ecs_uri_ = uri;
    for (auto* list : {&events_, &alerts_})
      for (const auto& c : *list)
        if (std::find(all_.begin(), all_.end(), c) == all_.end()) all_.push_back(c);
    for (size_t i = 0; i < all_.size(); ++i) {  // (at most 32: make_plan)
      if (std::find(alerts_.begin(), alerts_.end(), all_[i]) != alerts_.end()) alert_mask_ |= 1u << i;
      if (std::find(events_.begin(), events_.end(), all_[i]) != events_.end()) event_mask_ |= 1u << i;
    }
    spool_ = spool;
    open_journal(spool);
    if (start_now) start();
    if (earlier_died_)
      alert(died_alert(fmt::format("vigil died in an earlier run without closing its journal {}: {} undelivered "
                                   "records recovered (\"recovered\":true)",
                                   journal_->path(), recovered_)));
  }

  // The delivery threads: records queued before (a recovered journal's,
  // alerts) are delivered then. Called from the thread that made the output.
  void start() override {
    if (dispatcher_.joinable()) return;
    for (const auto& c : all_) c->start();
    dispatcher_ = start_thread("vigil-dispatch", [this] { run(); });
  }

  ~AsyncOutput() override {
    start();  // (never started: what is queued is still delivered or spooled)
    if (!flushed_) flush(cfg_.flush_timeout);
    {
      std::lock_guard lk(mu_);
      stop_ = true;
    }
    cv_.notify_all();
    dispatcher_.join();
    auto s = stats();
    auto level = s.dropped || s.queue_depth ? spdlog::level::warn : spdlog::level::info;
    spdlog::log(level, "delivery summary: {} sent, {} spooled, {} dropped, {} undelivered, {} failed attempts{}",
                s.sent, s.spooled, s.dropped, s.queue_depth, s.failures,
                s.unjournaled ? fmt::format(", {} not journaled (ring full)", s.unjournaled) : "");
    all_.clear();  // channels stop here; the rest of their memory goes to the spool
  }

  // No event sink: events cost nothing here (no queue, no JSON). Else the
  // event is journaled as a binary record (a copy: no JSON, no allocation),
  // then queued; the dispatcher serialises it.
  bool wants_events() const override { return !events_.empty(); }
  void event(Event ev) override {
    if (events_.empty()) return;
    check_journal();
    Record r;
    r.what = std::move(ev);
    r.mask = event_mask_;
    std::lock_guard c(commit_mu_);
    if (journal_ && !journal_->commit_event(std::get<Event>(r.what), r.mask, &r.start, &r.end))
      lost_record();
    push(std::move(r), false);
  }
  // Serialised here and journaled before the tracer answers the call that
  // raised it (docs/sinks.md "Durability").
  void alert(Alert a) override {
    // Whoever built it (the rules, the guard, the tracer), its fields hold
    // no more than kAlertValueMaxBytes each, in the queue and in the line.
    cut_values(&a.output_fields);
    check_journal();
    Record r;
    r.mask = alert_mask_;
    if (!journal_) {  // no journal (--journal-size=0): serialised by the dispatcher
      r.alert = std::move(a);
      r.what = std::string();
      push(std::move(r), true);
      return;
    }
    const bool early = !ecs_done_.load(std::memory_order_acquire);  // (read first: then the context is the final one)
    auto [ctx, gen] = context_gen();
    r.uuid = next_uuid(*ctx);
    r.what = serialise(a, *ctx, r.uuid);
    if (early) r.alert = std::move(a), r.ctx_gen = gen;
    std::lock_guard c(commit_mu_);
    journal(&r);
    push(std::move(r), true);
  }

  // The keeper's side (sinks.hpp).
  void prepare_recovery(int vigil_pid) override {
    if (!journal_) return;
    // Rendered now with a time that is patched in the keeper (no JSON
    // library after a fork): each place the time appears, found by value.
    Alert a = died_alert(fmt::format("vigil (the sensor, pid {}) died without standing its keeper down: the app is "
                                     "killed (fail-closed); records it had not delivered were written by the keeper "
                                     "(\"recovered\":true)", vigil_pid));
    a.time_ns = kTemplateTime;
    auto ctx = context();
    recovery_ctx_ = ctx;  // the keeper renders events with it (it cannot take ctx_mu_ after the fork)
    died_line_ = serialise(a, *ctx, next_uuid(*ctx));
    died_patches_.clear();
    auto find_all = [&](const std::string& what, int kind) {  // whole numbers only
      auto digit = [&](size_t i) { return i < died_line_.size() && std::isdigit((unsigned char)died_line_[i]); };
      for (size_t p = died_line_.find(what); p != std::string::npos; p = died_line_.find(what, p + 1))
        if (kind == 0 || ((p == 0 || !digit(p - 1)) && !digit(p + what.size()))) died_patches_.push_back({p, kind});
    };
    char rfc[30];
    put_rfc3339(rfc, kTemplateTime);
    find_all(std::string(rfc, 30), 0);
    find_all(std::to_string(kTemplateTime), 1);
    find_all(std::to_string(kTemplateTime / 1'000'000), 2);
  }
  void recover() noexcept override {
    if (!journal_) return;
    timespec ts{};
    clock_gettime(CLOCK_REALTIME, &ts);
    const int64_t now = int64_t(ts.tv_sec) * 1'000'000'000 + ts.tv_nsec;
    char* line = died_line_.data();  // this process's copy
    for (const auto& [pos, kind] : died_patches_) {
      if (kind == 0) put_rfc3339(line + pos, now);
      else if (kind == 1) put_digits(line + pos, 19, uint64_t(now));
      else put_digits(line + pos, 13, uint64_t(now / 1'000'000));
    }
    journal_->recover(died_line_, alert_mask_, recovery_ctx_.get());
  }
  int journal_fd() const override { return journal_ ? journal_->fd() : -1; }
  std::vector<LocalEndpoint> sink_endpoints() const override { return loopback_endpoints(cfg_); }
  std::vector<std::string> spool_paths() const override {
    std::error_code ec;
    // As the resolver names them (symlinks in the spool's path followed: TMPDIR=/var/tmp -> ...).
    auto abs = [&](const fs::path& p) {
      fs::path c = fs::weakly_canonical(p, ec);
      return (ec ? fs::absolute(p, ec).lexically_normal() : c).string();
    };
    std::vector<std::string> out;
    if (journal_) out.push_back(abs(spool_ / "journal"));
    for (const auto& c : all_)
      if (!c->spool_dir().empty()) out.push_back(abs(c->spool_dir()));
    return out;
  }

  void flush(std::chrono::milliseconds deadline) override {
    start();
    drain(deadline);
  }

  bool drain(std::chrono::milliseconds deadline) {
    flushed_ = true;
    auto until = Clock::now() + deadline;
    {
      std::lock_guard lk(mu_);
      urgent_ = true;
    }
    cv_.notify_one();
    {
      std::unique_lock lk(mu_);
      if (!idle_cv_.wait_until(lk, until, [&] { return queue_.empty() && !busy_; })) return false;
    }
    bool ok = true;
    for (const auto& c : all_) ok &= c->wait_idle(until);
    if (!ok)
      for (const auto& c : all_)
        if (auto s = c->stats(); s.queue_depth)
          spdlog::warn("flush: sink {} still has {} records after {} ms{}", c->spec().text, s.queue_depth,
                       deadline.count(), c->last_error().empty() ? "" : " (last error: " + c->last_error() + ")");
    return ok;
  }

  void set_stop_counter(const std::atomic<uint64_t>* stops) override { stops_.store(stops); }

  DeliveryStats stats() const override {
    DeliveryStats t;
    for (const auto& c : all_) {
      auto s = c->stats();
      t.sent += s.sent;
      t.spooled += s.spooled;
      t.dropped += s.dropped;
      t.failures += s.failures;
      t.queue_depth += s.queue_depth;
    }
    if (journal_) t.unjournaled = journal_->lost();
    std::lock_guard lk(mu_);
    t.queue_depth += queue_.size();
    t.undispatched = queue_.size() + (busy_ ? 1 : 0);  // busy_: one popped, being dispatched
    return t;
  }

 private:
  // Journals a serialised record (never waits: a full ring is counted).
  void journal(Record* r) {
    if (journal_ && !journal_->commit(std::get<std::string>(r->what), r->mask, &r->start, &r->end)) lost_record();
  }
  void lost_record() {
    if (power_of_ten(journal_->lost()))
      spdlog::error("journal {}: {} records not journaled so far (ring of {} bytes full: sinks behind; or a record "
                    "too large): they are delivered, but lost if vigil is killed first (raise --journal-size)",
                    journal_->path(), journal_->lost(), cfg_.journal_bytes);
  }

  // Events wake the dispatcher in batches (kBatch records, or kBatchDelay
  // after the first): one wake-up per record would cost the traced app a
  // context switch each on a small machine. Alerts wake it at once.
  // commit_mu_ held: records are queued in the order of their journal offsets.
  void push(Record r, bool urgent) {
    std::unique_lock lk(mu_);
    if (queue_.size() < cfg_.queue) {
      queue_.push_back(std::move(r));
      urgent_ |= urgent;
      bool wake = urgent || queue_.size() == kBatch || (queue_.size() == 1 && idle_);
      lk.unlock();
      if (wake) cv_.notify_one();
      return;
    }
    lk.unlock();
    // The dispatcher is behind: dispatch the oldest record here (the channels
    // spool or count a drop rather than wait) and queue this one, so the
    // order is kept. dispatch_mu_ waits for at most the one record the
    // dispatcher may be handling.
    std::lock_guard d(dispatch_mu_);
    std::optional<Record> oldest;
    lk.lock();
    if (!queue_.empty()) {
      oldest = std::move(queue_.front());
      queue_.pop_front();
    }
    bool wake = queue_.empty();  // the dispatcher caught up meanwhile and may be asleep
    queue_.push_back(std::move(r));
    lk.unlock();
    if (wake) cv_.notify_one();
    if (oldest) dispatch(*oldest);
  }

  // Dispatches queued records one by one until the queue is empty.
  void drain_queue() {
    while (true) {
      std::lock_guard d(dispatch_mu_);
      std::optional<Record> r;
      {
        std::lock_guard lk(mu_);
        busy_ = !queue_.empty();
        if (!busy_) break;
        r = std::move(queue_.front());
        queue_.pop_front();
      }
      dispatch(*r);
    }
    idle_cv_.notify_all();
  }

  std::shared_ptr<const Context> context() const {
    std::lock_guard lk(ctx_mu_);
    return ctx_;
  }
  std::pair<std::shared_ptr<const Context>, uint64_t> context_gen() const {
    std::lock_guard lk(ctx_mu_);
    return {ctx_, ctx_gen_};
  }

  void dispatch(const Record& r) {
    if (const auto* ev = std::get_if<Event>(&r.what)) {
      std::string line = to_json_line(*ev, *context());
      for (const auto& c : events_) c->push(line, r.start);
    } else {
      std::string again;
      if (r.alert && r.uuid.empty()) {  // not serialised yet (no journal)
        auto ctx = context();
        again = serialise(*r.alert, *ctx, next_uuid(*ctx));
      } else if (r.alert) {
        if (auto [ctx, gen] = context_gen(); gen != r.ctx_gen) again = serialise(*r.alert, *ctx, r.uuid);
      }
      const std::string& line = again.empty() ? std::get<std::string>(r.what) : again;
      for (size_t i = 0; i < all_.size(); ++i) {
        if (!(r.mask >> i & 1)) continue;
        if (!r.event_line && all_[i]->spec().kind == SinkSpec::Kind::Stderr) all_[i]->push(kOwnLine + line, r.start);
        else all_[i]->push(line, r.start);
      }
    }
    if (journal_) journal_->set_dispatched(r.end);
  }

  std::string next_uuid(const Context& ctx) {
    return fmt::format("{}:alert:{}", ctx.sensor_id, alert_seq_.fetch_add(1) + 1);
  }

  std::string serialise(const Alert& a, const Context& c, const std::string& uuid) {
    const Context* ctx = &c;
    json j = cfg_.alerts_ocsf ? to_ocsf_finding(a, *ctx, uuid) : to_json(a, *ctx);
    json& falco = cfg_.alerts_ocsf ? j["unmapped"]["falco"] : j;
    falco["uuid"] = uuid;
    if (!ctx->container_id.empty()) falco["output_fields"]["container.id"] = ctx->container_id;
    if (ctx->extra) {  // in output_fields: falcosidekick drops other top-level keys
      for (const auto& [k, v] : ctx->extra->items()) falco["output_fields"]["ecs." + k] = v;
    }
    return j.dump(-1, ' ', false, json::error_handler_t::replace);
  }

  // A page of the journal file lost under this run (Journal::cut): said
  // once, as the guard says a tamper attempt where the file was truncated,
  // else as a sensor fault (its file system could not back a write: full).
  // Either way its records since live in vigil's memory only: a SIGKILL of
  // vigil would lose them.
  void check_journal() {
    if (!journal_ || journal_cut_said_ || !journal_->cut()) return;
    journal_cut_said_ = true;
    Alert a;
    a.time_ns = now_realtime_ns();
    a.priority = "Critical";
    const char* lost = "vigil goes on; records journaled from now on would not outlive a SIGKILL of vigil";
    if (journal_->truncated()) {
      a.rule = "Sensor tamper attempt";
      a.output = fmt::format("vigil's journal {} was truncated by another writer (an open that raced vigil's check, or "
                             "a process outside vigil's view): {}",
                             journal_->path(), lost);
      a.tags = {"vigil", "integrity", "mitre_defense_evasion", "T1562.001"};
    } else {
      a.rule = "Sensor fault";
      a.output = fmt::format("Sensor fault: vigil's journal {} could not be written (its file system is full, or over "
                             "a quota: free space there or give --spool-dir another one): {}",
                             journal_->path(), lost);
      a.tags = {"sensor"};
    }
    a.output_fields = {{"proc.name", "vigil"}, {"fd.name", journal_->path()}};
    if (a.rule == "Sensor fault") a.output_fields.push_back({"vigil.fault", std::string("writing the journal")});
    spdlog::error("{}", a.output);
    alert(std::move(a));
  }

  static Alert died_alert(std::string output) {
    Alert a;
    a.time_ns = now_realtime_ns();
    a.rule = "Sensor died";
    a.priority = "Critical";
    a.output = std::move(output);
    a.output_fields = {{"proc.name", "vigil"}};
    a.tags = {"vigil", "integrity", "mitre_defense_evasion", "T1562.001"};
    a.action = Action::Killed;
    return a;
  }

  // The journal: sinks 0..15 of all_ are journaled. Records an earlier run
  // left undelivered go to this run's sinks that match theirs (journaled
  // again), else to stderr.
  void open_journal(const fs::path& spool) {
    std::vector<Journal::Sink> sinks;
    for (const auto& c : all_)
      sinks.push_back({c->spec().kind, c->spec().kind == SinkSpec::Kind::File ? c->spec().target : c->spec().text});
    Journal::Earlier earlier;
    std::string note;
    journal_ = Journal::open(spool, cfg_.journal_bytes, sinks, &earlier, &note);
    if (!note.empty())
      spdlog::log(earlier.in_use && journal_ ? spdlog::level::info : spdlog::level::warn, "journal: {}{}", note,
                  journal_ ? ": records outlive vigil only through its keeper (not as PID 1)" : "");
    if (!journal_) return;
    journal_->set_context(*ctx_);
    if (all_.size() > size_t(kJournalSinks))
      spdlog::warn("journal: only the first {} sinks are journaled", kJournalSinks);
    for (size_t i = 0; i < all_.size() && i < size_t(kJournalSinks); ++i) all_[i]->set_journal(journal_.get(), int(i));
    size_t damaged = 0;
    std::string error;
    for (auto& rec : earlier.records) {
      if (rec.event) {  // rendered now, with that run's ids
        std::string line;
        if (!Journal::render_event(rec.line, earlier.ctx, &line, &error)) {
          if (++damaged == 1) spdlog::warn("journal {}: {}", journal_->path(), error);
          continue;
        }
        rec.line = std::move(line);
      }
      uint32_t mine = 0, theirs = 0;
      for (size_t k = 0; k < earlier.sinks.size(); ++k) {
        if (!(rec.sinks >> k & 1)) continue;
        auto it = std::find_if(sinks.begin(), sinks.end(), [&](const Journal::Sink& s) {
          return s.kind == earlier.sinks[k].kind && s.target == earlier.sinks[k].target;
        });
        if (it != sinks.end() && it - sinks.begin() < kJournalSinks) mine |= 1u << (it - sinks.begin());
        else theirs |= 1u << k;
      }
      if (theirs) Journal::write_stderr(rec.line, !rec.event);
      if (mine && !rec.line.empty() && rec.line.back() == '}') {
        Record r{rec.line.substr(0, rec.line.size() - 1) + ",\"recovered\":true}", mine};
        r.event_line = rec.event;
        journal(&r);
        queue_.push_back(std::move(r));  // before the dispatcher starts
      }
    }
    recovered_ = earlier.records.size() - damaged;
    if (damaged) spdlog::warn("journal {}: {} damaged event records of an earlier run skipped", journal_->path(), damaged);
    earlier_died_ = earlier.died;
    if (recovered_ || earlier_died_)
      spdlog::warn("journal {}: {} records an earlier run left undelivered are delivered now{}", journal_->path(),
                   recovered_, earlier.died ? " (that run died without closing it)" : "");
  }

  // ECS task metadata, fetched once here so the tracer never waits for it.
  void load_ecs_metadata() {
    if (ecs_uri_.empty()) {
      spdlog::info("ECS metadata: ECS_CONTAINER_METADATA_URI_V4 not set; records carry hostname {} and container id {}",
                   ctx_->hostname, ctx_->container_id.empty() ? "(none found in /proc/self/cgroup)" : ctx_->container_id);
      return;
    }
    std::string err;
    if (!fetch_ecs_metadata(ecs_uri_, std::chrono::milliseconds(3000), &ecs_, &err)) {
      spdlog::warn("ECS metadata: {}; records carry hostname and cgroup container id only", err);
      return;
    }
    spdlog::info("ECS metadata: {}", ecs_.dump());
    auto ctx = std::make_shared<Context>(*ctx_);
    ctx->extra = &ecs_;
    if (ctx->container_image.empty()) ctx->container_image = ecs_.value("image", "");
    if (ctx->container_id.empty()) ctx->container_id = ecs_.value("container_id", "");
    std::lock_guard lk(ctx_mu_);
    ctx_ = std::move(ctx);
    ++ctx_gen_;
  }

  void emit_stats(Clock::time_point now) {
    auto s = stats();
    double secs = std::chrono::duration<double>(now - last_stats_).count();
    const auto* counter = stops_.load();
    uint64_t stops = counter ? counter->load(std::memory_order_relaxed) : 0;
    double rate = secs > 0 ? double(stops - last_stops_) / secs : 0;
    last_stats_ = now;
    last_stops_ = stops;
    auto ctx = context();
    Event ev;
    ev.seq = ++stats_seq_;
    ev.time_ns = now_realtime_ns();
    ev.cls = EventClass::Sensor;
    ev.type = "stats";
    json j = to_json(ev, *ctx);
    j["metadata"]["uid"] = fmt::format("{}:stats:{}", ctx->sensor_id, ev.seq);
    json sinks = json::array();
    for (const auto& c : all_) {
      auto cs = c->stats();
      sinks.push_back({{"sink", c->spec().text}, {"sent", cs.sent}, {"spooled", cs.spooled},
                       {"dropped", cs.dropped}, {"failures", cs.failures}, {"queue_depth", cs.queue_depth}});
    }
    j["unmapped"]["stats"] = {{"sent", s.sent},         {"spooled", s.spooled},   {"dropped", s.dropped},
                  {"failures", s.failures}, {"queue_depth", s.queue_depth}, {"unjournaled", s.unjournaled},
                  {"tracer_stops_per_sec", counter ? json(std::round(rate * 10) / 10) : json(nullptr)},
                  {"sinks", sinks}};
    std::string line = j.dump();
    {
      std::lock_guard c(commit_mu_);  // the mark falls between the records dispatched and those queued
      std::lock_guard d(dispatch_mu_);
      uint64_t mark = journal_ ? journal_->committed() : 0;
      {
        std::lock_guard lk(mu_);
        if (!queue_.empty()) mark = queue_.front().start;
      }
      for (const auto& c : events_) c->push(line, mark);
    }
    spdlog::info("delivery health: {} sent, {} spooled, {} dropped, {} queued, {} failed attempts, {} tracer stops/s",
                 s.sent, s.spooled, s.dropped, s.queue_depth, s.failures,
                 counter ? fmt::format("{:.1f}", rate) : std::string("n/a"));
  }

  void run() {
    load_ecs_metadata();
    ecs_done_.store(true, std::memory_order_release);
    last_stats_ = Clock::now();
    auto interval = cfg_.stats_interval.count() > 0 ? cfg_.stats_interval : std::chrono::hours(24 * 365);
    auto next_stats = last_stats_ + interval;
    while (true) {
      {
        std::unique_lock lk(mu_);
        idle_ = queue_.empty();
        auto until = idle_ ? next_stats : std::min(next_stats, Clock::now() + kBatchDelay);
        cv_.wait_until(lk, until, [&] { return stop_ || urgent_ || queue_.size() >= kBatch || (idle_ && !queue_.empty()); });
        if (idle_ && !queue_.empty() && !stop_ && !urgent_ && queue_.size() < kBatch) {
          // The first record after a quiet spell: give the batch time to fill.
          idle_ = false;
          cv_.wait_until(lk, std::min(next_stats, Clock::now() + kBatchDelay),
                         [&] { return stop_ || urgent_ || queue_.size() >= kBatch; });
        }
        idle_ = false;
        urgent_ = false;
        if (stop_ && queue_.empty()) break;
      }
      drain_queue();
      if (auto now = Clock::now(); now >= next_stats) {
        emit_stats(now);
        next_stats = now + interval;
      }
    }
  }

  SinkConfig cfg_;
  mutable std::mutex ctx_mu_;
  uint64_t ctx_gen_ = 0;  // bumped when ctx_ gets the ECS metadata
  std::atomic<bool> ecs_done_{false};  // the metadata fetch is over (done or failed)
  std::shared_ptr<const Context> ctx_;
  std::string ecs_uri_;
  json ecs_;
  std::unique_ptr<Journal> journal_;  // outlives the channels, which publish to it
  uint32_t alert_mask_ = 0, event_mask_ = 0;
  std::shared_ptr<const Context> recovery_ctx_;  // the context when the keeper was forked
  size_t recovered_ = 0;
  bool earlier_died_ = false;
  static constexpr int64_t kTemplateTime = 1'111'111'111'111'111'111;  // 2005-03-18T01:58:31.111111111Z
  std::string died_line_;
  std::vector<std::pair<size_t, int>> died_patches_;  // offset in died_line_, 0: RFC 3339, 1: ns, 2: ms
  std::vector<std::shared_ptr<Channel>> events_, alerts_, all_;
  std::mutex commit_mu_;    // journal offset and queue place taken together
  std::mutex dispatch_mu_;  // one dispatch at a time: records reach the sinks in order
  mutable std::mutex mu_;
  std::condition_variable cv_, idle_cv_;
  std::deque<Record> queue_;
  bool busy_ = false, stop_ = false;
  fs::path spool_;  // spool_paths()
  bool urgent_ = false;  // an alert or a flush is waiting
  bool idle_ = false;    // the dispatcher sleeps until the next stats record
  static constexpr size_t kBatch = 64;
  static constexpr auto kBatchDelay = std::chrono::milliseconds(20);
  bool flushed_ = false;
  bool journal_cut_said_ = false;  // check_journal (tracer thread)
  std::atomic<uint64_t> alert_seq_{0};
  std::atomic<const std::atomic<uint64_t>*> stops_{nullptr};  // set by the tracer thread
  uint64_t stats_seq_ = 0, last_stops_ = 0;
  Clock::time_point last_stats_;
  std::thread dispatcher_;
};

std::string spec_list(const std::vector<SinkSpec>& specs) {
  std::string out;
  for (const auto& s : specs) {
    if (!out.empty()) out += ", ";
    out += s.text;
    if (s.kind == SinkSpec::Kind::File)
      out += s.max_bytes ? fmt::format(" (rotate at {} bytes, keep {} files)", s.max_bytes, s.max_files)
                         : " (no rotation)";
  }
  return out.empty() ? "none" : out;
}

// A SinkConfig checked and resolved: sinks parsed, headers and token read,
// spool directory chosen.
struct Plan {
  std::vector<SinkSpec> events, alerts;
  HttpSettings http;
  fs::path spool;
  bool network = false;  // an HTTP or falcosidekick sink
};

bool make_plan(const SinkConfig& cfg, Plan* p, std::string* error) {
  bool& network = p->network;
  for (auto [specs, out, what] :
       {std::tuple{&cfg.events, &p->events, "--events"}, std::tuple{&cfg.alerts, &p->alerts, "--alerts"}}) {
    for (const auto& text : *specs) {
      SinkSpec s;
      if (!parse_sink_spec(text, &s, error)) {
        *error = fmt::format("{}: {}", what, *error);
        return false;
      }
      network |= s.kind == SinkSpec::Kind::Http || s.kind == SinkSpec::Kind::Falcosidekick;
      out->push_back(std::move(s));
    }
  }
  if (cfg.alerts.empty()) parse_sink_spec("stderr", &p->alerts.emplace_back(), error);
  if (p->events.size() + p->alerts.size() > 32) {
    *error = "more than 32 sinks (--events and --alerts): use fewer";
    return false;
  }
  if (!load_http_settings(cfg, network, &p->http, error)) return false;
  if (network && p->http.ca_file.empty() && !p->http.insecure)
    spdlog::warn("no CA bundle found (rootfs etc/vigil/ca-certificates.crt or /etc/ssl/certs): set --ca-file");
  const char* tmp = std::getenv("TMPDIR");
  p->spool = !cfg.spool_dir.empty() ? fs::path(cfg.spool_dir) : fs::path(tmp && *tmp ? tmp : "/tmp") / "vigil-spool";
  return true;
}

void log_config(const SinkConfig& cfg, const Plan& p) {
  spdlog::info("config: events -> {}; alerts -> {}", spec_list(p.events), spec_list(p.alerts));
  spdlog::info("config: queue {} records; spool {} (max {} bytes per sink); journal {}; flush timeout {} ms; stats "
               "every {} ms", cfg.queue, p.spool.string(), cfg.spool_max,
               cfg.journal_bytes ? fmt::format("{}/journal ({} bytes)", p.spool.string(), cfg.journal_bytes) : "off",
               cfg.flush_timeout.count(), cfg.stats_interval.count());
  std::string secrets;
  if (!cfg.header_env.empty()) secrets += fmt::format(" headers from ${} (values masked);", cfg.header_env);
  if (!cfg.header_file.empty()) secrets += fmt::format(" headers from {} (values masked);", cfg.header_file);
  if (!cfg.bearer_token_env.empty()) secrets += fmt::format(" bearer token from ${} (masked);", cfg.bearer_token_env);
  if (!cfg.bearer_token_file.empty()) secrets += fmt::format(" bearer token from {} (masked);", cfg.bearer_token_file);
  spdlog::info("config: HTTP: {} header(s);{} at most {} bytes per request; TLS verification {}; CA file {}",
               p.http.headers.size(), secrets, p.http.batch_bytes,
               p.http.insecure ? "OFF (--tls-insecure)" : "on",
               !p.network ? "(no HTTP sink)" : p.http.ca_file.empty() ? "(curl default)" : p.http.ca_file);
  if (p.http.insecure) spdlog::warn("TLS certificate verification is off (--tls-insecure)");
}

}  // namespace

bool log_sink_config(const SinkConfig& cfg, std::string* error) {
  Plan p;
  if (!make_plan(cfg, &p, error)) return false;
  log_config(cfg, p);
  return true;
}

std::unique_ptr<Output> make_output(const SinkConfig& cfg, const Context& ctx_in, std::string* error, bool start) {
  Plan p;
  if (!make_plan(cfg, &p, error)) return nullptr;
  if (spdlog::should_log(spdlog::level::info)) log_config(cfg, p);
  // One channel per distinct sink: events and alerts to the same place share it.
  std::map<std::string, std::shared_ptr<Channel>> by_text;
  auto channels = [&](const std::vector<SinkSpec>& specs, std::vector<std::shared_ptr<Channel>>* out,
                      const char* what) {
    for (const auto& s : specs) {
      auto& ch = by_text[s.text];
      if (!ch) {
        auto backend = make_backend(s, p.http, error);
        if (!backend) {
          *error = fmt::format("{}: {}", what, *error);
          return false;
        }
        std::string kind = s.kind == SinkSpec::Kind::File ? "file" : s.kind == SinkSpec::Kind::Stderr ? "stderr" : "http";
        auto dir = p.spool / fmt::format("{}-{:016x}", kind, std::hash<std::string>{}(s.text));
        ch = std::make_shared<Channel>(s, std::move(backend), cfg.queue, dir, cfg.spool_max);
      }
      if (std::find(out->begin(), out->end(), ch) == out->end()) out->push_back(ch);
    }
    return true;
  };
  std::vector<std::shared_ptr<Channel>> ev_ch, al_ch;
  if (!channels(p.events, &ev_ch, "--events") || !channels(p.alerts, &al_ch, "--alerts")) return nullptr;
  Context ctx = ctx_in;
  fill_context(&ctx);
  return std::make_unique<AsyncOutput>(cfg, std::move(ctx), std::move(ev_ch), std::move(al_ch), p.spool, start);
}

}  // namespace vigil
