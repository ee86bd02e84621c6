#!/usr/bin/env bash
# The part of the guest's initramfs that does not change between runs:
# busybox-static:ppc64el, and a ppc64le Node (Debian's nodejs:ppc64el) with
# exactly the shared libraries it needs. Prints the path of a cached
# uncompressed cpio archive (newc); run.sh appends the per-run part to it.
#
# Where Node comes from, first match wins:
#   $IBMVMC_PPC64EL_SYSROOT         a ppc64el root holding usr/bin/node ("own": skip
#                                   the next line)
#   scripts/power/sysroot.sh        the shared sysroot (its last line: "sysroot: <dir>")
#   our own cache                   nodejs:ppc64el, libnode108:ppc64el and their
#                                   dependencies, apt-get download + dpkg-deb -x
set -euo pipefail
# shellcheck source-path=SCRIPTDIR source=common.sh
. "$(dirname "$0")/common.sh"
mkdir -p "$cache"

# ld.so's, node's and libnode's dependencies, from Debian's package metadata.
node_debs=(nodejs:ppc64el libnode108:ppc64el libc6:ppc64el libgcc-s1:ppc64el libstdc++6:ppc64el
  libicu72:ppc64el libssl3:ppc64el libuv1:ppc64el libc-ares2:ppc64el libnghttp2-14:ppc64el
  libbrotli1:ppc64el zlib1g:ppc64el node-acorn node-cjs-module-lexer node-undici node-busboy node-xtend)

own_sysroot() {
  local root="$cache/node-sysroot" spec
  if [ ! -x "$root/usr/bin/node" ]; then
    ensure_ppc64el_arch
    download_debs "${node_debs[@]}"
    log "extracting nodejs:ppc64el and its libraries into ${root#"$repo_root"/}"
    rm -rf "$root.tmp"
    mkdir -p "$root.tmp"
    for spec in "${node_debs[@]}"; do dpkg-deb -x "${deb[$spec]}" "$root.tmp"; done
    rm -rf "$root"
    mv "$root.tmp" "$root"
  fi
  echo "$root"
}

sysroot="${IBMVMC_PPC64EL_SYSROOT:-}"
source_of_node="IBMVMC_PPC64EL_SYSROOT"
if [ "$sysroot" = own ]; then
  sysroot=""
elif [ -z "$sysroot" ] && [ -x "$repo_root/scripts/power/sysroot.sh" ]; then
  sysroot="$("$repo_root/scripts/power/sysroot.sh" 2>"$cache/sysroot.log" | sed -n 's/^sysroot: //p' | tail -1 || true)"
  source_of_node="scripts/power/sysroot.sh"
  [ -x "$sysroot/usr/bin/node" ] || {
    log "scripts/power/sysroot.sh gave no usable sysroot ('$sysroot', log in ${cache#"$repo_root"/}/sysroot.log); using our own"
    sysroot=""
  }
fi
if [ -z "$sysroot" ]; then
  sysroot="$(own_sysroot)"
  source_of_node="own cache (${sysroot#"$repo_root"/})"
fi
[ -x "$sysroot/usr/bin/node" ] || die "no usr/bin/node in $sysroot"

busybox_deb="$(ls -t "$debs"/busybox-static_*_ppc64el.deb 2>/dev/null | head -1 || true)"
if [ -z "$busybox_deb" ]; then
  ensure_ppc64el_arch
  download_debs busybox-static:ppc64el
  busybox_deb="${deb[busybox-static:ppc64el]}"
fi
[ -s "$busybox_deb" ] || die "no busybox-static:ppc64el"

# Rebuild only when an input changed.
key="$( (
  echo "$busybox_deb"
  stat -c '%n %s %Y' "$sysroot/usr/bin/node" "$(readlink -f "$sysroot/usr/lib/powerpc64le-linux-gnu/libnode.so.108" 2>/dev/null || echo none)" 2>/dev/null
  cat "$0"
) | sha256sum | cut -c1-16)"
archive="$cache/guest-base-$key.cpio"
if [ -s "$archive" ]; then
  log "guest base (busybox, node from $source_of_node): cached"
  echo "$archive"
  exit 0
fi

log "guest base: busybox and node from $source_of_node"
install_host cpio cpio powerpc64le-linux-gnu-readelf binutils-powerpc64le-linux-gnu
tree="$cache/guest-base.tmp"
rm -rf "$tree"
mkdir -p "$tree"/{bin,sbin,usr/bin,usr/sbin,usr/lib/powerpc64le-linux-gnu,lib64,dev,proc,sys,tmp,run,root,etc}
ln -s usr/lib "$tree/lib"
dpkg-deb --fsys-tarfile "$busybox_deb" | tar -xO ./bin/busybox >"$tree/bin/busybox"
chmod 755 "$tree/bin/busybox"
mknod -m 600 "$tree/dev/console" c 5 1
mknod -m 666 "$tree/dev/null" c 1 3

# node and, recursively, every library it needs (DT_NEEDED), looked up where
# Debian's ld.so looks; symlinks resolved, so the tree has plain files only.
libdirs=("$sysroot/lib/powerpc64le-linux-gnu" "$sysroot/usr/lib/powerpc64le-linux-gnu" "$sysroot/lib64" "$sysroot/usr/lib64")
cp -L "$sysroot/usr/bin/node" "$tree/usr/bin/node"
todo=("$tree/usr/bin/node")
declare -A seen=()
while [ ${#todo[@]} -gt 0 ]; do
  elf="${todo[0]}"
  todo=("${todo[@]:1}")
  while read -r lib; do
    [ -n "$lib" ] && [ -z "${seen[$lib]:-}" ] || continue
    seen[$lib]=1
    found=""
    for d in "${libdirs[@]}"; do
      if [ -e "$d/$lib" ]; then
        found="$d/$lib"
        break
      fi
    done
    [ -n "$found" ] || die "$(basename "$elf") needs $lib, which is not in $sysroot"
    cp -L "$found" "$tree/usr/lib/powerpc64le-linux-gnu/$lib"
    todo+=("$tree/usr/lib/powerpc64le-linux-gnu/$lib")
  done < <(powerpc64le-linux-gnu-readelf -d "$elf" | sed -n 's/.*(NEEDED).*\[\(.*\)\]/\1/p')
done
interp="$(powerpc64le-linux-gnu-readelf -l "$tree/usr/bin/node" | sed -n 's/.*Requesting program interpreter: \(.*\)\]/\1/p')"
[ "$interp" = /lib64/ld64.so.2 ] || die "node asks for the interpreter '$interp', expected /lib64/ld64.so.2"
for d in "${libdirs[@]}"; do
  if [ -e "$d/ld64.so.2" ]; then
    cp -L "$d/ld64.so.2" "$tree/usr/lib/powerpc64le-linux-gnu/ld64.so.2"
    break
  fi
done
[ -e "$tree/usr/lib/powerpc64le-linux-gnu/ld64.so.2" ] || die "no ld64.so.2 in $sysroot"
ln -s ../usr/lib/powerpc64le-linux-gnu/ld64.so.2 "$tree/lib64/ld64.so.2"
# Debian's node takes acorn, cjs-module-lexer and undici from here.
if [ -d "$sysroot/usr/share/nodejs" ]; then
  mkdir -p "$tree/usr/share"
  cp -a "$sysroot/usr/share/nodejs" "$tree/usr/share/nodejs"
fi
echo "root:x:0:0:root:/root:/bin/sh" >"$tree/etc/passwd"
echo "root:x:0:" >"$tree/etc/group"
printf '%s\n' "$source_of_node" >"$tree/etc/node-source"

(cd "$tree" && find . | LC_ALL=C sort | cpio -o -H newc -R 0:0 --quiet) >"$archive.tmp"
rm -f "$cache"/guest-base-*.cpio
mv "$archive.tmp" "$archive"
log "guest base: $(du -sh "$tree/usr/lib/powerpc64le-linux-gnu" | cut -f1) of libraries, $(du -h "$archive" | cut -f1) cpio"
rm -rf "$tree"
echo "$archive"
