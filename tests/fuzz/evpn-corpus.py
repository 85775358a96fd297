#!/usr/bin/python3
"""Seeds of fuzz_evpn (tests/fuzz/fuzz_evpn.c): streams of bridge neighbour
messages as FRR's zebra makes the kernel send them about the mirror devices
of slot 0 (vx 10, br 11, tap 12) and slot 1 (20, 21, 22).

usage: tests/fuzz/evpn-corpus.py [OUTDIR]   (default tests/fuzz/corpus/evpn)
"""
import hashlib
import os
import struct
import sys

RTM_NEWNEIGH, RTM_DELNEIGH = 28, 29
AF_BRIDGE, AF_INET = 7, 2
NDA_DST, NDA_LLADDR, NDA_MASTER = 1, 2, 9
NTF_SELF, NTF_EXT_LEARNED = 0x02, 0x10
NUD_PERMANENT, NUD_REACHABLE = 0x80, 0x02


def attr(typ, data):
    a = struct.pack("=HH", 4 + len(data), typ) + data
    return a + b"\0" * (-len(a) % 4)


def neigh(typ, ifindex, mac, dst=None, master=0, flags=0, family=AF_BRIDGE, state=NUD_REACHABLE):
    body = struct.pack("=BxxxiHBB", family, ifindex, state, flags, 0)
    body += attr(NDA_LLADDR, bytes(int(x, 16) for x in mac.split(":")))
    if dst:
        body += attr(NDA_DST, bytes(int(x) for x in dst.split(".")))
    if master:
        body += attr(NDA_MASTER, struct.pack("=I", master))
    return struct.pack("=IHHII", 16 + len(body), typ, 0, 0, 0) + body


def remote(mac, dst, vx=10, br=11, new=True):
    t = RTM_NEWNEIGH if new else RTM_DELNEIGH
    return (neigh(t, vx, mac, dst, flags=NTF_SELF | NTF_EXT_LEARNED) +
            neigh(t, vx, mac, master=br, flags=NTF_EXT_LEARNED))


def flood(dst, vx=10, new=True):
    return neigh(RTM_NEWNEIGH if new else RTM_DELNEIGH, vx, "00:00:00:00:00:00", dst,
                 flags=NTF_SELF, state=NUD_PERMANENT)


SEEDS = {
    "flood": b"\0" + flood("192.0.2.2") + flood("192.0.2.3") + flood("192.0.2.2", new=False),
    "remote": b"\0" + remote("02:00:00:00:00:01", "192.0.2.2") +
              remote("02:00:00:00:00:01", "192.0.2.3"),
    "moved-here": b"\0" + remote("02:00:00:00:00:01", "192.0.2.2") +
                  neigh(RTM_NEWNEIGH, 12, "02:00:00:00:00:01", master=11),
    "withdraw": b"\0" + remote("02:00:00:00:00:01", "192.0.2.2") +
                remote("02:00:00:00:00:01", "192.0.2.2", new=False),
    "slots": b"\0" + remote("02:00:00:00:00:01", "192.0.2.2", 20, 21) + flood("192.0.2.4", 20),
    "resync": b"\4" + flood("192.0.2.2") + remote("02:00:00:00:00:02", "192.0.2.2"),
    "walk": b"\2" + neigh(RTM_NEWNEIGH, 12, "02:00:00:00:00:05", master=11) +
            remote("02:00:00:00:00:05", "192.0.2.2"),
    "refused": b"\1" + flood("192.0.2.2") + remote("02:00:00:00:00:01", "192.0.2.2"),
    "other": b"\0" + neigh(RTM_NEWNEIGH, 10, "02:00:00:00:00:01", "192.0.2.2", family=AF_INET) +
             neigh(RTM_NEWNEIGH, 99, "02:00:00:00:00:01", "192.0.2.2") +
             neigh(RTM_NEWNEIGH, 10, "01:00:5e:00:00:01", "192.0.2.2"),
}

out = sys.argv[1] if len(sys.argv) > 1 else os.path.join(os.path.dirname(__file__), "corpus", "evpn")
os.makedirs(out, exist_ok=True)
for name, data in SEEDS.items():
    with open(os.path.join(out, hashlib.sha1(data).hexdigest()), "wb") as f:
        f.write(data)
print(f"{len(SEEDS)} seeds in {out}")
