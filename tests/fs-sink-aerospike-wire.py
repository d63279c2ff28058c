"""fs-sink-aerospike against the official Python client, byte for byte.

Usage: PYTHON fs-sink-aerospike-wire.py HOST:PORT SINK SET

For each case, the official client (aerospike on PyPI, the C client
underneath) and fs-sink-aerospike write the same record through a
recording proxy to the fixture at HOST:PORT; the AS_MSG requests (proto
type 3) each sent must be the same bytes.  Prints TAP lines; exits 1 when
a case differs.  Then the sink's quick path (rows read without jansson)
against its jansson path, each row written both ways, the same way.
"""

import json
import socket
import subprocess
import sys
import threading

import aerospike
from aerospike_helpers import expressions as exp
from aerospike_helpers.batch import records as br
from aerospike_helpers.operations import operations as op


class Proxy:
    """Forwards one port to the fixture, keeping what clients send."""

    def __init__(self, target):
        host, port = target.rsplit(":", 1)
        self.target = (host, int(port))
        self.sent = {}
        self.lock = threading.Lock()
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(64)
        self.port = self.sock.getsockname()[1]
        threading.Thread(target=self.accept, daemon=True).start()

    def accept(self):
        n = 0
        while True:
            c, _ = self.sock.accept()
            u = socket.create_connection(self.target)
            n += 1
            threading.Thread(target=self.pump, args=(c, u, n), daemon=True).start()
            threading.Thread(target=self.pump, args=(u, c, None), daemon=True).start()

    def pump(self, a, b, conn):
        try:
            while True:
                d = a.recv(65536)
                if not d:
                    break
                if conn is not None:
                    with self.lock:
                        self.sent[conn] = self.sent.get(conn, b"") + d
                b.sendall(d)
        except OSError:
            pass
        finally:
            try:
                b.shutdown(socket.SHUT_WR)
            except OSError:
                pass

    def take_msgs(self):
        """The AS_MSG requests sent since the last call."""
        with self.lock:
            streams = list(self.sent.values())
            self.sent = {}
        out = []
        for s in streams:
            i = 0
            while i + 8 <= len(s):
                size = int.from_bytes(s[i + 2:i + 8], "big")
                if s[i + 1] == 3:
                    out.append(s[i:i + 8 + size])
                i += 8 + size
        return out


def main():
    target, sink, setname = sys.argv[1], sys.argv[2], sys.argv[3]
    official, ours = Proxy(target), Proxy(target)
    client = aerospike.client(
        {"hosts": [("127.0.0.1", official.port)]}).connect()
    ts = 1700000000000
    cases = [
        ("a string key sent with the record, every value type",
         lambda: client.put((("test", setname, "k1")),
                            {"a": 1, "b": "x", "f": 2.5, "l": [1, "y"],
                             "m": {"z": True}, "n": -7},
                            policy={"key": aerospike.POLICY_KEY_SEND}),
         ["--key", "id", "--send-key"],
         '{"id":"k1","a":1,"b":"x","f":2.5,"l":[1,"y"],"m":{"z":true},"n":-7}'),
        ("an integer key, a TTL, create or replace",
         lambda: client.put(
             ("test", setname, 42), {"v": "w"},
             policy={"ttl": 3600,
                     "exists": aerospike.POLICY_EXISTS_CREATE_OR_REPLACE}),
         ["--key", "id", "--ttl", "1h", "--exists", "replace"],
         '{"id":42,"v":"w"}'),
        ("replace-only",
         lambda: client.put(("test", setname, 43), {"v": "w"},
                            policy={"exists": aerospike.POLICY_EXISTS_REPLACE}),
         ["--key", "id", "--exists", "replace-only"],
         '{"id":43,"v":"w"}'),
        ("update-only, the TTL kept",
         lambda: client.put(("test", setname, 44), {"v": 2},
                            policy={"ttl": aerospike.TTL_DONT_UPDATE,
                                    "exists": aerospike.POLICY_EXISTS_UPDATE}),
         ["--key", "id", "--ttl", "keep", "--exists", "update-only"],
         '{"id":44,"v":2}'),
        ("create-only, no expiry, a bin removed",
         lambda: client.put(("test", setname, "k2"), {"v": 1, "gone": None},
                            policy={"ttl": aerospike.TTL_NEVER_EXPIRE,
                                    "exists": aerospike.POLICY_EXISTS_CREATE}),
         ["--key", "id", "--ttl", "never", "--exists", "create-only"],
         '{"id":"k2","v":1,"gone":null}'),
        ("blobs, in a bin and in a list",
         lambda: client.put(("test", setname, "k4"),
                            {"bl": bytearray(b"\x00\x01\xff"),
                             "l": [bytearray(b"\x07"), "s", 1.5]}),
         ["--key", "id"],
         '{"id":"k4","bl":{"@bytes":"AAH/"},"l":[{"@bytes":"Bw=="},"s",1.5]}'),
        ("the monotonic filter expression",
         lambda: client.put(
             ("test", setname, "k3"), {"v": 1, "ts": ts},
             policy={"expressions": exp.Or(
                 exp.Eq(exp.BinType("ts"), 0),
                 exp.LE(exp.IntBin("ts"), ts)).compile()}),
         ["--key", "id", "--monotonic"],
         '{"id":"k3","v":1,"ts":%d}' % ts),
    ]
    get = sink.rsplit("/", 1)[0] + "/fs-get"
    reads = [
        ("a read of every bin (fs-get)",
         lambda: client.get(("test", setname, "k1")), ["k1"]),
        ("a read by integer key (fs-get)",
         lambda: client.get(("test", setname, 42)), ["42"]),
    ]
    failed = 0
    n = 0
    for name, put, args, line in cases:
        n += 1
        try:
            put()
        except aerospike.exception.AerospikeError:
            pass        # refused by the fixture: the bytes still count
        subprocess.run([sink, "-h", "127.0.0.1:%d" % ours.port, "-n", "test",
                        "-s", setname, "--batch", "1", "--on-error", "skip",
                        "-q"] + args,
                       input=(line + "\n").encode(), check=False,
                       stderr=subprocess.DEVNULL)
        failed += compare(n, name, official, ours)
    # A batch: batch_write of three records, and the sink lingering long
    # enough to send the same three as one batch request.
    n += 1
    rows = [("b1", {"v": 1, "s": "x"}), ("b2", {"v": 2, "s": "y"}),
            (7, {"v": 3, "s": "z"})]
    client.batch_write(br.BatchRecords([
        br.Write(("test", setname, k), [op.write(b, v) for b, v in bins.items()])
        for k, bins in rows]))
    lines = "".join(json.dumps(dict(id=k, **bins)) + "\n" for k, bins in rows)
    subprocess.run([sink, "-h", "127.0.0.1:%d" % ours.port, "-n", "test",
                    "-s", setname, "--key", "id", "--batch", "3",
                    "--linger", "60s", "-q"],
                   input=lines.encode(), check=False, stderr=subprocess.DEVNULL)
    failed += compare(n, "a batch of writes (batch_write, less respond-all-ops)",
                      official, ours, without_respond_all_ops)
    for name, read, args in reads:
        n += 1
        read()
        subprocess.run([get, "-h", "127.0.0.1:%d" % ours.port, "-n", "test",
                        "-s", setname] + args, check=False,
                       stdout=subprocess.DEVNULL)
        failed += compare(n, name, official, ours)
    # The sink's quick path against its jansson path: a row read straight
    # from its bytes and the same row written so that it must go the
    # jansson way (an escape, a long number, a duplicate member, a real
    # time) send the same bytes.
    z = "0" * 101
    same = [
        ("quick = jansson: escaped strings, key sent",
         ["--key", "id", "--send-key"],
         '{"id":"k1","a":1,"b":"xy","f":2.5,"t":true,"u":false,"n":null}',
         '{"id":"k\\u0031","a":1,"b":"x\\u0079","f":2.5,"t":true,'
         '"u":false,"n":null}'),
        ("quick = jansson: an escaped member name, negative numbers",
         ["--key", "id"],
         '{"id":-5,"ab":-0,"c":-1.5e-7,"d":"\u00e9t\u00e9"}',
         '{"id":-5,"a\\u0062":-0,"c":-1.5e-7,"d":"\u00e9t\u00e9"}'),
        ("quick = jansson: a real of many digits",
         ["--key", "id"],
         '{"id":"r","f":0.25}', '{"id":"r","f":0.25%s}' % z),
        ("quick = jansson: a duplicate member",
         ["--key", "id"],
         '{"id":"d","v":2,"w":"s"}', '{"id":"d","v":1,"w":"s","v":2}'),
        ("quick = jansson: a compound key, --monotonic with a real time",
         ["--key", "a,b", "--monotonic"],
         '{"a":"x","b":7,"v":1,"ts":%d}' % ts,
         '{"a":"\\u0078","b":7,"v":1,"ts":%d.0}' % ts),
    ]
    both = Proxy(target)
    for name, args, quick, slow in same:
        for line, proxy in ((slow, official), (quick, both)):
            subprocess.run([sink, "-h", "127.0.0.1:%d" % proxy.port, "-n",
                            "test", "-s", setname, "--batch", "1", "-q"]
                           + args, input=(line + "\n").encode(),
                           check=False, stderr=subprocess.DEVNULL)
        n += 1
        failed += compare(n, name, official, both)
    # A batch of quick and jansson rows, against the same rows all quick.
    rows_quick = ['{"id":"b%d","v":%d,"s":"x"}' % (i, i) for i in range(4)]
    rows_mixed = list(rows_quick)
    rows_mixed[1] = '{"id":"b1","v":1,"s":"\\u0078"}'
    rows_mixed[2] = '{"id":"b2","v":1,"s":"x","v":2}'
    for rows, proxy in ((rows_mixed, official), (rows_quick, both)):
        subprocess.run([sink, "-h", "127.0.0.1:%d" % proxy.port, "-n", "test",
                        "-s", setname, "--key", "id", "--batch", "4",
                        "--linger", "60s", "-q"],
                       input="".join(r + "\n" for r in rows).encode(),
                       check=False, stderr=subprocess.DEVNULL)
    n += 1
    failed += compare(n, "quick = jansson: a batch of both", official, both)
    print("1..%d" % n)
    client.close()
    sys.exit(1 if failed else 0)


def without_respond_all_ops(m):
    """A batch request with RESPOND_ALL_OPS (info2 0x80) cleared in its
    rows.  The official client's batch_write asks every write op for an
    answer (it returns per-op results); the sink reads only each row's
    result code, so it keeps the server's answers small."""
    m = bytearray(m)
    p = 8 + 22
    for _ in range(int.from_bytes(m[8 + 18:8 + 20], "big")):
        size = int.from_bytes(m[p:p + 4], "big")
        if m[p + 4] == 41:
            q = p + 5
            rows = int.from_bytes(m[q:q + 4], "big")
            q += 5                          # the count, the flags
            for _ in range(rows):
                q += 24                     # index, digest
                t = m[q]
                q += 1
                if t & 0x01:                # repeat: nothing follows
                    continue
                if t & 0x02:
                    m[q + 1] &= 0x7f
                    q += 3
                q += (1 if t & 0x10 else 0) + (2 if t & 0x04 else 0) + \
                    (4 if t & 0x08 else 0)
                nf = int.from_bytes(m[q:q + 2], "big")
                no = int.from_bytes(m[q + 2:q + 4], "big")
                q += 4
                for _ in range(nf + no):
                    q += 4 + int.from_bytes(m[q:q + 4], "big")
        p += 4 + size
    return bytes(m)


def compare(n, name, official, ours, mask=None):
    """Prints the TAP line; 1 when the requests differ (the official
    ones through mask, when given).  A request is recorded before it is
    forwarded, so once its answer came back (both clients have returned)
    it is there."""
    a, b = official.take_msgs(), ours.take_msgs()
    if mask is not None:
        a = [mask(m) for m in a]
    if a == b and a:
        print("ok %d - %s" % (n, name))
        return 0
    print("not ok %d - %s" % (n, name))
    for m in a:
        print("#  official %s" % m.hex())
    for m in b:
        print("#  fs       %s" % m.hex())
    return 1

main()
