/* vigil-launch: the hardened start of vigil from its rootfs (docs/rootfs.md).
 *
 *   ROOTFS/bin/vigil-launch ARGS...
 *   = ROOTFS/lib64/LOADER --inhibit-cache --library-path ROOTFS/lib64 ROOTFS/bin/vigil ARGS...
 *
 * with every variable of the app's environment that glibc's loader, glibc or
 * OpenSSL/libcurl would act on inside vigil (LD_PRELOAD, LD_AUDIT,
 * GLIBC_TUNABLES, OPENSSL_CONF, ... : the list below) renamed in place to
 * VIGIL_APPENV_<NAME>=<value>. vigil reads none of those names; `vigil run`
 * renames them back, in the same order, in the environment it execs the app
 * with (wrapper/run.cpp). A VIGIL_APPENV_* variable already in the environment
 * is dropped (vigil never passes VIGIL_* variables to the app), so the names
 * cannot collide. --inhibit-cache: the image's /etc/ld.so.cache is not read.
 *
 * Statically linked, no dependencies: nothing is loaded into this process, so
 * nothing from the image or the environment runs before vigil.
 * docs/threat-model.md ("Nothing from the app's environment reaches vigil").
 */
#define _GNU_SOURCE
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#if defined(__x86_64__)
#define LOADER "ld-linux-x86-64.so.2"
#elif defined(__aarch64__)
#define LOADER "ld-linux-aarch64.so.1"
#else
#error "vigil-launch: add this architecture's glibc loader name (the one in ROOTFS/lib64)"
#endif

#define MOVED "VIGIL_APPENV_"

/* Names moved out of vigil's way: by prefix (glibc's loader reads every LD_*,
 * GLIBC_TUNABLES and the MALLOC_* tunable aliases; OpenSSL reads OPENSSL_CONF,
 * OPENSSL_MODULES, OPENSSL_ENGINES, OPENSSL_ia32cap, ...) and by name (the rest
 * of glibc's unsecvars.h, and what OpenSSL and libcurl read besides). */
static const char *const kPrefixes[] = {"LD_", "GLIBC_", "MALLOC_", "OPENSSL_"};
static const char *const kNames[] = {
    /* glibc unsecvars.h (2.36) beyond LD_*, GLIBC_TUNABLES and MALLOC_TRACE */
    "GCONV_PATH", "GETCONF_DIR", "HOSTALIASES", "LOCALDOMAIN", "LOCPATH", "NIS_PATH", "NLSPATH",
    "RESOLV_HOST_CONF", "RES_OPTIONS", "TMPDIR", "TZDIR",
    /* OpenSSL: trust anchors of the default verify paths; libcurl: TLS key log */
    "SSL_CERT_FILE", "SSL_CERT_DIR", "SSLKEYLOGFILE"};

#define COUNT(a) (sizeof(a) / sizeof((a)[0]))

static int moved(const char *entry) {
  const char *eq = strchr(entry, '=');
  size_t len = eq ? (size_t)(eq - entry) : strlen(entry);
  for (size_t i = 0; i < COUNT(kPrefixes); ++i)
    if (strncmp(entry, kPrefixes[i], strlen(kPrefixes[i])) == 0) return 1;
  for (size_t i = 0; i < COUNT(kNames); ++i)
    if (strlen(kNames[i]) == len && strncmp(entry, kNames[i], len) == 0) return 1;
  return 0;
}

static _Noreturn void die(const char *what, const char *path, const char *fix) {
  fprintf(stderr, "vigil-launch: %s %s: %s (%s)\n", what, path, strerror(errno), fix);
  exit(126);
}

int main(int argc, char **argv) {
  extern char **environ;
  static char self[PATH_MAX];
  ssize_t n = readlink("/proc/self/exe", self, sizeof self - 1);
  if (n < 0) die("cannot read", "/proc/self/exe", "the container needs /proc mounted");
  self[n] = '\0';
  char *slash = strrchr(self, '/');
  if (!slash) {
    errno = EINVAL;
    die("unexpected path of /proc/self/exe:", self, "run ROOTFS/bin/vigil-launch by its path");
  }
  *slash = '\0'; /* self: ROOTFS/bin */
  char loader[PATH_MAX], libdir[PATH_MAX], vigil[PATH_MAX];
  if (snprintf(loader, sizeof loader, "%s/../lib64/%s", self, LOADER) >= (int)sizeof loader ||
      snprintf(libdir, sizeof libdir, "%s/../lib64", self) >= (int)sizeof libdir ||
      snprintf(vigil, sizeof vigil, "%s/vigil", self) >= (int)sizeof vigil) {
    errno = ENAMETOOLONG;
    die("path too long:", self, "install the rootfs at a shorter path");
  }

  size_t envc = 0;
  while (environ[envc]) ++envc;
  char **env = calloc(envc + 1, sizeof *env);
  char **args = calloc((size_t)argc + 5, sizeof *args);
  if (!env || !args) die("out of memory for", "the environment", "give the container more memory");
  size_t k = 0;
  for (size_t i = 0; i < envc; ++i) {
    const char *e = environ[i];
    if (strncmp(e, MOVED, strlen(MOVED)) == 0) continue;
    if (moved(e)) {
      char *m = malloc(strlen(MOVED) + strlen(e) + 1);
      if (!m) die("out of memory for", "the environment", "give the container more memory");
      strcpy(stpcpy(m, MOVED), e);
      env[k++] = m;
    } else {
      env[k++] = environ[i];
    }
  }
  env[k] = NULL;

  size_t a = 0;
  args[a++] = loader;
  args[a++] = "--inhibit-cache";
  args[a++] = "--library-path";
  args[a++] = libdir;
  args[a++] = vigil;
  for (int i = 1; i < argc; ++i) args[a++] = argv[i];
  args[a] = NULL;
  execve(loader, args, env);
  die("cannot execute", loader, "vigil init installs ROOTFS/lib64 beside ROOTFS/bin: rerun it");
}
