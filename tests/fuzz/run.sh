#!/bin/sh
# Build and run every libFuzzer target for SECONDS each.
#
# usage: tests/fuzz/run.sh BUILD_DIR SECONDS [TARGET...]
#
# * BUILD_DIR is set up with clang and -Dfuzz=true if it has no build.ninja
#   yet (warnings are not errors there: clang may warn where gcc does not).
# * Inputs under tests/fuzz/regressions/<target>/ (past crashes) are replayed
#   first and must all pass.
# * Each target fuzzes a working corpus in BUILD_DIR/corpus/<target>/,
#   seeded from the committed tests/fuzz/corpus/<target>/ (which is never
#   written to), so what one run learns helps the next.
# * Crashes, leaks, timeouts (an input taking over 25 s) and running out of
#   memory (over 2 GB) fail the run; the inputs are saved in BUILD_DIR/crashes/
#   and printed. Exit status: 0 all clean, 1 something failed, 2 usage/build.
set -u

if [ $# -lt 2 ]; then
    echo "usage: $0 BUILD_DIR SECONDS [TARGET...]" >&2
    exit 2
fi
BUILD=$1
SECONDS_EACH=$2
shift 2
SRC=$(cd "$(dirname "$0")/../.." && pwd)
FUZZ_SRC=$SRC/tests/fuzz
ALL_TARGETS="eth ip stream config ctl switch dhcp dhcp6 nd dns dns_cache vxlan evpn vpn_wire vpn_handshake vpn_device vpn_uapi vhost_proto vhost_vring"
TARGETS=${*:-$ALL_TARGETS}

case $SECONDS_EACH in
    ''|*[!0-9]*) echo "SECONDS must be a whole number" >&2; exit 2 ;;
esac

if [ ! -f "$BUILD/build.ninja" ]; then
    echo "== setting up $BUILD (clang, -Dfuzz=true)"
    CC=clang meson setup "$BUILD" "$SRC" -Dfuzz=true -Dwerror=false \
        --buildtype=debugoptimized >"$BUILD.setup.log" 2>&1 || {
        cat "$BUILD.setup.log" >&2
        echo "meson setup failed (is clang installed? scripts/install-deps.sh)" >&2
        exit 2
    }
    rm -f "$BUILD.setup.log"
fi
echo "== building fuzz targets in $BUILD"
ninja -C "$BUILD" fuzz >"$BUILD/fuzz-build.log" 2>&1 || {
    tail -50 "$BUILD/fuzz-build.log" >&2
    echo "build failed" >&2
    exit 2
}

BUILD=$(cd "$BUILD" && pwd)
CRASHES=$BUILD/crashes
mkdir -p "$CRASHES" "$BUILD/corpus" "$BUILD/logs"
export ASAN_OPTIONS="${ASAN_OPTIONS:-abort_on_error=1:detect_leaks=1:allocator_may_return_null=1:quarantine_size_mb=32}"
export UBSAN_OPTIONS="${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}"
COMMON="-rss_limit_mb=2048 -timeout=25 -print_final_stats=1"
failed=""

show_crash() { # file
    echo "---- $1 ($(wc -c <"$1") bytes)"
    od -A d -t x1 -v "$1" | head -20
}

# 1. Regressions: every stored input must run clean.
for t in $TARGETS; do
    dir=$FUZZ_SRC/regressions/$t
    [ -d "$dir" ] || continue
    files=$(find "$dir" -type f ! -name '*.md' | sort)
    [ -n "$files" ] || continue
    echo "== replaying regressions of $t"
    # shellcheck disable=SC2086
    if ! "$BUILD/tests/fuzz/fuzz_$t" $COMMON $files >"$BUILD/logs/$t-regressions.log" 2>&1; then
        echo "FAIL: a regression input of $t crashes again:"
        grep -E "ERROR|SUMMARY|Running:" "$BUILD/logs/$t-regressions.log" | tail -5
        failed="$failed $t(regression)"
    fi
done

# 2. Fuzz each target for SECONDS_EACH on its working corpus.
for t in $TARGETS; do
    exe=$BUILD/tests/fuzz/fuzz_$t
    if [ ! -x "$exe" ]; then
        echo "FAIL: no target fuzz_$t"
        failed="$failed $t(missing)"
        continue
    fi
    work=$BUILD/corpus/$t
    mkdir -p "$work"
    [ -d "$FUZZ_SRC/corpus/$t" ] && cp -n "$FUZZ_SRC/corpus/$t"/* "$work"/ 2>/dev/null
    log=$BUILD/logs/$t.log
    maxlen=4096
    case $t in switch|ip|stream|vxlan) maxlen=16384 ;; esac
    printf '== fuzzing %-7s %ss ... ' "$t" "$SECONDS_EACH"
    before=$(ls "$CRASHES" | wc -l)
    # The outer timeout only guards against a hang libFuzzer cannot see.
    # shellcheck disable=SC2086
    timeout $((SECONDS_EACH + 120)) "$exe" $COMMON -max_total_time="$SECONDS_EACH" \
        -max_len=$maxlen -artifact_prefix="$CRASHES/$t-" "$work" >"$log" 2>&1
    rc=$?
    stats=$(grep -E "^#[0-9]+.*(DONE|INITED)" "$log" | tail -1 | sed 's/ *lim:.*//')
    if [ $rc -eq 0 ]; then
        echo "ok   $stats"
    else
        echo "FAIL (exit $rc)"
        grep -E "ERROR: |SUMMARY|runtime error|bad reply|fuzz:|printed configuration" "$log" | head -8
        echo "   full log: $log"
        failed="$failed $t"
    fi
    after=$(ls "$CRASHES" | wc -l)
    if [ "$after" -gt "$before" ]; then
        for f in $(ls -t "$CRASHES" | head -n $((after - before))); do
            show_crash "$CRASHES/$f"
        done
    fi
done

if [ -n "$failed" ]; then
    echo "== FAILED:$failed (inputs in $CRASHES; reproduce: $BUILD/tests/fuzz/fuzz_TARGET FILE)"
    exit 1
fi
echo "== all fuzz targets clean"
exit 0
