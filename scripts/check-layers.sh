#!/bin/sh
# check-layers.sh: fail when a source file includes a header of a layer
# above its own (the layers must form a DAG; README "Architecture").
#
#   0 core   1 pkt   2 fw   3 conf   4 switch   5 port, gw   6 nat   7 obs
#   8 ctl    9 src/daemon.[ch]   10 run   11 src/vnetd.c
#
# A file may include its own directory and any layer with a lower number;
# port and gw share a rank and so may not include each other. Prints every
# offending line and exits 1; exits 0 when the graph is clean.
set -eu
cd "$(dirname "$0")/../src"

rank() {
    case $1 in
        core) echo 0 ;; pkt) echo 1 ;; fw) echo 2 ;; conf) echo 3 ;; switch) echo 4 ;;
        port|gw) echo 5 ;; nat) echo 6 ;; obs) echo 7 ;; ctl) echo 8 ;;
        daemon) echo 9 ;; run) echo 10 ;; vnetd) echo 11 ;;
        *) echo "check-layers: no rank for '$1' (add it to scripts/check-layers.sh)" >&2; echo 99 ;;
    esac
}

bad=0
for f in $(find . -name '*.[ch]' | sed 's|^\./||' | sort); do
    case $f in
        */*) layer=${f%%/*} ;;
        daemon.*) layer=daemon ;;
        *) layer=vnetd ;;
    esac
    mine=$(rank "$layer")
    for inc in $(sed -n 's/^[[:space:]]*#[[:space:]]*include[[:space:]]*"\([^"]*\)".*/\1/p' "$f"); do
        case $inc in
            */*) target=${inc%%/*} ;;
            *)
                # no directory: the file's own directory, or a file at src/
                if [ -e "$(dirname "$f")/$inc" ] && [ "$(dirname "$f")" != . ]; then continue; fi
                case $inc in daemon.h) target=daemon ;; *) continue ;; esac ;;
        esac
        [ "$target" = "$layer" ] && continue
        theirs=$(rank "$target")
        if [ "$theirs" -ge "$mine" ]; then
            echo "check-layers: src/$f (layer $layer, rank $mine) includes \"$inc\" (layer $target, rank $theirs)"
            bad=1
        fi
    done
done
[ "$bad" = 0 ] && echo "check-layers: include graph is a DAG"
exit "$bad"
