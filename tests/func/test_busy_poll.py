"""The event loop's busy polling (issue 14, latency): the top-level key
busy_poll_us (default 50, 0 = off, at most 10000) is accepted, printed and
refused out of range with the file and line; traffic between two tap ports
flows with polling on and off, bursts included (the tap's read quota grows
and shrinks); and once traffic stops, the daemon goes back to sleeping in
epoll_wait (no spinning while idle).

Every address is inside a namespace the test creates. No test measures a time.
"""
import yaml

import pytest

import vnet
from vnet import ping_stats, run, wait_for
from test_foundation import tap


def conf_text(ctl, ns_a, ns_b, extra=""):
    return f"""control: {ctl}
{extra}
networks:
  - {{ name: lan, mode: isolated }}
ports:
  - {{ name: a, type: tap, netns: {ns_a}, ifname: eth0, network: lan }}
  - {{ name: b, type: tap, netns: {ns_b}, ifname: eth0, network: lan }}
"""


def test_busy_poll_us_accepted_printed_and_bounded(netns, tmp_path):
    a, b = netns(), netns()
    cfg = tmp_path / "v.yaml"
    ctl = tmp_path / "ctl.sock"
    cfg.write_text(conf_text(ctl, a.path, b.path))
    assert yaml.safe_load(run([vnet.VNETD, "-c", cfg, "--print-config"]).stdout)["busy_poll_us"] == 50
    for v in (0, 1, 10000):
        cfg.write_text(conf_text(ctl, a.path, b.path, f"busy_poll_us: {v}"))
        assert run([vnet.VNETD, "-c", cfg, "--check"]).returncode == 0
        doc = yaml.safe_load(run([vnet.VNETD, "-c", cfg, "--print-config"]).stdout)
        assert doc["busy_poll_us"] == v
    for bad in ("10001", "-1", "fast", "1.5"):
        cfg.write_text(conf_text(ctl, a.path, b.path, f"busy_poll_us: {bad}"))
        r = run([vnet.VNETD, "-c", cfg, "--check"], check=False)
        assert r.returncode != 0
        assert f"{cfg}:2:" in r.stderr, r.stderr
        assert "busy_poll_us" in r.stderr, r.stderr
        assert not any(p in r.stderr for p in vnet.SANITIZER_PATTERNS), r.stderr
    assert list(a.links()) == ["lo"], "a tap was created"


def sleeping_in_epoll(pid):
    """True when pid's main thread is blocked in epoll_wait with a timeout
    other than 0 (a sleep, not a busy poll)."""
    with open(f"/proc/{pid}/syscall") as f:
        fields = f.read().split()
    # "232 fd events maxevents timeout ..." (x86_64: 232 epoll_wait, 281 epoll_pwait)
    return fields[0] in ("232", "281") and int(fields[4], 16) != 0


@pytest.mark.parametrize("busy_poll_us", [0, 1000])
def test_traffic_flows_then_the_daemon_sleeps(netns, vnetd, busy_poll_us):
    a, b = netns(), netns()
    d = vnetd({"busy_poll_us": busy_poll_us, "networks": [{"name": "lan", "mode": "isolated"}],
               "ports": [tap("a", a, "lan"), tap("b", b, "lan")]})
    a.wait_link()
    b.wait_link()
    a.addr("10.7.0.1/24")
    b.addr("10.7.0.2/24")
    a.ping_until("10.7.0.2")
    # Spaced pings (one frame per wake-up), then bursts of 32 in flight
    # (the read quota grows to take them): nothing lost.
    assert ping_stats(b.ping("10.7.0.1", count=50, interval=0.01).stdout) == (50, 50)
    st = ping_stats(b.ping("10.7.0.1", count=256, interval=0.002, extra=("-l", "32")).stdout)
    assert st == (256, 256), st
    sa, sb = d.port_stats("a"), d.port_stats("b")
    assert sa["rx_frames"] >= 306 and sb["rx_frames"] >= 306, (sa, sb)
    # Idle again: the loop sleeps in epoll_wait (it may poll for the window
    # after the last frame; it must not keep doing so).
    wait_for(lambda: sleeping_in_epoll(d.pid), timeout=10, what="vnetd sleeping in epoll_wait")
    d.assert_alive()
