#!/usr/bin/python3
"""Known-answer vectors for WireGuard's handshake and cookie messages,
computed independently of vnet's C code (hashlib.blake2s, hmac and the
cryptography module's X25519 and ChaCha20-Poly1305), from the WireGuard
whitepaper, section 5.4. Run with Debian's /usr/bin/python3; the output is
pasted into tests/unit/test_vpn_noise.c and test_vpn_cookie.c.

Fixed inputs: private keys i_s, r_s (statics), i_e, r_e (ephemerals) are
bytes 0x01.., 0x21.., 0x41.., 0x61.. (clamped by X25519), the preshared
key bytes 0x81.., the initiator's index 0x11223344, the responder's
0x55667788, the timestamp TAI64N of 1700000000 s 123456789 ns.

Then a cookie reply from the responder to that initiation (cookie bytes
0xa1.., nonce bytes 0xc1..), sealed with XChaCha20-Poly1305 (HChaCha20
written out below, checked against draft-irtf-cfrg-xchacha-03 2.2.1), and
the mac2 the initiator's next message carries with that cookie."""
import hashlib
import hmac
import struct

from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey, X25519PublicKey
from cryptography.hazmat.primitives.ciphers.aead import ChaCha20Poly1305
from cryptography.hazmat.primitives import serialization

CONSTRUCTION = b"Noise_IKpsk2_25519_ChaChaPoly_BLAKE2s"
IDENTIFIER = b"WireGuard v1 zx2c4 Jason@zx2c4.com"


def HASH(*parts):
    return hashlib.blake2s(b"".join(parts)).digest()


def MAC(key, data):
    return hashlib.blake2s(data, digest_size=16, key=key).digest()


def HMAC(key, data):
    return hmac.new(key, data, hashlib.blake2s).digest()


def KDF(n, key, data):
    t0 = HMAC(key, data)
    out, prev = [], b""
    for i in range(1, n + 1):
        prev = HMAC(t0, prev + bytes([i]))
        out.append(prev)
    return out


def AEAD(key, counter, plain, ad):
    nonce = b"\0" * 4 + struct.pack("<Q", counter)
    return ChaCha20Poly1305(key).encrypt(nonce, plain, ad)


def rotl(v, n):
    return ((v << n) | (v >> (32 - n))) & 0xFFFFFFFF


def hchacha20(key, nonce16):
    x = [0x61707865, 0x3320646E, 0x79622D32, 0x6B206574]
    x += list(struct.unpack("<8I", key)) + list(struct.unpack("<4I", nonce16))

    def qr(a, b, c, d):
        x[a] = (x[a] + x[b]) & 0xFFFFFFFF; x[d] = rotl(x[d] ^ x[a], 16)
        x[c] = (x[c] + x[d]) & 0xFFFFFFFF; x[b] = rotl(x[b] ^ x[c], 12)
        x[a] = (x[a] + x[b]) & 0xFFFFFFFF; x[d] = rotl(x[d] ^ x[a], 8)
        x[c] = (x[c] + x[d]) & 0xFFFFFFFF; x[b] = rotl(x[b] ^ x[c], 7)

    for _ in range(10):
        qr(0, 4, 8, 12); qr(1, 5, 9, 13); qr(2, 6, 10, 14); qr(3, 7, 11, 15)
        qr(0, 5, 10, 15); qr(1, 6, 11, 12); qr(2, 7, 8, 13); qr(3, 4, 9, 14)
    return struct.pack("<8I", *(x[0:4] + x[12:16]))


def XAEAD(key, nonce24, plain, ad):
    sub = hchacha20(key, nonce24[:16])
    return ChaCha20Poly1305(sub).encrypt(b"\0" * 4 + nonce24[16:], plain, ad)


assert hchacha20(bytes(range(32)), bytes.fromhex("000000090000004a0000000031415927")).hex() == \
    "82413b4227b27bfed30e42508a877d73a0f9e4d58a74a853c12ec41326d3ecdc"


def pub(priv):
    k = X25519PrivateKey.from_private_bytes(priv).public_key()
    return k.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)


def DH(priv, pubk):
    return X25519PrivateKey.from_private_bytes(priv).exchange(X25519PublicKey.from_public_bytes(pubk))


def seq(start):
    return bytes((start + i) & 0xFF for i in range(32))


i_s, r_s, i_e, r_e, psk = seq(0x01), seq(0x21), seq(0x41), seq(0x61), seq(0x81)
I_S, R_S, I_E, R_E = pub(i_s), pub(r_s), pub(i_e), pub(r_e)
I_IDX, R_IDX = 0x11223344, 0x55667788
TAI = struct.pack(">QI", 0x400000000000000A + 1700000000, 123456789)

# Initiation (5.4.2)
C = HASH(CONSTRUCTION)
H = HASH(C, IDENTIFIER)
H = HASH(H, R_S)
C, = KDF(1, C, I_E)
H = HASH(H, I_E)
C, k = KDF(2, C, DH(i_e, R_S))
enc_static = AEAD(k, 0, I_S, H)
H = HASH(H, enc_static)
C, k = KDF(2, C, DH(i_s, R_S))
enc_time = AEAD(k, 0, TAI, H)
H = HASH(H, enc_time)
init = b"\x01\0\0\0" + struct.pack("<I", I_IDX) + I_E + enc_static + enc_time
init += MAC(HASH(b"mac1----", R_S), init) + b"\0" * 16
assert len(init) == 148

# Response (5.4.3)
C, = KDF(1, C, R_E)
H = HASH(H, R_E)
C, = KDF(1, C, DH(r_e, I_E))
C, = KDF(1, C, DH(r_e, I_S))
C, tau, k = KDF(3, C, psk)
H = HASH(H, tau)
enc_empty = AEAD(k, 0, b"", H)
H = HASH(H, enc_empty)
resp = b"\x02\0\0\0" + struct.pack("<II", R_IDX, I_IDX) + R_E + enc_empty
resp += MAC(HASH(b"mac1----", I_S), resp) + b"\0" * 16
assert len(resp) == 92

# Transport keys (5.4.5): the initiator sends with the first
t_send, t_recv = KDF(2, C, b"")

# Cookie reply (5.4.7) to the initiation, and mac2 (5.4.4) with its cookie
cookie = bytes(range(0xA1, 0xB1))
xnonce = bytes(range(0xC1, 0xD9))
mac1 = init[116:132]
reply = b"\x03\0\0\0" + struct.pack("<I", I_IDX) + xnonce
reply += XAEAD(HASH(b"cookie--", R_S), xnonce, cookie, mac1)
assert len(reply) == 64
mac2 = MAC(cookie, init[:132])

print("i_pub", I_S.hex())
print("r_pub", R_S.hex())
print("tai64n", TAI.hex())
print("init", init.hex())
print("resp", resp.hex())
print("i_send", t_send.hex())
print("i_recv", t_recv.hex())
print("cookie_reply", reply.hex())
print("init_mac2", mac2.hex())
