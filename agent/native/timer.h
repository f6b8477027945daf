/* The addon's Timer class (timer.c), registered from the module init in receive.c. */
#ifndef PINGER_NATIVE_TIMER_H
#define PINGER_NATIVE_TIMER_H
#include <node_api.h>

/** Adds the Timer class to `exports`. */
napi_status timer_register(napi_env env, napi_value exports);

#endif
