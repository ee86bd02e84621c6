// The ibmvmc native binding: a DeviceHandle class, peerCredentials() for any
// socket fd, and the constants this build was compiled with. Context-aware, no
// global state: safe in workers.
#include <napi.h>

#include "device_handle.h"
#include "errors.h"
#include "ibmvmc_abi.h"
#include "peer_credentials.h"

namespace {

Napi::Object Init(Napi::Env env, Napi::Object exports) {
  exports.Set("DeviceHandle", ibmvmc::DeviceHandle::Define(env));
  exports.Set("peerCredentials",
              Napi::Function::New(env, ibmvmc::PeerCredentials, "peerCredentials"));

  Napi::Object ioctls = Napi::Object::New(env);
  ioctls.Set("SETHMCID", static_cast<double>(IBMVMC_IOCTL_SETHMCID));
  ioctls.Set("QUERY", static_cast<double>(IBMVMC_IOCTL_QUERY));
  ioctls.Set("REQUESTVMC", static_cast<double>(IBMVMC_IOCTL_REQUESTVMC));

  Napi::Object constants = Napi::Object::New(env);
  constants.Set("ioctl", ioctls);
  constants.Set("errno", ibmvmc::ErrnoConstants(env));
  constants.Set("HMC_ID_LEN", IBMVMC_HMC_ID_LEN);
  constants.Set("QUERY_STRUCT_SIZE", static_cast<double>(sizeof(ibmvmc_query_struct)));
  exports.Set("constants", constants);
  return exports;
}

}  // namespace

NODE_API_MODULE(ibmvmc, Init)
