"""The test guest's build script (tests/vm/build-guest.sh, issue 17 item 6):
a download that fails stops the build at once with a message naming the
package, after one retry, instead of going on to unrelated errors.

Nothing is downloaded: apt-get is replaced on PATH by a stand-in whose
"download" always fails (everything else goes to the real apt-get).
"""
import os
import subprocess

import pytest

import vnet

FAKE_APT = """#!/bin/sh
if [ "$1" = download ] || [ "$2" = download ] || [ "$3" = download ] || [ "$4" = download ]; then
    echo x >> "$COUNT_FILE"
    echo "E: Failed to fetch (stand-in for a broken mirror)" >&2
    exit 100
fi
exec /usr/bin/apt-get "$@"
"""


def test_failed_download_stops_with_the_package_name(tmp_path):
    out = subprocess.run(["apt-cache", "show", "--no-all-versions", "linux-image-cloud-amd64"],
                         capture_output=True, text=True)
    if out.returncode != 0 or "Depends:" not in out.stdout:
        pytest.skip("apt has no package lists here (apt-get update has not run)")
    bindir = tmp_path / "bin"
    bindir.mkdir()
    fake = bindir / "apt-get"
    fake.write_text(FAKE_APT)
    fake.chmod(0o755)
    count = tmp_path / "count"
    env = dict(os.environ, PATH=f"{bindir}:{os.environ['PATH']}", COUNT_FILE=str(count),
               VMH_CACHE=str(tmp_path / "cache"), VMH_NO_APT="1")
    cp = subprocess.run([str(vnet.REPO / "tests/vm/build-guest.sh"), str(tmp_path / "out")],
                        capture_output=True, text=True, env=env, timeout=120)
    assert cp.returncode != 0
    assert "cannot download package linux-image-" in cp.stderr, cp.stderr
    assert count.read_text().count("x") == 2, "one retry, then stop"
    # It stopped there: nothing after the first failure ran.
    assert "dpkg-deb" not in cp.stderr and "busybox" not in cp.stderr, cp.stderr
