/*
 * What the addon's source files share: argument checks and errors in one style, and the clock helpers. Every
 * function here is static inline: each .c file is small and the addon has no other link-time structure.
 */
#ifndef PINGER_NATIVE_H
#define PINGER_NATIVE_H

#include <errno.h>
#include <node_api.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#define CHECK(env, call)                                                    \
  do {                                                                      \
    if ((call) != napi_ok) {                                                \
      napi_throw_error((env), "ERR_PINGER_NATIVE", "N-API call failed: " #call); \
      return NULL;                                                          \
    }                                                                       \
  } while (0)

/*
 * The kernel stamps packets on CLOCK_REALTIME, which a step of the wall clock moves. An age outside
 * [0, MAX_AGE_NS) can only come from such a step between the stamp and the read, so the read time is used
 * instead. A smaller step forward goes unnoticed and makes that stamp earlier by the step.
 */
#define MAX_AGE_NS 10000000000LL

static inline napi_value throw_errno(napi_env env, const char *what, int err) {
  char message[256];
  snprintf(message, sizeof message, "%s: %s", what, strerror(err));
  napi_throw_error(env, "ERR_PINGER_NATIVE", message);
  return NULL;
}

static inline int get_args(napi_env env, napi_callback_info info, size_t want, napi_value *argv) {
  size_t argc = want;
  if (napi_get_cb_info(env, info, &argc, argv, NULL, NULL) != napi_ok || argc < want) {
    napi_throw_type_error(env, "ERR_INVALID_ARG_COUNT", "missing arguments");
    return 0;
  }
  return 1;
}

static inline int get_int(napi_env env, napi_value value, const char *name, int32_t *out) {
  if (napi_get_value_int32(env, value, out) != napi_ok) {
    char message[96];
    snprintf(message, sizeof message, "%s must be a number", name);
    napi_throw_type_error(env, "ERR_INVALID_ARG_TYPE", message);
    return 0;
  }
  return 1;
}

/* The data and length of a BigInt64Array argument of at least `min` elements, or 0 with a TypeError thrown. */
static inline int get_bigints(napi_env env, napi_value value, const char *name, size_t min, int64_t **out,
                              size_t *length) {
  napi_typedarray_type type;
  void *data;
  if (napi_get_typedarray_info(env, value, &type, length, &data, NULL, NULL) != napi_ok ||
      type != napi_bigint64_array || *length < min) {
    char message[96];
    snprintf(message, sizeof message, "%s must be a BigInt64Array of at least %zu", name, min);
    napi_throw_type_error(env, "ERR_INVALID_ARG_TYPE", message);
    return 0;
  }
  *out = data;
  return 1;
}

/* The data and length of a Float64Array argument of at least `min` elements, or 0 with a TypeError thrown. */
static inline int get_doubles(napi_env env, napi_value value, const char *name, size_t min, double **out,
                              size_t *length) {
  napi_typedarray_type type;
  void *data;
  if (napi_get_typedarray_info(env, value, &type, length, &data, NULL, NULL) != napi_ok ||
      type != napi_float64_array || *length < min) {
    char message[96];
    snprintf(message, sizeof message, "%s must be a Float64Array of at least %zu", name, min);
    napi_throw_type_error(env, "ERR_INVALID_ARG_TYPE", message);
    return 0;
  }
  *out = data;
  return 1;
}

static inline int64_t ns_of(const struct timespec *t) { return (int64_t)t->tv_sec * 1000000000LL + t->tv_nsec; }

/*
 * Kernel stamps (CLOCK_REALTIME ns) handed to JavaScript as doubles: ns since the wall-clock second the addon
 * was loaded, exact below 2^53 ns (104 days of uptime; 2 ns steps for the next 104, and so on). Numbers, not
 * BigInts: the probe path subtracts two stamps per probe, and a BigInt per operation is an allocation. Only
 * differences of stamps are used, so any base shared by every socket of the process will do.
 */
extern int64_t pinger_stamp_base_ns;

static inline double stamp_of(int64_t real_ns) { return (double)(real_ns - pinger_stamp_base_ns); }

/*
 * A kernel stamp (CLOCK_REALTIME ns) moved onto the CLOCK_MONOTONIC timeline that process.hrtime.bigint() reads:
 * now on the monotonic clock minus the stamp's age on the wall clock. Wall clock first: a preemption between the
 * two reads makes the result later, never earlier. Returns 0 when the age is out of bounds (see MAX_AGE_NS).
 */
static inline int64_t monotonic_of(int64_t stamp_real) {
  struct timespec now_real, now_mono;
  clock_gettime(CLOCK_REALTIME, &now_real);
  clock_gettime(CLOCK_MONOTONIC, &now_mono);
  int64_t age = ns_of(&now_real) - stamp_real;
  if (age < 0 || age >= MAX_AGE_NS) return 0;
  return ns_of(&now_mono) - age;
}

/* The functions each source file adds to the module. */
napi_value pinger_watch(napi_env env, napi_callback_info info);
napi_value pinger_set_watch(napi_env env, napi_callback_info info);
napi_value pinger_unwatch(napi_env env, napi_callback_info info);
napi_value pinger_enable_tx_timestamps(napi_env env, napi_callback_info info);
napi_value pinger_tx_timestamps(napi_env env, napi_callback_info info);
napi_value pinger_source_for(napi_env env, napi_callback_info info);

#endif
