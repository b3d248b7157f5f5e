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

namespace vigil {
namespace {

using namespace sinks_detail;
using nlohmann::json;
namespace fs = std::filesystem;

using Record = std::variant<Event, Alert>;

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
              std::vector<std::shared_ptr<Channel>> alerts)
      : cfg_(cfg), ctx_(std::make_shared<Context>(std::move(ctx))), events_(std::move(events)),
        alerts_(std::move(alerts)) {
    if (const char* uri = std::getenv("ECS_CONTAINER_METADATA_URI_V4")) ecs_uri_ = uri;
    for (auto* list : {&events_, &alerts_})
      for (const auto& c : *list)
        if (std::find(all_.begin(), all_.end(), c) == all_.end()) all_.push_back(c);
    for (const auto& c : all_) c->start();
    dispatcher_ = start_thread([this] { run(); });
  }

  ~AsyncOutput() override {
    if (!flushed_) flush(cfg_.flush_timeout);
    {
      std::lock_guard lk(mu_);
      stop_ = true;
    }
    cv_.notify_all();
    dispatcher_.join();
    auto s = stats();
    auto level = s.dropped || s.queue_depth ? spdlog::level::warn : spdlog::level::info;
    spdlog::log(level, "delivery summary: {} sent, {} spooled, {} dropped, {} undelivered, {} failed attempts",
                s.sent, s.spooled, s.dropped, s.queue_depth, s.failures);
    all_.clear();  // channels stop here; the rest of their memory goes to the spool
  }

  // No event sink: events cost nothing here (no queue, no JSON).
  void event(Event ev) override {
    if (!events_.empty()) push(std::move(ev), false);
  }
  void alert(Alert a) override { push(std::move(a), true); }

  void flush(std::chrono::milliseconds deadline) override { drain(deadline); }

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
    std::lock_guard lk(mu_);
    t.queue_depth += queue_.size();
    return t;
  }

 private:
  // Events wake the dispatcher in batches (kBatch records, or kBatchDelay
  // after the first): one wake-up per record would cost the traced app a
  // context switch each on a small machine. Alerts wake it at once.
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

  void dispatch(const Record& r) {
    auto ctx = context();
    if (const auto* ev = std::get_if<Event>(&r)) {
      std::string line = to_json_line(*ev, *ctx);
      for (const auto& c : events_) c->push(line);
      return;
    }
    const auto& a = std::get<Alert>(r);
    std::string uuid = fmt::format("{}:alert:{}", ctx->sensor_id, alert_seq_.fetch_add(1) + 1);
    json j = cfg_.alerts_ocsf ? to_ocsf_finding(a, *ctx, uuid) : to_json(a, *ctx);
    json& falco = cfg_.alerts_ocsf ? j["unmapped"]["falco"] : j;
    falco["uuid"] = uuid;
    if (!ctx->container_id.empty()) falco["output_fields"]["container.id"] = ctx->container_id;
    if (ctx->extra) {  // in output_fields: falcosidekick drops other top-level keys
      for (const auto& [k, v] : ctx->extra->items()) falco["output_fields"]["ecs." + k] = v;
    }
    std::string line = j.dump(-1, ' ', false, json::error_handler_t::replace);
    for (const auto& c : alerts_) c->push(line);
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
                  {"failures", s.failures}, {"queue_depth", s.queue_depth},
                  {"tracer_stops_per_sec", counter ? json(std::round(rate * 10) / 10) : json(nullptr)},
                  {"sinks", sinks}};
    std::string line = j.dump();
    for (const auto& c : events_) c->push(line);
    spdlog::info("delivery health: {} sent, {} spooled, {} dropped, {} queued, {} failed attempts, {} tracer stops/s",
                 s.sent, s.spooled, s.dropped, s.queue_depth, s.failures,
                 counter ? fmt::format("{:.1f}", rate) : std::string("n/a"));
  }

  void run() {
    load_ecs_metadata();
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
  std::shared_ptr<const Context> ctx_;
  std::string ecs_uri_;
  json ecs_;
  std::vector<std::shared_ptr<Channel>> events_, alerts_, all_;
  std::mutex dispatch_mu_;  // one dispatch at a time: records reach the sinks in order
  mutable std::mutex mu_;
  std::condition_variable cv_, idle_cv_;
  std::deque<Record> queue_;
  bool busy_ = false, stop_ = false;
  bool urgent_ = false;  // an alert or a flush is waiting
  bool idle_ = false;    // the dispatcher sleeps until the next stats record
  static constexpr size_t kBatch = 64;
  static constexpr auto kBatchDelay = std::chrono::milliseconds(20);
  bool flushed_ = false;
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
};

bool make_plan(const SinkConfig& cfg, Plan* p, std::string* error) {
  bool network = false;
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
  if (!load_http_settings(cfg, &p->http, error)) return false;
  if (network && p->http.ca_file.empty() && !p->http.insecure)
    spdlog::warn("no CA bundle found (rootfs etc/vigil/ca-certificates.crt or /etc/ssl/certs): set --ca-file");
  const char* tmp = std::getenv("TMPDIR");
  p->spool = !cfg.spool_dir.empty() ? fs::path(cfg.spool_dir) : fs::path(tmp && *tmp ? tmp : "/tmp") / "vigil-spool";
  return true;
}

void log_config(const SinkConfig& cfg, const Plan& p) {
  spdlog::info("config: events -> {}; alerts -> {}", spec_list(p.events), spec_list(p.alerts));
  spdlog::info("config: queue {} records; spool {} (max {} bytes per sink); flush timeout {} ms; stats every {} ms",
               cfg.queue, p.spool.string(), cfg.spool_max, cfg.flush_timeout.count(), cfg.stats_interval.count());
  std::string secrets;
  if (!cfg.header_env.empty()) secrets += fmt::format(" headers from ${} (values masked);", cfg.header_env);
  if (!cfg.header_file.empty()) secrets += fmt::format(" headers from {} (values masked);", cfg.header_file);
  if (!cfg.bearer_token_env.empty()) secrets += fmt::format(" bearer token from ${} (masked);", cfg.bearer_token_env);
  if (!cfg.bearer_token_file.empty()) secrets += fmt::format(" bearer token from {} (masked);", cfg.bearer_token_file);
  spdlog::info("config: HTTP: {} header(s);{} at most {} bytes per request; TLS verification {}; CA file {}",
               p.http.headers.size(), secrets, p.http.batch_bytes,
               p.http.insecure ? "OFF (--tls-insecure)" : "on",
               p.http.ca_file.empty() ? "(curl default)" : p.http.ca_file);
  if (p.http.insecure) spdlog::warn("TLS certificate verification is off (--tls-insecure)");
}

}  // namespace

bool log_sink_config(const SinkConfig& cfg, std::string* error) {
  Plan p;
  if (!make_plan(cfg, &p, error)) return false;
  log_config(cfg, p);
  return true;
}

std::unique_ptr<Output> make_output(const SinkConfig& cfg, const Context& ctx_in, std::string* error) {
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
  return std::make_unique<AsyncOutput>(cfg, std::move(ctx), std::move(ev_ch), std::move(al_ch));
}

}  // namespace vigil
