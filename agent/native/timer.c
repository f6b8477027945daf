/*
 * pinger_native Timer: a one-shot timer with sub-millisecond resolution for the probe scheduler.
 *
 * Node's setTimeout has millisecond granularity: libuv rounds a timer up to the next whole millisecond of loop
 * time, so a probe scheduled for a slot leaves 0 to ~1 ms after it. This timer is a timerfd (CLOCK_MONOTONIC,
 * armed at an absolute deadline in ns on the clock that process.hrtime.bigint() reads) watched by a libuv poll
 * handle on the environment's loop, so it wakes the loop within the kernel's timer slack (50 µs by default) of
 * its deadline and runs the callback as any Node callback runs (napi_make_callback: nextTicks and microtasks
 * follow it, async hooks see it, a throw is an uncaught exception).
 *
 * Like a ref'd setTimeout, an armed timer keeps the loop (and its JS object) alive and a disarmed one does not.
 * The object owns a descriptor: close() it when done (the callback is held strongly until then). A timer that
 * the GC collects unarmed, or that is still open at environment teardown, is closed then.
 */
#define _GNU_SOURCE
#include "timer.h"

#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/timerfd.h>
#include <unistd.h>
#include <uv.h>

#define CHECK(env, call)                                                         \
  do {                                                                           \
    if ((call) != napi_ok) {                                                     \
      napi_throw_error((env), "ERR_PINGER_NATIVE", "N-API call failed: " #call); \
      return NULL;                                                               \
    }                                                                            \
  } while (0)

typedef struct pinger_timer {
  uv_poll_t poll; /* poll.data points back here */
  napi_env env;
  int fd;         /* -1 once closed */
  int armed;     /* armed ⇔ the poll handle is ref'd (it is started from creation to close) */
  /* Owners of this memory: the JS object (until finalised) and the poll handle (until its close callback). */
  int owners;
  napi_ref callback;
  napi_ref self; /* 1 while armed, so an armed timer's object stays alive; 0 otherwise */
  napi_async_context async_context;
} pinger_timer;

static void release(pinger_timer *t) {
  if (--t->owners == 0) free(t);
}

static void on_poll_closed(uv_handle_t *handle) { release((pinger_timer *)handle->data); }

static napi_value throw_errno(napi_env env, const char *what, int err) {
  char message[256];
  snprintf(message, sizeof message, "[agent:timer] %s: %s", what, strerror(err));
  napi_throw_error(env, "ERR_PINGER_NATIVE", message);
  return NULL;
}

static napi_value throw_uv(napi_env env, const char *what, int err) {
  char message[256];
  snprintf(message, sizeof message, "[agent:timer] %s: %s", what, uv_strerror(err));
  napi_throw_error(env, "ERR_PINGER_NATIVE", message);
  return NULL;
}

/* Releases the descriptor and the poll handle; the memory goes when both owners have let go. Idempotent. */
static void close_native(pinger_timer *t) {
  if (t->fd < 0) return;
  uv_poll_stop(&t->poll); /* cannot fail on a valid handle */
  uv_close((uv_handle_t *)&t->poll, on_poll_closed);
  close(t->fd);
  t->fd = -1;
  t->armed = 0;
}

static void on_env_teardown(void *arg) {
  pinger_timer *t = arg;
  close_native(t);
  /* The references and async context die with the environment; the finaliser (if it still runs) frees. */
  t->env = NULL;
}

/* Ends the JS-side resources of an open timer: unregisters teardown, drops the references. */
static void close_js(napi_env env, pinger_timer *t) {
  if (t->fd < 0) return;
  napi_remove_env_cleanup_hook(env, on_env_teardown, t);
  close_native(t);
  if (t->callback != NULL) napi_delete_reference(env, t->callback);
  t->callback = NULL;
  if (t->async_context != NULL) napi_async_destroy(env, t->async_context);
  t->async_context = NULL;
}

static void finalize(napi_env env, void *data, void *hint) {
  (void)hint;
  pinger_timer *t = data;
  if (t->env != NULL) close_js(env, t);
  if (t->self != NULL && t->env != NULL) napi_delete_reference(env, t->self);
  t->self = NULL;
  release(t);
}

/* Drops the keep-alive of an armed timer (loop and object). */
static napi_status disarm_state(napi_env env, pinger_timer *t) {
  if (!t->armed) return napi_ok;
  t->armed = 0;
  uv_unref((uv_handle_t *)&t->poll);
  uint32_t count;
  return napi_reference_unref(env, t->self, &count);
}

static void on_readable(uv_poll_t *handle, int status, int events) {
  (void)events;
  pinger_timer *t = handle->data;
  napi_env env = t->env;
  if (env == NULL || t->fd < 0) return;
  uint64_t expirations;
  if (status == 0 && read(t->fd, &expirations, sizeof expirations) < 0) {
    if (errno == EAGAIN || errno == EINTR) return; /* re-armed since it became readable: not expired yet */
    status = uv_translate_sys_error(errno);
  }
  if (!t->armed && status == 0) return; /* cannot happen: disarming clears a pending expiry */
  napi_handle_scope scope;
  if (napi_open_handle_scope(env, &scope) != napi_ok) return;
  napi_value self = NULL, callback = NULL, error = NULL;
  /* The locals keep the object and the callback alive through the call, so the keep-alive can go first: the
   * callback may arm this timer again. */
  if (napi_get_reference_value(env, t->self, &self) != napi_ok || self == NULL ||
      napi_get_reference_value(env, t->callback, &callback) != napi_ok || callback == NULL ||
      disarm_state(env, t) != napi_ok) {
    napi_throw_error(env, "ERR_PINGER_NATIVE", "[agent:timer] cannot reach the timer's callback");
  } else if (status < 0) {
    /* Not expected of a timerfd; a level-triggered error would spin the loop, so the timer closes, and the error
     * surfaces as an uncaught exception (as a throwing callback's would). */
    close_js(env, t);
    char message[256];
    snprintf(message, sizeof message, "[agent:timer] poll: %s", uv_strerror(status));
    napi_throw_error(env, "ERR_PINGER_NATIVE", message);
  } else {
    napi_value result;
    napi_make_callback(env, t->async_context, self, callback, 0, NULL, &result);
  }
  bool pending = false;
  if (napi_is_exception_pending(env, &pending) == napi_ok && pending &&
      napi_get_and_clear_last_exception(env, &error) == napi_ok)
    napi_fatal_exception(env, error); /* process 'uncaughtException', as for a setTimeout callback */
  napi_close_handle_scope(env, scope);
}

static pinger_timer *unwrap(napi_env env, napi_callback_info info, size_t want, napi_value *argv) {
  size_t argc = want;
  napi_value self;
  pinger_timer *t = NULL;
  if (napi_get_cb_info(env, info, &argc, argv, &self, NULL) != napi_ok ||
      napi_unwrap(env, self, (void **)&t) != napi_ok || t == NULL) {
    napi_throw_type_error(env, "ERR_INVALID_THIS", "[agent:timer] not a Timer");
    return NULL;
  }
  if (argc < want) {
    napi_throw_type_error(env, "ERR_INVALID_ARG_COUNT", "[agent:timer] missing arguments");
    return NULL;
  }
  return t;
}

/* new Timer(callback) */
static napi_value timer_new(napi_env env, napi_callback_info info) {
  size_t argc = 1;
  napi_value argv[1], self;
  CHECK(env, napi_get_cb_info(env, info, &argc, argv, &self, NULL));
  napi_valuetype type = napi_undefined;
  if (argc < 1 || napi_typeof(env, argv[0], &type) != napi_ok || type != napi_function) {
    napi_throw_type_error(env, "ERR_INVALID_ARG_TYPE", "[agent:timer] callback: must be a function");
    return NULL;
  }
  uv_loop_t *loop;
  CHECK(env, napi_get_uv_event_loop(env, &loop));
  pinger_timer *t = calloc(1, sizeof *t);
  if (t == NULL) return throw_errno(env, "calloc", ENOMEM);
  t->env = env;
  t->fd = timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK | TFD_CLOEXEC);
  if (t->fd < 0) {
    int err = errno;
    free(t);
    return throw_errno(env, "timerfd_create", err);
  }
  int rc = uv_poll_init(loop, &t->poll, t->fd);
  if (rc < 0) {
    close(t->fd);
    free(t);
    return throw_uv(env, "uv_poll_init", rc);
  }
  t->poll.data = t;
  t->owners = 2;
  /* Watched from now to close() and unref'd while unarmed: re-arming is then a timerfd_settime and a uv_ref, with
   * no epoll_ctl (a stopped-and-restarted poll is re-registered with epoll on every arming). A disarmed timerfd
   * never becomes readable, and a fired one is read at once, so an unarmed timer costs the loop nothing. */
  rc = uv_poll_start(&t->poll, UV_READABLE, on_readable);
  if (rc < 0) {
    uv_close((uv_handle_t *)&t->poll, on_poll_closed);
    close(t->fd);
    t->fd = -1;
    release(t);
    return throw_uv(env, "uv_poll_start", rc);
  }
  uv_unref((uv_handle_t *)&t->poll);
  napi_value name;
  napi_status s = napi_create_string_utf8(env, "PingerTimer", NAPI_AUTO_LENGTH, &name);
  if (s == napi_ok) s = napi_async_init(env, self, name, &t->async_context);
  if (s == napi_ok) s = napi_create_reference(env, argv[0], 1, &t->callback);
  if (s == napi_ok) s = napi_add_env_cleanup_hook(env, on_env_teardown, t);
  if (s != napi_ok) {
    close_js(env, t); /* the hook removal of a hook never added is a no-op */
    release(t);       /* no JS owner: the poll close callback frees */
    napi_throw_error(env, "ERR_PINGER_NATIVE", "[agent:timer] N-API call failed while creating a Timer");
    return NULL;
  }
  if (napi_wrap(env, self, t, finalize, NULL, &t->self) != napi_ok) {
    close_js(env, t);
    release(t);
    napi_throw_error(env, "ERR_PINGER_NATIVE", "N-API call failed: napi_wrap");
    return NULL;
  }
  return NULL;
}

/* timer.arm(deadlineNs: bigint): fires once at that CLOCK_MONOTONIC time (at once when it is past). */
static napi_value timer_arm(napi_env env, napi_callback_info info) {
  napi_value argv[1];
  pinger_timer *t = unwrap(env, info, 1, argv);
  if (t == NULL) return NULL;
  if (t->fd < 0) {
    napi_throw_error(env, "ERR_PINGER_NATIVE", "[agent:timer] arm: the timer is closed");
    return NULL;
  }
  int64_t deadline;
  bool lossless;
  if (napi_get_value_bigint_int64(env, argv[0], &deadline, &lossless) != napi_ok || !lossless) {
    napi_throw_type_error(env, "ERR_INVALID_ARG_TYPE",
                          "[agent:timer] deadlineNs: must be a bigint within int64 (process.hrtime.bigint() ns)");
    return NULL;
  }
  if (deadline < 1) deadline = 1; /* an all-zero it_value would disarm; 1 ns is past, so it fires at once */
  struct itimerspec spec = {.it_interval = {0, 0},
                            .it_value = {.tv_sec = deadline / 1000000000, .tv_nsec = deadline % 1000000000}};
  /* Setting the timer also discards an expiry not read yet, so a re-armed timer fires only at its new time. */
  if (timerfd_settime(t->fd, TFD_TIMER_ABSTIME, &spec, NULL) < 0) return throw_errno(env, "timerfd_settime", errno);
  if (!t->armed) {
    uint32_t count;
    CHECK(env, napi_reference_ref(env, t->self, &count));
    uv_ref((uv_handle_t *)&t->poll);
    t->armed = 1;
  }
  return NULL;
}

/* timer.disarm(): it will not fire until armed again. */
static napi_value timer_disarm(napi_env env, napi_callback_info info) {
  pinger_timer *t = unwrap(env, info, 0, NULL);
  if (t == NULL || t->fd < 0) return NULL;
  if (t->armed) {
    static const struct itimerspec zero;
    if (timerfd_settime(t->fd, 0, &zero, NULL) < 0) return throw_errno(env, "timerfd_settime", errno);
  }
  CHECK(env, disarm_state(env, t));
  return NULL;
}

/* timer.close(): disarms and releases the descriptor. Idempotent. */
static napi_value timer_close(napi_env env, napi_callback_info info) {
  pinger_timer *t = unwrap(env, info, 0, NULL);
  if (t == NULL || t->fd < 0) return NULL;
  CHECK(env, disarm_state(env, t));
  close_js(env, t);
  return NULL;
}

napi_status timer_register(napi_env env, napi_value exports) {
  napi_property_descriptor methods[] = {
      {"arm", NULL, timer_arm, NULL, NULL, NULL, napi_default_method, NULL},
      {"disarm", NULL, timer_disarm, NULL, NULL, NULL, napi_default_method, NULL},
      {"close", NULL, timer_close, NULL, NULL, NULL, napi_default_method, NULL},
  };
  napi_value cls;
  napi_status s = napi_define_class(env, "Timer", NAPI_AUTO_LENGTH, timer_new, NULL,
                                    sizeof methods / sizeof methods[0], methods, &cls);
  if (s != napi_ok) return s;
  return napi_set_named_property(env, exports, "Timer", cls);
}
