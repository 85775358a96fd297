"""Architecture (issue 10): the include graph of src/ stays a DAG of layers,
and tap ports get a stable MAC.

Every address is inside a namespace the test creates.
"""
import vnet
from policy_util import tap


def test_include_graph_is_a_dag():
    cp = vnet.run([vnet.REPO / "scripts" / "check-layers.sh"], check=False)
    assert cp.returncode == 0, cp.stdout + cp.stderr


def test_tap_mac_is_stable_across_restarts(netns, vnetd):
    """Without `mac`, a tap's MAC comes from the machine id and the port name:
    the same after a restart (so is a DHCP lease behind it), different for
    another port."""
    a, b = netns(), netns()
    conf = {"networks": [{"name": "lan", "mode": "isolated"}],
            "ports": [tap("one", a), tap("two", b)]}
    d = vnetd(conf, name="first")
    a.wait_link()
    b.wait_link()
    macs = (a.mac(), b.mac())
    d.stop()
    d2 = vnetd(conf, name="second")
    a.wait_link()
    b.wait_link()
    assert (a.mac(), b.mac()) == macs
    assert macs[0] != macs[1]
    assert all(int(m.split(":")[0], 16) & 0x03 == 0x02 for m in macs)  # local, unicast
    d2.assert_alive()
