#include "sensor/procfs.hpp"

#include <fcntl.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cstring>
#include <filesystem>
#include <map>
#include <tuple>
#include <vector>

#include <fmt/format.h>
#include <openssl/evp.h>

namespace vigil::procfs {
namespace {

std::string read_link(const std::string& path) {
  char buf[4096];
  ssize_t n = readlink(path.c_str(), buf, sizeof buf);
  return n > 0 ? std::string(buf, size_t(n)) : std::string();
}

// Reads up to max bytes of a file; false if it cannot be opened. short_is_eof:
// a short read ends the file (true of /proc/PID/{status,stat,cmdline}, whose
// reads fill the buffer while there is more): saves the read that returns 0.
bool read_file(const std::string& path, size_t max, std::string* out, bool short_is_eof = false) {
  int fd = open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return false;
  out->resize(max);
  size_t len = 0;
  while (len < max) {
    ssize_t n = read(fd, out->data() + len, max - len);
    if (n <= 0) break;
    len += size_t(n);
    if (short_is_eof) break;
  }
  close(fd);
  out->resize(len);
  return true;
}

std::string hash_fd(int fd) {
  EVP_MD_CTX* ctx = EVP_MD_CTX_new();
  EVP_DigestInit_ex(ctx, EVP_sha256(), nullptr);
  char buf[65536];
  ssize_t n;
  bool ok = true;
  while ((n = read(fd, buf, sizeof buf)) != 0) {
    if (n < 0) {
      ok = false;
      break;
    }
    EVP_DigestUpdate(ctx, buf, size_t(n));
  }
  unsigned char md[EVP_MAX_MD_SIZE];
  unsigned len = 0;
  EVP_DigestFinal_ex(ctx, md, &len);
  EVP_MD_CTX_free(ctx);
  if (!ok) return {};
  std::string hex;
  for (unsigned i = 0; i < len; ++i) hex += fmt::format("{:02x}", md[i]);
  return hex;
}

// The "#!" line in the first bytes of a file: false if it is not a script.
bool parse_shebang(std::string_view head, std::string* interp, std::string* arg) {
  if (head.size() < 3 || head[0] != '#' || head[1] != '!') return false;
  std::string_view line = head.substr(2);
  line = line.substr(0, line.find('\n'));
  auto blank = [](char c) { return c == ' ' || c == '\t'; };
  while (!line.empty() && blank(line.front())) line.remove_prefix(1);
  while (!line.empty() && (blank(line.back()) || line.back() == '\r')) line.remove_suffix(1);
  size_t end = 0;
  while (end < line.size() && !blank(line[end])) ++end;
  *interp = std::string(line.substr(0, end));
  line.remove_prefix(end);
  while (!line.empty() && blank(line.front())) line.remove_prefix(1);
  *arg = std::string(line);  // the rest of the line is one argument
  return !interp->empty();
}

// What an exec needs to know of a file: its SHA-256 and its "#!" line.
struct FileFacts {
  std::string sha256;  // empty: not hashed (too big, unreadable)
  bool script = false;
  std::string interp, arg;
};

// The facts of the open file fd (any mode, O_PATH too), cached by (dev,
// inode, mtime, size): a repeated exec costs one fstat. *st is its fstat
// (st_ino 0 if unknown).
FileFacts file_facts(int fd, struct stat* st) {
  using Key = std::tuple<dev_t, ino_t, int64_t, off_t>;
  static std::map<Key, FileFacts> cache;
  *st = {};
  if (fstat(fd, st) != 0 || !S_ISREG(st->st_mode)) return {};
  const int64_t mtime_ns = int64_t(st->st_mtim.tv_sec) * 1'000'000'000 + st->st_mtim.tv_nsec;
  Key key{st->st_dev, st->st_ino, mtime_ns, st->st_size};
  if (auto it = cache.find(key); it != cache.end()) return it->second;
  int rd = open(fmt::format("/proc/self/fd/{}", fd).c_str(), O_RDONLY | O_CLOEXEC);
  if (rd < 0) return {};  // e.g. an execute-only file and vigil not root
  FileFacts f;
  char head[256];  // the kernel reads as much for "#!" (BINPRM_BUF_SIZE)
  const ssize_t n = pread(rd, head, sizeof head, 0);
  f.script = n > 0 && parse_shebang(std::string_view(head, size_t(n)), &f.interp, &f.arg);
  if (st->st_size <= kHashMaxBytes) f.sha256 = hash_fd(rd);
  close(rd);
  if (cache.size() >= 4096) cache.clear();  // bound the sensor's memory
  cache.emplace(key, f);
  return f;
}

// Session id and controlling terminal from /proc/PID/stat.
void read_stat(int pid, Process* p) {
  std::string s;
  if (!read_file(fmt::format("/proc/{}/stat", pid), 1024, &s, true)) return;
  size_t paren = s.rfind(')');  // comm may contain anything, even ") "
  if (paren == std::string::npos) return;
  char state = 0;
  int ppid = 0, pgrp = 0, session = 0, tty_nr = 0;
  if (std::sscanf(s.c_str() + paren + 1, " %c %d %d %d %d", &state, &ppid, &pgrp, &session, &tty_nr) != 5) return;
  p->sid = session;
  p->tty_nr = tty_nr;
  unsigned major = (unsigned(tty_nr) >> 8) & 0xfff, minor = (unsigned(tty_nr) & 0xff) | ((unsigned(tty_nr) >> 12) & 0xfff00);
  if (tty_nr == 0) p->tty.clear();
  else if (major >= 136 && major <= 143) p->tty = fmt::format("pts/{}", (major - 136) * 256 + minor);
  else if (major == 4 && minor < 64) p->tty = fmt::format("tty{}", minor);
  else if (major == 4) p->tty = fmt::format("ttyS{}", minor - 64);
  else if (major == 5 && minor == 1) p->tty = "console";
  else p->tty = fmt::format("{}:{}", major, minor);
}

// stdin or stdout of pid is a TCP/UDP socket (IPv4 or IPv6). Reads only
// two links unless one is a socket; then the socket tables of its netns.
bool stdio_net(int pid) {
  for (int fd : {0, 1}) {
    std::string link = read_link(fmt::format("/proc/{}/fd/{}", pid, fd));
    if (!link.starts_with("socket:[")) continue;  // the common case: no further reads
    const std::string inode = " " + link.substr(8, link.size() - 9) + " ";
    for (const char* table : {"tcp", "tcp6", "udp", "udp6"}) {
      std::string text;
      if (read_file(fmt::format("/proc/{}/net/{}", pid, table), 1 << 20, &text) && text.find(inode) != std::string::npos)
        return true;
    }
  }
  return false;
}

}  // namespace

bool read_status(int pid, Status* st) {
  std::string s;
  if (!read_file(fmt::format("/proc/{}/status", pid), 4096, &s, true)) return false;
  auto field = [&](const char* name) -> const char* {
    size_t at = s.find(name);
    return at == std::string::npos ? nullptr : s.c_str() + at + std::strlen(name);
  };
  if (const char* v = field("\nTgid:")) st->tgid = std::atoi(v);
  if (const char* v = field("\nPPid:")) st->ppid = std::atoi(v);
  if (const char* v = field("\nUid:")) std::sscanf(v, "%d %d", &st->uid, &st->euid);
  if (const char* v = field("\nGid:")) std::sscanf(v, "%d %d", &st->gid, &st->egid);
  if (const char* v = field("\nCapEff:")) st->cap_eff = std::strtoll(v, nullptr, 16);
  if (const char* v = field("\nSeccomp_filters:")) st->seccomp_filters = std::atoi(v);
  return st->tgid != 0;
}

bool read_exit_status(int pid, int* status) {
  std::string s;
  if (!read_file(fmt::format("/proc/{}/stat", pid), 1024, &s, true)) return false;
  size_t at = s.rfind(')');
  if (at == std::string::npos || at + 2 >= s.size() || s[at + 2] != 'Z') return false;  // not (or no longer) a zombie
  // Fields after the comm: state is field 3, exit_code field 52.
  const char* c = s.c_str() + at + 2;
  for (int field = 3; field < 52 && *c; ++field) {
    c = std::strchr(c, ' ');
    if (!c) return false;
    ++c;
  }
  *status = std::atoi(c);
  return true;
}

namespace {
// PIDFD_GET_INFO (Linux 6.13+; exit status 6.15+), include/uapi/linux/pidfd.h.
struct PidfdInfo {
  uint64_t mask, cgroupid;
  uint32_t pid, tgid, ppid, ruid, rgid, euid, egid, suid, sgid, fsuid, fsgid;
  int32_t exit_code;
};
constexpr unsigned long kPidfdGetInfo = _IOWR(0xFF, 11, PidfdInfo);
constexpr uint64_t kPidfdInfoExit = 1 << 3;
constexpr unsigned kPidfdThread = O_EXCL;  // pidfd_open flag (Linux 6.9+)
bool have_pidfd_info = true;  // pidfd_open(PIDFD_THREAD) and PIDFD_GET_INFO work, until one fails
}  // namespace

int pidfd_exit_status(int pidfd) {
  PidfdInfo info{};
  info.mask = kPidfdInfoExit;
  if (pidfd < 0 || ioctl(pidfd, kPidfdGetInfo, &info) < 0 || !(info.mask & kPidfdInfoExit)) return -1;
  return info.exit_code;
}

void use_pidfd_info(bool on) { have_pidfd_info = on; }

bool thread_group(int tid, int* tgid, int* ppid) {
  if (have_pidfd_info) {
    int fd = int(syscall(SYS_pidfd_open, tid, kPidfdThread));
    if (fd < 0 && errno == ESRCH) return false;  // gone
    PidfdInfo info{};
    const bool ok = fd >= 0 && ioctl(fd, kPidfdGetInfo, &info) == 0;
    const int err = errno;
    if (fd >= 0) close(fd);
    if (ok) {
      *tgid = int(info.tgid), *ppid = int(info.ppid);
      return true;
    }
    // EINVAL from pidfd_open (no PIDFD_THREAD, < 6.9) or ENOTTY/EINVAL from
    // the ioctl (< 6.13): the kernel lacks it, /proc from now on. ESRCH: the
    // thread went away between the two calls.
    if (err != ESRCH) have_pidfd_info = false;
  }
  Status st;
  if (!read_status(tid, &st)) return false;
  *tgid = st.tgid, *ppid = st.ppid;
  return true;
}

void read_exec_entry(int tid, int exe_fd, const std::string& raw_path, Process* p, struct stat* file_st) {
  Status st;
  if (read_status(tid, &st)) {
    p->ppid = st.ppid;
    p->uid = st.uid, p->euid = st.euid, p->gid = st.gid, p->egid = st.egid;
    p->cap_effective = st.cap_eff;
  }
  p->cwd = read_link(fmt::format("/proc/{}/cwd", tid));
  read_stat(tid, p);
  p->stdio_net = stdio_net(tid);  // what the new program inherits (but O_CLOEXEC)

  // "#!" script: the kernel runs the interpreter with argv
  // [interpreter, optional argument, the path given to execve, argv[1]...].
  p->interpreter_script.clear();
  const FileFacts f = file_facts(exe_fd, file_st);
  p->sha256 = f.sha256;
  if (f.script) {
    const std::string at = f.interp[0] == '/' ? f.interp : fmt::format("/proc/{}/cwd/{}", tid, f.interp);
    if (int ifd = open(at.c_str(), O_PATH | O_CLOEXEC); ifd >= 0) {
      const std::string script = raw_path.empty() ? p->exe : raw_path[0] == '/' ? raw_path : p->cwd + "/" + raw_path;
      p->interpreter_script = std::filesystem::path(script).lexically_normal().string();
      p->exe = read_link(fmt::format("/proc/self/fd/{}", ifd));
      p->exe_deleted = p->exe_from_memfd = false;
      std::vector<std::string> argv{f.interp};
      if (!f.arg.empty()) argv.push_back(f.arg);
      argv.push_back(raw_path.empty() ? p->interpreter_script : raw_path);
      for (size_t i = 1; i < p->argv.size(); ++i) argv.push_back(std::move(p->argv[i]));
      p->argv = std::move(argv);
      struct stat ist;
      p->sha256 = file_facts(ifd, &ist).sha256;  // of what runs, the interpreter
      close(ifd);
    }
  }
  p->exe_mtime_ns = int64_t(file_st->st_mtim.tv_sec) * 1'000'000'000 + file_st->st_mtim.tv_nsec;
  const std::string& named = !p->interpreter_script.empty() ? p->interpreter_script : p->exe;
  p->name = named.substr(named.rfind('/') + 1);
}

}  // namespace vigil::procfs
