#!/bin/bash
# build-guest.sh [OUTDIR]
#
# Builds a minimal Linux test guest for run-vm.sh:
#   OUTDIR/vmlinuz             Debian kernel (from the linux-image-* package)
#   OUTDIR/initramfs.cpio.gz   busybox-static + virtio-net (virtio-pci) modules + /init
#   OUTDIR/guest.env           what was built (kernel version, module list, sizes)
#
# Idempotent: host packages are installed only when missing, the Debian
# packages for the guest are downloaded once into a cache, and the
# initramfs is rebuilt reproducibly (same inputs -> same bytes).
#
# Environment knobs:
#   VMH_KERNEL_FLAVOUR   linux-image-<flavour> metapackage (default cloud-amd64; amd64 also works)
#   VMH_KERNEL_DEB       use this linux-image-*.deb file instead of downloading one
#   VMH_MODULES          base module set (default "virtio_pci virtio_net")
#   VMH_EXTRA_MODULES    more modules to load at boot, e.g. "virtio_blk virtio_console virtio-rng"
#   VMH_CACHE            download cache (default OUTDIR/.cache)
#   VMH_NO_APT=1         never call apt-get install/update (fail if something is missing)
#   VMH_COMPRESS         gzip (default) | none
set -euo pipefail
# Without this, a failure inside $(...) (a download in fetch_deb) would not
# stop the script, which then failed much later with unrelated errors.
shopt -s inherit_errexit

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
DEFAULT_OUT=$HERE/../../build/vm
OUT=$(mkdir -p "${1:-$DEFAULT_OUT}" && cd "${1:-$DEFAULT_OUT}" && pwd)
FLAVOUR=${VMH_KERNEL_FLAVOUR:-cloud-amd64}
MODULES="${VMH_MODULES:-virtio_pci virtio_net} ${VMH_EXTRA_MODULES:-}"
CACHE=${VMH_CACHE:-$OUT/.cache}
COMPRESS=${VMH_COMPRESS:-gzip}
WORK=$OUT/.work
export SOURCE_DATE_EPOCH=${SOURCE_DATE_EPOCH:-0}

log() { echo "build-guest: $*" >&2; }
die() { echo "build-guest: ERROR: $*" >&2; exit 1; }

# ---------------------------------------------------------------- host tools
APT_UPDATED=0
apt_update_once() {
    [ "$APT_UPDATED" = 1 ] && return 0
    [ "${VMH_NO_APT:-0}" = 1 ] && die "apt needed but VMH_NO_APT=1"
    log "apt-get update"
    apt-get update -qq >&2
    APT_UPDATED=1
}
need_pkgs=()
command -v qemu-system-x86_64 >/dev/null || need_pkgs+=(qemu-system-x86)
command -v cpio >/dev/null               || need_pkgs+=(cpio)
command -v gzip >/dev/null               || need_pkgs+=(gzip)
command -v xz >/dev/null                 || need_pkgs+=(xz-utils)
command -v zstd >/dev/null               || need_pkgs+=(zstd)
command -v dpkg-deb >/dev/null           || die "dpkg-deb missing (this script targets Debian/Ubuntu hosts)"
if [ ${#need_pkgs[@]} -gt 0 ]; then
    [ "$(id -u)" = 0 ] || die "missing ${need_pkgs[*]}; run as root or install them"
    apt_update_once
    log "installing host packages: ${need_pkgs[*]}"
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${need_pkgs[@]}" >&2
fi

# ------------------------------------------------------------- guest packages
mkdir -p "$CACHE"
candidate() { apt-cache policy "$1" 2>/dev/null | awk '/Candidate:/ && $2 != "(none)" {print $2}'; }
fetch_deb() {   # fetch_deb PACKAGE -> prints path of the cached .deb
    local pkg=$1 ver f
    ver=$(candidate "$pkg")
    [ -n "$ver" ] || { apt_update_once; ver=$(candidate "$pkg"); }
    [ -n "$ver" ] || die "package $pkg unknown to apt"
    # apt-get download encodes ':' of epochs as %3a
    f=$(ls "$CACHE/${pkg}_${ver/:/%3a}_"*.deb 2>/dev/null | head -n1 || true)
    if [ -z "$f" ]; then
        local try
        for try in 1 2; do  # one retry: mirrors drop connections now and then
            log "downloading $pkg $ver${try:+ (attempt $try of 2)}"
            if (cd "$CACHE" && apt-get download -qq -o APT::Sandbox::User=root "$pkg=$ver" >&2); then
                break
            fi
            [ "$try" = 2 ] && die "cannot download package $pkg $ver (apt-get download failed twice)"
            sleep 2
        done
        f=$(ls "$CACHE/${pkg}_${ver/:/%3a}_"*.deb 2>/dev/null | head -n1 || true)
        [ -n "$f" ] || die "package $pkg $ver: apt-get download left no .deb in $CACHE"
    fi
    echo "$f"
}
kernel_pkg() {  # linux-image-<flavour> metapackage -> versioned image package
    apt-cache show --no-all-versions "linux-image-$FLAVOUR" 2>/dev/null \
        | awk '/^Depends:/ { if (match($0, /linux-image-[0-9][^ ,|]*/)) print substr($0, RSTART, RLENGTH); exit }'
}

if [ -n "${VMH_KERNEL_DEB:-}" ]; then
    KDEB=$VMH_KERNEL_DEB
else
    KPKG=$(kernel_pkg)
    [ -n "$KPKG" ] || { apt_update_once; KPKG=$(kernel_pkg); }
    [ -n "$KPKG" ] || die "cannot resolve linux-image-$FLAVOUR to a kernel package"
    KDEB=$(fetch_deb "$KPKG")
fi
BBDEB=$(fetch_deb busybox-static)

# Up to date? (same packages, same guest files, same knobs -> same bytes)
STAMP=$(printf '%s\n' "$(basename "$KDEB")" "$(basename "$BBDEB")" "$MODULES" "$COMPRESS" "$SOURCE_DATE_EPOCH" \
        "$(cat "$HERE/guest/init" "$HERE/guest/udhcpc.script" "${BASH_SOURCE[0]}" | sha256sum)")
if [ "${VMH_FORCE:-0}" != 1 ] && [ -f "$OUT/.stamp" ] && [ "$(cat "$OUT/.stamp")" = "$STAMP" ] \
   && [ -f "$OUT/guest.env" ] && [ -f "$OUT/vmlinuz" ] && [ -f "$(. "$OUT/guest.env"; echo "$INITRD")" ]; then
    log "up to date: $OUT (VMH_FORCE=1 rebuilds)"
    exit 0
fi
rm -f "$OUT/.stamp"

# ------------------------------------------------------------------- extract
rm -rf "$WORK"
mkdir -p "$WORK/kernel" "$WORK/busybox" "$WORK/root"
dpkg-deb -x "$KDEB" "$WORK/kernel"
dpkg-deb -x "$BBDEB" "$WORK/busybox"
BB=$WORK/busybox/bin/busybox
[ -x "$BB" ] || die "busybox binary not found in $BBDEB"

# modules may live in /lib/modules or /usr/lib/modules (merged /usr)
for d in "$WORK/kernel/lib/modules" "$WORK/kernel/usr/lib/modules"; do
    [ -d "$d" ] && MODROOT=$d && break
done
[ -n "${MODROOT:-}" ] || die "no lib/modules in $KDEB"
KVER=$(ls "$MODROOT" | head -n1)
VMLINUZ=$(ls "$WORK/kernel/boot/vmlinuz-$KVER" 2>/dev/null || ls "$WORK"/kernel/boot/vmlinuz-* | head -n1)
log "kernel $KVER ($(basename "$KDEB"))"

# modules.dep is generated at install time by depmod; the static busybox
# from the guest package has a depmod applet we can run on the host.
if [ ! -s "$MODROOT/$KVER/modules.dep" ]; then
    "$BB" depmod -b "${MODROOT%/lib/modules}" "$KVER"
fi

# Resolve the wanted modules (names with - or _) to files, dependencies first.
MODLIST=$(awk -v want="$MODULES" -v builtin="$MODROOT/$KVER/modules.builtin" '
    function norm(s) { gsub("-", "_", s); return s }
    function base(p,   n, a, s) { n = split(p, a, "/"); s = a[n]; sub(/\.ko(\.(xz|zst|gz))?$/, "", s); return norm(s) }
    function visit(p,   n, a, i) {
        if (p in seen) return
        seen[p] = 1
        n = split(deps[p], a, " ")
        for (i = 1; i <= n; i++) visit(a[i])
        print p
    }
    BEGIN { while ((getline l < builtin) > 0) isbuiltin[base(l)] = 1 }
    {
        p = $1; sub(/:$/, "", p)
        file[base(p)] = p
        deps[p] = ""
        for (i = 2; i <= NF; i++) deps[p] = deps[p] " " $i
    }
    END {
        n = split(want, w, " ")
        for (i = 1; i <= n; i++) {
            m = norm(w[i])
            if (m in file) visit(file[m])
            else if (m in isbuiltin) print "builtin: " w[i] > "/dev/stderr"
            else { print "unknown module: " w[i] > "/dev/stderr"; err = 1 }
        }
        exit err
    }' "$MODROOT/$KVER/modules.dep") || die "module resolution failed"

# -------------------------------------------------------------- stage rootfs
R=$WORK/root
mkdir -p "$R"/{bin,sbin,usr/bin,usr/sbin,etc/vmtest,proc,sys,dev,run,tmp,root,vmtest,var/tmp,lib/modules/"$KVER"}
cp "$BB" "$R/bin/busybox"
"$BB" --list-full | while read -r p; do
    [ "$p" = bin/busybox ] && continue
    mkdir -p "$R/$(dirname "$p")"
    ln -sf /bin/busybox "$R/$p"
done
install -m 0755 "$HERE/guest/init" "$R/init"
install -m 0755 "$HERE/guest/udhcpc.script" "$R/etc/udhcpc.script"
echo "root:x:0:0:root:/root:/bin/sh" > "$R/etc/passwd"
echo "root:x:0:" > "$R/etc/group"
printf '127.0.0.1 localhost\n::1 localhost\n' > "$R/etc/hosts"
: > "$R/etc/resolv.conf"
: > "$R/etc/vmtest/modules"
for m in $MODLIST; do
    dst=$R/lib/modules/$KVER/$m
    mkdir -p "$(dirname "$dst")"
    case "$m" in
        *.ko.xz)  xz -dc   "$MODROOT/$KVER/$m" > "${dst%.xz}";  dst=${dst%.xz} ;;
        *.ko.zst) zstd -qdc "$MODROOT/$KVER/$m" > "${dst%.zst}"; dst=${dst%.zst} ;;
        *.ko.gz)  gzip -dc "$MODROOT/$KVER/$m" > "${dst%.gz}";  dst=${dst%.gz} ;;
        *)        cp "$MODROOT/$KVER/$m" "$dst" ;;
    esac
    echo "$KVER/${dst#$R/lib/modules/$KVER/}" >> "$R/etc/vmtest/modules"
done
cp "$MODROOT/$KVER/modules.builtin" "$MODROOT/$KVER/modules.order" "$R/lib/modules/$KVER/" 2>/dev/null || true
"$BB" depmod -b "$R" "$KVER"     # so `modprobe` works in the guest for the shipped modules

# /dev/console must exist in the initramfs, or init starts without stdio
if [ "$(id -u)" = 0 ]; then
    mknod -m 600 "$R/dev/console" c 5 1
    mknod -m 666 "$R/dev/null" c 1 3
else
    log "not root: no /dev/console node in the initramfs (init reopens it after mounting devtmpfs)"
fi

# ------------------------------------------------------------------ archive
find "$R" -exec touch -h -d "@$SOURCE_DATE_EPOCH" {} +
case "$COMPRESS" in
    gzip) INITRD=$OUT/initramfs.cpio.gz; compress() { gzip -9 -n; } ;;
    none) INITRD=$OUT/initramfs.cpio;    compress() { cat; } ;;
    *) die "VMH_COMPRESS must be gzip or none" ;;
esac
(cd "$R" && find . -mindepth 1 | LC_ALL=C sort | cpio --quiet -o -H newc -R 0:0 --reproducible | compress) > "$INITRD.tmp"
mv "$INITRD.tmp" "$INITRD"
cp "$VMLINUZ" "$OUT/vmlinuz.tmp" && mv "$OUT/vmlinuz.tmp" "$OUT/vmlinuz"

cat > "$OUT/guest.env" <<EOF
# written by build-guest.sh
KERNEL_VERSION=$KVER
KERNEL_DEB=$(basename "$KDEB")
BUSYBOX_DEB=$(basename "$BBDEB")
MODULES="$(tr '\n' ' ' < "$R/etc/vmtest/modules" | sed 's/ $//')"
VMLINUZ=$OUT/vmlinuz
INITRD=$INITRD
VMLINUZ_BYTES=$(stat -c %s "$OUT/vmlinuz")
INITRD_BYTES=$(stat -c %s "$INITRD")
EOF
rm -rf "$WORK"
printf '%s\n' "$STAMP" > "$OUT/.stamp"
log "done: $OUT/vmlinuz ($(du -h "$OUT/vmlinuz" | cut -f1)), $INITRD ($(du -h "$INITRD" | cut -f1))"
log "modules: $(grep ^MODULES= "$OUT/guest.env" | cut -d'"' -f2)"
