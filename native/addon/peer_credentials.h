// peerCredentials(fd): who is on the other end of a Unix socket (SO_PEERCRED).
#pragma once

#include <napi.h>

namespace ibmvmc {

// peerCredentials(fd) -> { pid, uid, gid }: one getsockopt(SO_PEERCRED) on any
// socket fd, returning what the kernel says as it says it. Checks the
// argument's type before the call; a failure throws a system error with
// syscall "getsockopt". Synchronous: getsockopt never blocks.
Napi::Value PeerCredentials(const Napi::CallbackInfo& info);

}  // namespace ibmvmc
