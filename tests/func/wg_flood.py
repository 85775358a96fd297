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
random. mac2 is zero, unless --with-cookie: then the flooder first sends one
initiation, opens the cookie reply it gets (XChaCha20-Poly1305 under
BLAKE2s-256("cookie--" || responder's key), the initiation's mac1 as
associated data) and gives every initiation of the flood mac2 = BLAKE2s-128
keyed with that cookie over the 132 bytes before it, as a peer that owns
its address would (it fails with status 3 if no cookie comes in 5 s: the
responder must be under load already). Meanwhile it reads what comes back, then
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
import sys
import time

INIT_LEN = 148
MAC1_OFF = 116


def mac1_key(server_pub):
    """HASH("mac1----" || the responder's static public key)."""
    return hashlib.blake2s(b"mac1----" + server_pub).digest()


def initiation(key, bad_mac1, cookie=None):
    """One initiation with a random body and index (mac2 from cookie, else
    zero); returns (bytes, index)."""
    index = struct.unpack("<I", os.urandom(4))[0]
    body = struct.pack("<BxxxI", 1, index) + os.urandom(MAC1_OFF - 8)
    if bad_mac1:
        mac1 = os.urandom(16)
    else:
        mac1 = hashlib.blake2s(body, key=key, digest_size=16).digest()
    mac2 = hashlib.blake2s(body + mac1, key=cookie, digest_size=16).digest() if cookie \
        else bytes(16)
    return body + mac1 + mac2, index


def _rotl(v, n):
    return ((v << n) | (v >> (32 - n))) & 0xFFFFFFFF


def hchacha20(key, nonce16):
    """HChaCha20 (draft-irtf-cfrg-xchacha 2.2): the subkey of XChaCha20."""
    x = [0x61707865, 0x3320646E, 0x79622D32, 0x6B206574]
    x += list(struct.unpack("<8I", key)) + list(struct.unpack("<4I", nonce16))

    def qr(a, b, c, d):
        x[a] = (x[a] + x[b]) & 0xFFFFFFFF
        x[d] = _rotl(x[d] ^ x[a], 16)
        x[c] = (x[c] + x[d]) & 0xFFFFFFFF
        x[b] = _rotl(x[b] ^ x[c], 12)
        x[a] = (x[a] + x[b]) & 0xFFFFFFFF
        x[d] = _rotl(x[d] ^ x[a], 8)
        x[c] = (x[c] + x[d]) & 0xFFFFFFFF
        x[b] = _rotl(x[b] ^ x[c], 7)

    for _ in range(10):
        qr(0, 4, 8, 12), qr(1, 5, 9, 13), qr(2, 6, 10, 14), qr(3, 7, 11, 15)
        qr(0, 5, 10, 15), qr(1, 6, 11, 12), qr(2, 7, 8, 13), qr(3, 4, 9, 14)
    return struct.pack("<8I", *(x[0:4] + x[12:16]))


def open_cookie(server_pub, reply, mac1):
    """The cookie in a cookie reply (64 bytes) answering a message whose
    mac1 is mac1; raises on a bad reply."""
    from cryptography.hazmat.primitives.ciphers.aead import ChaCha20Poly1305
    key = hashlib.blake2s(b"cookie--" + server_pub).digest()
    nonce = reply[8:32]
    sub = hchacha20(key, nonce[:16])
    return ChaCha20Poly1305(sub).decrypt(b"\0" * 4 + nonce[16:], reply[32:64], mac1)


def get_cookie(s, key, server_pub):
    """Send one initiation and open the cookie reply to it (5 s at most)."""
    msg, index = initiation(key, False)
    s.send(msg)
    end = time.monotonic() + 5
    while time.monotonic() < end:
        r, _, _ = select.select([s], [], [], max(end - time.monotonic(), 0))
        if not r:
            break
        reply = s.recv(2048)
        if len(reply) == 64 and reply[0] == 3 and struct.unpack("<I", reply[4:8])[0] == index:
            return open_cookie(server_pub, reply, msg[MAC1_OFF:MAC1_OFF + 16])
    return None


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--target", required=True, help="IPv4 address of the responder")
    ap.add_argument("--port", type=int, default=51820)
    ap.add_argument("--server-pub", help="the responder's public key (base64)")
    ap.add_argument("--bad-mac1", action="store_true", help="send a random mac1")
    ap.add_argument("--with-cookie", action="store_true",
                    help="get a cookie first and send a valid mac2")
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
    cookie = None
    if a.with_cookie:
        cookie = get_cookie(s, key, pub)
        if cookie is None:
            print(json.dumps({"error": "no cookie reply"}), flush=True)
            return 3
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
        msg, index = initiation(key, a.bad_mac1, cookie)
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
    return 0


if __name__ == "__main__":
    sys.exit(main())
