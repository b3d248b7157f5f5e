// Where the lines go: stderr, a rotated file, or HTTP(S) POSTs (libcurl).
#include <fcntl.h>
#include <poll.h>
#include <sys/stat.h>
#include <unistd.h>

#include <climits>
#include <cerrno>
#include <cstring>
#include <mutex>

#include <curl/curl.h>
#include <fmt/format.h>

#include "sinks/internal.hpp"

namespace vigil::sinks_detail {
namespace {

bool write_all(int fd, const std::string& buf, std::string* error) {
  size_t off = 0;
  while (off < buf.size()) {
    ssize_t n = ::write(fd, buf.data() + off, buf.size() - off);
    if (n < 0 && errno == EINTR) continue;
    // A full pipe with O_NONBLOCK on its open file (shared with the app, which
    // may set it on its own stdout/stderr): wait until it has room instead of
    // spinning a CPU the tracer and the app need.
    if (n < 0 && errno == EAGAIN) {
      pollfd p{fd, POLLOUT, 0};
      poll(&p, 1, 100);
      continue;
    }
    if (n <= 0) {
      *error = fmt::format("write failed: {}", std::strerror(errno));
      return false;
    }
    off += size_t(n);
  }
  return true;
}

// stderr is usually a pipe shared with the app (awslogs): writes of at most
// PIPE_BUF bytes are atomic there, so lines are grouped into such writes and
// the app's output cannot land in the middle of a line that fits. An alert
// (kOwnLine in front) starts with a newline: the app may have left a partial
// line (a progress bar, or on purpose), and an alert glued to it is no JSON
// line for a collector. Events, many more, are written as they are.
class StderrBackend final : public Backend {
 public:
  size_t deliver(const std::vector<std::string>& lines, Clock::time_point, std::string* error, bool*) override {
    std::string buf;
    size_t done = 0;
    for (size_t i = 0; i < lines.size(); ++i) {
      if (!buf.empty() && buf.size() + lines[i].size() + 1 > PIPE_BUF) {
        if (!write_all(STDERR_FILENO, buf, error)) return done;
        done = i;
        buf.clear();
      }
      if (lines[i].starts_with(kOwnLine)) buf.append("\n").append(lines[i], 1);
      else buf.append(lines[i]);
      buf.push_back('\n');
    }
    return write_all(STDERR_FILENO, buf, error) ? lines.size() : done;
  }
};

// JSON lines appended to PATH; when it would exceed max_bytes it becomes
// PATH.1 (PATH.1 -> PATH.2, ...), keeping at most max_files files.
class FileBackend final : public Backend {
 public:
  explicit FileBackend(SinkSpec spec) : spec_(std::move(spec)) {}
  ~FileBackend() override {
    if (fd_ >= 0) ::close(fd_);
  }
  bool open(std::string* error) {
    fd_ = ::open(spec_.target.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0640);
    if (fd_ < 0) {
      *error = fmt::format("cannot open output file '{}': {}", spec_.target, std::strerror(errno));
      return false;
    }
    struct stat st {};
    size_ = fstat(fd_, &st) == 0 ? uint64_t(st.st_size) : 0;
    return true;
  }
  size_t deliver(const std::vector<std::string>& lines, Clock::time_point, std::string* error, bool*) override {
    if (fd_ < 0 && !open(error)) return 0;
    std::string buf;
    size_t done = 0;
    for (size_t i = 0; i < lines.size(); ++i) {
      uint64_t len = lines[i].size() + 1;
      if (spec_.max_bytes && size_ + buf.size() + len > spec_.max_bytes && size_ + buf.size() > 0) {
        if (!write_all(fd_, buf, error)) return done;
        done = i;
        buf.clear();
        if (!rotate(error)) return done;
      }
      buf.append(lines[i]).push_back('\n');
    }
    if (!write_all(fd_, buf, error)) return done;
    size_ += buf.size();
    return lines.size();
  }

 private:
  bool rotate(std::string* error) {
    ::close(fd_);
    fd_ = -1;
    auto name = [&](int i) { return i == 0 ? spec_.target : fmt::format("{}.{}", spec_.target, i); };
    if (spec_.max_files <= 1) {
      ::unlink(spec_.target.c_str());
    } else {
      for (int i = spec_.max_files - 1; i >= 1; --i) ::rename(name(i - 1).c_str(), name(i).c_str());
    }
    return open(error);
  }
  SinkSpec spec_;
  int fd_ = -1;
  uint64_t size_ = 0;
};

size_t collect_body(char* data, size_t size, size_t n, void* user) {
  auto* s = static_cast<std::string*>(user);
  if (s->size() < 512) s->append(data, std::min(size * n, 512 - s->size()));
  return size * n;
}

// NDJSON batches (one POST per batch), or falcosidekick: one JSON per POST.
class HttpBackend final : public Backend {
 public:
  HttpBackend(SinkSpec spec, const HttpSettings& http) : spec_(std::move(spec)), http_(http) {
    bool custom_type = false;
    for (const auto& h : http_.headers) {
      headers_ = curl_slist_append(headers_, h.c_str());
      custom_type |= strncasecmp(h.c_str(), "content-type:", 13) == 0;
    }
    // application/json for NDJSON bodies too: Fluent Bit's http input (FireLens)
    // refuses any other type and reads concatenated objects; Vector ignores it.
    if (!custom_type) headers_ = curl_slist_append(headers_, "Content-Type: application/json");
    headers_ = curl_slist_append(headers_, "Expect:");  // no 100-continue round trip
    curl_ = curl_easy_init();
    multi_ = curl_multi_init();
  }
  ~HttpBackend() override {
    curl_multi_cleanup(multi_);
    curl_easy_cleanup(curl_);
    curl_slist_free_all(headers_);
  }
  size_t max_batch() const override { return spec_.kind == SinkSpec::Kind::Falcosidekick ? 50 : 1000; }
  uint64_t max_batch_bytes() const override { return http_.batch_bytes; }
  bool one_record_per_request() const override { return spec_.kind == SinkSpec::Kind::Falcosidekick; }
  bool is_network() const override { return true; }
  void diagnose() override;
  void interrupt() override {
    abort = true;
    curl_multi_wakeup(multi_);
  }

  size_t deliver(const std::vector<std::string>& lines, Clock::time_point deadline, std::string* error,
                 bool* reject) override {
    if (spec_.kind == SinkSpec::Kind::Falcosidekick) {
      for (size_t i = 0; i < lines.size(); ++i)
        if (!post(lines[i], deadline, error, reject)) return i;
      return lines.size();
    }
    std::string body;
    for (const auto& l : lines) body.append(l).push_back('\n');
    return post(body, deadline, error, reject) ? lines.size() : 0;
  }

 private:
  bool post(const std::string& body, Clock::time_point deadline, std::string* error, bool* reject) {
    using namespace std::chrono;
    auto left = duration_cast<milliseconds>(deadline - Clock::now()).count();
    long timeout = long(std::clamp<int64_t>(left, 100, 30000));
    std::string response;
    char errbuf[CURL_ERROR_SIZE] = "";
    curl_easy_setopt(curl_, CURLOPT_URL, spec_.target.c_str());
    curl_easy_setopt(curl_, CURLOPT_POST, 1L);
    curl_easy_setopt(curl_, CURLOPT_POSTFIELDS, body.data());
    curl_easy_setopt(curl_, CURLOPT_POSTFIELDSIZE_LARGE, curl_off_t(body.size()));
    curl_easy_setopt(curl_, CURLOPT_HTTPHEADER, headers_);
    curl_easy_setopt(curl_, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(curl_, CURLOPT_CONNECTTIMEOUT_MS, std::min(timeout, 5000L));
    curl_easy_setopt(curl_, CURLOPT_TIMEOUT_MS, timeout);
    curl_easy_setopt(curl_, CURLOPT_ERRORBUFFER, errbuf);
    curl_easy_setopt(curl_, CURLOPT_WRITEFUNCTION, collect_body);
    curl_easy_setopt(curl_, CURLOPT_WRITEDATA, &response);
    apply_tls(curl_, http_);
    CURLcode rc = perform();
    closed_without_status = rc == CURLE_GOT_NOTHING || rc == CURLE_SEND_ERROR || rc == CURLE_RECV_ERROR;
    if (rc != CURLE_OK) {
      *error = fmt::format("POST {}: {}", spec_.text, *errbuf ? errbuf : curl_easy_strerror(rc));
      return false;
    }
    long code = 0;
    curl_easy_getinfo(curl_, CURLINFO_RESPONSE_CODE, &code);
    if (code >= 200 && code < 300) return true;
    for (auto& c : response)
      if (c == '\n' || c == '\r') c = ' ';
    *error = fmt::format("POST {}: HTTP {} {}", spec_.text, code, response);
    // The receiver refuses this payload for good: retrying would block the sink.
    *reject = code == 400 || code == 413 || code == 422;
    return false;
  }

  // curl_easy_perform() through a multi handle, so that interrupt() can end
  // a request at once (at exit, when the flush time is over).
  CURLcode perform() {
    CURLcode rc = CURLE_ABORTED_BY_CALLBACK;
    curl_multi_add_handle(multi_, curl_);
    int running = 1;
    while (!abort) {
      if (curl_multi_perform(multi_, &running) != CURLM_OK) {
        rc = CURLE_FAILED_INIT;
        break;
      }
      if (!running) {
        int left = 0;
        while (CURLMsg* m = curl_multi_info_read(multi_, &left))
          if (m->msg == CURLMSG_DONE) rc = m->data.result;
        break;
      }
      curl_multi_poll(multi_, nullptr, 0, 1000, nullptr);
    }
    curl_multi_remove_handle(multi_, curl_);
    return rc;
  }

  SinkSpec spec_;
  HttpSettings http_;
  curl_slist* headers_ = nullptr;
  CURL* curl_ = nullptr;
  CURLM* multi_ = nullptr;
};

void HttpBackend::diagnose() { check_endpoint(spec_, http_, &abort); }

}  // namespace

void apply_tls(void* curl, const HttpSettings& http) {
  if (!http.ca_file.empty()) curl_easy_setopt(curl, CURLOPT_CAINFO, http.ca_file.c_str());
  curl_easy_setopt(curl, CURLOPT_SSL_VERIFYPEER, http.insecure ? 0L : 1L);
  curl_easy_setopt(curl, CURLOPT_SSL_VERIFYHOST, http.insecure ? 0L : 2L);
}

void curl_init_once() {
  static std::once_flag once;
  std::call_once(once, [] { curl_global_init(CURL_GLOBAL_DEFAULT); });
}

std::unique_ptr<Backend> make_backend(const SinkSpec& spec, const HttpSettings& http, std::string* error) {
  switch (spec.kind) {
    case SinkSpec::Kind::Stderr: return std::make_unique<StderrBackend>();
    case SinkSpec::Kind::File: {
      auto f = std::make_unique<FileBackend>(spec);
      if (!f->open(error)) return nullptr;  // fail at startup, not at the first event
      return f;
    }
    case SinkSpec::Kind::Http:
    case SinkSpec::Kind::Falcosidekick: curl_init_once(); return std::make_unique<HttpBackend>(spec, http);
  }
  return nullptr;
}

}  // namespace vigil::sinks_detail
