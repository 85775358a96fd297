#!/usr/bin/python3
"""Write the seed corpus of fuzz_vhost_vring to tests/fuzz/corpus/vhost_vring/.

Each seed is a small guest laid out as fuzz_vhost_vring.c reads its input:
a 17-byte preamble (regions, ring size, flags, rx frame length, region sizes
and gaps, ring offsets) and then region 0's bytes (descriptor table at 0,
available ring after it, used ring, buffers further on), then the other
regions'. Deterministic; standard library only.

usage: tests/fuzz/vhost-vring-corpus.py [OUTDIR]
"""
import os
import struct
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
F_NEXT, F_WRITE, F_INDIRECT = 1, 2, 4
MERGE, HDR12, EVIDX, KICKOFF, RINGADDR = 1, 2, 4, 8, 16


def desc(addr, length, flags=0, nxt=0):
    return struct.pack("<QIHH", addr, length, flags, nxt)


def seed(num_log, flags, flen, regions, descs, heads, data, extra=(), avail_idx=None,
         used_event=0):
    """regions: [(size_units, gap_units)]; descs: bytes of the table; data: {offset: bytes}
    in region 0; extra: contents of regions 1.. (bytes each)."""
    num = 1 << num_log
    pre = bytes([len(regions) - 1, num_log, flags]) + struct.pack("<H", flen)
    r = list(regions) + [(0, 0)] * (3 - len(regions))
    for size, gap in r:
        pre += bytes([size, gap])
    pre += b"\0" * 6
    size0 = 256 * (1 + regions[0][0])
    avail_off = 16 * num
    used_off = (avail_off + 6 + 2 * num + 3) & ~3
    mem = bytearray(max(size0, used_off + 6 + 8 * num))
    mem[0:len(descs)] = descs
    idx = len(heads) if avail_idx is None else avail_idx
    av = struct.pack("<HH", 0, idx) + b"".join(struct.pack("<H", h) for h in heads)
    mem[avail_off:avail_off + len(av)] = av
    struct.pack_into("<H", mem, avail_off + 4 + 2 * num, used_event)
    for off, b in data.items():
        mem[off:off + len(b)] = b
    out = pre + bytes(mem[:size0])
    for i, b in enumerate(extra):
        out += b.ljust(256 * (1 + regions[i + 1][0]), b"\0")
    return out


def hdr(flags=0, gso=0, hdr_len=0, gso_size=0, cs=0, co=0, nb=0):
    return struct.pack("<BBHHHHH", flags, gso, hdr_len, gso_size, cs, co, nb)


FRAME = bytes(range(64)) * 2
BUF = 0x400


def seeds():
    s = {}
    h = hdr(1, 1, 54, 1448, 34, 16)
    # tx: header alone, then the frame
    s["tx-two-buffers"] = seed(3, HDR12, 0, [(7, 0)],
                               desc(BUF, 12, F_NEXT, 1) + desc(BUF + 16, len(FRAME)), [0],
                               {BUF: h, BUF + 16: FRAME})
    # tx: header and frame in one buffer, three chains
    one = h + FRAME
    s["tx-one-buffer"] = seed(3, HDR12 | EVIDX, 0, [(7, 0)],
                              desc(BUF, len(one)) * 3, [0, 1, 2], {BUF: one})
    # tx: indirect table of two
    table = desc(BUF + 0x40, 12, F_NEXT, 1) + desc(BUF + 0x60, len(FRAME))
    s["tx-indirect"] = seed(2, HDR12, 0, [(7, 0)], desc(BUF, 32, F_INDIRECT), [0],
                            {BUF: table, BUF + 0x40: h, BUF + 0x60: FRAME})
    # rx mergeable: four 100-byte buffers, a 250-byte frame
    s["rx-mergeable"] = seed(3, HDR12 | MERGE | EVIDX, 250, [(7, 0)],
                             b"".join(desc(BUF + 128 * i, 100, F_WRITE) for i in range(4)),
                             [0, 1, 2, 3], {})
    # rx single chain of two buffers, legacy header
    s["rx-single"] = seed(1, 0, 1500, [(11, 0)],
                          desc(BUF, 1000, F_WRITE | F_NEXT, 1) + desc(BUF + 1000, 1000, F_WRITE),
                          [0], {})
    # buffers in regions 1 and 2 (2 adjacent to 1), one crossing the seam
    r0 = 256 * 8
    s["three-regions"] = seed(2, HDR12, 0, [(7, 0), (0, 4), (0, 0)],
                              desc(r0 + 256, 12, F_NEXT, 1) + desc(r0 + 256 + 200, 100), [0],
                              {}, extra=[b"\0" * 256, b"\0" * 256])
    # hostile: a loop, next out of range, avail index far ahead
    s["loop"] = seed(2, HDR12, 0, [(7, 0)], desc(BUF, 8, F_NEXT, 1) + desc(BUF, 8, F_NEXT, 0),
                     [0], {})
    s["next-out-of-range"] = seed(2, HDR12, 0, [(7, 0)], desc(BUF, 8, F_NEXT, 9), [0], {})
    s["avail-ahead"] = seed(2, HDR12, 0, [(7, 0)], desc(BUF, 8), [0], {}, avail_idx=200)
    # ring addresses from the input: desc at 0x100, avail at 0x200, used at 0x300
    t = seed(2, HDR12 | RINGADDR, 0, [(7, 0)], b"", [], {0x100: desc(BUF, 64)})
    t = bytearray(t)
    t[11:17] = struct.pack("<HHH", 0x100, 0x200, 0x300)
    s["ring-addresses"] = bytes(t)
    return s


def main():
    out = sys.argv[1] if len(sys.argv) > 1 else os.path.join(HERE, "corpus", "vhost_vring")
    os.makedirs(out, exist_ok=True)
    for name, data in seeds().items():
        with open(os.path.join(out, name), "wb") as f:
            f.write(data)


if __name__ == "__main__":
    main()
