/*
 * Kernel transmit timestamps (SO_TIMESTAMPING): the time each packet left through the device's driver, read back
 * from the socket's error queue. An RTT that starts here and ends at the kernel's receive stamp leaves out the
 * process's own delays on both ends (the clock read before sendto, the wake-up before the read).
 *
 * Each stamp carries the number of the send it belongs to (SOF_TIMESTAMPING_OPT_ID: the socket counts its sends
 * from 0 once the option is set), and nothing else (OPT_TSONLY: not the packet). The caller keeps the same count
 * to tell whose stamp it is. A stamp in the error queue makes the socket report POLLERR; SO_SELECT_ERR_QUEUE adds
 * POLLPRI to it, which watch.c asks for, so that libuv takes it for an event and not for a dead descriptor.
 */
#define _GNU_SOURCE
#include <time.h> /* before linux/errqueue.h, which uses struct timespec */
#include <linux/errqueue.h>
#include <linux/net_tstamp.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include "native.h"

#ifndef SO_SELECT_ERR_QUEUE
#define SO_SELECT_ERR_QUEUE 45
#endif

/*
 * Without it, SOF_TIMESTAMPING_SOFTWARE also reports receive stamps as a second control message beside
 * SO_TIMESTAMPNS's on every read. Linux 6.7 and later (older ones refuse it, and the read copes with both).
 */
#ifndef SOF_TIMESTAMPING_OPT_RX_FILTER
#define SOF_TIMESTAMPING_OPT_RX_FILTER (1 << 17)
#endif

/* Stamps read per recvmmsg. */
#define BATCH 64

/* enableTxTimestamps(fd): software transmit stamps on, numbered, without the packet; POLLPRI with them. */
napi_value pinger_enable_tx_timestamps(napi_env env, napi_callback_info info) {
  napi_value argv[1];
  int32_t fd;
  if (!get_args(env, info, 1, argv) || !get_int(env, argv[0], "fd", &fd)) return NULL;
  int flags = SOF_TIMESTAMPING_TX_SOFTWARE | SOF_TIMESTAMPING_SOFTWARE | SOF_TIMESTAMPING_OPT_ID |
              SOF_TIMESTAMPING_OPT_TSONLY;
  int filtered = flags | SOF_TIMESTAMPING_OPT_RX_FILTER;
  if (setsockopt(fd, SOL_SOCKET, SO_TIMESTAMPING, &filtered, sizeof filtered) != 0 &&
      setsockopt(fd, SOL_SOCKET, SO_TIMESTAMPING, &flags, sizeof flags) != 0)
    return throw_errno(env, "setsockopt SO_TIMESTAMPING", errno);
  int on = 1;
  if (setsockopt(fd, SOL_SOCKET, SO_SELECT_ERR_QUEUE, &on, sizeof on) != 0)
    return throw_errno(env, "setsockopt SO_SELECT_ERR_QUEUE", errno);
  return NULL;
}

/*
 * txTimestamps(fd, out): drains the error queue without blocking, at most out.length / 2 stamps. For each
 * transmit stamp writes [send number, the stamp as stamp_of() gives it] to `out` (a Float64Array); returns how
 * many. Anything else in the queue is dropped. Throws on a receive error other than an empty queue.
 */
napi_value pinger_tx_timestamps(napi_env env, napi_callback_info info) {
  napi_value argv[2];
  int32_t fd;
  if (!get_args(env, info, 2, argv) || !get_int(env, argv[0], "fd", &fd)) return NULL;
  double *out;
  size_t length;
  if (!get_doubles(env, argv[1], "out", 2, &out, &length)) return NULL;
  size_t room = length / 2, count = 0;

  struct mmsghdr messages[BATCH];
  union {
    char bytes[CMSG_SPACE(sizeof(struct scm_timestamping)) + CMSG_SPACE(sizeof(struct sock_extended_err) + 64)];
    struct cmsghdr align;
  } control[BATCH];
  for (;;) {
    size_t want = room - count < BATCH ? room - count : BATCH;
    if (want == 0) break;
    memset(messages, 0, sizeof messages[0] * want);
    for (size_t i = 0; i < want; i++) {
      messages[i].msg_hdr.msg_control = control[i].bytes;
      messages[i].msg_hdr.msg_controllen = sizeof control[i].bytes;
    }
    int got;
    do {
      got = recvmmsg(fd, messages, (unsigned)want, MSG_ERRQUEUE | MSG_DONTWAIT, NULL);
    } while (got < 0 && errno == EINTR);
    if (got < 0) {
      if (errno == EAGAIN || errno == EWOULDBLOCK) break;
      return throw_errno(env, "recvmmsg MSG_ERRQUEUE", errno);
    }
    for (int i = 0; i < got; i++) {
      struct msghdr *m = &messages[i].msg_hdr;
      int64_t stamp = 0;
      int64_t key = -1;
      for (struct cmsghdr *c = CMSG_FIRSTHDR(m); c != NULL; c = CMSG_NXTHDR(m, c)) {
        if (c->cmsg_level == SOL_SOCKET && c->cmsg_type == SCM_TIMESTAMPING) {
          struct scm_timestamping t;
          memcpy(&t, CMSG_DATA(c), sizeof t);
          stamp = ns_of(&t.ts[0]);
        } else if ((c->cmsg_level == SOL_IP && c->cmsg_type == IP_RECVERR) ||
                   (c->cmsg_level == SOL_IPV6 && c->cmsg_type == IPV6_RECVERR)) {
          struct sock_extended_err e;
          memcpy(&e, CMSG_DATA(c), sizeof e);
          if (e.ee_errno == ENOMSG && e.ee_origin == SO_EE_ORIGIN_TIMESTAMPING && e.ee_info == SCM_TSTAMP_SND)
            key = e.ee_data;
        }
      }
      if (stamp == 0 || key < 0) continue;
      out[2 * count] = (double)key;
      out[2 * count + 1] = stamp_of(stamp);
      count++;
    }
    if ((size_t)got < want) break;
  }
  napi_value result;
  CHECK(env, napi_create_uint32(env, (uint32_t)count, &result));
  return result;
}
