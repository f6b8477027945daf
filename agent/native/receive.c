/*
 * pinger_native: kernel receive timestamps for the probe engine's raw sockets, and a lean send.
 *
 * raw-socket opens and polls the sockets and sends on them, but reads with recvfrom(), which cannot return the
 * time the kernel took the packet in (SO_TIMESTAMPNS needs recvmsg() and its control messages). Without it an
 * RTT ends when the process wakes up, late by the scheduler's latency. This addon does only what raw-socket
 * cannot: find the descriptor raw-socket opened, turn on SO_TIMESTAMPNS, and read datagrams with recvmsg(),
 * returning each one's arrival on the CLOCK_MONOTONIC timeline that process.hrtime.bigint() reads.
 *
 * It also sends (sendTo): raw-socket's send costs a string conversion, an inet_pton and a persistent handle per
 * packet, which the probers' per-probe path can do without.
 *
 * Hand-written because no maintained Node package does this; it is kept to these four calls.
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <dirent.h>
#include <errno.h>
#include <netinet/in.h>
#include <node_api.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>

#define CHECK(env, call)                                                    \
  do {                                                                      \
    if ((call) != napi_ok) {                                                \
      napi_throw_error((env), "ERR_PINGER_NATIVE", "N-API call failed: " #call); \
      return NULL;                                                          \
    }                                                                       \
  } while (0)

/*
 * The kernel stamps arrivals on CLOCK_REALTIME, which a step of the wall clock moves. An age outside
 * [0, MAX_AGE_NS) can only come from such a step between the arrival and the read, so the read time is used
 * instead. A smaller step forward goes unnoticed and makes that arrival earlier by the step.
 */
#define MAX_AGE_NS 10000000000LL

static napi_value throw_errno(napi_env env, const char *what, int err) {
  char message[256];
  snprintf(message, sizeof message, "%s: %s", what, strerror(err));
  napi_throw_error(env, "ERR_PINGER_NATIVE", message);
  return NULL;
}

static int get_args(napi_env env, napi_callback_info info, size_t want, napi_value *argv) {
  size_t argc = want;
  if (napi_get_cb_info(env, info, &argc, argv, NULL, NULL) != napi_ok || argc < want) {
    napi_throw_type_error(env, "ERR_INVALID_ARG_COUNT", "missing arguments");
    return 0;
  }
  return 1;
}

static int get_int(napi_env env, napi_value value, const char *name, int32_t *out) {
  if (napi_get_value_int32(env, value, out) != napi_ok) {
    char message[96];
    snprintf(message, sizeof message, "%s must be a number", name);
    napi_throw_type_error(env, "ERR_INVALID_ARG_TYPE", message);
    return 0;
  }
  return 1;
}

static int get_buffer(napi_env env, napi_value value, void **data, size_t *capacity) {
  if (napi_get_buffer_info(env, value, data, capacity) != napi_ok) {
    napi_throw_type_error(env, "ERR_INVALID_ARG_TYPE", "buffer must be a Buffer");
    return 0;
  }
  return 1;
}

static int64_t ns_of(const struct timespec *t) { return (int64_t)t->tv_sec * 1000000000LL + t->tv_nsec; }

/*
 * Writes the dotted quad of the IPv4 address `a` (network order) to `out` (room for INET_ADDRSTRLEN) and
 * returns its length. By hand: glibc's inet_ntop formats IPv4 through sprintf, which showed as ~1 % of the
 * agent's CPU at 10,000 replies a second (vfprintf and strchr under every receive).
 */
static size_t format_ipv4(const uint8_t a[4], char *out) {
  char *p = out;
  for (int i = 0; i < 4; i++) {
    unsigned v = a[i];
    if (i > 0) *p++ = '.';
    if (v >= 100) *p++ = (char)('0' + v / 100);
    if (v >= 10) *p++ = (char)('0' + v / 10 % 10);
    *p++ = (char)('0' + v % 10);
  }
  *p = '\0';
  return (size_t)(p - out);
}

/*
 * rawSocketFds(domain, protocol): the open raw sockets of this process with that domain and protocol. Only raw
 * ones: the resolver's UDP sockets, opened on libuv's threads at any time, must never be taken for a channel's.
 */
static napi_value raw_socket_fds(napi_env env, napi_callback_info info) {
  napi_value argv[2];
  int32_t domain, protocol;
  if (!get_args(env, info, 2, argv) || !get_int(env, argv[0], "domain", &domain) ||
      !get_int(env, argv[1], "protocol", &protocol))
    return NULL;
  DIR *dir = opendir("/proc/self/fd");
  if (dir == NULL) return throw_errno(env, "opendir /proc/self/fd", errno);
  napi_value result;
  if (napi_create_array(env, &result) != napi_ok) {
    closedir(dir);
    napi_throw_error(env, "ERR_PINGER_NATIVE", "N-API call failed: napi_create_array");
    return NULL;
  }
  uint32_t count = 0;
  struct dirent *entry;
  while ((entry = readdir(dir)) != NULL) {
    char *end;
    long fd = strtol(entry->d_name, &end, 10);
    if (*end != '\0' || end == entry->d_name || fd == dirfd(dir)) continue;
    int value;
    socklen_t length = sizeof value;
    if (getsockopt((int)fd, SOL_SOCKET, SO_TYPE, &value, &length) != 0 || value != SOCK_RAW) continue;
    length = sizeof value;
    if (getsockopt((int)fd, SOL_SOCKET, SO_DOMAIN, &value, &length) != 0 || value != domain) continue;
    length = sizeof value;
    if (getsockopt((int)fd, SOL_SOCKET, SO_PROTOCOL, &value, &length) != 0 || value != protocol) continue;
    napi_value element;
    if (napi_create_int32(env, (int32_t)fd, &element) != napi_ok ||
        napi_set_element(env, result, count++, element) != napi_ok) {
      closedir(dir);
      napi_throw_error(env, "ERR_PINGER_NATIVE", "N-API call failed: building the descriptor list");
      return NULL;
    }
  }
  closedir(dir);
  return result;
}

/* enableTimestamps(fd): SO_TIMESTAMPNS on, so that every datagram read carries its arrival time. */
static napi_value enable_timestamps(napi_env env, napi_callback_info info) {
  napi_value argv[1];
  int32_t fd;
  if (!get_args(env, info, 1, argv) || !get_int(env, argv[0], "fd", &fd)) return NULL;
  int on = 1;
  if (setsockopt(fd, SOL_SOCKET, SO_TIMESTAMPNS, &on, sizeof on) != 0)
    return throw_errno(env, "setsockopt SO_TIMESTAMPNS", errno);
  return NULL;
}

/*
 * receive(fd, buffer, meta): reads one datagram without blocking into `buffer`. Returns its source address, or
 * undefined when the socket is empty. `meta` (a BigInt64Array of 3) receives [arrival on CLOCK_MONOTONIC in ns,
 * bytes read, 1 if the kernel stamped the arrival or 0 if it is the time of this read].
 */
static napi_value receive(napi_env env, napi_callback_info info) {
  napi_value argv[3];
  int32_t fd;
  if (!get_args(env, info, 3, argv) || !get_int(env, argv[0], "fd", &fd)) return NULL;
  void *data;
  size_t capacity;
  if (!get_buffer(env, argv[1], &data, &capacity)) return NULL;
  napi_typedarray_type type;
  size_t length;
  void *meta_data;
  if (napi_get_typedarray_info(env, argv[2], &type, &length, &meta_data, NULL, NULL) != napi_ok ||
      type != napi_bigint64_array || length < 3) {
    napi_throw_type_error(env, "ERR_INVALID_ARG_TYPE", "meta must be a BigInt64Array of 3");
    return NULL;
  }
  int64_t *meta = meta_data;

  struct sockaddr_storage from;
  memset(&from, 0, sizeof from); /* an address the kernel did not fill reads as "" */
  struct iovec iov = {.iov_base = data, .iov_len = capacity};
  union {
    char bytes[CMSG_SPACE(sizeof(struct timespec)) * 2];
    struct cmsghdr align;
  } control;
  struct msghdr message = {
      .msg_name = &from,
      .msg_namelen = sizeof from,
      .msg_iov = &iov,
      .msg_iovlen = 1,
      .msg_control = control.bytes,
      .msg_controllen = sizeof control.bytes,
  };
  ssize_t bytes;
  do {
    bytes = recvmsg(fd, &message, MSG_DONTWAIT);
  } while (bytes < 0 && errno == EINTR);
  if (bytes < 0) {
    if (errno == EAGAIN || errno == EWOULDBLOCK) return NULL; /* undefined */
    return throw_errno(env, "recvmsg", errno);
  }

  /*
   * The arrival on the monotonic clock is now minus the stamp's age on the wall clock. Wall clock first: a
   * preemption between the two reads then makes the arrival later, never earlier than the send it answers.
   */
  struct timespec now_real, now_mono;
  clock_gettime(CLOCK_REALTIME, &now_real);
  clock_gettime(CLOCK_MONOTONIC, &now_mono);
  int64_t arrival = ns_of(&now_mono);
  int64_t stamped = 0;
  for (struct cmsghdr *c = CMSG_FIRSTHDR(&message); c != NULL; c = CMSG_NXTHDR(&message, c)) {
    if (c->cmsg_level != SOL_SOCKET || c->cmsg_type != SCM_TIMESTAMPNS) continue;
    struct timespec at;
    memcpy(&at, CMSG_DATA(c), sizeof at);
    int64_t age = ns_of(&now_real) - ns_of(&at);
    if (age >= 0 && age < MAX_AGE_NS) {
      arrival -= age;
      stamped = 1;
    }
    break; /* one stamp per datagram */
  }
  meta[0] = arrival;
  meta[1] = bytes;
  meta[2] = stamped;

  char text[INET6_ADDRSTRLEN] = "";
  size_t text_length = 0;
  if (from.ss_family == AF_INET) {
    text_length = format_ipv4((const uint8_t *)&((struct sockaddr_in *)&from)->sin_addr, text);
  } else if (from.ss_family == AF_INET6 &&
             inet_ntop(AF_INET6, &((struct sockaddr_in6 *)&from)->sin6_addr, text, sizeof text) != NULL) {
    text_length = strlen(text);
  }
  napi_value source;
  CHECK(env, napi_create_string_latin1(env, text, text_length, &source));
  return source;
}

/*
 * sendTo(fd, buffer, length, address): sends buffer[0, length) without blocking to `address`, the 4 or 16 bytes
 * of an IPv4 or IPv6 address (network order). Returns true when sent, false when the socket buffer is full
 * (EAGAIN: the caller queues the packet until the socket is writable); throws on any other error. raw-socket's
 * send takes the address as a string (a UTF-8 copy and inet_pton per packet) and calls a JS callback through a
 * new persistent handle per packet; the probers keep each target's address as bytes, so this does neither.
 */
static napi_value send_to(napi_env env, napi_callback_info info) {
  napi_value argv[4];
  int32_t fd, length;
  if (!get_args(env, info, 4, argv) || !get_int(env, argv[0], "fd", &fd) ||
      !get_int(env, argv[2], "length", &length))
    return NULL;
  void *data;
  size_t capacity;
  if (!get_buffer(env, argv[1], &data, &capacity)) return NULL;
  if (length < 0 || (size_t)length > capacity) {
    napi_throw_range_error(env, "ERR_OUT_OF_RANGE", "length must be within the buffer");
    return NULL;
  }
  napi_typedarray_type type;
  size_t address_length;
  void *address;
  if (napi_get_typedarray_info(env, argv[3], &type, &address_length, &address, NULL, NULL) != napi_ok ||
      type != napi_uint8_array || (address_length != 4 && address_length != 16)) {
    napi_throw_type_error(env, "ERR_INVALID_ARG_TYPE", "address must be a Uint8Array of 4 or 16 bytes");
    return NULL;
  }
  struct sockaddr_storage to;
  socklen_t to_length;
  memset(&to, 0, sizeof to);
  if (address_length == 4) {
    struct sockaddr_in *in = (struct sockaddr_in *)&to;
    in->sin_family = AF_INET;
    memcpy(&in->sin_addr, address, 4);
    to_length = sizeof *in;
  } else {
    struct sockaddr_in6 *in6 = (struct sockaddr_in6 *)&to;
    in6->sin6_family = AF_INET6;
    memcpy(&in6->sin6_addr, address, 16);
    to_length = sizeof *in6;
  }
  ssize_t sent;
  do {
    sent = sendto(fd, data, (size_t)length, MSG_DONTWAIT, (struct sockaddr *)&to, to_length);
  } while (sent < 0 && errno == EINTR);
  napi_value result;
  if (sent < 0) {
    if (errno != EAGAIN && errno != EWOULDBLOCK) return throw_errno(env, "sendto", errno);
    CHECK(env, napi_get_boolean(env, false, &result));
    return result;
  }
  CHECK(env, napi_get_boolean(env, true, &result));
  return result;
}

static napi_value init(napi_env env, napi_value exports) {
  napi_property_descriptor properties[] = {
      {"rawSocketFds", NULL, raw_socket_fds, NULL, NULL, NULL, napi_enumerable, NULL},
      {"enableTimestamps", NULL, enable_timestamps, NULL, NULL, NULL, napi_enumerable, NULL},
      {"receive", NULL, receive, NULL, NULL, NULL, napi_enumerable, NULL},
      {"sendTo", NULL, send_to, NULL, NULL, NULL, napi_enumerable, NULL},
  };
  CHECK(env, napi_define_properties(env, exports, sizeof properties / sizeof properties[0], properties));
  return exports;
}

NAPI_MODULE(NODE_GYP_MODULE_NAME, init)
