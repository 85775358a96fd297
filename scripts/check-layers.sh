#!/bin/sh
# check-layers.sh: fail when a source file includes a header of a layer
# above its own (the layers must form a DAG; README "Architecture").
#
#   0 core   1 pkt   2 fw, vhost (guest memory, virtqueues)   3 conf
#   4 port/provider.h (the port provider interface)   5 switch, port (the
#   backends)   6 gw   7 nat, vpn   8 obs, evpn   9 ctl   10 src/daemon.[ch]
#   11 run   12 src/vnetd.c
#
# A file may include its own directory and any layer with a lower number;
# the switch and the port backends share a rank and so may not include each
# other: both see only port/provider.h. Prints every
# offending line and exits 1; exits 0 when the graph is clean.
# With --graph it prints instead which layer includes which (one line per
# layer: "switch -> core fw pkt provider"), for before/after comparisons.
set -eu
graph=${1:-}
edges=""
cd "$(dirname "$0")/../src"

rank() {
    case $1 in
        core) echo 0 ;; pkt) echo 1 ;; fw|vhost) echo 2 ;; conf) echo 3 ;; provider) echo 4 ;;
        switch|port) echo 5 ;; gw) echo 6 ;; nat|vpn) echo 7 ;; obs|evpn) echo 8 ;; ctl) echo 9 ;;
        daemon) echo 10 ;; run) echo 11 ;; vnetd) echo 12 ;;
        *) echo "check-layers: no rank for '$1' (add it to scripts/check-layers.sh)" >&2; echo 99 ;;
    esac
}

bad=0
for f in $(find . -name '*.[ch]' | sed 's|^\./||' | sort); do
    case $f in
        port/provider.h) layer=provider ;;
        */*) layer=${f%%/*} ;;
        daemon.*) layer=daemon ;;
        *) layer=vnetd ;;
    esac
    mine=$(rank "$layer")
    for inc in $(sed -n 's/^[[:space:]]*#[[:space:]]*include[[:space:]]*"\([^"]*\)".*/\1/p' "$f"); do
        case $inc in
            */*) ;;
            *)
                # no directory: the file's own directory, or a file at src/
                if [ "$f" != port/provider.h ] && [ "$inc" = provider.h ] && [ "$layer" = port ]; then
                    inc=port/provider.h
                elif [ -e "$(dirname "$f")/$inc" ] && [ "$(dirname "$f")" != . ]; then continue; fi
                case $inc in daemon.h|port/provider.h) ;; *) continue ;; esac ;;
        esac
        case $inc in
            port/provider.h) target=provider ;;
            daemon.h) target=daemon ;;
            *) target=${inc%%/*} ;;
        esac
        [ "$target" = "$layer" ] && continue
        edges="$edges$layer $target
"
        theirs=$(rank "$target")
        if [ "$theirs" -ge "$mine" ]; then
            echo "check-layers: src/$f (layer $layer, rank $mine) includes \"$inc\" (layer $target, rank $theirs)"
            bad=1
        fi
    done
done
if [ "$graph" = --graph ]; then
    printf '%s' "$edges" | sort -u | awk '
        $1 != cur { if (cur != "") print cur " -> " list; cur = $1; list = $2; next }
        { list = list " " $2 }
        END { if (cur != "") print cur " -> " list }'
    exit 0
fi
[ "$bad" = 0 ] && echo "check-layers: include graph is a DAG"
exit "$bad"
