// vigil init: install the rootfs into a task volume (docs/rootfs.md).
//
//   1. read SOURCE/MANIFEST (SOURCE: --source, else the rootfs holding the
//      running binary: dirname(dirname(realpath(/proc/self/exe))))
//   2. lock VOLUME (flock on the directory), remove stale staging dirs
//   3. VOLUME/rootfs has the same MANIFEST and verifies: done, exit 0
//   4. copy every listed file into VOLUME/.rootfs.staging.PID, hashing what is
//      read (a source file that does not match its hash aborts), fsync, a=rX
//   5. verify the staging copy against the manifest (re-read from the volume)
//   6. rename it into place (RENAME_EXCHANGE with an older tree, then remove
//      the old one), fsync the volume directory
// Any failure: one line "vigil init: ..." on stderr, exit 1; the previous
// VOLUME/rootfs is left as it was.
#include <dirent.h>
#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <map>
#include <memory>
#include <stdexcept>
#include <string>
#include <vector>

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include "init/init.hpp"
#include "config/config.hpp"

namespace vigil {
namespace {

namespace fs = std::filesystem;

constexpr const char* kDefaultVolume = "/vigil";
constexpr const char* kStagingPrefix = ".rootfs.staging.";
constexpr const char* kOldPrefix = ".rootfs.old.";
constexpr mode_t kDirMode = 0555, kExecMode = 0555, kFileMode = 0444;

struct Failure : std::runtime_error {
  using std::runtime_error::runtime_error;
};

template <typename... Args>
[[noreturn]] void fail(fmt::format_string<Args...> f, Args&&... args) {
  throw Failure(fmt::format(f, std::forward<Args>(args)...));
}

// A hint for the errno of a failed write to the volume.
std::string volume_hint(int err, const std::string& volume) {
  switch (err) {
    case ENOSPC:
    case EDQUOT: return fmt::format("free space on the volume {} or make it larger", volume);
    case EROFS: return fmt::format("mount the volume {} read-write for the init container (readOnly: false)", volume);
    case EACCES:
    case EPERM: return fmt::format("let the init container's user write to {} (or run it as root)", volume);
    default: return fmt::format("check the volume {}", volume);
  }
}

struct Fd {
  int fd = -1;
  explicit Fd(int f) : fd(f) {}
  Fd(const Fd&) = delete;
  Fd& operator=(const Fd&) = delete;
  ~Fd() {
    if (fd >= 0) close(fd);
  }
};

// Reads fd to the end, hashing, and writes each chunk to out_fd if >= 0.
// Returns the hex SHA-256. Read errors name `src`, write errors `dst`.
std::string hash_copy(int fd, const std::string& src, int out_fd, const std::string& dst, const std::string& volume) {
  Sha256 sha;
  if (!sha.ok()) fail("OpenSSL SHA-256 is unavailable");
  static thread_local std::vector<char> buf(1 << 18);
  for (;;) {
    ssize_t n = read(fd, buf.data(), buf.size());
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) fail("cannot read {}: {}", src, std::strerror(errno));
    if (n == 0) break;
    sha.update(buf.data(), n);
    for (ssize_t off = 0; out_fd >= 0 && off < n;) {
      ssize_t w = write(out_fd, buf.data() + off, n - off);
      if (w < 0 && errno == EINTR) continue;
      if (w < 0) fail("cannot write {}: {}: {}", dst, std::strerror(errno), volume_hint(errno, volume));
      off += w;
    }
  }
  return sha.hex();
}

std::string read_text(const std::string& path, int* err) {
  Fd f(open(path.c_str(), O_RDONLY | O_CLOEXEC));
  if (f.fd < 0) {
    *err = errno;
    return {};
  }
  std::string out;
  char buf[4096];
  ssize_t n;
  while ((n = read(f.fd, buf, sizeof buf)) > 0) out.append(buf, n);
  *err = n < 0 ? errno : 0;
  return out;
}

void fsync_path(const std::string& path, const std::string& volume) {
  Fd f(open(path.c_str(), O_RDONLY | O_CLOEXEC));
  if (f.fd < 0 || fsync(f.fd) != 0) fail("cannot sync {}: {}: {}", path, std::strerror(errno), volume_hint(errno, volume));
}

// Removes a tree that may be read-only (a=rX) even when not running as root.
void remove_tree(const std::string& path) {
  std::error_code ec;
  if (fs::is_directory(fs::symlink_status(path, ec))) {
    chmod(path.c_str(), 0700);
    for (auto it = fs::recursive_directory_iterator(path, ec); !ec && it != fs::recursive_directory_iterator();
         it.increment(ec))
      if (it->is_directory(ec) && !it->is_symlink(ec)) chmod(it->path().c_str(), 0700);
  }
  fs::remove_all(path, ec);
  if (ec) spdlog::warn("could not remove {}: {}", path, ec.message());
}

struct Source {
  std::string dir;
  std::string manifest_text;
  RootfsManifest manifest;
};

Source load_source(const std::string& override_dir) {
  Source s;
  if (!override_dir.empty()) {
    s.dir = override_dir;
  } else {
    std::error_code ec;
    fs::path exe = fs::canonical("/proc/self/exe", ec);
    if (ec) fail("cannot resolve /proc/self/exe ({}): mount /proc or pass --source DIR", ec.message());
    s.dir = exe.parent_path().parent_path().string();
  }
  std::string mpath = s.dir + "/MANIFEST";
  int err = 0;
  s.manifest_text = read_text(mpath, &err);
  if (err)
    fail("cannot read the source manifest {}: {}: run the vigil binary of a rootfs (ROOTFS/bin/vigil or its "
         "lib64 loader), or pass --source ROOTFS",
         mpath, std::strerror(err));
  std::string perr;
  if (!parse_manifest(s.manifest_text, &s.manifest, &perr))
    fail("corrupt source manifest {}: {}: rebuild or re-pull the vigil image", mpath, perr);
  return s;
}

// The mode a file gets when installed: a=rX of its mode in the source.
mode_t installed_mode(const Source& src, const std::string& path) {
  struct stat st;
  bool exec = stat((src.dir + "/" + path).c_str(), &st) == 0 && (st.st_mode & 0111);
  return exec ? kExecMode : kFileMode;
}

// Checks `root` against the manifest: exactly the listed files plus MANIFEST
// (same text), regular files with the listed SHA-256 and their a=rX mode,
// directories 0555. Returns "" if intact, else the first problem found.
std::string verify_tree(const std::string& root, const Source& src) {
  int err = 0;
  if (read_text(root + "/MANIFEST", &err) != src.manifest_text || err) return root + "/MANIFEST differs";
  std::map<std::string, mode_t> want{{"MANIFEST", kFileMode}};
  for (const auto& f : src.manifest.files) want[f.path] = installed_mode(src, f.path);
  auto check = [](const fs::path& p, bool dir, mode_t mode) -> std::string {
    struct stat st;
    if (lstat(p.c_str(), &st) != 0) return fmt::format("{}: {}", p.string(), std::strerror(errno));
    if (dir ? !S_ISDIR(st.st_mode) : !S_ISREG(st.st_mode)) return fmt::format("{} has the wrong file type", p.string());
    if ((st.st_mode & 07777) != mode) return fmt::format("{} has mode {:o}, not {:o}", p.string(), st.st_mode & 07777, mode);
    return "";
  };
  if (auto bad = check(root, true, kDirMode); !bad.empty()) return bad;
  std::error_code ec;
  size_t seen = 0;
  for (auto it = fs::recursive_directory_iterator(root, ec); !ec && it != fs::recursive_directory_iterator();
       it.increment(ec)) {
    bool is_dir = it->is_directory(ec) && !it->is_symlink(ec);
    auto w = want.find(it->path().lexically_relative(root).string());
    if (!is_dir && w == want.end()) return fmt::format("unexpected file {}", it->path().string());
    if (auto bad = check(it->path(), is_dir, is_dir ? kDirMode : w->second); !bad.empty()) return bad;
    seen += !is_dir;
  }
  if (ec) return fmt::format("cannot list {}: {}", root, ec.message());
  if (seen != want.size()) return fmt::format("{} of {} files are missing", want.size() - seen, want.size());
  for (const auto& f : src.manifest.files) {
    std::string p = root + "/" + f.path;
    Fd fd(open(p.c_str(), O_RDONLY | O_CLOEXEC | O_NOFOLLOW));
    if (fd.fd < 0) return fmt::format("{}: {}", p, std::strerror(errno));
    if (hash_copy(fd.fd, p, -1, "", root) != f.sha256) return fmt::format("{} does not match its SHA-256", p);
  }
  return "";
}

// Copies every manifest file from the source into `stage`, checking each
// against its hash as it is read; fsyncs files and directories, sets a=rX.
void copy_tree(const Source& src, const std::string& stage, const std::string& volume) {
  std::vector<std::string> dirs{stage};
  for (const auto& f : src.manifest.files) {
    std::string from = src.dir + "/" + f.path, to = stage + "/" + f.path;
    for (fs::path d = fs::path(f.path).parent_path(); !d.empty(); d = d.parent_path()) {
      std::string full = stage + "/" + d.string();
      if (std::find(dirs.begin(), dirs.end(), full) != dirs.end()) continue;
      std::error_code ec;
      fs::create_directories(full, ec);
      if (ec) fail("cannot create {}: {}: {}", full, ec.message(), volume_hint(ec.value(), volume));
      dirs.push_back(full);
    }
    Fd in(open(from.c_str(), O_RDONLY | O_CLOEXEC));
    struct stat st;
    if (in.fd < 0 || fstat(in.fd, &st) != 0 || !S_ISREG(st.st_mode))
      fail("source file {} is missing or not a regular file ({}): rebuild or re-pull the vigil image", from,
           in.fd < 0 ? std::strerror(errno) : "wrong type");
    Fd out(open(to.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600));
    if (out.fd < 0) fail("cannot create {}: {}: {}", to, std::strerror(errno), volume_hint(errno, volume));
    if (hash_copy(in.fd, from, out.fd, to, volume) != f.sha256)
      fail("source file {} does not match its SHA-256 in {}/MANIFEST (corrupt image): rebuild or re-pull the vigil image",
           from, src.dir);
    if (fchmod(out.fd, installed_mode(src, f.path)) != 0 || fsync(out.fd) != 0)
      fail("cannot finish {}: {}: {}", to, std::strerror(errno), volume_hint(errno, volume));
    spdlog::debug("copied {} -> {}", from, to);
  }
  std::string mpath = stage + "/MANIFEST";
  Fd m(open(mpath.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, kFileMode));
  if (m.fd < 0 || write(m.fd, src.manifest_text.data(), src.manifest_text.size()) !=
                      static_cast<ssize_t>(src.manifest_text.size()) ||
      fsync(m.fd) != 0)
    fail("cannot write {}: {}: {}", mpath, std::strerror(errno), volume_hint(errno, volume));
  // Deepest directories first, so each is complete when it is made read-only.
  std::sort(dirs.begin(), dirs.end(), [](const auto& a, const auto& b) { return a.size() > b.size(); });
  for (const auto& d : dirs) {
    fsync_path(d, volume);
    if (chmod(d.c_str(), kDirMode) != 0) fail("cannot chmod {}: {}", d, std::strerror(errno));
  }
}

uint64_t source_bytes(const Source& src) {
  uint64_t total = src.manifest_text.size();
  for (const auto& f : src.manifest.files) {
    struct stat st;
    if (stat((src.dir + "/" + f.path).c_str(), &st) == 0) total += st.st_size;
  }
  return total;
}

// Replaces (or creates) `dst` by the directory `stage` atomically.
void commit(const std::string& volume, const std::string& stage, const std::string& dst) {
  struct stat st;
  if (lstat(dst.c_str(), &st) != 0) {
    if (rename(stage.c_str(), dst.c_str()) != 0)
      fail("cannot rename {} to {}: {}: {}", stage, dst, std::strerror(errno), volume_hint(errno, volume));
  } else if (renameat2(AT_FDCWD, stage.c_str(), AT_FDCWD, dst.c_str(), RENAME_EXCHANGE) == 0) {
    remove_tree(stage);  // now holds the old tree
  } else {
    // Filesystems without RENAME_EXCHANGE (e.g. NFS): move the old tree aside first.
    spdlog::info("RENAME_EXCHANGE unsupported on {} ({}), renaming in two steps", volume, std::strerror(errno));
    std::string old = fmt::format("{}/{}{}", volume, kOldPrefix, getpid());
    if (rename(dst.c_str(), old.c_str()) != 0 || rename(stage.c_str(), dst.c_str()) != 0)
      fail("cannot replace {}: {}: {}", dst, std::strerror(errno), volume_hint(errno, volume));
    remove_tree(old);
  }
  fsync_path(volume, volume);
}

int install(const std::string& volume, const std::string& source_dir) {
  Source src = load_source(source_dir);
  spdlog::info("source {} (vigil {}, {} files)", src.dir, src.manifest.version, src.manifest.files.size());

  struct stat st;
  if (stat(volume.c_str(), &st) != 0)
    fail("volume {} does not exist ({}): mount the task volume there, or pass --volume DIR or set VIGIL_VOLUME", volume,
         std::strerror(errno));
  if (!S_ISDIR(st.st_mode)) fail("volume {} is not a directory: pass --volume DIR naming the mounted volume", volume);
  Fd lock(open(volume.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  if (lock.fd < 0 || flock(lock.fd, LOCK_EX) != 0) fail("cannot lock volume {}: {}", volume, std::strerror(errno));
  if (access(volume.c_str(), W_OK) != 0)
    fail("volume {} is not writable ({}): {}", volume, std::strerror(errno), volume_hint(errno, volume));

  // Under the lock, any staging or old tree is left over from a killed run.
  std::error_code ec;
  for (const auto& e : fs::directory_iterator(volume, ec)) {
    std::string name = e.path().filename().string();
    if (name.rfind(kStagingPrefix, 0) == 0 || name.rfind(kOldPrefix, 0) == 0) {
      spdlog::info("removing stale {}", e.path().string());
      remove_tree(e.path().string());
    }
  }

  std::string dst = volume + "/rootfs";
  int err = 0;
  std::string installed = read_text(dst + "/MANIFEST", &err);
  if (!err && installed == src.manifest_text) {
    std::string problem = verify_tree(dst, src);
    if (problem.empty()) {
      spdlog::info("vigil {} is already installed in {} and intact", src.manifest.version, dst);
      return 0;
    }
    spdlog::warn("installed rootfs is damaged ({}), reinstalling", problem);
  } else if (!err) {
    RootfsManifest old;
    std::string perr;
    spdlog::info("replacing {} (vigil {}) with vigil {}", dst,
                 parse_manifest(installed, &old, &perr) ? old.version : "unknown", src.manifest.version);
  }

  uint64_t need = source_bytes(src);
  struct statvfs vfs;
  if (statvfs(volume.c_str(), &vfs) == 0 && uint64_t(vfs.f_bavail) * vfs.f_frsize < need)
    fail("no space on volume {}: need {} KB, {} KB free: {}", volume, need / 1024,
         uint64_t(vfs.f_bavail) * vfs.f_frsize / 1024, volume_hint(ENOSPC, volume));

  std::string stage = fmt::format("{}/{}{}", volume, kStagingPrefix, getpid());
  if (mkdir(stage.c_str(), 0700) != 0)
    fail("cannot create {}: {}: {}", stage, std::strerror(errno), volume_hint(errno, volume));
  try {
    copy_tree(src, stage, volume);
    if (std::string problem = verify_tree(stage, src); !problem.empty())
      fail("the copy in {} does not verify ({}): check the volume's storage", stage, problem);
    commit(volume, stage, dst);
  } catch (...) {
    remove_tree(stage);
    throw;
  }
  spdlog::info("installed vigil {} into {} ({} files, {} KB)", src.manifest.version, dst, src.manifest.files.size() + 1,
               need / 1024);
  return 0;
}

const char* kUsage =
    "usage: vigil init [--volume DIR] [--source DIR] [--trace=LEVEL]\n"
    "  Installs the vigil rootfs into DIR/rootfs, atomically and verified.\n"
    "  --volume DIR   the task volume (default: $VIGIL_VOLUME, else /vigil)\n"
    "  --source DIR   the rootfs to install (default: the one this binary runs from)\n"
    "  --trace=LEVEL  none|err|warn|info|debug (also from VIGIL_OPTS)\n"
    "Exit status 0 only when DIR/rootfs is complete and valid. See docs/rootfs.md.\n";

}  // namespace

int cmd_init(int argc, char** argv) {
  const char* env_volume = std::getenv("VIGIL_VOLUME");
  std::string volume = env_volume && *env_volume ? env_volume : kDefaultVolume;
  std::string source;
  std::vector<char*> rest{argv[0]};
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i];
    std::string* target = nullptr;
    if (a == "-h" || a == "--help") {
      std::fputs(kUsage, stdout);
      return 0;
    }
    if (a == "--volume" || a.rfind("--volume=", 0) == 0) target = &volume;
    if (a == "--source" || a.rfind("--source=", 0) == 0) target = &source;
    if (!target) {
      rest.push_back(argv[i]);
      continue;
    }
    auto eq = a.find('=');
    if (eq != std::string::npos) *target = a.substr(eq + 1);
    else if (i + 1 < argc) *target = argv[++i];
    else *target = "";
    if (target->empty()) {
      std::fprintf(stderr, "vigil init: %s needs a directory (e.g. %s /vigil)\n", a.substr(0, eq).c_str(),
                   a.substr(0, eq).c_str());
      return 2;
    }
  }
  Options opts;
  int first = 0;
  std::string err;
  if (!parse_options(std::getenv("VIGIL_OPTS"), static_cast<int>(rest.size()), rest.data(), &opts, &first, &err)) {
    std::fprintf(stderr, "vigil init: %s; init also takes --volume DIR and --source DIR\n", err.c_str());
    return 2;
  }
  if (first < static_cast<int>(rest.size())) {
    std::fprintf(stderr, "vigil init: unexpected argument '%s' (see vigil init --help)\n", rest[first]);
    return 2;
  }
  setup_logging(opts.trace);
  try {
    while (volume.size() > 1 && volume.back() == '/') volume.pop_back();
    return install(volume, source);
  } catch (const Failure& e) {
    std::fprintf(stderr, "vigil init: %s\n", e.what());
  } catch (const std::exception& e) {
    std::fprintf(stderr, "vigil init: unexpected error: %s\n", e.what());
  }
  return 1;
}

}  // namespace vigil
