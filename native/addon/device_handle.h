// One open file descriptor of the device, with its readability watcher.
// Each method is one system call; the TypeScript layer owns all policy.
#pragma once

#include <napi.h>
#include <uv.h>

#include <memory>

namespace ibmvmc {

class DeviceHandle : public Napi::ObjectWrap<DeviceHandle> {
 public:
  static Napi::Function Define(Napi::Env env);

  explicit DeviceHandle(const Napi::CallbackInfo& info);
  ~DeviceHandle() override;

 private:
  friend class RequestVmcWorker;
  struct Watcher;

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
  void ReleaseWatcher();
  // Closes the fd now, or once in-flight ioctls are done (returns false then).
  bool CloseFd(int* close_errno);
  void RequestVmcDone();
  static void OnReadable(uv_poll_t* poll, int status, int events);
  static void OnEnvCleanup(napi_async_cleanup_hook_handle hook, void* arg);

  int fd_ = -1;
  bool closing_ = false;  // close() was called; the fd stays until in_flight_ is 0
  int in_flight_ = 0;     // REQUESTVMC calls running on the thread pool
  bool ref_ = false;      // whether an active watcher keeps the event loop alive
  Watcher* watcher_ = nullptr;
  napi_async_cleanup_hook_handle cleanup_hook_ = nullptr;
};

}  // namespace ibmvmc
