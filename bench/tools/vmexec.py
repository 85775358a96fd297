#!/usr/bin/python3
"""vmexec.py PORT CMD [ARGS...] - run a command in a bench guest and relay it.

bench/vm.sh's guests run a command server (busybox `nc -ll -p 7000 -e sh`, a
shell per connection) reached through each configuration's forward of
127.0.0.1:PORT to the guest's port 7000.  This sends the command line (words
joined by spaces, as a shell would see them: no quoting is added) followed by
a line printing its exit status, closes the sending half, copies what the
guest prints to stdout and exits with the command's status (255 when the
status line never came: connection refused, guest gone).
"""
import socket
import sys

MARK = b"@@VMEXEC-RC="


def main():
    if len(sys.argv) < 3:
        sys.stderr.write(__doc__)
        return 2
    port = int(sys.argv[1])
    cmd = " ".join(sys.argv[2:])
    s = socket.create_connection(("127.0.0.1", port), timeout=10)
    s.settimeout(None)
    s.sendall(cmd.encode() + b"\necho " + MARK + b"$?\n")
    s.shutdown(socket.SHUT_WR)
    buf = b""
    out = sys.stdout.buffer
    while True:
        b = s.recv(65536)
        if not b:
            break
        buf += b
        # keep what could be the start of the status line; pass the rest on
        cut = buf.rfind(b"\n", 0, max(0, len(buf) - 64)) + 1
        if cut > 0 and MARK not in buf[:cut]:
            out.write(buf[:cut])
            buf = buf[cut:]
    i = buf.rfind(MARK)
    if i < 0:
        out.write(buf)
        out.flush()
        return 255
    out.write(buf[:i])
    out.flush()
    try:
        return int(buf[i + len(MARK):].split()[0])
    except (ValueError, IndexError):
        return 255


if __name__ == "__main__":
    sys.exit(main())
