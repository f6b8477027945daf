/*
 * The local address the kernel would send from towards a target: what UDP and TCP over IPv4 need for the
 * pseudo-header of the checksums they compute (raw IPv4 sockets leave it to us).
 *
 * JavaScript can only ask by connecting a fresh UDP socket and waiting for its callback — a socket, a promise
 * and a turn of the loop per address, which a census sweeping a /16 over TCP pays 65,534 times (and whose cache
 * of answers the young generation then copies). Here it is three system calls on one UDP socket per thread:
 * connect() to the target (the kernel picks the route and the source; no packet is sent), getsockname(), and a
 * connect() to AF_UNSPEC first, which forgets the previous source so that the next connect picks it afresh.
 */
#define _GNU_SOURCE
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include "native.h"

/* One socket per family and thread (worker threads share the library's statics). */
static __thread int route_fd[2] = {-1, -1};

napi_value pinger_source_for(napi_env env, napi_callback_info info) {
  napi_value argv[2];
  if (!get_args(env, info, 2, argv)) return NULL;
  napi_typedarray_type type;
  size_t to_length, out_length;
  void *to, *out;
  if (napi_get_typedarray_info(env, argv[0], &type, &to_length, &to, NULL, NULL) != napi_ok ||
      type != napi_uint8_array || (to_length != 4 && to_length != 16)) {
    napi_throw_type_error(env, "ERR_INVALID_ARG_TYPE", "address must be a Uint8Array of 4 or 16 bytes");
    return NULL;
  }
  if (napi_get_typedarray_info(env, argv[1], &type, &out_length, &out, NULL, NULL) != napi_ok ||
      type != napi_uint8_array || out_length != to_length) {
    napi_throw_type_error(env, "ERR_INVALID_ARG_TYPE", "out must be a Uint8Array as long as the address");
    return NULL;
  }
  int v6 = to_length == 16;
  int *fd = &route_fd[v6];
  if (*fd < 0) {
    *fd = socket(v6 ? AF_INET6 : AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    if (*fd < 0) return throw_errno(env, "socket", errno);
  }
  struct sockaddr_storage peer;
  socklen_t peer_length;
  memset(&peer, 0, sizeof peer);
  peer.ss_family = AF_UNSPEC;
  /* Forgets the last target and its source address; it fails only when there was none. */
  (void)connect(*fd, (struct sockaddr *)&peer, sizeof peer.ss_family);
  if (v6) {
    struct sockaddr_in6 *in6 = (struct sockaddr_in6 *)&peer;
    in6->sin6_family = AF_INET6;
    in6->sin6_port = htons(9);
    memcpy(&in6->sin6_addr, to, 16);
    peer_length = sizeof *in6;
  } else {
    struct sockaddr_in *in = (struct sockaddr_in *)&peer;
    in->sin_family = AF_INET;
    in->sin_port = htons(9);
    memcpy(&in->sin_addr, to, 4);
    peer_length = sizeof *in;
  }
  if (connect(*fd, (struct sockaddr *)&peer, peer_length) != 0) return throw_errno(env, "connect", errno);
  struct sockaddr_storage local;
  socklen_t local_length = sizeof local;
  if (getsockname(*fd, (struct sockaddr *)&local, &local_length) != 0)
    return throw_errno(env, "getsockname", errno);
  if (v6)
    memcpy(out, &((struct sockaddr_in6 *)&local)->sin6_addr, 16);
  else
    memcpy(out, &((struct sockaddr_in *)&local)->sin_addr, 4);
  return NULL;
}
