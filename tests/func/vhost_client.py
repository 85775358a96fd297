"""A small vhost-user front end (the "driver" side, what QEMU or DPDK's
virtio_user are) for the functional tests: it can behave and misbehave.

Theory of operation. The front end owns the "guest memory": one or more
memfds mapped here (os.memfd_create + mmap) and handed to the back end in
SET_MEM_TABLE with SCM_RIGHTS. Each region has a guest-physical base (what
descriptors carry) and a user-address base (what SET_VRING_ADDR carries);
the two are made different on purpose, so a back end that confuses them
fails. Two split virtqueues (virtio 1.x 2.7) are laid out in region 0: rx =
vring 0 (the back end writes frames into buffers we post), tx = vring 1 (we
post frames, the back end consumes them). Every frame carries the 12-byte
virtio_net_hdr_mrg_rxbuf (VERSION_1 is always negotiated here).

The front end polls used->idx for completions (bounded by timeouts) and
kicks after every batch; it never relies on call interrupts, but it reads
and records them (calls()). Nothing here trusts the back end either: used
element ids and lengths are checked before they are used.

The wire format follows the vhost-user specification (QEMU
docs/interop/vhost-user.rst): a 12-byte header (request, flags, size) then
size bytes of payload; fds ride on the header's sendmsg. Every primitive
used to misbehave (send_msg with any size, any fds, raw descriptors written
into the table) is public; the well-behaved path is setup(), send_frame(),
recv_frame().
"""
import array
import mmap
import os
import select
import socket
import struct
import subprocess
import tempfile
import time

import vnet

# ------------------------------------------------------------ protocol constants

VHOST_USER_VERSION = 0x1
FLAG_REPLY = 1 << 2
FLAG_NEED_REPLY = 1 << 3

GET_FEATURES = 1
SET_FEATURES = 2
SET_OWNER = 3
RESET_OWNER = 4
SET_MEM_TABLE = 5
SET_LOG_BASE = 6
SET_LOG_FD = 7
SET_VRING_NUM = 8
SET_VRING_ADDR = 9
SET_VRING_BASE = 10
GET_VRING_BASE = 11
SET_VRING_KICK = 12
SET_VRING_CALL = 13
SET_VRING_ERR = 14
GET_PROTOCOL_FEATURES = 15
SET_PROTOCOL_FEATURES = 16
GET_QUEUE_NUM = 17
SET_VRING_ENABLE = 18
SEND_RARP = 19
NET_SET_MTU = 20
GET_MAX_MEM_SLOTS = 36
ADD_MEM_REG = 37
REM_MEM_REG = 38

# virtio feature bits
F_CSUM = 0
F_GUEST_CSUM = 1
F_GUEST_TSO4 = 7
F_GUEST_TSO6 = 8
F_GUEST_UFO = 10
F_HOST_TSO4 = 11
F_HOST_TSO6 = 12
F_HOST_UFO = 14
F_MRG_RXBUF = 15
F_STATUS = 16
F_CTRL_VQ = 17
F_MQ = 22
F_INDIRECT_DESC = 28
F_EVENT_IDX = 29
F_PROTOCOL_FEATURES = 30
F_VERSION_1 = 32
F_ACCESS_PLATFORM = 33
F_RING_PACKED = 34

# protocol feature bits
PF_MQ = 0
PF_LOG_SHMFD = 1
PF_RARP = 2
PF_REPLY_ACK = 3
PF_MTU = 4
PF_CONFIGURE_MEM_SLOTS = 15

VRING_DESC_F_NEXT = 1
VRING_DESC_F_WRITE = 2
VRING_DESC_F_INDIRECT = 4

RX, TX = 0, 1
HDR_LEN = 12       # virtio_net_hdr_mrg_rxbuf (VERSION_1 or MRG_RXBUF negotiated)
HDR_LEN_LEGACY = 10
VRING_IDX_F_NOFD = 1 << 8

REGION_FMT = "<QQQQ"  # guest_phys_addr, memory_size, userspace_addr, mmap_offset
MAX_FDS = 8


def bit(n):
    return 1 << n


DEFAULT_FEATURES = (bit(F_VERSION_1) | bit(F_EVENT_IDX) | bit(F_INDIRECT_DESC) | bit(F_MRG_RXBUF)
                    | bit(F_PROTOCOL_FEATURES))


def vnetd_has_vhost_user(vnetd):
    """Whether the vnetd binary at path vnetd knows vhost-user ports (its
    --check accepts a configuration with one)."""
    with tempfile.TemporaryDirectory() as d:
        conf = os.path.join(d, "probe.yaml")
        with open(conf, "w") as f:
            f.write("networks:\n  - { name: lan, mode: isolated }\nports:\n"
                    f"  - {{ name: v, type: vhost-user, path: {d}/v.sock, network: lan }}\n")
        try:
            cp = subprocess.run([str(vnetd), "-c", conf, "--check"], capture_output=True,
                                timeout=30)
        except (OSError, subprocess.TimeoutExpired):
            return False
        return cp.returncode == 0


class ClosedError(ConnectionError):
    """The back end closed the connection."""


# ------------------------------------------------------------ guest memory

class Region:
    """One memfd mapped here: gpa/uva bases, a bump allocator, byte access by gpa."""

    def __init__(self, size, gpa, uva, name="vhost-guest"):
        self.size, self.gpa, self.uva = size, gpa, uva
        self.fd = os.memfd_create(name, os.MFD_CLOEXEC)
        os.ftruncate(self.fd, size)
        self.mm = mmap.mmap(self.fd, size, flags=mmap.MAP_SHARED,
                            prot=mmap.PROT_READ | mmap.PROT_WRITE)
        self.next = 0

    def alloc(self, n, align=16):
        """gpa of n fresh zeroed bytes (aligned); AssertionError when full."""
        off = (self.next + align - 1) & ~(align - 1)
        assert off + n <= self.size, f"guest region full ({off}+{n} > {self.size})"
        self.next = off + n
        self.mm[off:off + n] = b"\0" * n
        return self.gpa + off

    def contains(self, gpa, n=1):
        return self.gpa <= gpa and gpa + n <= self.gpa + self.size

    def uva_of(self, gpa):
        return gpa - self.gpa + self.uva

    def write(self, gpa, data):
        off = gpa - self.gpa
        assert 0 <= off and off + len(data) <= self.size, f"gpa {gpa:#x}+{len(data)} outside"
        self.mm[off:off + len(data)] = data

    def read(self, gpa, n):
        off = gpa - self.gpa
        assert 0 <= off and off + n <= self.size, f"gpa {gpa:#x}+{n} outside"
        return bytes(self.mm[off:off + n])

    def desc(self, mmap_offset=0):
        """The region as SET_MEM_TABLE carries it."""
        return (self.gpa, self.size, self.uva, mmap_offset)

    def close(self):
        try:
            self.mm.close()
        except BufferError:
            pass
        if self.fd >= 0:
            os.close(self.fd)
            self.fd = -1


class Memory:
    """The guest's memory: a list of regions; reads and writes by gpa."""

    def __init__(self, regions):
        self.regions = list(regions)

    def region(self, gpa, n=1):
        for r in self.regions:
            if r.contains(gpa, n):
                return r
        raise AssertionError(f"gpa {gpa:#x}+{n} is in no region")

    def write(self, gpa, data):
        self.region(gpa, len(data)).write(gpa, data)

    def read(self, gpa, n):
        return self.region(gpa, n).read(gpa, n)

    def close(self):
        for r in self.regions:
            r.close()


# ------------------------------------------------------------ one split virtqueue

class Ring:
    """The driver side of one split virtqueue laid out in guest memory."""

    def __init__(self, mem, region, num, index):
        self.mem, self.num, self.index = mem, num, index
        self.desc = region.alloc(16 * num, 16)
        self.avail = region.alloc(6 + 2 * num, 2)
        self.used = region.alloc(6 + 8 * num, 4)
        self.avail_idx = 0         # our shadow of avail->idx
        self.last_used = 0         # next used element we read
        self.free = list(range(num))
        self.inflight = {}         # head -> (descriptor indexes, buffer gpas and lens)
        self.kick = os.eventfd(0, os.EFD_NONBLOCK | os.EFD_CLOEXEC)
        self.call = os.eventfd(0, os.EFD_NONBLOCK | os.EFD_CLOEXEC)
        self.region = region

    # addresses as the back end sees them in SET_VRING_ADDR (user addresses)
    def uvas(self):
        r = self.region
        return r.uva_of(self.desc), r.uva_of(self.used), r.uva_of(self.avail)

    def write_desc(self, i, addr, length, flags=0, nxt=0, table=None):
        """Write descriptor i of the ring's table (or of an indirect table at gpa table)."""
        base = self.desc if table is None else table
        self.mem.write(base + 16 * i, struct.pack("<QIHH", addr, length, flags, nxt))

    def publish(self, head):
        """Put head into the available ring and bump avail->idx."""
        slot = self.avail_idx % self.num
        self.mem.write(self.avail + 4 + 2 * slot, struct.pack("<H", head))
        self.avail_idx = (self.avail_idx + 1) & 0xFFFF
        self.mem.write(self.avail + 2, struct.pack("<H", self.avail_idx))

    def set_used_event(self, v):
        self.mem.write(self.avail + 4 + 2 * self.num, struct.pack("<H", v & 0xFFFF))

    def set_avail_flags(self, flags):
        self.mem.write(self.avail, struct.pack("<H", flags))

    def used_idx(self):
        return struct.unpack("<H", self.mem.read(self.used + 2, 2))[0]

    def used_flags(self):
        return struct.unpack("<H", self.mem.read(self.used, 2))[0]

    def avail_event(self):
        return struct.unpack("<H", self.mem.read(self.used + 4 + 8 * self.num, 2))[0]

    def add_chain(self, bufs):
        """Post one chain of (gpa, len, writable) buffers; returns its head."""
        assert len(bufs) <= len(self.free), "ring full"
        idxs = [self.free.pop(0) for _ in bufs]
        for k, (addr, length, w) in enumerate(bufs):
            flags = (VRING_DESC_F_WRITE if w else 0)
            nxt = 0
            if k + 1 < len(bufs):
                flags |= VRING_DESC_F_NEXT
                nxt = idxs[k + 1]
            self.write_desc(idxs[k], addr, length, flags, nxt)
        self.inflight[idxs[0]] = (idxs, bufs)
        self.publish(idxs[0])
        return idxs[0]

    def add_indirect(self, bufs, region):
        """Post one chain made of an indirect table (allocated in region) of bufs."""
        assert self.free, "ring full"
        table = region.alloc(16 * len(bufs), 16)
        for k, (addr, length, w) in enumerate(bufs):
            flags = (VRING_DESC_F_WRITE if w else 0)
            if k + 1 < len(bufs):
                flags |= VRING_DESC_F_NEXT
            self.write_desc(k, addr, length, flags, k + 1 if k + 1 < len(bufs) else 0,
                            table=table)
        head = self.free.pop(0)
        self.write_desc(head, table, 16 * len(bufs), VRING_DESC_F_INDIRECT)
        self.inflight[head] = ([head], bufs)
        self.publish(head)
        return head

    def take_used(self):
        """The used elements published since the last call: [(id, len)], checked."""
        out = []
        idx = self.used_idx()
        n = (idx - self.last_used) & 0xFFFF
        assert n <= self.num, f"used->idx jumped by {n} (ring of {self.num})"
        for _ in range(n):
            slot = self.last_used % self.num
            uid, ulen = struct.unpack("<II", self.mem.read(self.used + 4 + 8 * slot, 8))
            assert uid in self.inflight, f"used id {uid} was not in flight"
            idxs, bufs = self.inflight.pop(uid)
            self.free.extend(idxs)
            out.append((uid, ulen, bufs))
            self.last_used = (self.last_used + 1) & 0xFFFF
        self.set_used_event(self.last_used)
        return out

    def do_kick(self):
        os.eventfd_write(self.kick, 1)

    def calls(self):
        """How many call interrupts arrived since the last look (eventfd counter)."""
        try:
            return os.eventfd_read(self.call)
        except BlockingIOError:
            return 0

    def close(self):
        for fd in (self.kick, self.call):
            try:
                os.close(fd)
            except OSError:
                pass


# ------------------------------------------------------------ the front end

class Frontend:
    """One vhost-user connection, driven from the front-end side."""

    def __init__(self, sock, timeout=5.0):
        self.sock = sock
        self.timeout = timeout
        self.features = 0
        self.protocol_features = 0
        self.mem = None
        self.rings = {}
        self.rx_bufs = []
        self.pool = {}       # size class -> free data buffers (gpa)
        self.buf_class = {}  # gpa -> size class, of every data buffer

    # ---- connecting
    @classmethod
    def connect(cls, path, timeout=5.0, retry=5.0):
        """Connect to a back end listening on path (vnetd mode: server), retrying
        while the socket is not there yet."""
        deadline = time.monotonic() + retry
        while True:
            s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM | socket.SOCK_CLOEXEC)
            try:
                s.connect(str(path))
                return cls(s, timeout)
            except (FileNotFoundError, ConnectionRefusedError):
                s.close()
                if time.monotonic() >= deadline:
                    raise
                time.sleep(0.05)

    @staticmethod
    def listen(path):
        """A listening socket at path for a back end in mode: client."""
        try:
            os.unlink(path)
        except FileNotFoundError:
            pass
        s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM | socket.SOCK_CLOEXEC)
        s.bind(str(path))
        s.listen(4)
        return s

    @classmethod
    def accept(cls, lsock, timeout=10.0):
        """The next back end connecting to lsock (made by listen())."""
        r, _, _ = select.select([lsock], [], [], timeout)
        if not r:
            raise TimeoutError("no back end connected")
        s, _ = lsock.accept()
        return cls(s, timeout)

    def close(self):
        try:
            self.sock.close()
        except OSError:
            pass
        for r in self.rings.values():
            r.close()
        self.rings = {}
        if self.mem:
            self.mem.close()
            self.mem = None

    # ---- messages
    def send_msg(self, req, payload=b"", fds=(), flags=VHOST_USER_VERSION, size=None,
                 need_reply=False):
        """Send one message; size overrides the header's size field (lying is allowed)."""
        if need_reply:
            flags |= FLAG_NEED_REPLY
        hdr = struct.pack("<III", req, flags, len(payload) if size is None else size)
        data = hdr + payload
        anc = [(socket.SOL_SOCKET, socket.SCM_RIGHTS, array.array("i", fds))] if fds else []
        self.sock.settimeout(self.timeout)
        sent = self.sock.sendmsg([data], anc)
        if sent < len(data):
            self.sock.sendall(data[sent:])

    def _recv_exact(self, n, timeout):
        buf = b""
        deadline = time.monotonic() + timeout
        while len(buf) < n:
            left = deadline - time.monotonic()
            if left <= 0:
                raise TimeoutError(f"back end sent {len(buf)} of {n} bytes")
            self.sock.settimeout(left)
            try:
                d = self.sock.recv(n - len(buf))
            except (ConnectionResetError, BrokenPipeError) as e:
                raise ClosedError(str(e)) from None
            if not d:
                raise ClosedError("back end closed the connection")
            buf += d
        return buf

    def recv_msg(self, timeout=None):
        """(request, flags, payload) of the back end's next message."""
        t = self.timeout if timeout is None else timeout
        req, flags, size = struct.unpack("<III", self._recv_exact(12, t))
        assert size <= 4096, f"back end message of {size} bytes"
        return req, flags, self._recv_exact(size, t)

    def request(self, req, payload=b"", fds=(), reply_fmt=None):
        """Send req and, for requests that answer, read and check the answer."""
        self.send_msg(req, payload, fds)
        if reply_fmt is None:
            return None
        rreq, rflags, rpay = self.recv_msg()
        assert rreq == req, f"answer to {req} is request {rreq}"
        assert rflags & FLAG_REPLY, f"answer without the reply flag: {rflags:#x}"
        assert len(rpay) == struct.calcsize(reply_fmt), f"answer of {len(rpay)} bytes"
        return struct.unpack(reply_fmt, rpay)

    def acked(self, req, payload=b"", fds=()):
        """Send req with NEED_REPLY (REPLY_ACK negotiated) and return the u64 status."""
        self.send_msg(req, payload, fds, need_reply=True)
        rreq, rflags, rpay = self.recv_msg()
        assert rreq == req and rflags & FLAG_REPLY and len(rpay) == 8, (rreq, rflags, rpay)
        return struct.unpack("<Q", rpay)[0]

    def _set(self, req, payload, fds=()):
        """A setting message: acknowledged when REPLY_ACK was negotiated (must be 0)."""
        if self.protocol_features & bit(PF_REPLY_ACK):
            st = self.acked(req, payload, fds)
            assert st == 0, f"request {req} refused: {st}"
        else:
            self.send_msg(req, payload, fds)

    def get_features(self):
        return self.request(GET_FEATURES, reply_fmt="<Q")[0]

    def get_protocol_features(self):
        return self.request(GET_PROTOCOL_FEATURES, reply_fmt="<Q")[0]

    def get_queue_num(self):
        return self.request(GET_QUEUE_NUM, reply_fmt="<Q")[0]

    def get_vring_base(self, index):
        return self.request(GET_VRING_BASE, struct.pack("<II", index, 0), reply_fmt="<II")[1]

    def closed_by_peer(self, timeout=5.0):
        """True once the back end has closed the connection (EOF or reset), or
        this side already closed it; anything it sends meanwhile is read and
        ignored."""
        return vnet.sock_closed_by_peer(self.sock, timeout)

    # ---- memory and rings
    def make_memory(self, size=4 << 20, gpa=0x100000, uva=0x7f5500000000, nregions=1,
                    name="vhost-guest"):
        """Guest memory of nregions memfds of size bytes each, at consecutive gpa
        and uva (a 1 MiB gap between regions), named NAME0, NAME1... (what
        /proc/PID/maps of the back end shows as memfd:NAME0)."""
        regs = []
        for i in range(nregions):
            off = i * (size + (1 << 20))
            regs.append(Region(size, gpa + off, uva + off, name=f"{name}{i}"))
        self.mem = Memory(regs)
        return self.mem

    def mem_table_payload(self, descs):
        """SET_MEM_TABLE payload for region descriptions (gpa, size, uva, offset)."""
        return struct.pack("<II", len(descs), 0) + b"".join(struct.pack(REGION_FMT, *d)
                                                           for d in descs)

    def set_mem_table(self, regions=None):
        regions = self.mem.regions if regions is None else regions
        self._set(SET_MEM_TABLE, self.mem_table_payload([r.desc() for r in regions]),
                  [r.fd for r in regions])

    def vring_state(self, index, num):
        return struct.pack("<II", index, num)

    def vring_addr(self, index, desc, used, avail, flags=0, log=0):
        return struct.pack("<IIQQQQ", index, flags, desc, used, avail, log)

    def setup_ring(self, index, num=256, region=None, kick=True, enable=True):
        """Lay out ring index in guest memory and tell the back end about it:
        NUM, BASE, ADDR, KICK, CALL, ENABLE (as QEMU does)."""
        region = region or self.mem.regions[0]
        r = Ring(self.mem, region, num, index)
        if self.features & bit(F_EVENT_IDX):
            r.set_used_event(0)
        self.rings[index] = r
        self._set(SET_VRING_NUM, self.vring_state(index, num))
        self._set(SET_VRING_BASE, self.vring_state(index, 0))
        d, u, a = r.uvas()
        self._set(SET_VRING_ADDR, self.vring_addr(index, d, u, a))
        if kick:
            self.send_msg(SET_VRING_KICK, struct.pack("<Q", index), [r.kick])
        self.send_msg(SET_VRING_CALL, struct.pack("<Q", index), [r.call])
        if enable and self.features & bit(F_PROTOCOL_FEATURES):
            self._set(SET_VRING_ENABLE, self.vring_state(index, 1))
        return r

    def negotiate(self, want=DEFAULT_FEATURES, want_protocol=bit(PF_REPLY_ACK) | bit(PF_MQ)):
        """GET_FEATURES, protocol features, SET_OWNER, SET_FEATURES: the
        intersection of what the back end offers and want."""
        offered = self.get_features()
        self.offered = offered
        feats = offered & want
        if feats & bit(F_PROTOCOL_FEATURES):
            self.offered_protocol = self.get_protocol_features()
            pf = self.offered_protocol & want_protocol
            self.send_msg(SET_PROTOCOL_FEATURES, struct.pack("<Q", pf))
            self.protocol_features = pf
            if pf & bit(PF_MQ):
                self.queue_num = self.get_queue_num()
        self.send_msg(SET_OWNER)
        self._set(SET_FEATURES, struct.pack("<Q", feats))
        self.features = feats
        return feats

    def setup(self, want=DEFAULT_FEATURES, num=256, mem_size=4 << 20, nregions=1, rx_bufs=64,
              rx_size=2048, name="vhost-guest"):
        """The whole well-behaved set-up: negotiate, memory, both rings, rx buffers posted."""
        self.negotiate(want)
        self.make_memory(mem_size, nregions=nregions, name=name)
        self.set_mem_table()
        self.setup_ring(RX, num)
        self.setup_ring(TX, num)
        self.rx_size = rx_size
        self.post_rx(rx_bufs, rx_size)
        return self

    # ---- data path
    def hdr_len(self):
        """The virtio-net header length of what was negotiated."""
        return HDR_LEN if self.features & (bit(F_VERSION_1) | bit(F_MRG_RXBUF)) else HDR_LEN_LEGACY

    def hdr(self, flags=0, gso_type=0, hdr_len=0, gso_size=0, csum_start=0, csum_offset=0,
            num_buffers=0):
        """A virtio-net header of the negotiated length."""
        h = struct.pack("<BBHHHHH", flags, gso_type, hdr_len, gso_size, csum_start,
                        csum_offset, num_buffers)
        return h[:self.hdr_len()]

    def buf(self, size):
        """gpa of a data buffer of size bytes in the last region: a recycled one
        of the same size class, or a fresh one."""
        cls = max(64, 1 << (size - 1).bit_length())
        pool = self.pool.setdefault(cls, [])
        if pool:
            return pool.pop()
        a = self.mem.regions[-1].alloc(cls, 64)
        self.buf_class[a] = cls
        return a

    def recycle(self, bufs):
        """Give the data buffers of a completed chain back to the pool."""
        for addr, _, _ in bufs:
            cls = self.buf_class.get(addr)
            if cls:
                self.pool.setdefault(cls, []).append(addr)

    def post_rx(self, n, size=2048):
        """Post n writable buffers of size bytes on the rx ring, and kick."""
        r = self.rings[RX]
        for _ in range(n):
            r.add_chain([(self.buf(size), size, True)])
        r.do_kick()

    def send_frame(self, frame, header=None, split=True, wait=True, timeout=None):
        """Put one frame (with a zero virtio-net header unless header is given) on
        the tx ring and kick; with wait, until the back end has used it (returns
        the used element's length)."""
        r = self.rings[TX]
        h = self.hdr() if header is None else header
        if split:
            ha = self.buf(len(h))
            fa = self.buf(max(1, len(frame)))
            self.mem.write(ha, h)
            self.mem.write(fa, frame)
            head = r.add_chain([(ha, len(h), False), (fa, len(frame), False)])
        else:
            a = self.buf(len(h) + len(frame))
            self.mem.write(a, h + frame)
            head = r.add_chain([(a, len(h) + len(frame), False)])
        r.do_kick()
        if not wait:
            return head
        done = self.wait_used(TX, timeout)
        for u in done:
            self.recycle(u[2])
        assert any(u[0] == head for u in done), f"tx head {head} not in used {done}"
        return head

    def wait_used(self, index, timeout=None, n=1):
        """Poll ring index until at least n used elements arrived; returns them."""
        r = self.rings[index]
        deadline = time.monotonic() + (self.timeout if timeout is None else timeout)
        got = []
        while True:
            got += r.take_used()
            if len(got) >= n:
                return got
            if time.monotonic() >= deadline:
                raise TimeoutError(f"ring {index}: {len(got)} of {n} used elements "
                                   f"(used->idx {r.used_idx()}, avail {r.avail_idx})")
            time.sleep(0.002)

    def recv_frame(self, timeout=None, repost=True):
        """The next frame vnetd wrote into the rx ring: (virtio-net header bytes,
        frame). Mergeable buffers are gathered (num_buffers)."""
        r = self.rings[RX]
        if not self.rx_bufs:
            self.rx_bufs.extend(self.wait_used(RX, timeout))
        first = self.rx_bufs.pop(0)
        uid, ulen, bufs = first
        data = self._gather(bufs, ulen)
        self.recycle(bufs)
        hl = self.hdr_len()
        assert len(data) >= hl, f"rx element of {ulen} bytes"
        nb = struct.unpack_from("<H", data, 10)[0] if hl == HDR_LEN else 1
        if self.features & bit(F_MRG_RXBUF):
            assert nb >= 1, "num_buffers 0 with mergeable rx buffers"
            deadline = time.monotonic() + (self.timeout if timeout is None else timeout)
            while len(self.rx_bufs) < nb - 1:
                more = r.take_used()
                self.rx_bufs.extend(more)
                if not more:
                    assert time.monotonic() < deadline, f"only part of {nb} rx buffers"
                    time.sleep(0.002)
            for _ in range(nb - 1):
                uid2, ulen2, bufs2 = self.rx_bufs.pop(0)
                data += self._gather(bufs2, ulen2)
                self.recycle(bufs2)
        if repost:
            self.post_rx(1 + (nb - 1 if self.features & bit(F_MRG_RXBUF) else 0),
                         getattr(self, "rx_size", 2048))
        return data[:hl], data[hl:]

    def _gather(self, bufs, ulen):
        total = sum(b[1] for b in bufs)
        assert ulen <= total, f"used len {ulen} > buffers {total}"
        out = b""
        for addr, length, _ in bufs:
            take = min(length, ulen - len(out))
            if take <= 0:
                break
            out += self.mem.read(addr, take)
        return out

    def wait_frame(self, pred, timeout=None):
        """The next rx frame for which pred(frame) is true (others are skipped)."""
        deadline = time.monotonic() + (self.timeout if timeout is None else timeout)
        while True:
            left = deadline - time.monotonic()
            if left <= 0:
                raise TimeoutError("no matching frame on the rx ring")
            _, f = self.recv_frame(timeout=left)
            if pred(f):
                return f
