// vigil: one multi-call binary. Each subcommand lives in its own library and
// is one row of the table below.
#include <nss.h>

#include <cstdio>
#include <cstring>

#include <openssl/crypto.h>

#include "hunt/hunt.hpp"
#include "init/init.hpp"
#include "patcher/patcher.hpp"
#include "rules/rules.hpp"
#include "sensor/sensor.hpp"
#include "sinks/sinks.hpp"
#include "vigil/version.hpp"
#include "wrapper/wrapper.hpp"

namespace {

struct Subcommand {
  const char* name;
  int (*fn)(int argc, char** argv);  // argv[0] is the subcommand name
  const char* summary;
};

constexpr Subcommand kSubcommands[] = {
    {"run", vigil::cmd_run, "run [OPTIONS] -- ENTRYPOINT [ARGS...]   run an entrypoint under the sensor"},
    {"init", vigil::cmd_init, "init [--volume DIR]                     install the rootfs into a task volume"},
    {"patch", vigil::cmd_patch, "patch ecs|cfn [OPTIONS]                 add vigil to an ECS task definition"},
    {"syscalls", vigil::cmd_syscalls, "syscalls [RUN OPTIONS]                  list the syscalls vigil run traps, and why"},
    {"rules", vigil::cmd_rules, "rules validate FILE...|list             check or list detection rules"},
    {"hunt", vigil::cmd_hunt, "hunt --ioc FILE [OPTIONS] EVENTS...     search stored events for indicators (IoCs)"},
    {"check", vigil::cmd_check, "check [--sink URL]                      test connectivity to the configured sinks"},
};

void usage(FILE* out) {
  std::fprintf(out, "vigil %s: runtime security sensor for containers\n\nusage: vigil COMMAND [ARGS...]\n\ncommands:\n",
               VIGIL_VERSION);
  for (const auto& s : kSubcommands) std::fprintf(out, "  %s\n", s.summary);
  std::fprintf(out, "\n'vigil COMMAND --help' describes a command. Docs: README.md, docs/.\n");
}

// Nothing of the app image is loaded into vigil by name lookups or TLS
// (docs/threat-model.md, "Nothing from the app's environment reaches vigil"):
// every NSS database is pinned to glibc's built-in modules ("files", and "dns"
// for hosts), so the image's /etc/nsswitch.conf names no module vigil would
// dlopen (pinned databases also skip nscd), and OpenSSL never reads a config
// file (the image's openssl.cnf, or OPENSSL_CONF, could load providers and
// engines); the first OPENSSL_init_crypto decides, libcurl's later
// OPENSSL_INIT_LOAD_CONFIG is then a no-op. False (message printed) if either fails.
bool pin_libraries() {
  bool ok = __nss_configure_lookup("hosts", "files dns") == 0;
  for (const char* db : {"aliases", "ethers", "group", "gshadow", "initgroups", "netgroup", "networks", "passwd",
                         "protocols", "publickey", "rpc", "services", "shadow"})
    ok = __nss_configure_lookup(db, "files") == 0 && ok;
  if (!ok || OPENSSL_init_crypto(OPENSSL_INIT_NO_LOAD_CONFIG, nullptr) != 1) {
    std::fprintf(stderr, "vigil: cannot pin NSS to glibc's built-in modules or set up OpenSSL without a config "
                         "(out of memory, or not the glibc vigil was built for): run vigil from its own rootfs\n");
    return false;
  }
  return true;
}

}  // namespace

int main(int argc, char** argv) {
  if (!pin_libraries()) return 1;
  if (argc < 2) {
    usage(stderr);
    return 2;
  }
  if (!std::strcmp(argv[1], "--help") || !std::strcmp(argv[1], "-h") || !std::strcmp(argv[1], "help")) {
    usage(stdout);
    return 0;
  }
  if (!std::strcmp(argv[1], "--version") || !std::strcmp(argv[1], "version")) {
    std::printf("vigil %s\n", VIGIL_VERSION);
    return 0;
  }
  for (const auto& s : kSubcommands)
    if (!std::strcmp(argv[1], s.name)) return s.fn(argc - 1, argv + 1);
  std::fprintf(stderr, "vigil: unknown command '%s' (try 'vigil --help')\n", argv[1]);
  return 2;
}
