"""Checks the fixture's opt-in security (asfixture --user fs --password
s3cret) with the official Python client and at the byte level.

Usage: python check_security.py HOST:PORT
Prints TAP lines; exits 1 if a check failed.
"""

import ctypes
import ctypes.util
import socket
import struct
import sys
import traceback
import warnings

import aerospike
from aerospike import exception as ex

warnings.simplefilter("ignore", DeprecationWarning)

HOST, PORT = sys.argv[1].rsplit(":", 1)
PORT = int(PORT)
GOOD = {"user": "fs", "password": "s3cret"}
checks = []


def check(fn):
    checks.append(fn)
    return fn


def eq(got, want):
    assert got == want, "got %r, want %r" % (got, want)


def connect_code(**auth):
    try:
        c = aerospike.client(dict({"hosts": [(HOST, PORT)]}, **auth)).connect()
    except ex.AerospikeError as e:
        return e.code
    c.close()
    return 0


@check
def login_with_the_password_reads_and_writes():
    c = aerospike.client({"hosts": [(HOST, PORT)], **GOOD}).connect()
    c.put(("test", "sec", "k"), {"a": 1})
    eq(c.get(("test", "sec", "k"))[2], {"a": 1})
    c.close()


@check
def wrong_password_is_62_unknown_user_60_no_login_80():
    eq(connect_code(user="fs", password="wrong"), 62)
    eq(connect_code(user="nobody", password="s3cret"), 60)
    eq(connect_code(), 80)


def bcrypt(password):
    """The credential the clients send: bcrypt with their fixed salt."""
    lib = ctypes.CDLL(ctypes.util.find_library("crypt"))
    lib.crypt.restype = ctypes.c_char_p
    return lib.crypt(password.encode(), b"$2a$10$7EqJtq98hPqEX7fNZaFWoO")


def admin(s, command, fields):
    body = struct.pack(">BBBB", 0, 0, command, len(fields)) + b"\0" * 12
    for fid, data in fields:
        body += struct.pack(">IB", len(data) + 1, fid) + data
    s.sendall(struct.pack(">BB", 2, 2) + len(body).to_bytes(6, "big") + body)
    head = s.recv(8, socket.MSG_WAITALL)
    reply = s.recv(int.from_bytes(head[2:8], "big"), socket.MSG_WAITALL)
    out, p = {}, 16
    for _ in range(reply[3]):
        (size,) = struct.unpack_from(">I", reply, p)
        out[reply[p + 4]] = reply[p + 5:p + 4 + size]
        p += 4 + size
    return reply[1], out


@check
def login_gives_a_session_token_that_authenticates_until_it_expires():
    s = socket.create_connection((HOST, PORT), timeout=10)
    rc, fields = admin(s, 20, [(0, b"fs"), (3, bcrypt("s3cret"))])
    eq(rc, 0)
    token = fields[5]
    eq(struct.unpack(">I", fields[6])[0], 86400)
    s.close()
    s = socket.create_connection((HOST, PORT), timeout=10)
    eq(admin(s, 0, [(0, b"fs"), (5, token)])[0], 0)
    s.close()
    c = aerospike.client({"hosts": [(HOST, PORT)], **GOOD}).connect()
    c.info_all("fixture-set:expire-sessions=1")
    c.close()
    s = socket.create_connection((HOST, PORT), timeout=10)
    eq(admin(s, 0, [(0, b"fs"), (5, token)])[0], 66)
    rc, fields = admin(s, 20, [(0, b"fs"), (3, bcrypt("s3cret"))])
    eq(rc, 0)
    assert fields[5] != token
    s.close()


@check
def data_request_before_login_is_80():
    head = struct.pack(">BBBBBBIIIHH", 22, 3, 0, 0, 0, 0, 0, 0, 0, 1, 0)
    body = head + struct.pack(">IB", 5, 0) + b"test"
    s = socket.create_connection((HOST, PORT), timeout=10)
    s.sendall(struct.pack(">BB", 2, 3) + len(body).to_bytes(6, "big") + body)
    reply = b""
    while len(reply) < 8 + 22:
        chunk = s.recv(64)
        assert chunk, "connection closed"
        reply += chunk
    s.close()
    eq(reply[8 + 5], 80)


def main():
    failed = 0
    print("1..%d" % len(checks))
    for i, fn in enumerate(checks, 1):
        name = fn.__name__.replace("_", " ")
        try:
            fn()
            print("ok %d - %s" % (i, name))
        except Exception:
            failed += 1
            print("not ok %d - %s" % (i, name))
            for line in traceback.format_exc().splitlines():
                print("# " + line)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
