#include "errors.h"

#include <errno.h>
#include <string.h>

#include <string>

namespace ibmvmc {
namespace {

struct ErrnoEntry {
  int value;
  const char* name;
};

// Built from the C library's own macros, so each target gets its own values.
// A table; clang-format would put one entry a line.
// clang-format off
constexpr ErrnoEntry kErrnos[] = {
    {EPERM, "EPERM"},     {ENOENT, "ENOENT"},       {EINTR, "EINTR"},
    {EIO, "EIO"},         {ENXIO, "ENXIO"},         {EBADF, "EBADF"},
    {EAGAIN, "EAGAIN"},   {ENOMEM, "ENOMEM"},       {EACCES, "EACCES"},
    {EFAULT, "EFAULT"},   {EBUSY, "EBUSY"},         {ENODEV, "ENODEV"},
    {ENOTDIR, "ENOTDIR"}, {EISDIR, "EISDIR"},       {EINVAL, "EINVAL"},
    {ENFILE, "ENFILE"},   {EMFILE, "EMFILE"},       {ENOTTY, "ENOTTY"},
    {EROFS, "EROFS"},     {EPIPE, "EPIPE"},         {ENAMETOOLONG, "ENAMETOOLONG"},
    {ENOSYS, "ENOSYS"},   {ELOOP, "ELOOP"},         {EBADFD, "EBADFD"},
    {ENOBUFS, "ENOBUFS"}, {ETIMEDOUT, "ETIMEDOUT"}, {ECONNREFUSED, "ECONNREFUSED"},
    {ENOTSOCK, "ENOTSOCK"}, {ENOPROTOOPT, "ENOPROTOOPT"},
};
// clang-format on

}  // namespace

const char* ErrnoName(int err) {
  for (const auto& entry : kErrnos) {
    if (entry.value == err) return entry.name;
  }
  return "UNKNOWN";
}

Napi::Error MakeSystemError(Napi::Env env, int err, const char* syscall, const char* path) {
  char buf[128];
  const char* description = strerror_r(err, buf, sizeof(buf));  // GNU variant
  std::string message = std::string(ErrnoName(err)) + ": " + description + ", " + syscall;
  if (path != nullptr) message += std::string(" '") + path + "'";
  Napi::Error error = Napi::Error::New(env, message);
  error.Set("code", Napi::String::New(env, ErrnoName(err)));
  error.Set("errno", Napi::Number::New(env, -err));
  error.Set("syscall", Napi::String::New(env, syscall));
  if (path != nullptr) error.Set("path", Napi::String::New(env, path));
  return error;
}

Napi::Object ErrnoConstants(Napi::Env env) {
  Napi::Object constants = Napi::Object::New(env);
  for (const auto& entry : kErrnos) constants.Set(entry.name, entry.value);
  return constants;
}

}  // namespace ibmvmc
