#!/bin/sh
# Validate every example configuration with `vnetd --print-config` (parses
# and validates without creating anything). Usage: docs/examples/check.sh [VNETD]
# VNETD defaults to build/vnetd of this checkout. Exits non-zero if any fails.
dir=$(cd "$(dirname "$0")" && pwd)
vnetd=${1:-${VNETD:-$dir/../../build/vnetd}}
[ -x "$vnetd" ] || { echo "check.sh: no vnetd at $vnetd (build it with make, or pass its path)" >&2; exit 2; }
fail=0 n=0
for f in "$dir"/*.yaml; do
    n=$((n + 1))
    if out=$("$vnetd" -c "$f" --print-config 2>&1 >/dev/null); then
        echo "ok   $(basename "$f")"
    else
        echo "FAIL $(basename "$f"): $out"
        fail=$((fail + 1))
    fi
done
echo "$((n - fail)) passed, $fail failed"
[ "$fail" -eq 0 ]
