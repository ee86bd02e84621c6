#!/usr/bin/env bash
# The guest kernel and the real driver, from Debian, at test time:
#
#   linux-image-<abi>-powerpc64le   its /boot/vmlinux-<abi>, booted by QEMU
#   linux-headers-<abi>-powerpc64le (+ -common) and linux-kbuild-6.1 (host)
#   linux-source-6.1                drivers/misc/ibmvmc.c and ibmvmc.h, unmodified
#
# all of the SAME version. Debian builds this kernel without the driver
# (CONFIG_IBMVMC is not set), so the module is built out of tree with the
# cross compiler. The driver's source is never copied into the repository:
# it lives in the cache only.
#
# Prints the directory holding vmlinux, ibmvmc.ko and expected-ioctl.json
# (the ioctl numbers and QUERY struct size the driver's own header gives on
# powerpc). Everything is cached per kernel version.
#
# IBMVMC_KERNEL_ABI=6.1.0-NN picks a kernel; the default is the newest one
# whose image, headers, source and kbuild share a version.
set -euo pipefail
# shellcheck source-path=SCRIPTDIR source=common.sh
. "$(dirname "$0")/common.sh"

mkdir -p "$cache"

# A warm run uses what the last run picked, without asking apt (slow here).
current="$cache/kernel.current"
if [ -z "${IBMVMC_REAL_DRIVER_REFRESH:-}" ] && [ -s "$current" ]; then
  out="$(cat "$current")"
  if [ -s "$out/ibmvmc.ko" ] && [ -s "$out/vmlinux" ] && [ -s "$out/expected-ioctl.json" ] &&
    { [ -z "${IBMVMC_KERNEL_ABI:-}" ] || [[ "$out" == */kernel-"$IBMVMC_KERNEL_ABI"-* ]]; }; then
    log "kernel: cached in ${out#"$repo_root"/} (IBMVMC_REAL_DRIVER_REFRESH=1 looks for a newer one)"
    echo "$out"
    exit 0
  fi
fi

ensure_ppc64el_arch

# The newest ABI whose image, headers and source (and the host's kbuild) have
# the same version, from one apt-cache call: "abi version" on stdout.
pick_kernel() {
  local abis abi names=()
  if [ -n "${IBMVMC_KERNEL_ABI:-}" ]; then
    abis="$IBMVMC_KERNEL_ABI"
  else
    abis="$(apt-cache pkgnames linux-image-6.1.0- | sed -n 's/^linux-image-\(6\.1\.0-[0-9]*\)-powerpc64le$/\1/p' | sort -t- -k2,2nr)"
  fi
  [ -n "$abis" ] || return 1
  for abi in $abis; do names+=("linux-image-$abi-powerpc64le:ppc64el" "linux-headers-$abi-powerpc64le:ppc64el"); done
  apt-cache madison "${names[@]}" linux-source-6.1 linux-kbuild-6.1 2>/dev/null |
    awk -F'|' -v abis="$abis" '
      { gsub(/ /, "", $1); gsub(/ /, "", $2); split($3, w, " "); arch = w[length(w) - 1]
        if ($1 == "linux-kbuild-6.1" && arch != "amd64") next
        have[$1 SUBSEP $2] = 1 }
      END { n = split(abis, a, "\n")
        for (i = 1; i <= n; i++)
          for (k in have) {
            split(k, kv, SUBSEP)
            if (kv[1] != "linux-image-" a[i] "-powerpc64le:ppc64el") continue
            v = kv[2]
            if (("linux-headers-" a[i] "-powerpc64le:ppc64el" SUBSEP v) in have &&
                ("linux-source-6.1" SUBSEP v) in have && ("linux-kbuild-6.1" SUBSEP v) in have) {
              print a[i], v
            }
          } }' | sort -rV | head -1
}

read -r abi ver < <(pick_kernel || true) || true
if [ -z "${abi:-}" ]; then
  apt_update
  read -r abi ver < <(pick_kernel || true) || true
fi
[ -n "${abi:-}" ] || die "no linux-image/linux-headers-6.1.0-*-powerpc64le with a linux-source-6.1 and linux-kbuild-6.1 of the same version in the apt index"
out="$cache/kernel-$abi-$ver"
if [ -s "$out/ibmvmc.ko" ] && [ -s "$out/vmlinux" ] && [ -s "$out/expected-ioctl.json" ]; then
  log "kernel $abi ($ver): cached in ${out#"$repo_root"/}"
  echo "$out" >"$current"
  echo "$out"
  exit 0
fi
log "kernel $abi ($ver)"

# Host side: the cross compiler and the kbuild tools the headers were made for.
install_host powerpc64le-linux-gnu-gcc gcc-powerpc64le-linux-gnu make make xz xz-utils
# shellcheck disable=SC2016 # ${Version} is dpkg-query's
if [ "$(flock "$apt_lock" dpkg-query -W -f '${Version}' linux-kbuild-6.1 2>/dev/null || true)" != "$ver" ]; then
  log "apt-get install linux-kbuild-6.1=$ver"
  apt_get install -y -qq --no-install-recommends "linux-kbuild-6.1=$ver" >"$cache/apt-install.log" 2>&1 ||
    die "apt-get install linux-kbuild-6.1=$ver failed: $(tail -3 "$cache/apt-install.log")"
fi

image="linux-image-$abi-powerpc64le:ppc64el=$ver"
headers="linux-headers-$abi-powerpc64le:ppc64el=$ver"
common="linux-headers-$abi-common=$ver"
source="linux-source-6.1=$ver"
download_debs "$image" "$headers" "$common" "$source"

rm -rf "$out.tmp"
mkdir -p "$out.tmp"
cd "$out.tmp"

log "extracting vmlinux, the headers and drivers/misc/ibmvmc.[ch]"
dpkg-deb --fsys-tarfile "${deb[$image]}" | tar -xO "./boot/vmlinux-$abi-powerpc64le" >vmlinux &
pid_vmlinux=$!
# The source is one big tar.xz inside the .deb; only the driver's two files are kept.
mkdir -p module
dpkg-deb --fsys-tarfile "${deb[$source]}" | tar -xO ./usr/src/linux-source-6.1.tar.xz |
  tar -xJ -C module --strip-components=3 linux-source-6.1/drivers/misc/ibmvmc.c linux-source-6.1/drivers/misc/ibmvmc.h &
pid_source=$!
mkdir -p headers
dpkg-deb -x "${deb[$headers]}" headers
dpkg-deb -x "${deb[$common]}" headers
wait "$pid_vmlinux" || die "no /boot/vmlinux-$abi-powerpc64le in $(basename "${deb[$image]}")"
wait "$pid_source" || die "no drivers/misc/ibmvmc.[ch] in linux-source-6.1 $ver"

# The headers expect to live in /usr/src, next to /usr/lib/linux-kbuild-6.1:
# point the arch tree's Makefile at the extracted common tree, and both
# trees' scripts/ and tools/ at the host's kbuild package.
hdr="$out.tmp/headers/usr/src/linux-headers-$abi-powerpc64le"
hdr_common="$out.tmp/headers/usr/src/linux-headers-$abi-common"
[ -f "$hdr/.config" ] && [ -f "$hdr_common/Makefile" ] || die "unexpected layout of the linux-headers packages"
printf 'include %s/Makefile\n' "$hdr_common" >"$hdr/Makefile"
for tree in "$hdr" "$hdr_common"; do
  ln -sfn /usr/lib/linux-kbuild-6.1/scripts "$tree/scripts"
  ln -sfn /usr/lib/linux-kbuild-6.1/tools "$tree/tools"
done
grep -qx '# CONFIG_IBMVMC is not set' "$hdr/.config" ||
  log "note: this kernel's config has $(grep 'CONFIG_IBMVMC[= ]' "$hdr/.config" || echo 'no CONFIG_IBMVMC line')"

log "building ibmvmc.ko (cross, out of tree)"
echo 'obj-m := ibmvmc.o' >module/Kbuild
make -C "$hdr" M="$out.tmp/module" ARCH=powerpc CROSS_COMPILE=powerpc64le-linux-gnu- \
  -j"$(nproc)" modules >build.log 2>&1 || {
  cat build.log >&2
  die "building ibmvmc.ko failed"
}
cp module/ibmvmc.ko ibmvmc.ko
vermagic="$(powerpc64le-linux-gnu-strings ibmvmc.ko | sed -n 's/^vermagic=//p' | head -1)"
log "ibmvmc.ko: vermagic $vermagic"
[[ "$vermagic" == "$abi-powerpc64le "* ]] || die "ibmvmc.ko has vermagic '$vermagic', not for $abi-powerpc64le"

# What the driver's own header makes of its ioctl numbers on powerpc: its
# #defines and struct, put through the cross compiler with the kernel's
# powerpc <linux/ioctl.h>, read back from the assembly.
{
  echo '#include <linux/ioctl.h>'
  echo 'typedef unsigned int u32;'
  sed -n '/^struct ibmvmc_query_struct {/,/^};/p' module/ibmvmc.h
  grep -E '^#define[[:space:]]+(VMC_BASE|VMC_IOCTL_(SETHMCID|QUERY|REQUESTVMC))[[:space:]]' module/ibmvmc.h
  echo 'const unsigned int numbers[] = { VMC_IOCTL_SETHMCID, VMC_IOCTL_QUERY, VMC_IOCTL_REQUESTVMC,'
  echo '  sizeof(struct ibmvmc_query_struct) };'
} >numbers.c
powerpc64le-linux-gnu-gcc -S -o numbers.s \
  -I"$hdr_common/arch/powerpc/include/uapi" -I"$hdr_common/include/uapi" \
  -I"$hdr/arch/powerpc/include/generated/uapi" -I"$hdr/include/generated/uapi" numbers.c ||
  die "could not compute the driver's ioctl numbers from ibmvmc.h"
mapfile -t n < <(awk '$1 == ".long" {print $2}' numbers.s)
[ ${#n[@]} -eq 4 ] || die "could not read the driver's ioctl numbers from numbers.s"
for i in 0 1 2 3; do n[i]=$((n[i] & 0xffffffff)); done # .long prints them signed
printf '{"kernel":"%s","version":"%s","ioctl":{"SETHMCID":%u,"QUERY":%u,"REQUESTVMC":%u},"QUERY_STRUCT_SIZE":%u}\n' \
  "$abi-powerpc64le" "$ver" "${n[0]}" "${n[1]}" "${n[2]}" "${n[3]}" >expected-ioctl.json
log "driver's ioctl numbers on powerpc: $(printf 'SETHMCID 0x%08x QUERY 0x%08x REQUESTVMC 0x%08x, QUERY struct %u bytes' "${n[@]}")"

rm -rf headers
cd "$cache"
rm -rf "$out"
mv "$out.tmp" "$out"
echo "$out" >"$current"
echo "$out"
