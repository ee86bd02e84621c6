// One open file descriptor of the device, with its readability watcher.
// Each method, and each call of the watcher, makes one system call at most;
// the TypeScript layer owns all policy.
#pragma once

#include <napi.h>
#include <uv.h>

namespace ibmvmc {

class DeviceHandle : public Napi::ObjectWrap<DeviceHandle> {
 public:
  static Napi::Function Define(Napi::Env env);

  explicit DeviceHandle(const Napi::CallbackInfo& info);
  ~DeviceHandle() override;

  // The fd and its watcher, which live apart from this object: libuv may
  // still hold the poll handle, and Node the cleanup hook, after it is gone.
  struct Core;

 private:
  friend class RequestVmcWorker;

  Napi::Value Fd(const Napi::CallbackInfo& info);
  Napi::Value SetHmcId(const Napi::CallbackInfo& info);
  Napi::Value Query(const Napi::CallbackInfo& info);
  Napi::Value RequestVmc(const Napi::CallbackInfo& info);
  Napi::Value Read(const Napi::CallbackInfo& info);
  Napi::Value Write(const Napi::CallbackInfo& info);
  Napi::Value Watch(const Napi::CallbackInfo& info);
  Napi::Value Unwatch(const Napi::CallbackInfo& info);
  Napi::Value SetRef(const Napi::CallbackInfo& info);
  Napi::Value Close(const Napi::CallbackInfo& info);

  // Throws EBADF when the handle was closed, so no call reaches a reused fd.
  int LiveFd(Napi::Env env) const;
  void StopWatching();

  Core* core_;
};

}  // namespace ibmvmc
