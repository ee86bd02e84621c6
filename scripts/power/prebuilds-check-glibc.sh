#!/usr/bin/env bash
# Checks that prebuilt binaries load on the oldest distributions we support:
# every versioned symbol they import must be at most GLIBC_2.17, GLIBCXX_3.4.21
# and CXXABI_1.3.9 (glibc of RHEL 7 / first ppc64le glibc; libstdc++ of GCC 5,
# as on Ubuntu 16.04). Fails naming each offending symbol.
#
#   scripts/power/prebuilds-check-glibc.sh [folder or file ...]   (default prebuilds/linux-ppc64)
set -euo pipefail
root="$(cd "$(dirname "$0")/../.." && pwd)"
[ $# -gt 0 ] || set -- "$root/prebuilds/linux-ppc64"
declare -A max=([GLIBC]=2.17 [GLIBCXX]=3.4.21 [CXXABI]=1.3.9)

files=()
for arg in "$@"; do
  if [ -d "$arg" ]; then
    for f in "$arg"/*.node "$arg"/*.so; do [ -e "$f" ] && files+=("$f"); done
  elif [ -e "$arg" ]; then
    files+=("$arg")
  fi
done
if [ ${#files[@]} -eq 0 ]; then
  echo "check-glibc: no binaries in $* (run npm run prebuildify)" >&2
  exit 1
fi

newer() { # newer A B: true if version A > version B
  [ "$1" != "$2" ] && [ "$(printf '%s\n%s\n' "$1" "$2" | sort -V | tail -n1)" = "$1" ]
}

offending=()
for f in "${files[@]}"; do
  # Undefined dynamic symbols with their version: "name@GLIBC_2.17 (2)".
  # (ppc64 adds a "[<localentry>: 8]" column, so match the name, not a field number.)
  imports="$(readelf --dyn-syms -W "$f" | grep -E ' UND ' | grep -oE '[^ ]+@[A-Z]+_[0-9.]+' | sort -u)"
  declare -A highest=()
  while IFS= read -r sym; do
    [ -n "$sym" ] || continue
    name="${sym%%@*}" ver="${sym#*@}" lib="${ver%%_*}" num="${ver#*_}"
    [ -n "${max[$lib]:-}" ] || continue
    if newer "$num" "${max[$lib]}"; then
      offending+=("check-glibc: $f: $name needs ${lib}_$num (newer than ${lib}_${max[$lib]})")
    fi
    if [ -z "${highest[$lib]:-}" ] || newer "$num" "${highest[$lib]}"; then highest[$lib]="$num"; fi
  done <<<"$imports"
  # Versions the file requires (the version-needs section), for the record.
  needs="$(readelf -V -W "$f" | awk '/Name: [A-Z]+_[0-9.]+/ { for (i = 1; i <= NF; i++) if ($i == "Name:") print $(i+1) }' | sort -V -u | xargs)"
  summary=""
  for lib in GLIBC GLIBCXX CXXABI; do
    [ -n "${highest[$lib]:-}" ] && summary+=" ${lib}_${highest[$lib]}"
  done
  machine="$(readelf -h "$f" | awk -F: '/Machine:/ { gsub(/^ +/, "", $2); print $2 }')"
  libs="$(readelf -d "$f" | awk '/NEEDED/ { gsub(/[][]/, "", $5); print $5 }' | xargs)"
  echo "check-glibc: $(basename "$f") [$machine] highest:${summary:- none}; needs: ${libs}"
  echo "check-glibc:   version needs: $needs"
  unset highest
done
if [ ${#offending[@]} -gt 0 ]; then
  printf '%s\n' "${offending[@]}" >&2
  echo "check-glibc: FAILED: the binaries need a newer glibc/libstdc++ than GLIBC_${max[GLIBC]} / GLIBCXX_${max[GLIBCXX]}" >&2
  exit 1
fi
echo "check-glibc: ok (at most GLIBC_${max[GLIBC]}, GLIBCXX_${max[GLIBCXX]}, CXXABI_${max[CXXABI]})"
