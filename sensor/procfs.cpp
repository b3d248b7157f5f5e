#include "sensor/procfs.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstring>
#include <filesystem>
#include <map>
#include <tuple>

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

// SHA-256 of the process's executable, cached by (dev, inode, mtime, size);
// *st is the executable's fstat (st_ino 0 if it could not be opened).
std::string exe_sha256(int pid, struct stat* st) {
  using Key = std::tuple<dev_t, ino_t, int64_t, off_t>;
  static std::map<Key, std::string> cache;
  *st = {};
  int fd = open(fmt::format("/proc/{}/exe", pid).c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return {};
  std::string hex;
  if (fstat(fd, st) == 0) {
    const int64_t mtime_ns = int64_t(st->st_mtim.tv_sec) * 1'000'000'000 + st->st_mtim.tv_nsec;
    Key key{st->st_dev, st->st_ino, mtime_ns, st->st_size};
    if (auto it = cache.find(key); it != cache.end()) {
      hex = it->second;
    } else if (st->st_size <= kHashMaxBytes) {
      hex = hash_fd(fd);
      if (cache.size() >= 4096) cache.clear();  // bound the sensor's memory
      if (!hex.empty()) cache.emplace(key, hex);
    }
  }
  close(fd);
  return hex;
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

}  // namespace

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
  return st->tgid != 0;
}

void read_exec(int pid, const std::string& exec_path, Process* p, struct stat* exe_st) {
  Status st;
  if (read_status(pid, &st)) {
    p->ppid = st.ppid;
    p->uid = st.uid, p->euid = st.euid, p->gid = st.gid, p->egid = st.egid;
    p->cap_effective = st.cap_eff;
  }
  p->exe = read_link(fmt::format("/proc/{}/exe", pid));
  static constexpr std::string_view kDeleted = " (deleted)";
  if (p->exe.size() > kDeleted.size() && p->exe.ends_with(kDeleted)) {
    p->exe.resize(p->exe.size() - kDeleted.size());
    p->exe_deleted = true;
  }
  p->exe_from_memfd = p->exe.starts_with("/memfd:");
  p->cwd = read_link(fmt::format("/proc/{}/cwd", pid));
  read_stat(pid, p);
  p->stdio_net = stdio_net(pid);

  std::string cmd;
  read_file(fmt::format("/proc/{}/cmdline", pid), kArgvMaxBytes + 1, &cmd, true);
  p->argv_truncated = cmd.size() > kArgvMaxBytes;
  if (p->argv_truncated) cmd.resize(kArgvMaxBytes);
  p->argv.clear();
  for (size_t i = 0; i < cmd.size();) {
    size_t end = cmd.find('\0', i);
    if (end == std::string::npos) end = cmd.size();
    p->argv.push_back(cmd.substr(i, end - i));
    i = end + 1;
  }

  p->sha256 = exe_sha256(pid, exe_st);
  p->exe_mtime_ns = int64_t(exe_st->st_mtim.tv_sec) * 1'000'000'000 + exe_st->st_mtim.tv_nsec;

  // "#!" script: the path given to execve is another file than the executable.
  p->interpreter_script.clear();
  if (!exec_path.empty() && exe_st->st_ino != 0) {
    std::string abs = exec_path[0] == '/' ? exec_path : p->cwd + "/" + exec_path;
    struct stat a {};
    if (stat(abs.c_str(), &a) == 0 && (a.st_dev != exe_st->st_dev || a.st_ino != exe_st->st_ino))
      p->interpreter_script = std::filesystem::path(abs).lexically_normal().string();
  }
  const std::string& named = !p->interpreter_script.empty() ? p->interpreter_script : p->exe;
  p->name = named.substr(named.rfind('/') + 1);
}

}  // namespace vigil::procfs
