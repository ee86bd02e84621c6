#!/usr/bin/env bash
# Installs the tools the Jest suites need beyond Node and a compiler: sshd and
# ssh for the broker's SSH forwarding test (test/broker/ssh-forward.test.ts).
# Idempotent: does nothing when they are there. Needs root to install.
set -euo pipefail

need=()
[ -x /usr/sbin/sshd ] || need+=(openssh-server)
command -v ssh >/dev/null || need+=(openssh-client)
command -v ssh-keygen >/dev/null || need+=(openssh-client)
[ ${#need[@]} -eq 0 ] && exit 0

if [ "$(id -u)" -ne 0 ]; then
  echo "install-test-tools: missing ${need[*]}, and not root to install them (apt-get install ${need[*]})" >&2
  exit 1
fi
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq || true # a broken secondary index must not stop us
# Dedupe (openssh-client may be named twice); -qq keeps CI logs short.
apt-get install -y -qq --no-install-recommends $(printf '%s\n' "${need[@]}" | sort -u) >/dev/null
# The package's postinst may start sshd on port 22 where an init system runs;
# the tests start their own on a spare port and never touch that one.
[ -x /usr/sbin/sshd ] || { echo "install-test-tools: /usr/sbin/sshd still missing after install" >&2; exit 1; }
echo "install-test-tools: installed ${need[*]}"
