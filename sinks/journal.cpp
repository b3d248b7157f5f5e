// The journal: records that outlive a SIGKILL of vigil (sinks/journal.hpp).
#include "sinks/journal.hpp"

#include <fcntl.h>
#include <signal.h>
#include <sys/file.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <unistd.h>

#include <algorithm>
#include <utility>
#include <cerrno>
#include <cstring>

#include <fmt/format.h>

namespace vigil::sinks_detail {
namespace fs = std::filesystem;

namespace {
constexpr char kMagic[8] = {'V', 'I', 'G', 'I', 'L', 'J', 'N', '1'};
constexpr uint32_t kVersion = 2;  // 2: event records, the run's context (a version 1 file is read too)
constexpr uint32_t kWrap = 0xffffffffu;  // record length of a wrap marker: the rest of the ring is empty
constexpr uint32_t kEvent = 0x80000000u;  // in a record's mask: a binary event record (sink bits are 0-15)
constexpr size_t kPathMax = 4096;
constexpr size_t kCtxMax = 512;
constexpr std::string_view kRecovered = ",\"recovered\":true}\n";
static_assert(std::atomic<uint64_t>::is_always_lock_free);

uint64_t pad8(uint64_t n) { return (n + 7) & ~uint64_t{7}; }

// A journal file truncated under vigil (by a writer vigil's guard did not
// stop: an open raced past its check in detect mode, a process outside the
// task on a shared volume) takes the pages past its new end away from every
// mapping: the next access is a SIGBUS, which killed vigil (fail-closed, but
// the app could so end its sensor whenever it liked). The mappings of the
// journal are registered here; a SIGBUS inside one gets an anonymous page in
// place of the lost one (MAP_FIXED: the access then completes) and marks
// that mapping `cut`, which the output reports as a tamper alert. What is
// stored from then on survives only in vigil's memory, as without a file.
// Any other SIGBUS takes the action it had before (default: vigil dies).
struct Guarded {
  std::atomic<char*> begin{nullptr};
  std::atomic<size_t> len{0};
  std::atomic<bool> cut{false};
};
Guarded g_guarded[4];  // the journal's mapping, and one of an earlier run's file while it is read
struct sigaction g_old_bus;
size_t g_page = 4096;

void on_sigbus(int sig, siginfo_t* si, void* uc) {
  const int saved = errno;
  char* a = static_cast<char*>(si->si_addr);
  for (auto& g : g_guarded) {
    char* b = g.begin.load(std::memory_order_acquire);
    if (!b || a < b || a >= b + g.len.load(std::memory_order_relaxed)) continue;
    char* page = b + (size_t(a - b) & ~(g_page - 1));  // (b is page-aligned: mmap's)
    if (mmap(page, g_page, PROT_READ | PROT_WRITE, MAP_FIXED | MAP_PRIVATE | MAP_ANONYMOUS, -1, 0) != MAP_FAILED) {
      g.cut.store(true, std::memory_order_release);
      errno = saved;
      return;
    }
  }
  // Not the journal's: the action from before (the access faults again).
  if ((g_old_bus.sa_flags & SA_SIGINFO) && g_old_bus.sa_sigaction) return g_old_bus.sa_sigaction(sig, si, uc);
  if (g_old_bus.sa_handler != SIG_DFL && g_old_bus.sa_handler != SIG_IGN && g_old_bus.sa_handler)
    return g_old_bus.sa_handler(sig);
  signal(SIGBUS, SIG_DFL);
  errno = saved;
}

// A slot for the mapping [b, b + n), the handler installed once; -1: none
// free. Called by Journal::open, one at a time (a slot's length and flag are
// set before its start, which the handler reads first).
int guard_mapping(void* b, size_t n) {
  static const bool installed = [] {
    g_page = size_t(sysconf(_SC_PAGESIZE));
    struct sigaction sa {};
    sa.sa_sigaction = on_sigbus;
    sa.sa_flags = SA_SIGINFO | SA_NODEFER;
    sigemptyset(&sa.sa_mask);
    return sigaction(SIGBUS, &sa, &g_old_bus) == 0;
  }();
  if (!installed) return -1;
  for (int i = 0; i < int(std::size(g_guarded)); ++i) {
    Guarded& g = g_guarded[i];
    if (g.begin.load(std::memory_order_acquire)) continue;  // (another mapping's: its length and flag untouched)
    g.len.store(n, std::memory_order_relaxed);
    g.cut.store(false, std::memory_order_relaxed);
    g.begin.store(static_cast<char*>(b), std::memory_order_release);
    return i;
  }
  return -1;
}
void unguard_mapping(int slot) {
  if (slot >= 0) g_guarded[slot].begin.store(nullptr, std::memory_order_release);
}
}  // namespace

// Threads that touch the journal's mapping: SIGBUS must reach on_sigbus (a
// fault's signal that is blocked kills the process instead).
void allow_journal_faults() {
  sigset_t bus;
  sigemptyset(&bus);
  sigaddset(&bus, SIGBUS);
  pthread_sigmask(SIG_UNBLOCK, &bus, nullptr);
}

// The start of the mapping (the file, or the memfd); the ring follows at
// kDataOffset. Fields written by more than one process are atomics.
struct JournalHeader {
  char magic[8];
  uint32_t version;
  uint32_t nsinks;
  uint64_t capacity;
  std::atomic<uint64_t> committed;
  std::atomic<uint64_t> dispatched;
  std::atomic<uint64_t> lost;
  std::atomic<uint64_t> open;  // 1 while a run uses it; 0: closed, or its death was reported by a keeper
  std::atomic<uint64_t> pending[kJournalSinks];
  struct {
    uint32_t kind;
    char target[kPathMax];
  } sinks[kJournalSinks];
  char ctx[4][kCtxMax];  // sensor_id, hostname, container_id, container_image (version 2)
};
namespace {
constexpr size_t kDataOffset = (sizeof(JournalHeader) + 4095) & ~size_t{4095};

// Calls f(line, undelivered sinks, event) for each record of the ring not
// delivered to every sink of its mask, oldest first. Reads only; cap from
// the caller (the file may have been changed: every length is checked).
template <class F>
void for_each_undelivered(const JournalHeader* h, const char* data, uint64_t cap, F f) {
  const uint64_t end = h->committed.load();
  const uint64_t dispatched = h->dispatched.load();
  uint64_t pend[kJournalSinks];
  uint64_t o = std::min(dispatched, end);
  for (uint32_t i = 0; i < kJournalSinks; ++i) {
    pend[i] = h->pending[i].load();
    o = std::min(o, pend[i]);
  }
  if (end - o > cap) o = end - cap;  // (never, unless the file was damaged)
  while (o < end) {
    uint64_t pos = o % cap;
    if (cap - pos < 8) {
      o += cap - pos;
      continue;
    }
    uint32_t len, mask;
    std::memcpy(&len, data + pos, 4);
    std::memcpy(&mask, data + pos + 4, 4);
    if (len == kWrap) {
      o += cap - pos;
      continue;
    }
    if (len > cap - pos - 8) return;  // damaged
    uint32_t missing = 0;
    for (uint32_t i = 0; i < kJournalSinks; ++i)
      if ((mask >> i & 1) && (o >= dispatched || o >= pend[i])) missing |= 1u << i;
    if (missing) f(std::string_view(data + pos + 8, len), missing, (mask & kEvent) != 0);
    o += 8 + pad8(len);
  }
}

void write_all(int fd, const iovec* iov, int n) noexcept {
  iovec v[3];
  std::memcpy(v, iov, sizeof(iovec) * size_t(n));
  for (int i = 0; i < n;) {
    ssize_t w = writev(fd, v + i, n - i);
    if (w < 0 && errno == EINTR) continue;
    if (w <= 0) return;
    size_t left = size_t(w);
    while (i < n && left >= v[i].iov_len) left -= v[i++].iov_len;
    if (i < n) {
      v[i].iov_base = static_cast<char*>(v[i].iov_base) + left;
      v[i].iov_len -= left;
    }
  }
}

// One line to the file sinks of mask (appended) and once to stderr for the
// others; "recovered":true added as the last key when mark. An alert starts
// with a newline on stderr, as the stderr sink writes it (the app shares
// stderr and may have left a partial line there: docs/sinks.md).
// Async-signal-safe.
void write_line(int nsinks, const uint32_t* kinds, const char* const* targets, int* fds, std::string_view line,
                uint32_t mask, bool mark, bool alert) noexcept {
  if (line.empty() || line.back() != '}') return;
  iovec all[3] = {{const_cast<char*>("\n"), 1},
                  {const_cast<char*>(line.data()), line.size() - (mark ? 1 : 0)},
                  {const_cast<char*>(mark ? kRecovered.data() : "\n"), mark ? kRecovered.size() : 1}};
  iovec* iov = all + 1;
  bool to_stderr = false;
  for (int i = 0; i < nsinks; ++i) {
    if (!(mask >> i & 1)) continue;
    if (kinds[i] != uint32_t(SinkSpec::Kind::File)) {
      to_stderr = true;
      continue;
    }
    if (fds[i] == -1) fds[i] = ::open(targets[i], O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0600);
    if (fds[i] < 0) {
      fds[i] = -2;  // tried; stderr instead
      to_stderr = true;
      continue;
    }
    write_all(fds[i], iov, 2);
  }
  if (to_stderr) alert ? write_all(STDERR_FILENO, all, 3) : write_all(STDERR_FILENO, iov, 2);
}

}  // namespace

namespace {

// What the journal file an earlier run left holds (h: a mapping of its
// `size` bytes): its sinks, context and undelivered records. Every field is
// checked: the file may have been changed.
void read_earlier(const JournalHeader* h, uint64_t size, Journal::Earlier* earlier) {
  if (std::memcmp(h->magic, kMagic, 8) != 0 || (h->version != kVersion && h->version != 1) ||
      h->nsinks > kJournalSinks || h->capacity > size - kDataOffset)
    return;
  for (uint32_t i = 0; i < h->nsinks; ++i)
    earlier->sinks.push_back({SinkSpec::Kind(h->sinks[i].kind),
                              std::string(h->sinks[i].target, strnlen(h->sinks[i].target, kPathMax))});
  if (h->version == kVersion)
    for (auto [i, field] : {std::pair{0, &Context::sensor_id}, {1, &Context::hostname}, {2, &Context::container_id},
                            {3, &Context::container_image}})
      earlier->ctx.*field = std::string(h->ctx[i], strnlen(h->ctx[i], kCtxMax));
  for_each_undelivered(h, reinterpret_cast<const char*>(h) + kDataOffset, h->capacity,
                       [&](std::string_view line, uint32_t s, bool event) {
                         earlier->records.push_back({std::string(line), s, event});
                       });
  earlier->died = h->open.load() != 0;
}

}  // namespace

std::unique_ptr<Journal> Journal::open(const fs::path& dir, uint64_t bytes, const std::vector<Sink>& sinks,
                                       Earlier* earlier, std::string* note) {
  if (bytes == 0) return nullptr;
  std::unique_ptr<Journal> j(new Journal());
  j->cap_ = std::max<uint64_t>(pad8(bytes), 4096);
  j->map_bytes_ = kDataOffset + j->cap_;
  j->sinks_ = sinks;
  if (j->sinks_.size() > kJournalSinks) j->sinks_.resize(kJournalSinks);
  std::error_code ec;
  fs::create_directories(dir, ec);
  const fs::path path = dir / "journal";
  int fd = ::open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600);
  if (fd < 0) {
    *note = fmt::format("cannot open {}: {}", path.string(), std::strerror(errno));
  } else if (flock(fd, LOCK_EX | LOCK_NB) != 0) {
    *note = fmt::format("{} is in use by another vigil (or its keeper)", path.string());
    earlier->in_use = true;
    ::close(fd);
    fd = -1;
  }
  // A file of this run's size (the common case: the run before had the same
  // --journal-size) is mapped once, read, and reset in place; a file of
  // another size is read through a mapping of its own, then resized.
  void* m = MAP_FAILED;
  if (fd >= 0) {
    struct stat st {};
    if (fstat(fd, &st) != 0) st.st_size = -1;
    const bool same_size = st.st_size == off_t(j->map_bytes_);
    if (same_size) m = mmap(nullptr, j->map_bytes_, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
    // What an earlier run left: read before the header is reset.
    if (same_size && m != MAP_FAILED) j->guard_ = guard_mapping(m, j->map_bytes_);
    if (st.st_size > off_t(kDataOffset)) {
      const void* r = same_size ? m : mmap(nullptr, size_t(st.st_size), PROT_READ, MAP_SHARED, fd, 0);
      const int slot = same_size || r == MAP_FAILED ? -1 : guard_mapping(const_cast<void*>(r), size_t(st.st_size));
      if (r != MAP_FAILED) read_earlier(static_cast<const JournalHeader*>(r), uint64_t(st.st_size), earlier);
      unguard_mapping(slot);
      if (!same_size && r != MAP_FAILED) munmap(const_cast<void*>(r), size_t(st.st_size));
    }
    // Reset in place: only the header is rewritten (below); the ring's old
    // bytes are never read, nothing past `committed`, which starts at 0. A
    // file of the right size keeps its pages (in the page cache since the
    // earlier run): truncating it to 0 and back made each run free 4 MiB of
    // page cache and fault every page it touched back in from a hole.
    // Its blocks reserved now (fallocate; a no-op for a file an earlier run
    // filled): a page first written to a sparse file on a full file system
    // is a SIGBUS, which on_sigbus survives but only as `cut`, the mark of a
    // truncation. A file system without fallocate stays sparse (cut() and
    // truncated() then tell the two apart).
    int err = 0;
    if (!same_size && ftruncate(fd, off_t(j->map_bytes_)) != 0) err = errno;
    else if (fallocate(fd, 0, 0, off_t(j->map_bytes_)) != 0 && errno != EOPNOTSUPP && errno != ENOSYS) err = errno;
    if (err) {
      *note = fmt::format("cannot {} {}: {}", same_size ? "reserve the blocks of" : "size", path.string(),
                          std::strerror(err));
      if (m != MAP_FAILED) {  // (same_size: the earlier run's records are read already)
        unguard_mapping(std::exchange(j->guard_, -1));
        munmap(m, j->map_bytes_);
        m = MAP_FAILED;
      }
      ::close(fd);
      fd = -1;
    } else {
      j->file_backed_ = true;
      j->path_ = path.string();
    }
  }
  if (fd < 0) {
    fd = memfd_create("vigil-journal", MFD_CLOEXEC);
    if (fd < 0 || ftruncate(fd, off_t(j->map_bytes_)) != 0) {
      *note += fmt::format("; no journal: memfd: {}", std::strerror(errno));
      if (fd >= 0) ::close(fd);
      return nullptr;
    }
  }
  if (m == MAP_FAILED) {
    m = mmap(nullptr, j->map_bytes_, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
    if (m != MAP_FAILED && j->file_backed_) j->guard_ = guard_mapping(m, j->map_bytes_);
  }
  if (m == MAP_FAILED) {
    *note += fmt::format("; no journal: mmap: {}", std::strerror(errno));
    ::close(fd);
    return nullptr;
  }
  j->fd_ = fd;
  // The header is written field by field, not zeroed whole: it spans 17
  // pages, most of them the 16 sinks' path slots, and each page written is a
  // fault on a file mapping (~15-30 us on a paravirtualised VM: a start pays
  // 3 instead of 17). Slots past nsinks keep an earlier run's bytes: nothing
  // reads them (every reader stops at nsinks).
  std::memset(m, 0, sizeof JournalHeader::magic);  // first: a file without the magic is not read
  auto* h = j->h_ = new (m) JournalHeader;
  j->data_ = static_cast<char*>(m) + kDataOffset;
  h->version = kVersion;
  h->capacity = j->cap_;
  h->nsinks = uint32_t(j->sinks_.size());
  for (size_t i = 0; i < j->sinks_.size(); ++i) {
    h->sinks[i].kind = uint32_t(j->sinks_[i].kind);
    std::strncpy(h->sinks[i].target, j->sinks_[i].target.c_str(), kPathMax - 1);  // (pads with NULs)
    h->sinks[i].target[kPathMax - 1] = '\0';
  }
  std::memset(h->ctx, 0, sizeof h->ctx);  // (set_context fills it)
  for (auto* c : {&h->committed, &h->dispatched, &h->lost}) c->store(0);  // (not left to the constructor's default)
  for (auto& p : h->pending) p.store(kNoPending);
  h->open.store(1);
  std::memcpy(h->magic, kMagic, 8);  // last: a file with the magic is complete
  return j;
}

Journal::~Journal() {
  if (!h_) return;
  // Everything was delivered, spooled or counted as dropped by now.
  h_->dispatched.store(h_->committed.load());
  for (auto& p : h_->pending) p.store(kNoPending);
  h_->open.store(0);
  unguard_mapping(guard_);
  munmap(h_, map_bytes_);
  ::close(fd_);
}

bool Journal::cut() const { return guard_ >= 0 && g_guarded[guard_].cut.load(std::memory_order_acquire); }
bool Journal::truncated() const {
  struct stat st {};
  return fd_ >= 0 && fstat(fd_, &st) == 0 && uint64_t(st.st_size) < map_bytes_;
}

// Room for a record of n bytes (its header written), or null: no room
// within limit bytes of the oldest undelivered record, counted as lost.
char* Journal::place(size_t n, uint32_t mask, uint64_t limit, uint64_t* start, uint64_t* end) {
  const uint64_t c = h_->committed.load(std::memory_order_relaxed);
  *start = *end = c;
  const uint64_t need = 8 + pad8(n);
  if (need > cap_ / 2 || n == 0) {
    h_->lost.fetch_add(1, std::memory_order_relaxed);
    return nullptr;
  }
  uint64_t pos = c % cap_, off = c;
  if (cap_ - pos < need) off += cap_ - pos;  // no room before the end: wrap
  uint64_t tail = h_->dispatched.load();  // first: a record dispatched later shows in pending
  for (size_t i = 0; i < sinks_.size(); ++i) tail = std::min(tail, h_->pending[i].load());
  tail = std::min(tail, c);
  if (off + need - tail > limit) {
    h_->lost.fetch_add(1, std::memory_order_relaxed);
    return nullptr;
  }
  if (off != c && cap_ - pos >= 8) std::memcpy(data_ + pos, &kWrap, 4);
  char* p = data_ + off % cap_;
  const uint32_t len = uint32_t(n);
  std::memcpy(p, &len, 4);
  std::memcpy(p + 4, &mask, 4);
  *start = off;
  *end = off + need;
  return p + 8;
}

bool Journal::commit(std::string_view line, uint32_t mask, uint64_t* start, uint64_t* end) {
  char* p = place(line.size(), mask & ~kEvent, cap_, start, end);
  if (!p) return false;
  std::memcpy(p, line.data(), line.size());
  h_->committed.store(*end, std::memory_order_release);
  return true;
}

bool Journal::commit_event(const Event& ev, uint32_t mask, uint64_t* start, uint64_t* end) {
  const size_t n = event_record_size(ev);
  char* p = place(n, mask | kEvent, cap_ - cap_ / 4, start, end);
  if (!p) return false;
  encode_event_record(ev, p);
  h_->committed.store(*end, std::memory_order_release);
  return true;
}

void Journal::set_context(const Context& ctx) {
  int i = 0;
  for (const std::string* s : {&ctx.sensor_id, &ctx.hostname, &ctx.container_id, &ctx.container_image}) {
    std::memset(h_->ctx[i], 0, kCtxMax);
    std::memcpy(h_->ctx[i++], s->data(), std::min(s->size(), kCtxMax - 1));
  }
}

bool Journal::render_event(std::string_view rec, const Context& ctx, std::string* line, std::string* error) {
  try {
    Event ev;
    if (!decode_event_record(rec, &ev, error)) return false;
    *line = to_json_line(ev, ctx);
    return true;
  } catch (const std::exception& e) {  // (strict UTF-8 in a field a forged record filled; no memory)
    *error = fmt::format("event record: {}", e.what());
    return false;
  }
}

uint64_t Journal::committed() const { return h_->committed.load(std::memory_order_acquire); }
void Journal::set_dispatched(uint64_t end) { h_->dispatched.store(end); }
void Journal::set_pending(int sink, uint64_t start) {
  if (sink >= 0 && sink < kJournalSinks) h_->pending[sink].store(start);
}
uint64_t Journal::lost() const { return h_->lost.load(std::memory_order_relaxed); }

size_t Journal::recover(std::string_view first, uint32_t first_mask, const Context* ctx) noexcept {
  // Sinks and sizes from this process's memory, never from the file (the
  // app must not choose where the keeper writes).
  uint32_t kinds[kJournalSinks];
  const char* targets[kJournalSinks];
  int fds[kJournalSinks];
  const int n = int(sinks_.size());
  for (int i = 0; i < n; ++i) {
    kinds[i] = uint32_t(sinks_[i].kind);
    targets[i] = sinks_[i].target.c_str();
    fds[i] = -1;
  }
  if (!first.empty()) write_line(n, kinds, targets, fds, first, first_mask, false, true);
  size_t damaged = 0;
  std::string json, error;
  for_each_undelivered(h_, data_, cap_, [&](std::string_view line, uint32_t missing, bool event) {
    if (event) {
      if (!ctx || !render_event(line, *ctx, &json, &error)) return void(++damaged);
      line = json;
    }
    write_line(n, kinds, targets, fds, line, missing, true, !event);
  });
  for (int i = 0; i < n; ++i)
    if (fds[i] >= 0) ::close(fds[i]);
  h_->dispatched.store(h_->committed.load());
  for (auto& p : h_->pending) p.store(kNoPending);
  h_->open.store(0);  // reported: the next run need not say it again
  return damaged;
}

void Journal::write_stderr(std::string_view line, bool alert) {
  const uint32_t kind = uint32_t(SinkSpec::Kind::Stderr);
  const char* target = "";
  int fd = -1;
  write_line(1, &kind, &target, &fd, line, 1, true, alert);
}

}  // namespace vigil::sinks_detail
