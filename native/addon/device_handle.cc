#include "device_handle.h"

#include <errno.h>
#include <fcntl.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include "errors.h"
#include "ibmvmc_abi.h"

namespace ibmvmc {

// The libuv poll handle outlives the DeviceHandle if need be: libuv frees it
// only in its close callback, after the loop has let go of it.
struct DeviceHandle::Watcher {
  uv_poll_t poll;
  Napi::FunctionReference callback;
  std::unique_ptr<Napi::AsyncContext> context;
  DeviceHandle* owner;
  bool active = false;
};

namespace {

// A syscall interrupted by a signal did nothing; doing it again is not policy.
template <typename Call>
auto RetryOnEintr(Call call) -> decltype(call()) {
  decltype(call()) result;
  do {
    result = call();
  } while (result < 0 && errno == EINTR);
  return result;
}

}  // namespace

class RequestVmcWorker : public Napi::AsyncWorker {
 public:
  RequestVmcWorker(Napi::Env env, DeviceHandle* handle)
      : Napi::AsyncWorker(env, "IbmvmcRequestVmc"),
        deferred_(Napi::Promise::Deferred::New(env)),
        handle_(handle),
        fd_(handle->fd_) {
    handle_->Ref();
    handle_->in_flight_++;
  }

  Napi::Promise Promise() const { return deferred_.Promise(); }

  // On a pool thread: the hypervisor call can sleep. It always returns.
  void Execute() override {
    unsigned int index = 0;
    int rc = RetryOnEintr([&] { return ioctl(fd_, IBMVMC_IOCTL_REQUESTVMC, &index); });
    error_ = rc < 0 ? errno : 0;
    index_ = index;
  }

  void OnOK() override {
    Napi::Env env = Env();
    handle_->RequestVmcDone();
    if (error_ != 0) {
      deferred_.Reject(MakeSystemError(env, error_, "ioctl:REQUESTVMC").Value());
    } else {
      deferred_.Resolve(Napi::Number::New(env, index_));
    }
    handle_->Unref();
  }

 private:
  Napi::Promise::Deferred deferred_;
  DeviceHandle* handle_;
  int fd_;
  int error_ = 0;
  unsigned int index_ = 0;
};

Napi::Function DeviceHandle::Define(Napi::Env env) {
  return DefineClass(env, "DeviceHandle",
                     {
                         InstanceAccessor<&DeviceHandle::Fd>("fd"),
                         InstanceMethod<&DeviceHandle::SetHmcId>("setHmcId"),
                         InstanceMethod<&DeviceHandle::Query>("query"),
                         InstanceMethod<&DeviceHandle::RequestVmc>("requestVmc"),
                         InstanceMethod<&DeviceHandle::Read>("read"),
                         InstanceMethod<&DeviceHandle::Write>("write"),
                         InstanceMethod<&DeviceHandle::Watch>("watch"),
                         InstanceMethod<&DeviceHandle::Unwatch>("unwatch"),
                         InstanceMethod<&DeviceHandle::SetRef>("setRef"),
                         InstanceMethod<&DeviceHandle::Close>("close"),
                     });
}

DeviceHandle::DeviceHandle(const Napi::CallbackInfo& info) : Napi::ObjectWrap<DeviceHandle>(info) {
  Napi::Env env = info.Env();
  if (!info[0].IsString()) throw Napi::TypeError::New(env, "path must be a string");
  std::string path = info[0].As<Napi::String>();
  // Non-blocking: reads are driven by the poll watcher and never wait.
  fd_ = RetryOnEintr([&] { return open(path.c_str(), O_RDWR | O_NONBLOCK | O_CLOEXEC); });
  if (fd_ < 0) throw MakeSystemError(env, errno, "open", path.c_str());
  // A worker thread that ends with the fd still open must not leak it.
  napi_add_async_cleanup_hook(env, OnEnvCleanup, this, &cleanup_hook_);
}

DeviceHandle::~DeviceHandle() {
  ReleaseWatcher();
  int ignored;
  if (fd_ >= 0 && in_flight_ == 0) CloseFd(&ignored);
  if (cleanup_hook_ != nullptr) napi_remove_async_cleanup_hook(cleanup_hook_);
}

void DeviceHandle::OnEnvCleanup(napi_async_cleanup_hook_handle hook, void* arg) {
  auto* self = static_cast<DeviceHandle*>(arg);
  self->cleanup_hook_ = nullptr;
  self->ReleaseWatcher();
  int ignored;
  if (self->fd_ >= 0) self->CloseFd(&ignored);
  napi_remove_async_cleanup_hook(hook);
}

int DeviceHandle::LiveFd(Napi::Env env) const {
  if (fd_ < 0 || closing_) throw MakeSystemError(env, EBADF, "fd");
  return fd_;
}

Napi::Value DeviceHandle::Fd(const Napi::CallbackInfo& info) {
  return Napi::Number::New(info.Env(), closing_ ? -1 : fd_);
}

Napi::Value DeviceHandle::SetHmcId(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (!info[0].IsBuffer() || info[0].As<Napi::Buffer<uint8_t>>().Length() != IBMVMC_HMC_ID_LEN)
    throw Napi::TypeError::New(env, "the HMC id must be a Buffer of exactly 32 bytes");
  auto id = info[0].As<Napi::Buffer<uint8_t>>();
  int fd = LiveFd(env);
  if (RetryOnEintr([&] { return ioctl(fd, IBMVMC_IOCTL_SETHMCID, id.Data()); }) < 0)
    throw MakeSystemError(env, errno, "ioctl:SETHMCID");
  return env.Undefined();
}

Napi::Value DeviceHandle::Query(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  int fd = LiveFd(env);
  ibmvmc_query_struct query = {};
  if (RetryOnEintr([&] { return ioctl(fd, IBMVMC_IOCTL_QUERY, &query); }) < 0)
    throw MakeSystemError(env, errno, "ioctl:QUERY");
  Napi::Object result = Napi::Object::New(env);
  result.Set("haveVmc", query.have_vmc);
  result.Set("state", query.state);
  result.Set("vmcDrcIndex", static_cast<double>(static_cast<unsigned int>(query.vmc_drc_index)));
  return result;
}

Napi::Value DeviceHandle::RequestVmc(const Napi::CallbackInfo& info) {
  LiveFd(info.Env());
  auto* worker = new RequestVmcWorker(info.Env(), this);
  Napi::Promise promise = worker->Promise();
  worker->Queue();
  return promise;
}

void DeviceHandle::RequestVmcDone() {
  in_flight_--;
  int ignored;
  if (closing_ && in_flight_ == 0 && fd_ >= 0) CloseFd(&ignored);
}

// read(buffer, length): bytes read, or null when nothing is queued (EAGAIN).
Napi::Value DeviceHandle::Read(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (!info[0].IsBuffer()) throw Napi::TypeError::New(env, "buffer must be a Buffer");
  auto buffer = info[0].As<Napi::Buffer<uint8_t>>();
  size_t length = buffer.Length();
  if (info.Length() > 1 && !info[1].IsUndefined()) {
    if (!info[1].IsNumber()) throw Napi::TypeError::New(env, "length must be a number");
    double requested = info[1].As<Napi::Number>().DoubleValue();
    if (!(requested >= 0 && requested <= static_cast<double>(length)))
      throw Napi::RangeError::New(env, "length must be between 0 and the buffer's length");
    length = static_cast<size_t>(requested);
  }
  int fd = LiveFd(env);
  ssize_t n = RetryOnEintr([&] { return ::read(fd, buffer.Data(), length); });
  if (n < 0) {
    if (errno == EAGAIN || errno == EWOULDBLOCK) return env.Null();
    throw MakeSystemError(env, errno, "read");
  }
  return Napi::Number::New(env, static_cast<double>(n));
}

// write(buffer): bytes written (the driver takes a message whole or not at all).
Napi::Value DeviceHandle::Write(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (!info[0].IsBuffer()) throw Napi::TypeError::New(env, "buffer must be a Buffer");
  auto buffer = info[0].As<Napi::Buffer<uint8_t>>();
  int fd = LiveFd(env);
  ssize_t n = RetryOnEintr([&] { return ::write(fd, buffer.Data(), buffer.Length()); });
  if (n < 0) {
    if (errno == EAGAIN || errno == EWOULDBLOCK) return env.Null();
    throw MakeSystemError(env, errno, "write");
  }
  return Napi::Number::New(env, static_cast<double>(n));
}

void DeviceHandle::OnReadable(uv_poll_t* poll, int status, int /*events*/) {
  auto* watcher = static_cast<Watcher*>(poll->data);
  DeviceHandle* self = watcher->owner;
  if (self == nullptr || !watcher->active) return;
  Napi::Env env = self->Env();
  Napi::HandleScope scope(env);
  Napi::Value error = env.Null();
  if (status < 0) error = MakeSystemError(env, -status, "poll").Value();
  // MakeCallback, not Call: it drains the microtask queue afterwards, so
  // promises resolved in the callback settle now, not at some later tick.
  try {
    watcher->callback.MakeCallback(self->Value(), {error}, *watcher->context);
  } catch (const Napi::Error& e) {
    napi_fatal_exception(env, e.Value());
  }
}

// watch(callback): callback(error | null) whenever the fd is readable.
Napi::Value DeviceHandle::Watch(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (!info[0].IsFunction()) throw Napi::TypeError::New(env, "callback must be a function");
  int fd = LiveFd(env);
  if (watcher_ == nullptr) {
    uv_loop_t* loop = nullptr;
    // The loop of this environment: a worker thread's own loop in a worker.
    if (napi_get_uv_event_loop(env, &loop) != napi_ok || loop == nullptr)
      throw Napi::Error::New(env, "no event loop for this environment");
    watcher_ = new Watcher();
    watcher_->owner = this;
    watcher_->poll.data = watcher_;
    int rc = uv_poll_init(loop, &watcher_->poll, fd);
    if (rc < 0) {
      delete watcher_;
      watcher_ = nullptr;
      throw MakeSystemError(env, -rc, "poll");
    }
    if (!ref_) uv_unref(reinterpret_cast<uv_handle_t*>(&watcher_->poll));
  }
  watcher_->callback = Napi::Persistent(info[0].As<Napi::Function>());
  watcher_->context = std::make_unique<Napi::AsyncContext>(env, "IbmvmcWatcher", Value());
  int rc = uv_poll_start(&watcher_->poll, UV_READABLE, OnReadable);
  if (rc < 0) throw MakeSystemError(env, -rc, "poll");
  if (!watcher_->active) Ref();  // keep this object alive while it can be called back
  watcher_->active = true;
  return env.Undefined();
}

void DeviceHandle::StopWatching() {
  if (watcher_ == nullptr || !watcher_->active) return;
  uv_poll_stop(&watcher_->poll);
  watcher_->active = false;
  Unref();
}

Napi::Value DeviceHandle::Unwatch(const Napi::CallbackInfo& info) {
  StopWatching();
  return info.Env().Undefined();
}

// setRef(bool): whether an active watcher keeps the process alive.
Napi::Value DeviceHandle::SetRef(const Napi::CallbackInfo& info) {
  ref_ = info[0].ToBoolean();
  if (watcher_ != nullptr) {
    auto* handle = reinterpret_cast<uv_handle_t*>(&watcher_->poll);
    ref_ ? uv_ref(handle) : uv_unref(handle);
  }
  return info.Env().Undefined();
}

void DeviceHandle::ReleaseWatcher() {
  if (watcher_ == nullptr) return;
  if (watcher_->active) {
    uv_poll_stop(&watcher_->poll);
    watcher_->active = false;
  }
  watcher_->owner = nullptr;
  watcher_->callback.Reset();
  watcher_->context.reset();
  // uv_close drops the fd from epoll at once; the memory goes in the callback.
  uv_close(reinterpret_cast<uv_handle_t*>(&watcher_->poll),
           [](uv_handle_t* handle) { delete static_cast<Watcher*>(handle->data); });
  watcher_ = nullptr;
}

bool DeviceHandle::CloseFd(int* close_errno) {
  *close_errno = 0;
  if (in_flight_ > 0) {
    closing_ = true;  // the REQUESTVMC worker still uses fd_; it closes it
    return false;
  }
  int fd = fd_;
  fd_ = -1;
  closing_ = true;
  // No retry on EINTR: on Linux the fd is released whatever close returns.
  if (::close(fd) < 0) *close_errno = errno;
  return true;
}

// close(): stops the watcher and closes the fd. Throws the driver's error
// (EIO when the driver has failed) but the fd is released all the same.
Napi::Value DeviceHandle::Close(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (watcher_ != nullptr && watcher_->active) Unref();
  if (watcher_ != nullptr) watcher_->active = false;
  ReleaseWatcher();
  if (fd_ < 0 || closing_) return Napi::Boolean::New(env, fd_ < 0);
  int err = 0;
  bool closed = CloseFd(&err);
  if (err != 0) throw MakeSystemError(env, err, "close");
  return Napi::Boolean::New(env, closed);
}

}  // namespace ibmvmc
