"""vnetd vpn genkey|pubkey against wireguard-tools, and vnetd --check on vpn configs.

    test_keys_match_wg        vnetd's keys and wg's are the same keys: vnetd vpn genkey |
                              vnetd vpn pubkey equals wg pubkey of that key, wg genkey's keys
                              are read by vnetd vpn pubkey (also with white space around),
                              wg genpsk keys go into preshared_key_file
    test_pubkey_refuses       garbage, empty, two keys, a truncated key, a bad character:
                              an error on stderr and exit status 1; bad subcommands exit 2
    test_genkey_warns         genkey into a file others can read warns (vnetd would refuse it)
    test_check_vpn_config     vnetd --check and --print-config on a config with a vpn block:
                              accepted with keys from either tool, and each refusal (key
                              file mode 0644, our own public key as a peer's, a bad public
                              key, allowed_ips in the guests' subnet, a bridge network)
                              named with file, line and reason, exit status 2

No network traffic: only the binaries and files in the test's tmp_path.
"""
import os
import shutil
import subprocess

import pytest

import vnet

WG = shutil.which("wg") or "/usr/bin/wg"

pytestmark = pytest.mark.skipif(not os.access(WG, os.X_OK),
                                reason="wg (wireguard-tools) is not installed")


def sh(cmd, input=None, check=True):
    """Run cmd (a list) with input; returns the CompletedProcess."""
    return vnet.run(cmd, input=input, check=check)


def vnetd_vpn(*args, input=None, check=True):
    return sh([vnet.VNETD, "vpn", *args], input=input, check=check)


def write_key(path, text, mode=0o600):
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as f:
        f.write(text)
    os.chmod(path, mode)
    return path


def no_sanitizer_report(cp):
    for pat in vnet.SANITIZER_PATTERNS:
        assert pat not in cp.stderr, cp.stderr


def test_keys_match_wg():
    for _ in range(5):
        priv = vnetd_vpn("genkey").stdout
        assert priv.endswith("\n") and len(priv.strip()) == 44 and priv.strip().endswith("=")
        ours = vnetd_vpn("pubkey", input=priv)
        theirs = sh([WG, "pubkey"], input=priv).stdout
        assert ours.stdout == theirs and len(theirs.strip()) == 44
        no_sanitizer_report(ours)
    # two genkeys differ
    assert vnetd_vpn("genkey").stdout != vnetd_vpn("genkey").stdout
    for _ in range(5):
        priv = sh([WG, "genkey"]).stdout
        want = sh([WG, "pubkey"], input=priv).stdout
        assert vnetd_vpn("pubkey", input=priv).stdout == want
        # white space around the key, no final newline
        assert vnetd_vpn("pubkey", input="  \t" + priv.strip() + "\r\n\n").stdout == want
        assert vnetd_vpn("pubkey", input=priv.strip()).stdout == want


@pytest.mark.parametrize("text", [
    "garbage\n",
    "",
    "\n\n",
    "A" * 43 + "\n",
    "A" * 44 + "\n",
    "A" * 42 + "==\n",
    "!" + "A" * 42 + "=\n",
    "A" * 42 + "B=\n",          # stray bits in the last character
    "x" * 5000,
], ids=["garbage", "empty", "newlines", "short", "no-pad", "two-pad", "bad-char", "stray-bits",
        "long"])
def test_pubkey_refuses(text):
    cp = vnetd_vpn("pubkey", input=text, check=False)
    assert cp.returncode == 1, cp
    assert cp.stdout == ""
    assert "vnetd vpn pubkey: not a WireGuard private key" in cp.stderr
    no_sanitizer_report(cp)


def test_pubkey_refuses_two_keys():
    a, b = sh([WG, "genkey"]).stdout, sh([WG, "genkey"]).stdout
    cp = vnetd_vpn("pubkey", input=a + b, check=False)
    assert cp.returncode == 1 and "not a WireGuard private key" in cp.stderr


def test_bad_subcommands():
    for args in ([], ["genpsk"], ["genkey", "extra"], ["pubkey", "x"]):
        cp = vnetd_vpn(*args, check=False)
        assert cp.returncode == 2, (args, cp)
        assert "usage: vnetd vpn genkey" in cp.stderr
    cp = vnetd_vpn("--help")
    assert "vnetd vpn pubkey" in cp.stdout
    assert "vnetd vpn genkey|pubkey" in sh([vnet.VNETD, "--help"]).stdout


def test_genkey_warns(tmp_path):
    path = tmp_path / "open.key"
    fd = os.open(path, os.O_WRONLY | os.O_CREAT, 0o644)
    os.fchmod(fd, 0o644)
    cp = subprocess.run([str(vnet.VNETD), "vpn", "genkey"], stdout=fd, stderr=subprocess.PIPE,
                        text=True, timeout=30, env=vnet.env())
    os.close(fd)
    assert cp.returncode == 0
    assert "warning: writing a private key to a file group or others can read" in cp.stderr
    assert len(path.read_text().strip()) == 44
    path = tmp_path / "closed.key"
    fd = os.open(path, os.O_WRONLY | os.O_CREAT, 0o600)
    cp = subprocess.run([str(vnet.VNETD), "vpn", "genkey"], stdout=fd, stderr=subprocess.PIPE,
                        text=True, timeout=30, env=vnet.env())
    os.close(fd)
    assert cp.returncode == 0 and cp.stderr == ""
    # its key is what wg makes of it
    priv = path.read_text()
    assert vnetd_vpn("pubkey", input=priv).stdout == sh([WG, "pubkey"], input=priv).stdout


def config(tmp_path, key, peers, mode="nat"):
    """A vpn config (network 'lab' of mode, our key file, peers a YAML text); returns its path."""
    text = ("networks:\n"
            "  - name: lab\n"
            f"    mode: {mode}\n"
            "    vpn:\n"
            "      listen: \"127.0.0.1:51820\"\n"
            f"      private_key_file: {key}\n"
            "      address: 10.99.0.1/24\n"
            "      peers:\n" + peers)
    path = tmp_path / "vpn.yaml"
    path.write_text(text)
    return path


def check(path):
    cp = sh([vnet.VNETD, "-c", path, "--check"], check=False)
    no_sanitizer_report(cp)
    return cp


def test_check_vpn_config(tmp_path):
    # keys made by either tool
    our = write_key(tmp_path / "lab.key", vnetd_vpn("genkey").stdout)
    wg_priv = sh([WG, "genkey"]).stdout
    laptop = sh([WG, "pubkey"], input=wg_priv).stdout.strip()
    phone = vnetd_vpn("pubkey", input=vnetd_vpn("genkey").stdout).stdout.strip()
    psk = write_key(tmp_path / "laptop.psk", sh([WG, "genpsk"]).stdout)
    peers = ("        - name: laptop\n"
             f"          public_key: \"{laptop}\"\n"
             f"          preshared_key_file: {psk}\n"
             "          allowed_ips: [10.99.0.2/32, \"fd99::2/128\"]\n"
             "          endpoint: \"127.0.0.1:51821\"\n"
             "          persistent_keepalive: 25\n"
             f"        - public_key: \"{phone}\"\n"
             "          allowed_ips: [10.99.0.3/32]\n")
    path = config(tmp_path, our, peers)
    cp = check(path)
    assert cp.returncode == 0, cp.stderr
    assert "configuration ok: 1 network(s)" in cp.stdout
    printed = sh([vnet.VNETD, "-c", path, "--print-config"]).stdout
    assert laptop in printed and "name: peer2" in printed
    assert open(our).read().strip() not in printed       # no secret printed
    assert open(psk).read().strip() not in printed

    # the key file open to others
    os.chmod(our, 0o644)
    cp = check(path)
    assert cp.returncode == 2
    assert f"vpn.yaml:6: vpn.private_key_file '{our}': mode 0644" in cp.stderr
    assert "chmod 600" in cp.stderr
    os.chmod(our, 0o600)

    # our own public key as a peer's
    own = vnetd_vpn("pubkey", input=open(our).read()).stdout.strip()
    cp = check(config(tmp_path, our, f"        - {{name: me, public_key: \"{own}\"}}\n"))
    assert cp.returncode == 2
    assert "vpn.yaml:9: network 'lab': vpn peer 'me': public_key is this network's own" in cp.stderr

    # a public key that is not one
    cp = check(config(tmp_path, our, "        - {public_key: \"not-a-key\"}\n"))
    assert cp.returncode == 2
    assert "vpn.yaml:9: vpn.peers.public_key: not a WireGuard public key" in cp.stderr

    # allowed_ips in the guests' subnet (nat default 10.0.2.0/24)
    cp = check(config(tmp_path, our, f"        - {{public_key: \"{laptop}\", "
                                     "allowed_ips: [10.0.2.0/25]}\n"))
    assert cp.returncode == 2
    assert "overlaps the network's subnet 10.0.2.0/24" in cp.stderr

    # a bridge network has no gateway
    cp = check(config(tmp_path, our, f"        - {{public_key: \"{laptop}\"}}\n", mode="bridge"))
    assert cp.returncode == 2
    assert "vpn.yaml:5: network 'lab': vpn needs a gateway" in cp.stderr
