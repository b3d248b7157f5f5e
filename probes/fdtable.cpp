#include "probes/fdtable.hpp"

#include <fcntl.h>
#include <linux/close_range.h>
#include <sched.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cerrno>
#include <fstream>
#include <string>
#include <vector>

#include "probes/sockaddr.hpp"

namespace vigil {

std::string_view kind_name(FdKind k) {
  switch (k) {
    case FdKind::File: return "file";
    case FdKind::Socket: return "socket";
    case FdKind::Pipe: return "pipe";
    case FdKind::Other: return "other";
    case FdKind::Unknown: break;
  }
  return "unknown";
}

const FdInfo* FdTable::get(int fd) const {
  auto it = fds_.find(fd);
  return it == fds_.end() ? nullptr : &it->second;
}

const FdInfo* FdTable::lookup(pid_t pid, int fd, const char* proc_root) {
  const std::string link = std::string(proc_root) + "/" + std::to_string(pid) + "/fd/" + std::to_string(fd);
  struct stat st;
  if (::stat(link.c_str(), &st) != 0) {
    fds_.erase(fd);
    return nullptr;
  }
  const FdInfo* cur = get(fd);
  const bool same = cur != nullptr && cur->ino != 0 && cur->ino == st.st_ino && cur->dev == st.st_dev;
  // A socket's addresses change under the same inode (bind, connect): re-read them.
  if (same && cur->kind != FdKind::Socket) return cur;
  auto fresh = resolve_fd(pid, fd, proc_root);
  if (!fresh) {
    fds_.erase(fd);
    return nullptr;
  }
  if (same) fresh->dns = cur->dns;  // state the sensor added to this socket
  return &(fds_[fd] = std::move(*fresh));
}

FdInfo* FdTable::get_mut(int fd) {
  auto it = fds_.find(fd);
  return it == fds_.end() ? nullptr : &it->second;
}

void FdTable::close_range(unsigned lo, unsigned hi, unsigned flags) {
  for (auto it = fds_.begin(); it != fds_.end();) {
    const auto fd = static_cast<unsigned>(it->first);
    if (fd < lo || fd > hi) {
      ++it;
    } else if (flags & CLOSE_RANGE_CLOEXEC) {
      it->second.cloexec = true;
      ++it;
    } else {
      it = fds_.erase(it);
    }
  }
}

bool FdTable::dup(int oldfd, int newfd, bool cloexec) {
  const FdInfo* src = get(oldfd);
  if (src == nullptr) {
    fds_.erase(newfd);  // newfd was closed by the kernel; its new content is unknown
    return false;
  }
  if (oldfd == newfd) return true;
  FdInfo copy = *src;
  copy.cloexec = cloexec;
  fds_[newfd] = std::move(copy);
  return true;
}

void FdTable::set_cloexec(int fd, bool on) {
  if (auto* i = get_mut(fd)) i->cloexec = on;
}

void FdTable::exec() {
  std::erase_if(fds_, [](const auto& kv) { return kv.second.cloexec; });
}

FileState FileState::clone_for(uint64_t clone_flags) const {
  FileState child;
  child.fds = (clone_flags & CLONE_FILES) ? fds : std::make_shared<FdTable>(*fds);
  return child;
}

void FileState::unshare(uint64_t flags) {
  if (flags & CLONE_FILES) fds = std::make_shared<FdTable>(*fds);
}

FdInfo classify_fd_link(std::string_view t) {
  FdInfo info;
  auto inode_of = [&](std::string_view prefix) {
    auto rest = t.substr(prefix.size());
    if (rest.size() >= 2 && rest.front() == '[' && rest.back() == ']')
      info.ino = std::strtoull(std::string(rest.substr(1, rest.size() - 2)).c_str(), nullptr, 10);
  };
  if (t.starts_with("socket:")) {
    info.kind = FdKind::Socket;
    inode_of("socket:");
  } else if (t.starts_with("pipe:")) {
    info.kind = FdKind::Pipe;
    inode_of("pipe:");
  } else if (t.starts_with("/")) {
    info.kind = FdKind::File;
    info.path = t;
  } else if (!t.empty()) {
    info.kind = FdKind::Other;
    info.path = t;
  }
  return info;
}

namespace {

// pidfd_getfd(2) support, probed on first use (ENOSYS on kernels < 5.6).
int dup_from(pid_t pid, int fd) {
#if defined(SYS_pidfd_open) && defined(SYS_pidfd_getfd)
  static bool unsupported = false;
  if (unsupported) return -1;
  int pidfd = static_cast<int>(syscall(SYS_pidfd_open, pid, 0));
  if (pidfd < 0) {
    if (errno == ENOSYS) unsupported = true;
    return -1;
  }
  int local = static_cast<int>(syscall(SYS_pidfd_getfd, pidfd, fd, 0));
  if (local < 0 && errno == ENOSYS) unsupported = true;
  ::close(pidfd);
  return local;
#else
  (void)pid, (void)fd;
  return -1;
#endif
}

void fill_socket(FdInfo& info, int s) {
  int v = 0;
  socklen_t vl = sizeof v;
  if (getsockopt(s, SOL_SOCKET, SO_DOMAIN, &v, &vl) == 0) info.domain = v;
  vl = sizeof v;
  if (getsockopt(s, SOL_SOCKET, SO_TYPE, &v, &vl) == 0) info.type = v;
  vl = sizeof v;
  if (getsockopt(s, SOL_SOCKET, SO_PROTOCOL, &v, &vl) == 0) info.protocol = v;
  sockaddr_storage ss;
  socklen_t sl = sizeof ss;
  if (getsockname(s, reinterpret_cast<sockaddr*>(&ss), &sl) == 0) info.local = decode_sockaddr(&ss, sl);
  sl = sizeof ss;
  if (getpeername(s, reinterpret_cast<sockaddr*>(&ss), &sl) == 0) info.peer = decode_sockaddr(&ss, sl);
}

}  // namespace

std::optional<FdInfo> resolve_fd(pid_t pid, int fd, const char* proc_root) {
  const std::string base = std::string(proc_root) + "/" + std::to_string(pid);
  std::string link = base + "/fd/" + std::to_string(fd);
  std::vector<char> buf(4096);
  ssize_t n;
  // Targets can exceed PATH_MAX only by a little (the kernel caps d_path at a
  // page), but grow anyway rather than truncate.
  while ((n = readlink(link.c_str(), buf.data(), buf.size())) == static_cast<ssize_t>(buf.size()))
    buf.resize(buf.size() * 2);
  if (n < 0) return std::nullopt;
  FdInfo info = classify_fd_link(std::string_view(buf.data(), static_cast<size_t>(n)));
  struct stat st;
  if (stat(link.c_str(), &st) == 0) {
    info.dev = st.st_dev;
    info.ino = st.st_ino;
  }
  std::ifstream fdinfo(base + "/fdinfo/" + std::to_string(fd));
  for (std::string key; fdinfo >> key;) {
    if (key == "flags:") {
      std::string oct;
      fdinfo >> oct;
      info.cloexec = (std::strtoul(oct.c_str(), nullptr, 8) & O_CLOEXEC) != 0;
      break;
    }
  }
  if (info.kind == FdKind::Socket) {
    int local = dup_from(pid, fd);
    if (local >= 0) {
      fill_socket(info, local);
      ::close(local);
    }
  }
  return info;
}

}  // namespace vigil
