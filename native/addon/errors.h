// Errors shaped like Node's SystemError: code, errno (negative), syscall.
#pragma once

#include <napi.h>

namespace ibmvmc {

// The symbolic name of an errno value ("EBUSY"), or "UNKNOWN".
const char* ErrnoName(int err);

// A JavaScript Error with code, errno (negative, Node's convention), syscall
// and, when given, path; the message reads like Node's:
// "EBUSY: Device or resource busy, write".
Napi::Error MakeSystemError(Napi::Env env, int err, const char* syscall,
                            const char* path = nullptr);

// Every errno the driver, the fake, the shim or getsockopt(SO_PEERCRED) can
// produce, by name, as this build's C library defines them.
Napi::Object ErrnoConstants(Napi::Env env);

}  // namespace ibmvmc
