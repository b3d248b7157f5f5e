// One sink's queue (memory -> disk spool -> drop) and its delivery thread
// (batches, exponential backoff with full jitter).
#include <fcntl.h>
#include <pthread.h>
#include <sys/file.h>
#include <signal.h>
#include <sys/prctl.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <fstream>
#include <random>

#include <fmt/format.h>
#include <nlohmann/json.hpp>
#include <spdlog/spdlog.h>

#include "sinks/internal.hpp"
#include "sinks/journal.hpp"

namespace vigil::sinks_detail {
namespace fs = std::filesystem;
namespace {

constexpr uint64_t kSegmentBytes = 1 << 20;
constexpr auto kBackoffMin = std::chrono::milliseconds(250);
constexpr auto kBackoffMax = std::chrono::milliseconds(30000);
constexpr int kClosedRetries = 3;  // tries of one batch closed without a status before it is halved
// A spool that failed (its disk full, vigil out of fds) is tried again this
// much later. The failure can be the app's doing and passing: the default
// spool is on the app's filesystem (/tmp), which it can fill and free again,
// and its processes hold vigil's fds (a pidfd each). Before 2026-12-07 one
// failure turned the spool off for the run: every later record past the
// memory queue was dropped (tests/shell/sinks_spool_recover.sh).
constexpr auto kSpoolRetry = std::chrono::seconds(1);

bool power_of_ten(uint64_t n) {
  while (n >= 10 && n % 10 == 0) n /= 10;
  return n == 1;
}

std::vector<std::string> read_lines(const fs::path& p) {
  std::vector<std::string> out;
  std::ifstream in(p, std::ios::binary);
  for (std::string line; std::getline(in, line);)
    if (!line.empty()) out.push_back(std::move(line));
  return out;
}

}  // namespace

std::thread start_thread(const char* name, std::function<void()> fn) {
  sigset_t all, old;
  sigfillset(&all);
  pthread_sigmask(SIG_SETMASK, &all, &old);
  std::thread t([name, fn = std::move(fn)] {
    prctl(PR_SET_NAME, name, 0, 0, 0);  // (ps -L, top -H, perf: which of vigil's threads)
    allow_journal_faults();  // (they write the journal's marks: a truncated file must not kill vigil)
    fn();
  });
  pthread_sigmask(SIG_SETMASK, &old, nullptr);
  return t;
}

Channel::Channel(SinkSpec spec, std::unique_ptr<Backend> backend, size_t queue_max, fs::path spool_dir,
                 uint64_t spool_max)
    : spec_(std::move(spec)),
      backend_(std::move(backend)),
      queue_max_(std::max<size_t>(queue_max, 1)),
      spool_dir_(std::move(spool_dir)),
      spool_max_(spool_max) {
  lock_spool();
  scan_spool();
}

// One process per spool directory: a second sensor with the same sink and
// --spool-dir (two runs in one container) uses a sub-directory of its own.
void Channel::lock_spool() {
  std::error_code ec;
  if (spool_dir_.empty()) return;
  fs::create_directories(spool_dir_, ec);
  lock_fd_ = ::open((spool_dir_ / ".lock").c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0600);
  if (lock_fd_ >= 0 && flock(lock_fd_, LOCK_EX | LOCK_NB) == 0) return;
  if (lock_fd_ >= 0) ::close(lock_fd_);
  lock_fd_ = -1;
  static std::atomic<int> n{0};
  spool_dir_ /= fmt::format("pid-{}-{}", getpid(), n++);
  fs::create_directories(spool_dir_, ec);
}

Channel::~Channel() {
  {
    std::lock_guard lk(mu_);
    stop_ = true;
  }
  backend_->interrupt();
  cv_.notify_all();
  if (thread_.joinable()) thread_.join();
  persist_memory();
  if (lock_fd_ >= 0) ::close(lock_fd_);
  std::error_code ec;
  if (spool_dir_.filename().string().rfind("pid-", 0) == 0) fs::remove(spool_dir_, ec);  // only if empty
}

void Channel::start() { thread_ = start_thread("vigil-sink", [this] { run(); }); }

void Channel::memory_done(size_t n) {
  // The journal's mark mirrors marks_.front() after every change (push sets
  // the first): a failed attempt (n == 0) has nothing to publish.
  if (n == 0) return;
  for (; n && !marks_.empty(); --n) marks_.pop_front();
  if (journal_) journal_->set_pending(journal_index_, marks_.empty() ? kNoPending : marks_.front());
}

// Segments left by an earlier run (same sink, same spool dir) are sent first.
void Channel::scan_spool() {
  std::error_code ec;
  if (spool_dir_.empty() || !fs::is_directory(spool_dir_, ec)) return;
  std::vector<fs::path> found;
  for (const auto& e : fs::directory_iterator(spool_dir_, ec))
    if (e.path().extension() == ".ndjson") found.push_back(e.path());
  std::sort(found.begin(), found.end());
  for (const auto& p : found) {
    uint64_t lines = read_lines(p).size();
    spool_bytes_ += fs::file_size(p, ec);
    spool_lines_ += lines;
    segments_.push_back(p);
    next_segment_ = std::max<uint64_t>(next_segment_, std::strtoull(p.stem().c_str(), nullptr, 10) + 1);
  }
  if (spool_lines_) {
    spooling_ = true;
    spdlog::info("sink {}: {} records left in spool {} by an earlier run will be sent first", spec_.text, spool_lines_,
                 spool_dir_.string());
  }
}

void Channel::push(std::string line, uint64_t start) {
  std::unique_lock lk(mu_);
  if (!spooling_ && memory_.size() < queue_max_) {
    bool wake = memory_.empty();
    memory_.push_back(std::move(line));
    marks_.push_back(start);
    if (marks_.size() == 1 && journal_) journal_->set_pending(journal_index_, start);
    lk.unlock();
    if (wake) cv_.notify_one();
    return;
  }
  bool wake = spool_lines_ == 0;
  if (spool_append(line)) {
    ++st_.spooled;
    if (power_of_ten(st_.spooled))
      spdlog::warn("sink {}: {} records spooled to {} so far (memory queue of {} full, or spool not drained yet)",
                   spec_.text, st_.spooled, spool_dir_.string(), queue_max_);
    lk.unlock();
    if (wake) cv_.notify_one();
    return;
  }
  ++st_.dropped;
  if (power_of_ten(st_.dropped))
    spdlog::error("sink {}: queue and spool full (spool {} of {} bytes{}), {} records dropped so far", spec_.text,
                  spool_bytes_, spool_max_, spool_ok_ ? "" : ", spool unusable", st_.dropped);
}

bool Channel::spool_append(const std::string& line) {
  if (spool_dir_.empty() || spool_bytes_ + line.size() + 1 > spool_max_) return false;
  const bool retry = !spool_ok_;  // (a failure again is not logged again)
  if (retry && Clock::now() - spool_failed_ < kSpoolRetry) return false;
  auto failed = [&] {
    spool_ok_ = false;
    spool_failed_ = Clock::now();
    return false;
  };
  if (write_fd_ < 0) {
    std::error_code ec;
    fs::create_directories(spool_dir_, ec);
    write_segment_ = spool_dir_ / fmt::format("{:020}.ndjson", next_segment_++);
    write_fd_ = ::open(write_segment_.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
    if (write_fd_ < 0) {
      if (!retry)
        spdlog::error("sink {}: cannot create spool file {}: {} (set --spool-dir to a writable directory; tried again "
                      "every second)", spec_.text, write_segment_.string(), std::strerror(errno));
      return failed();
    }
    write_segment_bytes_ = write_segment_lines_ = 0;
  }
  std::string buf = line + '\n';
  ssize_t n = ::write(write_fd_, buf.data(), buf.size());
  if (n != ssize_t(buf.size())) {
    if (n > 0 && ftruncate(write_fd_, off_t(write_segment_bytes_)) != 0) {}  // drop the partial line
    if (!retry)
      spdlog::error("sink {}: cannot write spool file {}: {}; records beyond the memory queue are dropped until "
                    "it can be written again (tried every second; set --spool-dir to a volume with space)",
                    spec_.text, write_segment_.string(), n < 0 ? std::strerror(errno) : "short write (disk full?)");
    spool_seal();
    return failed();
  }
  if (retry) spdlog::warn("sink {}: spool {} usable again", spec_.text, spool_dir_.string());
  spool_ok_ = true;
  write_segment_bytes_ += buf.size();
  ++write_segment_lines_;
  spool_bytes_ += buf.size();
  ++spool_lines_;
  spooling_ = true;
  if (write_segment_bytes_ >= kSegmentBytes) spool_seal();
  return true;
}

void Channel::spool_seal() {
  if (write_fd_ < 0) return;
  ::close(write_fd_);
  write_fd_ = -1;
  if (write_segment_lines_) segments_.push_back(write_segment_);
  else ::unlink(write_segment_.c_str());
}

// Caller holds no lock. Returns false when stopping.
bool Channel::take_batch(std::vector<std::string>* batch, fs::path* segment) {
  std::unique_lock lk(mu_);
  cv_.wait(lk, [&] { return stop_ || !memory_.empty() || spool_lines_ > 0; });
  if (stop_) return false;
  batch->clear();
  segment->clear();
  if (!memory_.empty()) {
    size_t n = std::min(memory_.size(), backend_->max_batch());
    for (size_t i = 0; i < n; ++i) {
      batch->push_back(std::move(memory_.front()));
      memory_.pop_front();
    }
  } else {
    if (segments_.empty()) spool_seal();
    if (segments_.empty()) {  // counters out of step with the files: trust the files
      spool_lines_ = spool_bytes_ = 0;
      spooling_ = false;
      return true;
    }
    *segment = segments_.front();
    auto lines = read_lines(*segment);
    segment_lines_ = lines.size();
    for (auto& line : lines) {
      // A run killed mid-write can leave a partial last line: never send it.
      // (An alert for stderr keeps its kOwnLine in front.)
      if (nlohmann::json::accept(std::string_view(line).substr(line.starts_with(kOwnLine) ? 1 : 0)))
        batch->push_back(std::move(line));
      else ++st_.dropped;
    }
  }
  inflight_ = batch->size();
  return true;
}

void Channel::run() {
  if (backend_->is_network()) backend_->diagnose();
  std::mt19937_64 rng(std::random_device{}());
  auto backoff = kBackoffMin;
  uint64_t streak = 0;
  std::vector<std::string> batch;
  fs::path segment;
  // Batches are cut at max_batch() records and max_batch_bytes() bytes. A
  // receiver that closes the connection without a status (Fluent Bit, on a
  // body over its buffer) gets kClosedRetries tries, then the batch is halved;
  // a lone record it still refuses that way is dropped (counted): never an
  // endless retry.
  const uint64_t cap = backend_->max_batch_bytes();
  size_t limit = backend_->max_batch();
  int closed_streak = 0;
  while (take_batch(&batch, &segment)) {
    size_t pos = 0;
    bool stopped = false;
    while (pos < batch.size() && !stopped) {
      if (cap && batch[pos].size() + 1 > cap) {
        std::lock_guard lk(mu_);
        ++st_.dropped;
        --inflight_;
        if (segment.empty()) memory_done(1);
        if (power_of_ten(++oversize_))
          spdlog::error("sink {}: a record of {} bytes is larger than the batch cap of {} bytes (--batch-max): "
                        "dropped ({} so far)", spec_.text, batch[pos].size(), cap, oversize_);
        ++pos;
        continue;
      }
      size_t end = pos;
      for (uint64_t bytes = 0; end < batch.size() && end - pos < limit; ++end) {
        bytes += batch[end].size() + 1;
        if (cap && bytes > cap) break;
      }
      std::vector<std::string> chunk(batch.begin() + long(pos), batch.begin() + long(end));
      std::string err;
      bool reject = false;
      size_t n = backend_->deliver(chunk, Clock::now() + kBackoffMax, &err, &reject);
      size_t lost = 0;
      bool split = false;
      if (n < chunk.size() && reject) {
        // Falcosidekick refuses one record; an NDJSON receiver the whole batch.
        lost = backend_->one_record_per_request() ? 1 : chunk.size() - n;
        spdlog::error("sink {}: receiver rejected {} records, dropped: {}", spec_.text, lost, err);
      } else if (n < chunk.size() && backend_->closed_without_status && ++closed_streak >= kClosedRetries) {
        closed_streak = 0;
        if (chunk.size() - n > 1) {
          limit = std::max<size_t>(1, (chunk.size() - n) / 2);
          split = true;
          spdlog::warn("sink {}: connection closed without a status {} times: sending batches of {} records",
                       spec_.text, kClosedRetries, limit);
        } else {
          lost = 1;
          spdlog::error("sink {}: connection closed without a status {} times for one record of {} bytes, dropped: {}",
                        spec_.text, kClosedRetries, chunk[n].size(), err);
        }
      }
      pos += n + lost;
      std::unique_lock lk(mu_);
      st_.sent += n;
      st_.dropped += lost;
      inflight_ -= n + lost;
      if (segment.empty()) memory_done(n + lost);
      if (split) {
        ++st_.failures;
        backoff = kBackoffMin;
        continue;  // the smaller batches go at once
      }
      if (n + lost == chunk.size() || lost) {
        if (streak) spdlog::info("sink {}: delivery recovered after {} failed attempts", spec_.text, streak);
        streak = 0;
        closed_streak = 0;
        backoff = kBackoffMin;
        continue;
      }
      ++st_.failures;
      last_error_ = err;
      if (power_of_ten(++streak) && !stop_)  // an abort at stop is not a delivery failure
        spdlog::warn("sink {}: delivery failed ({} attempts so far, will retry): {}", spec_.text, streak, err);
      // Full jitter: sleep a random time in [backoff/2, backoff].
      auto sleep = std::chrono::milliseconds(
          std::uniform_int_distribution<int64_t>(backoff.count() / 2, backoff.count())(rng));
      backoff = std::min(backoff * 2, kBackoffMax);
      // flush() cuts the wait short: the receiver may be back.
      uint64_t seen = kick_;
      stopped = cv_.wait_for(lk, sleep, [&] { return stop_ || kick_ != seen; }) && stop_;
    }
    std::lock_guard lk(mu_);
    if (segment.empty()) {
      // Stopped mid-batch: put the rest back in front, persist_memory() keeps it.
      for (size_t i = batch.size(); i > pos; --i) memory_.push_front(std::move(batch[i - 1]));
    } else if (pos >= batch.size()) {
      std::error_code ec;
      uint64_t bytes = fs::file_size(segment, ec);
      fs::remove(segment, ec);
      segments_.pop_front();
      spool_bytes_ -= std::min(spool_bytes_, bytes);
      spool_lines_ -= std::min<uint64_t>(spool_lines_, segment_lines_);
      if (spool_lines_ == 0 && write_fd_ < 0) spooling_ = false;
    }
    inflight_ = 0;
    idle_cv_.notify_all();
    if (stopped) break;
  }
  idle_cv_.notify_all();
}

// At stop: what is still in memory goes to the spool (sent by the next run
// that uses the same spool directory), or is counted as dropped.
void Channel::persist_memory() {
  std::lock_guard lk(mu_);
  uint64_t kept = 0, lost = 0;
  for (const auto& l : memory_) (spool_append(l) ? kept : lost)++;
  spool_seal();
  memory_.clear();
  memory_done(marks_.size());  // in the spool now (or counted as dropped)
  st_.spooled += kept;
  st_.dropped += lost;
  if (kept || lost || spool_lines_)
    spdlog::warn("sink {}: stopping with {} records undelivered: {} kept in spool {}, {} dropped{}", spec_.text,
                 spool_lines_ + lost, spool_lines_, spool_dir_.string(), lost,
                 last_error_.empty() ? "" : " (last error: " + last_error_ + ")");
}

bool Channel::wait_idle(Clock::time_point deadline) {
  std::unique_lock lk(mu_);
  ++kick_;
  cv_.notify_all();
  return idle_cv_.wait_until(lk, deadline, [&] { return memory_.empty() && spool_lines_ == 0 && inflight_ == 0; });
}

DeliveryStats Channel::stats() const {
  std::lock_guard lk(mu_);
  DeliveryStats s = st_;
  s.queue_depth = memory_.size() + spool_lines_ + inflight_;
  return s;
}

std::string Channel::last_error() const {
  std::lock_guard lk(mu_);
  return last_error_;
}

}  // namespace vigil::sinks_detail
