/*
 * A libuv poll of a raw socket that also reports its error queue. raw-socket polls its descriptor for
 * readable/writable only, and libuv reports POLLERR without POLLPRI as a dead descriptor (UV_EBADF), upon which
 * raw-socket closes the socket: with transmit stamps queued in the error queue (tx-timestamps.c) that happens at
 * the first probe. The channel therefore stops raw-socket's poll (pause) and watches the descriptor here, with
 * UV_PRIORITIZED, which the kernel raises with POLLERR once SO_SELECT_ERR_QUEUE is set.
 *
 * One poll per descriptor and loop: raw-socket's must be stopped before watch() and never started again, and
 * unwatch() must come before the socket closes.
 */
#include <stdlib.h>
#include <uv.h>

#include "native.h"

typedef struct {
  uv_poll_t poll;
  napi_env env;
  napi_ref callback;
  napi_async_context context;
  int closed;
  /* Owners of this memory: the poll until its close callback, and the JS external until it is finalized. */
  int owners;
} watch_t;

static void release(watch_t *w) {
  if (--w->owners == 0) free(w);
}

static void on_close(uv_handle_t *handle) { release((watch_t *)handle->data); }

/* Stops the poll and lets go of the callback; the memory goes with the last owner. */
static void stop(watch_t *w) {
  if (w->closed) return;
  w->closed = 1;
  uv_poll_stop(&w->poll);
  uv_close((uv_handle_t *)&w->poll, on_close);
  napi_delete_reference(w->env, w->callback);
  napi_async_destroy(w->env, w->context);
}

static void on_cleanup(void *data) {
  watch_t *w = data;
  /* The environment is going away: the loop may not turn again, so the poll is only stopped. */
  if (!w->closed) {
    w->closed = 1;
    uv_poll_stop(&w->poll);
  }
}

static void on_finalize(napi_env env, void *data, void *hint) {
  (void)hint;
  watch_t *w = data;
  if (!w->closed) {
    napi_remove_env_cleanup_hook(env, on_cleanup, w);
    stop(w);
  }
  release(w);
}

/* Calls the JS callback with the libuv event bits, or with a negative libuv error. */
static void on_poll(uv_poll_t *handle, int status, int events) {
  watch_t *w = handle->data;
  if (w->closed) return;
  napi_env env = w->env;
  napi_handle_scope scope;
  if (napi_open_handle_scope(env, &scope) != napi_ok) return;
  napi_value callback, recv, arg;
  if (napi_get_reference_value(env, w->callback, &callback) == napi_ok && callback != NULL &&
      napi_get_global(env, &recv) == napi_ok &&
      napi_create_int32(env, status < 0 ? status : events, &arg) == napi_ok) {
    if (napi_make_callback(env, w->context, recv, callback, 1, &arg, NULL) == napi_pending_exception) {
      napi_value error;
      if (napi_get_and_clear_last_exception(env, &error) == napi_ok) napi_fatal_exception(env, error);
    }
  }
  napi_close_handle_scope(env, scope);
}

static watch_t *get_watch(napi_env env, napi_value value) {
  void *data = NULL;
  if (napi_get_value_external(env, value, &data) != napi_ok || data == NULL) {
    napi_throw_type_error(env, "ERR_INVALID_ARG_TYPE", "handle must be what watch() returned");
    return NULL;
  }
  return data;
}

static int get_events(napi_env env, napi_value value, int *events) {
  int32_t writable;
  if (!get_int(env, value, "writable", &writable)) return 0;
  *events = UV_READABLE | UV_PRIORITIZED | (writable ? UV_WRITABLE : 0);
  return 1;
}

/*
 * watch(fd, callback, writable): polls `fd` for readable data and error-queue entries (and room to send while
 * `writable` is 1); `callback(events)` gets libuv's bits (1 readable, 2 writable, 8 prioritized: the error
 * queue), or a negative libuv error code. Returns the handle for setWatch and unwatch.
 */
napi_value pinger_watch(napi_env env, napi_callback_info info) {
  napi_value argv[3];
  int32_t fd;
  int events;
  if (!get_args(env, info, 3, argv) || !get_int(env, argv[0], "fd", &fd) || !get_events(env, argv[2], &events))
    return NULL;
  napi_valuetype type;
  if (napi_typeof(env, argv[1], &type) != napi_ok || type != napi_function) {
    napi_throw_type_error(env, "ERR_INVALID_ARG_TYPE", "callback must be a function");
    return NULL;
  }
  uv_loop_t *loop;
  CHECK(env, napi_get_uv_event_loop(env, &loop));
  watch_t *w = calloc(1, sizeof *w);
  if (w == NULL) return throw_errno(env, "watch", ENOMEM);
  int rc = uv_poll_init(loop, &w->poll, fd);
  if (rc != 0) {
    free(w);
    char message[128];
    snprintf(message, sizeof message, "uv_poll_init: %s", uv_strerror(rc));
    napi_throw_error(env, "ERR_PINGER_NATIVE", message);
    return NULL;
  }
  w->poll.data = w;
  w->env = env;
  w->owners = 2;
  napi_value name, handle;
  if (napi_create_reference(env, argv[1], 1, &w->callback) != napi_ok ||
      napi_create_string_utf8(env, "pinger:watch", NAPI_AUTO_LENGTH, &name) != napi_ok ||
      napi_async_init(env, NULL, name, &w->context) != napi_ok ||
      napi_create_external(env, w, on_finalize, NULL, &handle) != napi_ok) {
    /* Nothing refers to w yet but the poll: closing it frees w. */
    w->owners = 1;
    w->closed = 1;
    uv_close((uv_handle_t *)&w->poll, on_close);
    napi_throw_error(env, "ERR_PINGER_NATIVE", "N-API call failed: setting up a watch");
    return NULL;
  }
  napi_add_env_cleanup_hook(env, on_cleanup, w);
  rc = uv_poll_start(&w->poll, events, on_poll);
  if (rc != 0) {
    char message[128];
    snprintf(message, sizeof message, "uv_poll_start: %s", uv_strerror(rc));
    napi_throw_error(env, "ERR_PINGER_NATIVE", message);
    return NULL;
  }
  return handle;
}

/* setWatch(handle, writable): whether to report room to send too (while sends wait in the channel's backlog). */
napi_value pinger_set_watch(napi_env env, napi_callback_info info) {
  napi_value argv[2];
  int events;
  if (!get_args(env, info, 2, argv)) return NULL;
  watch_t *w = get_watch(env, argv[0]);
  if (w == NULL || !get_events(env, argv[1], &events)) return NULL;
  if (w->closed) return NULL;
  int rc = uv_poll_start(&w->poll, events, on_poll);
  if (rc != 0) {
    char message[128];
    snprintf(message, sizeof message, "uv_poll_start: %s", uv_strerror(rc));
    napi_throw_error(env, "ERR_PINGER_NATIVE", message);
  }
  return NULL;
}

/* unwatch(handle): stops the poll for good; call it before the descriptor closes. Idempotent. */
napi_value pinger_unwatch(napi_env env, napi_callback_info info) {
  napi_value argv[1];
  if (!get_args(env, info, 1, argv)) return NULL;
  watch_t *w = get_watch(env, argv[0]);
  if (w == NULL) return NULL;
  if (!w->closed) {
    napi_remove_env_cleanup_hook(env, on_cleanup, w);
    stop(w);
  }
  return NULL;
}
