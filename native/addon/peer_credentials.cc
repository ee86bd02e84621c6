#include "peer_credentials.h"

#include <errno.h>
#include <sys/socket.h>

#include <climits>
#include <cmath>

#include "errors.h"

namespace ibmvmc {

Napi::Value PeerCredentials(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (info.Length() < 1 || !info[0].IsNumber())
    throw Napi::TypeError::New(env, "fd must be a number");
  double value = info[0].As<Napi::Number>().DoubleValue();
  if (!(value >= 0 && value <= INT_MAX) || std::trunc(value) != value)
    throw Napi::RangeError::New(env, "fd must be an integer from 0 to 2147483647");
  int fd = static_cast<int>(value);
  // The credentials the kernel recorded when the peer connected (or, for a
  // listening socket, when it listened). A socket with none, such as TCP or
  // an unconnected Unix socket, gives pid 0 and uid and gid (uid_t)-1.
  struct ucred credentials = {};
  socklen_t length = sizeof(credentials);
  if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &credentials, &length) < 0)
    throw MakeSystemError(env, errno, "getsockopt");
  Napi::Object result = Napi::Object::New(env);
  result.Set("pid", Napi::Number::New(env, credentials.pid));
  result.Set("uid", Napi::Number::New(env, static_cast<double>(credentials.uid)));
  result.Set("gid", Napi::Number::New(env, static_cast<double>(credentials.gid)));
  return result;
}

}  // namespace ibmvmc
