/*
 * openloop: the constant-rate, open-loop HTTP/1.1 load generator of the half-load figures
 * (bench/openloop.ts drives it; scripts/bench/ensure-tools.sh builds it with the system C
 * compiler). Issue 17 found that neither a Node generator (one event loop that paces and parses,
 * ~4,000 req/s on a core) nor vegeta (Go's net/http client: ~25,000 req/s on a core at best, and
 * sub-millisecond sleeps that round up to 1 ms) can drive bench scenario (a) at half its
 * saturating rate with sub-millisecond precision. This is wrk's approach (one epoll loop over
 * keep-alive connections, no allocation per request) with wrk2's schedule:
 *
 * - request i is due at start + i / rate, whatever happened to the earlier ones; it leaves on the
 *   first idle connection once due, and its latency is measured from the DUE time, so a request
 *   queued behind a stall counts the stall (coordinated omission, Gil Tene; wrk2's README);
 * - the loop sleeps in epoll_pwait2 with a nanosecond timeout until the next request is due, so
 *   it neither spins (Redis shares the load core in some scenarios) nor rounds to milliseconds;
 * - how late each request left (its send lag: since it was due and a connection was free to
 *   take it) is reported beside the latencies: a lag close to the latencies means the generator,
 *   not the server, made the tail. A request due while all connections wait for answers waits
 *   too; that wait is the server's and is in its latency, not in the lag.
 *
 * Usage: openloop -u URL -r RATE -d SECONDS [-w WARMUP_SECONDS] [-c CONNECTIONS]
 *                 [-H 'Name: value']... [-e EXPECTED_STATUS] [-t TIMEOUT_SECONDS]
 * Prints one JSON line (the RateLoadResult of bench/rate-load.ts) on standard output.
 * Only http:// URLs, GET, and responses with Content-Length or chunked bodies.
 *
 *        openloop -S
 * Keeps the CPU it is pinned to awake until killed: it spins as a SCHED_IDLE task, which runs
 * only when nothing else wants the CPU. On the virtual machines the benchmarks run on, a vCPU
 * that halts when idle takes milliseconds to be scheduled again by the host (measured: bare
 * node:http at 10,000 req/s, p99 2.6 ms with halting cores, 0.29 ms with them kept awake), so a
 * half-loaded server's tail would measure the hypervisor. Bare metal with shallow idle states, or
 * a guest with the haltpoll cpuidle driver, behaves like the kept-awake case.
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sched.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define MAX_CONNECTIONS 1024
#define MAX_HEADERS 64
#define READ_BUFFER 65536

static void die(const char *message) {
  fprintf(stderr, "openloop: %s\n", message);
  exit(2);
}

static int64_t now_ns(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (int64_t)ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

/* Parse state of the response being read on a connection. */
enum body_kind { BODY_NONE, BODY_LENGTH, BODY_CHUNKED };

struct connection {
  int fd;
  int busy;        /* a request is outstanding */
  int64_t index;   /* which request */
  char buffer[READ_BUFFER];
  size_t used;     /* bytes in buffer not yet consumed */
  int headers_done;
  int status;
  enum body_kind body;
  int64_t remaining; /* BODY_LENGTH: bytes left; BODY_CHUNKED: bytes left in current chunk, -1 = size line next */
  int chunk_state;   /* chunked: 0 size line, 1 data, 2 CRLF after data, 3 trailers */
};

static struct sockaddr_storage address;
static socklen_t address_length;
static char *request_bytes;
static size_t request_length;

/* Connects (blocking: the target is local, and a request is never sent on a half-open socket),
 * then switches to non-blocking for the loop. Dies when the server refuses: nothing to measure. */
static int open_connection(void) {
  int fd = socket(address.ss_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) die("socket() failed");
  int one = 1;
  setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
  if (connect(fd, (struct sockaddr *)&address, address_length) < 0) die("cannot connect to the URL's host");
  fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK);
  return fd;
}

static void parse_url(const char *url, char **host_header, char **path) {
  if (strncmp(url, "http://", 7) != 0) die("only http:// URLs");
  const char *authority = url + 7;
  const char *slash = strchr(authority, '/');
  size_t authority_length = slash == NULL ? strlen(authority) : (size_t)(slash - authority);
  *host_header = strndup(authority, authority_length);
  *path = strdup(slash == NULL ? "/" : slash);
  char host[256];
  char port[16] = "80";
  if (authority[0] == '[') {
    const char *end = memchr(authority, ']', authority_length);
    if (end == NULL || (size_t)(end - authority - 1) >= sizeof host) die("bad IPv6 literal");
    memcpy(host, authority + 1, (size_t)(end - authority - 1));
    host[end - authority - 1] = 0;
    if (end[1] == ':') snprintf(port, sizeof port, "%.*s", (int)(authority + authority_length - end - 2), end + 2);
  } else {
    const char *colon = memchr(authority, ':', authority_length);
    size_t host_length = colon == NULL ? authority_length : (size_t)(colon - authority);
    if (host_length >= sizeof host) die("host too long");
    memcpy(host, authority, host_length);
    host[host_length] = 0;
    if (colon != NULL) snprintf(port, sizeof port, "%.*s", (int)(authority + authority_length - colon - 1), colon + 1);
  }
  struct addrinfo hints = {0}, *found = NULL;
  hints.ai_socktype = SOCK_STREAM;
  if (getaddrinfo(host, port, &hints, &found) != 0 || found == NULL) die("cannot resolve the URL's host");
  memcpy(&address, found->ai_addr, found->ai_addrlen);
  address_length = found->ai_addrlen;
  freeaddrinfo(found);
}

static int compare_doubles(const void *a, const void *b) {
  double x = *(const double *)a, y = *(const double *)b;
  return x < y ? -1 : x > y;
}

/* Nearest-rank percentile of a sorted array (bench/stats.ts percentileOfSorted does the same). */
static double percentile(const double *sorted, int64_t count, double p) {
  if (count == 0) return 0;
  int64_t rank = (int64_t)((p / 100.0) * (double)count + 0.999999999);
  if (rank < 1) rank = 1;
  if (rank > count) rank = count;
  return sorted[rank - 1];
}

/* Consumes what it can of c->buffer; returns 1 when the response is complete, -1 on a protocol error. */
static int parse_response(struct connection *c) {
  for (;;) {
    if (!c->headers_done) {
      char *end = memmem(c->buffer, c->used, "\r\n\r\n", 4);
      if (end == NULL) return c->used >= sizeof c->buffer ? -1 : 0;
      size_t header_length = (size_t)(end - c->buffer) + 4;
      if (c->used < 12 || strncmp(c->buffer, "HTTP/1.", 7) != 0) return -1;
      c->status = atoi(c->buffer + 9);
      c->body = BODY_NONE;
      c->remaining = 0;
      c->chunk_state = 0;
      char *line = memchr(c->buffer, '\n', header_length) + 1;
      while (line < end) {
        char *next = memchr(line, '\n', (size_t)(end + 2 - line));
        if (next == NULL) break;
        if (strncasecmp(line, "content-length:", 15) == 0) {
          c->body = BODY_LENGTH;
          c->remaining = strtoll(line + 15, NULL, 10);
        } else if (strncasecmp(line, "transfer-encoding:", 18) == 0 && strcasestr(line, "chunked") != NULL &&
                   strcasestr(line, "chunked") < next) {
          c->body = BODY_CHUNKED;
        }
        line = next + 1;
      }
      /* 1xx, 204 and 304 have no body (RFC 9110 §6.4.1). */
      if (c->status < 200 || c->status == 204 || c->status == 304) c->body = BODY_NONE;
      memmove(c->buffer, c->buffer + header_length, c->used - header_length);
      c->used -= header_length;
      c->headers_done = 1;
    }
    if (c->body == BODY_NONE) return c->used == 0 ? 1 : -1;
    if (c->body == BODY_LENGTH) {
      int64_t take = (int64_t)c->used < c->remaining ? (int64_t)c->used : c->remaining;
      memmove(c->buffer, c->buffer + take, c->used - (size_t)take);
      c->used -= (size_t)take;
      c->remaining -= take;
      if (c->remaining > 0) return 0;
      return c->used == 0 ? 1 : -1; /* no pipelining: nothing may follow */
    }
    /* chunked */
    for (;;) {
      if (c->chunk_state == 0 || c->chunk_state == 2 || c->chunk_state == 3) {
        char *eol = memmem(c->buffer, c->used, "\r\n", 2);
        if (eol == NULL) return c->used >= sizeof c->buffer ? -1 : 0;
        size_t line_length = (size_t)(eol - c->buffer);
        int state = c->chunk_state;
        int64_t size = state == 0 ? strtoll(c->buffer, NULL, 16) : 0;
        memmove(c->buffer, eol + 2, c->used - line_length - 2);
        c->used -= line_length + 2;
        if (state == 0) {
          if (size == 0) c->chunk_state = 3;
          else {
            c->remaining = size;
            c->chunk_state = 1;
          }
        } else if (state == 2) {
          c->chunk_state = 0;
        } else if (line_length == 0) {
          return c->used == 0 ? 1 : -1; /* end of trailers */
        }
        continue;
      }
      int64_t take = (int64_t)c->used < c->remaining ? (int64_t)c->used : c->remaining;
      memmove(c->buffer, c->buffer + take, c->used - (size_t)take);
      c->used -= (size_t)take;
      c->remaining -= take;
      if (c->remaining > 0) return 0;
      c->chunk_state = 2;
    }
  }
}

static _Noreturn void keep_awake(void) {
  struct sched_param param = {.sched_priority = 0};
  if (sched_setscheduler(0, SCHED_IDLE, &param) != 0) die("sched_setscheduler(SCHED_IDLE) failed");
  for (;;) __asm__ volatile("" ::: "memory");
}

int main(int argc, char **argv) {
  if (argc == 2 && strcmp(argv[1], "-S") == 0) keep_awake();
  const char *url = NULL;
  double rate = 0, duration = 0, warmup_seconds = 0, timeout_seconds = 10;
  int connections = 64, expected = 200;
  const char *headers[MAX_HEADERS];
  int header_count = 0;
  int option;
  while ((option = getopt(argc, argv, "u:r:d:w:c:H:e:t:")) != -1) {
    switch (option) {
      case 'u': url = optarg; break;
      case 'r': rate = atof(optarg); break;
      case 'd': duration = atof(optarg); break;
      case 'w': warmup_seconds = atof(optarg); break;
      case 'c': connections = atoi(optarg); break;
      case 'H':
        if (header_count == MAX_HEADERS) die("too many -H");
        if (strpbrk(optarg, "\r\n") != NULL) die("a header holds a line break");
        headers[header_count++] = optarg;
        break;
      case 'e': expected = atoi(optarg); break;
      case 't': timeout_seconds = atof(optarg); break;
      default: die("usage: openloop -u URL -r RATE -d SECONDS [-w SECONDS] [-c N] [-H 'N: v']... [-e STATUS] [-t SECONDS]");
    }
  }
  if (url == NULL || rate <= 0 || duration <= 0) die("-u, -r and -d are required (rate and duration > 0)");
  if (connections < 1 || connections > MAX_CONNECTIONS) die("-c must be 1..1024");
  signal(SIGPIPE, SIG_IGN);

  char *host_header, *path;
  parse_url(url, &host_header, &path);
  int has_host = 0;
  size_t capacity = strlen(path) + strlen(host_header) + 64;
  for (int i = 0; i < header_count; i++) {
    capacity += strlen(headers[i]) + 2;
    if (strncasecmp(headers[i], "host:", 5) == 0) has_host = 1;
  }
  request_bytes = malloc(capacity);
  size_t at = (size_t)sprintf(request_bytes, "GET %s HTTP/1.1\r\n", path);
  if (!has_host) at += (size_t)sprintf(request_bytes + at, "Host: %s\r\n", host_header);
  for (int i = 0; i < header_count; i++) at += (size_t)sprintf(request_bytes + at, "%s\r\n", headers[i]);
  at += (size_t)sprintf(request_bytes + at, "\r\n");
  request_length = at;

  const int64_t warmup = (int64_t)(rate * warmup_seconds + 0.5);
  const int64_t measured = (int64_t)(rate * duration + 0.5);
  const int64_t total = warmup + measured;
  const double interval_ns = 1e9 / rate;
  const int64_t timeout_ns = (int64_t)(timeout_seconds * 1e9);
  double *latencies = calloc((size_t)(measured > 0 ? measured : 1), sizeof(double));
  double *lags = calloc((size_t)(measured > 0 ? measured : 1), sizeof(double));
  int64_t *due_of_slot = calloc((size_t)connections, sizeof(int64_t));
  /* When each connection last became free: a request due while every connection was busy waits
   * for the server, not for the generator, and that wait is not the generator's send lag. */
  int64_t *idle_since = calloc((size_t)connections, sizeof(int64_t));
  if (latencies == NULL || lags == NULL || due_of_slot == NULL || idle_since == NULL) die("out of memory");

  int epoll = epoll_create1(EPOLL_CLOEXEC);
  struct connection *pool = calloc((size_t)connections, sizeof(struct connection));
  int *idle = malloc(sizeof(int) * (size_t)connections); /* stack of idle connection slots */
  int idle_count = 0;
  for (int i = 0; i < connections; i++) {
    pool[i].fd = open_connection();
    struct epoll_event event = {.events = EPOLLIN | EPOLLRDHUP, .data.u32 = (uint32_t)i};
    epoll_ctl(epoll, EPOLL_CTL_ADD, pool[i].fd, &event);
    idle[idle_count++] = i;
  }

  int64_t completed = 0, errors = 0, unexpected = 0, settled = 0;
  int first_unexpected = 0;
  char first_error[160] = "";
  int64_t sent = 0;
  int64_t last_answer = 0;
  const int64_t start = now_ns() + 20000000LL; /* 20 ms to let the connections open */
  const int64_t measured_start = start + (int64_t)((double)warmup * interval_ns);
  struct epoll_event events[MAX_CONNECTIONS];

#define DUE(i) (start + (int64_t)((double)(i) * interval_ns))
#define FAIL(c, slot, why)                                                               \
  do {                                                                                   \
    int was_busy = (c)->busy;                                                            \
    if (was_busy) {                                                                      \
      if ((c)->index >= warmup) {                                                        \
        errors++;                                                                        \
        if (first_error[0] == 0) snprintf(first_error, sizeof first_error, "%s", why);   \
      }                                                                                  \
      settled++;                                                                         \
    }                                                                                    \
    epoll_ctl(epoll, EPOLL_CTL_DEL, (c)->fd, NULL);                                      \
    close((c)->fd);                                                                      \
    (c)->fd = open_connection();                                                         \
    (c)->busy = 0;                                                                       \
    (c)->used = 0;                                                                       \
    (c)->headers_done = 0;                                                               \
    struct epoll_event again = {.events = EPOLLIN | EPOLLRDHUP, .data.u32 = (uint32_t)(slot)}; \
    epoll_ctl(epoll, EPOLL_CTL_ADD, (c)->fd, &again);                                    \
    /* An idle connection (closed by the server's keep-alive timeout) is still on the stack. */ \
    if (was_busy) {                                                                      \
      idle_since[slot] = now_ns();                                                       \
      idle[idle_count++] = (slot);                                                       \
    }                                                                                    \
  } while (0)

  while (settled < total) {
    int64_t now = now_ns();
    /* Send everything due, on idle connections; what finds none waits (and that wait counts). */
    while (sent < total && idle_count > 0 && DUE(sent) <= now) {
      int slot = idle[--idle_count];
      struct connection *c = &pool[slot];
      c->busy = 1;
      c->index = sent;
      c->used = 0;
      c->headers_done = 0;
      due_of_slot[slot] = DUE(sent);
      if (sent >= warmup) {
        /* The generator's own lateness: since the request was due and a connection was free. */
        int64_t sendable = DUE(sent) > idle_since[slot] ? DUE(sent) : idle_since[slot];
        lags[sent - warmup] = (double)(now - sendable) / 1e6;
      }
      sent++;
      ssize_t written = send(c->fd, request_bytes, request_length, MSG_NOSIGNAL);
      if (written != (ssize_t)request_length) FAIL(c, slot, written < 0 ? strerror(errno) : "short write");
    }
    /* Sleep until the next request is due (if a connection is free to take it) or I/O. */
    struct timespec wait = {1, 0};
    struct timespec *timeout = &wait;
    if (sent < total && idle_count > 0) {
      int64_t until = DUE(sent) - now_ns();
      if (until < 0) until = 0;
      wait.tv_sec = until / 1000000000LL;
      wait.tv_nsec = until % 1000000000LL;
    }
    int ready = epoll_pwait2(epoll, events, MAX_CONNECTIONS, timeout, NULL);
    if (ready < 0 && errno != EINTR) die("epoll_pwait2 failed");
    int64_t answered_at = now_ns();
    for (int e = 0; e < ready; e++) {
      int slot = (int)events[e].data.u32;
      struct connection *c = &pool[slot];
      for (;;) {
        ssize_t got = recv(c->fd, c->buffer + c->used, sizeof c->buffer - c->used, 0);
        if (got < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) break;
        if (got <= 0) {
          FAIL(c, slot, got == 0 ? "connection closed by the server" : strerror(errno));
          goto next_event;
        }
        if (!c->busy) {
          FAIL(c, slot, "bytes arrived with no request outstanding");
          goto next_event;
        }
        c->used += (size_t)got;
        int done = parse_response(c);
        if (done < 0) {
          FAIL(c, slot, "malformed response");
          goto next_event;
        }
        if (done == 1) {
          if (c->index >= warmup) {
            latencies[completed++] = (double)(answered_at - due_of_slot[slot]) / 1e6;
            last_answer = answered_at;
            if (c->status != expected) {
              unexpected++;
              if (first_unexpected == 0) first_unexpected = c->status;
            }
          }
          settled++;
          c->busy = 0;
          c->used = 0;
          c->headers_done = 0;
          idle_since[slot] = answered_at;
          idle[idle_count++] = slot;
          break;
        }
      }
    next_event:;
    }
    /* A request unanswered for the timeout counts as an error; its connection is replaced. */
    for (int slot = 0; slot < connections; slot++) {
      struct connection *c = &pool[slot];
      if (c->busy && answered_at - due_of_slot[slot] > timeout_ns) FAIL(c, slot, "timeout");
    }
  }

  qsort(latencies, (size_t)completed, sizeof(double), compare_doubles);
  int64_t lag_count = measured;
  qsort(lags, (size_t)lag_count, sizeof(double), compare_doubles);
  double elapsed = (double)(last_answer - measured_start) / 1e9;
  if (elapsed < 1e-3) elapsed = 1e-3;
  printf("{\"targetRate\":%.3f,\"scheduled\":%lld,\"completed\":%lld,\"achievedRate\":%.3f,"
         "\"latencyMs\":{\"p50\":%.4f,\"p99\":%.4f,\"p999\":%.4f,\"max\":%.4f},"
         "\"sendLagMs\":{\"p99\":%.4f,\"max\":%.4f},\"errors\":%lld,\"unexpectedStatuses\":%lld,"
         "\"firstUnexpectedStatus\":%d,",
         rate, (long long)measured, (long long)completed, (double)completed / elapsed,
         percentile(latencies, completed, 50), percentile(latencies, completed, 99),
         percentile(latencies, completed, 99.9), percentile(latencies, completed, 100),
         percentile(lags, lag_count, 99), percentile(lags, lag_count, 100), (long long)errors,
         (long long)unexpected, first_unexpected);
  if (first_error[0] != 0) {
    printf("\"firstError\":\"");
    for (const char *p = first_error; *p; p++) {
      if (*p == '"' || *p == '\\') putchar('\\');
      if ((unsigned char)*p >= 0x20) putchar(*p);
    }
    printf("\",");
  }
  printf("\"generator\":\"openloop\"}\n");
  return 0;
}
