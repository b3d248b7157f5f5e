// http_server DOCROOT PORTFILE [MAX_SECONDS]: a small static-file HTTP/1.1
// server for the bench (thread per connection, keep-alive). Each request opens,
// reads and closes the file, as a plain static server does. Listens on
// 127.0.0.1 on a free port, written to PORTFILE once it accepts connections.
// `GET /quit` makes it exit 0; it also exits on its own after MAX_SECONDS
// (default 300) so a lost harness never leaves it running.
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

static const char* g_root;

static int write_all(int fd, const char* p, size_t n) {
  while (n > 0) {
    ssize_t w = write(fd, p, n);
    if (w < 0 && errno == EINTR) continue;
    if (w <= 0) return -1;
    p += w;
    n -= (size_t)w;
  }
  return 0;
}

static int respond(int c, const char* status, const char* body, size_t len) {
  char head[256];
  int h = snprintf(head, sizeof head, "HTTP/1.1 %s\r\nContent-Length: %zu\r\nContent-Type: text/plain\r\n\r\n", status,
                   len);
  return write_all(c, head, (size_t)h) || write_all(c, body, len);
}

// Serves one request line; returns -1 to close the connection.
static int serve(int c, char* req) {
  char path[1024];
  if (sscanf(req, "GET %1000s HTTP/1.", path) != 1) return respond(c, "400 Bad Request", "bad request\n", 12), -1;
  if (!strcmp(path, "/quit")) {
    respond(c, "200 OK", "bye\n", 4);
    exit(0);
  }
  if (strstr(path, "..")) return respond(c, "403 Forbidden", "forbidden\n", 10);
  char file[2048];
  snprintf(file, sizeof file, "%s%s", g_root, path);
  int fd = open(file, O_RDONLY | O_CLOEXEC);
  struct stat st;
  if (fd < 0 || fstat(fd, &st) != 0 || !S_ISREG(st.st_mode) || st.st_size > (1 << 20)) {
    if (fd >= 0) close(fd);
    return respond(c, "404 Not Found", "not found\n", 10);
  }
  char* body = malloc((size_t)st.st_size + 1);
  ssize_t got = body ? read(fd, body, (size_t)st.st_size) : -1;
  close(fd);
  int rc = got == st.st_size ? respond(c, "200 OK", body, (size_t)got) : respond(c, "500 Error", "error\n", 6);
  free(body);
  return rc;
}

static void* connection(void* arg) {
  int c = (int)(long)arg;
  char buf[8192];
  size_t have = 0;
  for (;;) {
    char* end;
    while (!(end = memmem(buf, have, "\r\n\r\n", 4))) {
      if (have == sizeof buf) goto out;
      ssize_t r = read(c, buf + have, sizeof buf - have);
      if (r <= 0) goto out;
      have += (size_t)r;
    }
    *end = '\0';
    if (serve(c, buf) < 0) goto out;
    size_t used = (size_t)(end + 4 - buf);
    memmove(buf, buf + used, have - used);
    have -= used;
  }
out:
  close(c);
  return NULL;
}

int main(int argc, char** argv) {
  if (argc < 3) {
    fprintf(stderr, "usage: http_server DOCROOT PORTFILE [MAX_SECONDS]\n");
    return 2;
  }
  g_root = argv[1];
  signal(SIGPIPE, SIG_IGN);  // a client closing mid-response must not kill the server
  alarm(argc > 3 ? (unsigned)atoi(argv[3]) : 300);
  int s = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  int one = 1;
  setsockopt(s, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
  socklen_t alen = sizeof a;
  if (s < 0 || bind(s, (struct sockaddr*)&a, sizeof a) || listen(s, 128) || getsockname(s, (struct sockaddr*)&a, &alen)) {
    perror("http_server: listen on 127.0.0.1");
    return 1;
  }
  char tmp[4096];
  snprintf(tmp, sizeof tmp, "%s.tmp", argv[2]);
  FILE* f = fopen(tmp, "w");
  if (!f || fprintf(f, "%d\n", ntohs(a.sin_port)) < 0 || fclose(f) || rename(tmp, argv[2])) {
    perror("http_server: write port file");
    return 1;
  }
  for (;;) {
    int c = accept4(s, NULL, NULL, SOCK_CLOEXEC);
    if (c < 0) continue;
    setsockopt(c, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    pthread_t t;
    if (pthread_create(&t, NULL, connection, (void*)(long)c) != 0) {
      close(c);
      continue;
    }
    pthread_detach(t);
  }
}
