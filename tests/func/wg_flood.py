#!/usr/bin/python3
"""A bounded flood of WireGuard handshake initiations, for test_vpn_flood.py.

Run inside a namespace the test made (ip netns exec NS /usr/bin/python3
wg_flood.py ...). It sends COUNT handshake initiations (148 bytes: type 1,
a random sender index, random ephemeral, static and timestamp fields) to
TARGET:PORT from one UDP socket, paced at RATE a second, never longer than
COUNT / RATE + 1 seconds. With --server-pub each carries a valid mac1 for
that responder (mac1 = BLAKE2s-128 keyed with BLAKE2s-256("mac1----" ||
responder's public key), over the 116 bytes before it), so the responder
must treat it as a real handshake attempt; with --bad-mac1 the mac1 is
random. mac2 is always zero. Meanwhile it reads what comes back, then
waits --linger seconds for late answers, and prints one JSON line:
{"sent", "replies", "cookie_replies", "matched", "other", "seconds"}, where
a cookie reply (type 3, 64 bytes) is "matched" when its receiver index is
the sender index of an initiation we sent.
"""
import argparse
import base64
import hashlib
import json
import os
import select
import socket
import struct
import time

INIT_LEN = 148
MAC1_OFF = 116


def mac1_key(server_pub):
    """HASH("mac1----" || the responder's static public key)."""
    return hashlib.blake2s(b"mac1----" + server_pub).digest()


def initiation(key, bad_mac1):
    """One initiation with a random body and index; returns (bytes, index)."""
    index = struct.unpack("<I", os.urandom(4))[0]
    body = struct.pack("<BxxxI", 1, index) + os.urandom(MAC1_OFF - 8)
    if bad_mac1:
        mac1 = os.urandom(16)
    else:
        mac1 = hashlib.blake2s(body, key=key, digest_size=16).digest()
    return body + mac1 + bytes(16), index


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--target", required=True, help="IPv4 address of the responder")
    ap.add_argument("--port", type=int, default=51820)
    ap.add_argument("--server-pub", help="the responder's public key (base64)")
    ap.add_argument("--bad-mac1", action="store_true", help="send a random mac1")
    ap.add_argument("--count", type=int, required=True)
    ap.add_argument("--rate", type=float, required=True, help="initiations a second")
    ap.add_argument("--linger", type=float, default=1.0)
    a = ap.parse_args()
    if a.count < 0 or a.count > 100000 or a.rate <= 0 or a.rate > 20000:
        ap.error("count 0..100000, rate 0..20000 a second")
    pub = base64.b64decode(a.server_pub) if a.server_pub else bytes(32)
    if len(pub) != 32:
        ap.error("--server-pub: not a 32-byte key")
    key = mac1_key(pub)

    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 1 << 22)
    s.connect((a.target, a.port))
    s.setblocking(False)
    sent = 0
    sent_idx = set()
    res = {"replies": 0, "cookie_replies": 0, "matched": 0, "other": 0}

    def drain(timeout):
        r, _, _ = select.select([s], [], [], max(timeout, 0))
        while r:
            try:
                msg = s.recv(2048)
            except (BlockingIOError, ConnectionRefusedError):
                break
            res["replies"] += 1
            if len(msg) == 64 and msg[0] == 3 and msg[1:4] == b"\0\0\0":
                res["cookie_replies"] += 1
                if struct.unpack("<I", msg[4:8])[0] in sent_idx:
                    res["matched"] += 1
            else:
                res["other"] += 1

    t0 = time.monotonic()
    deadline = t0 + a.count / a.rate + 1.0
    while sent < a.count and time.monotonic() < deadline:
        due = t0 + sent / a.rate
        now = time.monotonic()
        if now < due:
            drain(due - now)
            continue
        msg, index = initiation(key, a.bad_mac1)
        try:
            s.send(msg)
        except (BlockingIOError, ConnectionRefusedError):
            continue
        sent_idx.add(index)
        sent += 1
    end = time.monotonic() + a.linger
    while time.monotonic() < end:
        drain(end - time.monotonic())
    res["sent"] = sent
    res["seconds"] = round(time.monotonic() - t0, 3)
    print(json.dumps(res), flush=True)


if __name__ == "__main__":
    main()
