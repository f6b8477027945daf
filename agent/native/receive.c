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
 * For IPv6 sockets it also reads each datagram's hop limit (IPV6_RECVHOPLIMIT): raw IPv6 sockets deliver no IP
 * header to read it from. Transmit stamps and the poll that reports them are in tx-timestamps.c and watch.c; the
 * source address towards a target (for UDP and TCP checksums) in route.c.
 *
 * Hand-written because no maintained Node package does this; it is kept to what the probe channel needs.
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <dirent.h>
#include <linux/errqueue.h>
#include <linux/net_tstamp.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdlib.h>
#include <sys/socket.h>

#include "native.h"

int64_t pinger_stamp_base_ns;
static pthread_once_t stamp_base_once = PTHREAD_ONCE_INIT;

static void set_stamp_base(void) {
  struct timespec now;
  clock_gettime(CLOCK_REALTIME, &now);
  pinger_stamp_base_ns = (int64_t)now.tv_sec * 1000000000LL;
}

static int get_buffer(napi_env env, napi_value value, void **data, size_t *capacity) {
  if (napi_get_buffer_info(env, value, data, capacity) != napi_ok) {
    napi_throw_type_error(env, "ERR_INVALID_ARG_TYPE", "buffer must be a Buffer");
    return 0;
  }
  return 1;
}

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

/*
 * enableTimestamps(fd): SO_TIMESTAMPNS on, so that every datagram read carries its arrival time; on an IPv6
 * socket, IPV6_RECVHOPLIMIT too, so that it carries its hop limit.
 */
static napi_value enable_timestamps(napi_env env, napi_callback_info info) {
  napi_value argv[1];
  int32_t fd;
  if (!get_args(env, info, 1, argv) || !get_int(env, argv[0], "fd", &fd)) return NULL;
  int on = 1;
  if (setsockopt(fd, SOL_SOCKET, SO_TIMESTAMPNS, &on, sizeof on) != 0)
    return throw_errno(env, "setsockopt SO_TIMESTAMPNS", errno);
  int domain;
  socklen_t length = sizeof domain;
  if (getsockopt(fd, SOL_SOCKET, SO_DOMAIN, &domain, &length) != 0)
    return throw_errno(env, "getsockopt SO_DOMAIN", errno);
  if (domain == AF_INET6 && setsockopt(fd, IPPROTO_IPV6, IPV6_RECVHOPLIMIT, &on, sizeof on) != 0)
    return throw_errno(env, "setsockopt IPV6_RECVHOPLIMIT", errno);
  return NULL;
}

/*
 * receive(fd, buffer, meta, extra): reads one datagram without blocking into `buffer`. Returns its source address,
 * or undefined when the socket is empty. `meta` (a BigInt64Array of 3) receives [arrival on CLOCK_MONOTONIC in ns,
 * bytes read, 1 if the kernel stamped the arrival or 0 if it is the time of this read]; `extra` (a Float64Array of
 * 2) [the kernel's stamp as stamp_of() gives it, or 0; the IPv6 hop limit, or -1].
 */
static napi_value receive(napi_env env, napi_callback_info info) {
  napi_value argv[4];
  int32_t fd;
  if (!get_args(env, info, 4, argv) || !get_int(env, argv[0], "fd", &fd)) return NULL;
  void *data;
  size_t capacity;
  if (!get_buffer(env, argv[1], &data, &capacity)) return NULL;
  int64_t *meta;
  double *extra;
  size_t meta_length, extra_length;
  if (!get_bigints(env, argv[2], "meta", 3, &meta, &meta_length) ||
      !get_doubles(env, argv[3], "extra", 2, &extra, &extra_length))
    return NULL;

  struct sockaddr_storage from;
  memset(&from, 0, sizeof from); /* an address the kernel did not fill reads as "" */
  struct iovec iov = {.iov_base = data, .iov_len = capacity};
  /* Room for SCM_TIMESTAMPNS, SCM_TIMESTAMPING (reported too while transmit stamps are on) and IPV6_HOPLIMIT. */
  union {
    char bytes[CMSG_SPACE(sizeof(struct timespec)) + CMSG_SPACE(sizeof(struct scm_timestamping)) +
               CMSG_SPACE(sizeof(int)) + 64];
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

  int64_t stamp = 0;
  int64_t hop_limit = -1;
  for (struct cmsghdr *c = CMSG_FIRSTHDR(&message); c != NULL; c = CMSG_NXTHDR(&message, c)) {
    if (c->cmsg_level == SOL_SOCKET && stamp == 0 &&
        (c->cmsg_type == SCM_TIMESTAMPNS || c->cmsg_type == SCM_TIMESTAMPING)) {
      /* Both start with the software stamp: SCM_TIMESTAMPING's ts[0]. */
      struct timespec at;
      memcpy(&at, CMSG_DATA(c), sizeof at);
      stamp = ns_of(&at);
    } else if (c->cmsg_level == IPPROTO_IPV6 && c->cmsg_type == IPV6_HOPLIMIT) {
      int value;
      memcpy(&value, CMSG_DATA(c), sizeof value);
      hop_limit = value;
    }
  }
  int64_t arrival = stamp != 0 ? monotonic_of(stamp) : 0;
  if (arrival == 0) {
    struct timespec now_mono;
    clock_gettime(CLOCK_MONOTONIC, &now_mono);
    meta[0] = ns_of(&now_mono);
    meta[2] = 0;
    extra[0] = 0;
  } else {
    meta[0] = arrival;
    meta[2] = 1;
    extra[0] = stamp_of(stamp);
  }
  meta[1] = bytes;
  extra[1] = (double)hop_limit;

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
  /* Once per process: every instance of the module (worker threads) shares this library's statics. */
  pthread_once(&stamp_base_once, set_stamp_base);
  napi_property_descriptor properties[] = {
      {"rawSocketFds", NULL, raw_socket_fds, NULL, NULL, NULL, napi_enumerable, NULL},
      {"enableTimestamps", NULL, enable_timestamps, NULL, NULL, NULL, napi_enumerable, NULL},
      {"receive", NULL, receive, NULL, NULL, NULL, napi_enumerable, NULL},
      {"sendTo", NULL, send_to, NULL, NULL, NULL, napi_enumerable, NULL},
      {"enableTxTimestamps", NULL, pinger_enable_tx_timestamps, NULL, NULL, NULL, napi_enumerable, NULL},
      {"txTimestamps", NULL, pinger_tx_timestamps, NULL, NULL, NULL, napi_enumerable, NULL},
      {"watch", NULL, pinger_watch, NULL, NULL, NULL, napi_enumerable, NULL},
      {"setWatch", NULL, pinger_set_watch, NULL, NULL, NULL, napi_enumerable, NULL},
      {"unwatch", NULL, pinger_unwatch, NULL, NULL, NULL, napi_enumerable, NULL},
      {"sourceFor", NULL, pinger_source_for, NULL, NULL, NULL, napi_enumerable, NULL},
  };
  CHECK(env, napi_define_properties(env, exports, sizeof properties / sizeof properties[0], properties));
  return exports;
}

NAPI_MODULE(NODE_GYP_MODULE_NAME, init)
