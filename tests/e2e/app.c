// The workload of the end-to-end tests: one small program built three ways
// (glibc dynamic, musl dynamic, static) and run as the app of each test image.
//   app hello        print a line, spawn a child ("app child") and wait for it
//   app child        print a line (the child of hello)
//   app exit N       exit with status N
//   app crash        die of SIGSEGV
//   app shadow       read /etc/shadow (a sensitive file: the rules must alert)
//   app wait-term    print "ready", wait for SIGTERM, then print and exit 42
//   app sleep        print "ready", wait for any signal with default actions
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

static volatile sig_atomic_t got_term;
static void on_term(int sig) { (void)sig; got_term = 1; }

static int usage(void) {
  fprintf(stderr, "usage: app hello|child|exit N|crash|shadow|wait-term|sleep\n");
  return 2;
}

int main(int argc, char** argv) {
  setvbuf(stdout, NULL, _IONBF, 0);
  if (argc < 2) return usage();
  const char* cmd = argv[1];
  if (!strcmp(cmd, "hello")) {
    printf("hello from the e2e app\n");
    pid_t pid = fork();
    if (pid < 0) return perror("fork"), 1;
    if (pid == 0) {
      execl("/proc/self/exe", argv[0], "child", (char*)NULL);
      _exit(127);
    }
    int st = 0;
    if (waitpid(pid, &st, 0) < 0) return perror("waitpid"), 1;
    printf("child exited %d\n", WIFEXITED(st) ? WEXITSTATUS(st) : -1);
    return 0;
  }
  if (!strcmp(cmd, "child")) {
    printf("child says hi\n");
    return 0;
  }
  if (!strcmp(cmd, "exit") && argc > 2) return atoi(argv[2]);
  if (!strcmp(cmd, "crash")) {
    signal(SIGSEGV, SIG_DFL);
    raise(SIGSEGV);
    return 1;
  }
  if (!strcmp(cmd, "shadow")) {
    int fd = open("/etc/shadow", O_RDONLY);
    if (fd < 0) return perror("open /etc/shadow"), 1;
    char buf[256];
    ssize_t n = read(fd, buf, sizeof buf);
    close(fd);
    printf("read %zd bytes of /etc/shadow\n", n);
    return 0;
  }
  if (!strcmp(cmd, "wait-term") || !strcmp(cmd, "sleep")) {
    int handle = !strcmp(cmd, "wait-term");
    if (handle) signal(SIGTERM, on_term);
    printf("ready\n");
    while (!got_term) pause();
    printf("got SIGTERM\n");
    return 42;
  }
  return usage();
}
