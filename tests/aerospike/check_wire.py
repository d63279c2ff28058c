"""Checks the protocol fixture at the byte level, with the standard library
only: what a strict server rejects, and the fault knobs.

Usage: python3 check_wire.py HOST:PORT

Builds requests by hand (proto header, as_msg header, fields, ops, as the
server's as/include/base/proto.h lays them out) and asserts the exact
result codes a real Aerospike 7/8 server gives, or that it drops the
connection where the server does.  Prints TAP lines; exits 1 on failure.
Restores every fixture knob it changes.
"""

import base64
import os
import socket
import struct
import sys
import time
import traceback

HOST, PORT = sys.argv[1].rsplit(":", 1)
PORT = int(PORT)
checks = []

# Message bits, field types, op types, particle types (proto.h).
READ, GET_ALL, BATCH, NO_BINS = 1, 2, 8, 32
WRITE, DELETE = 1, 2
F_NS, F_SET, F_KEY, F_DIGEST, F_BATCH, F_FILTER = 0, 1, 2, 4, 41, 43
OP_READ, OP_WRITE, OP_CDT_MODIFY = 1, 2, 4
PT_NULL, PT_INT, PT_STR, PT_MAP, PT_LIST = 0, 1, 3, 19, 20


def check(fn):
    checks.append(fn)
    return fn


def eq(got, want):
    assert got == want, "got %r, want %r" % (got, want)


def connect():
    s = socket.create_connection((HOST, PORT), timeout=10)
    s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    return s


def proto(ptype, body, version=2):
    return struct.pack(">BB", version, ptype) + len(body).to_bytes(6, "big") + body


def field(ftype, data):
    return struct.pack(">IB", len(data) + 1, ftype) + data


def op(code, ptype, name, value=b""):
    return struct.pack(">IBBBB", 4 + len(name) + len(value), code, ptype, 0, len(name)) + name + value


def msg(info1=0, info2=0, info3=0, gen=0, ttl=0, fields=(), ops=()):
    head = struct.pack(">BBBBBBIIIHH", 22, info1, info2, info3, 0, 0, gen, ttl, 0,
                       len(fields), len(ops))
    return proto(3, head + b"".join(fields) + b"".join(ops))


def digest(name):
    return (name.encode() * 20)[:20]


def keyfields(name, ns=b"test", setname=b"wire"):
    return [field(F_NS, ns), field(F_SET, setname), field(F_DIGEST, digest(name))]


def recv_exact(s, n):
    buf = b""
    while len(buf) < n:
        chunk = s.recv(n - len(buf))
        if not chunk:
            return None
        buf += chunk
    return buf


def recv_proto(s):
    head = recv_exact(s, 8)
    if head is None:
        return None
    size = int.from_bytes(head[2:8], "big")
    return head[1], recv_exact(s, size)


def parse_msgs(body):
    """as_msg records in a body: (result, gen, ttl, txn_ttl, info3, ops,
    fields), fields as (type, data)."""
    out, p = [], 0
    while p < len(body):
        (hsz, _, _, info3, _, result, gen, ttl, txn, nf, no) = struct.unpack_from(">BBBBBBIIIHH", body, p)
        p += hsz
        fields = []
        for _ in range(nf):
            (sz,) = struct.unpack_from(">I", body, p)
            fields.append((body[p + 4], body[p + 5:p + 4 + sz]))
            p += 4 + sz
        ops = []
        for _ in range(no):
            sz, code, pt, _, nlen = struct.unpack_from(">IBBBB", body, p)
            name = body[p + 8:p + 8 + nlen]
            value = body[p + 8 + nlen:p + 4 + sz]
            ops.append((name.decode(), pt, value))
            p += 4 + sz
        out.append((result, gen, ttl, txn, info3, ops, fields))
    return out


def request(payload):
    s = connect()
    s.sendall(payload)
    reply = recv_proto(s)
    s.close()
    assert reply is not None, "connection closed"
    return parse_msgs(reply[1])[0]


def code(payload):
    return request(payload)[0]


def closed(payload):
    """True if the fixture drops the connection instead of answering."""
    s = connect()
    s.sendall(payload)
    try:
        data = s.recv(1)
    except ConnectionResetError:
        data = b""
    s.close()
    return data == b""


def info(*cmds):
    s = connect()
    s.sendall(proto(1, "".join(c + "\n" for c in cmds).encode()))
    _, body = recv_proto(s)
    s.close()
    return body.decode()


def put_int(name, bin_name, value, **kw):
    return code(msg(info2=WRITE, fields=keyfields(name), ops=[op(OP_WRITE, PT_INT, bin_name, struct.pack(">q", value))], **kw))


@check
def wrong_proto_version_drops_the_connection():
    assert closed(proto(3, b"\0" * 22, version=1))


@check
def unknown_proto_type_drops_the_connection():
    assert closed(proto(9, b"\0" * 22))


@check
def missing_or_unknown_namespace_is_20():
    eq(code(msg(info1=READ | GET_ALL, fields=[field(F_DIGEST, digest("x"))])), 20)
    eq(code(msg(info1=READ | GET_ALL, fields=keyfields("x", ns=b"nons"))), 20)


@check
def truncated_fields_are_a_parameter_error():
    good = msg(info1=READ | GET_ALL, fields=keyfields("x"))
    body = bytearray(good[8:])
    struct.pack_into(">H", body, 18, 9)     # claims 9 fields, has 3
    eq(code(proto(3, bytes(body))), 4)


@check
def bin_name_over_15_bytes_is_21():
    eq(put_int("bn", b"a" * 16, 1), 21)
    eq(put_int("bn", b"a" * 15, 1), 0)


@check
def integer_particle_sizes():
    eq(code(msg(info2=WRITE, fields=keyfields("isz"), ops=[op(OP_WRITE, PT_INT, b"a", b"\0\0\1")])), 4)
    eq(code(msg(info2=WRITE, fields=keyfields("isz"), ops=[op(OP_WRITE, PT_INT, b"a", b"\0\5")])), 0)
    res = request(msg(info1=READ | GET_ALL, fields=keyfields("isz")))
    eq(res[5], [("a", PT_INT, struct.pack(">q", 5))])


@check
def write_without_ops_is_4():
    eq(code(msg(info2=WRITE, fields=keyfields("noops"))), 4)


@check
def read_op_without_read_flag_is_4():
    eq(code(msg(info2=WRITE, fields=keyfields("rf"),
                ops=[op(OP_WRITE, PT_INT, b"a", struct.pack(">q", 1)), op(OP_READ, PT_NULL, b"a")])), 4)


@check
def ttl_over_ten_years_is_4():
    eq(put_int("ttl", b"a", 1, ttl=10 * 365 * 86400 + 1), 4)
    eq(put_int("ttl", b"a", 1, ttl=10 * 365 * 86400), 0)


@check
def malformed_list_or_map_particle_is_1():
    def put(ptype, value):
        return code(msg(info2=WRITE, fields=keyfields("ml"), ops=[op(OP_WRITE, ptype, b"l", value)]))
    eq(put(PT_LIST, b"\x93\x01"), 1)              # truncated
    eq(put(PT_LIST, b"\x91\x01\x02"), 1)          # trailing byte
    eq(put(PT_LIST, b"\x81\x01\x02"), 1)          # a map in a list particle
    eq(put(PT_MAP, b"\x81\x01\xd4\xff\x00"), 1)  # wildcard value
    eq(put(PT_LIST, b"\x92\x01\x02"), 0)


@check
def lists_and_maps_are_stored_compact_as_the_server_rewrites_them():
    sent = (b"\xdc\x00\x06"                    # list16 of 6
            b"\xd3\x00\x00\x00\x00\x00\x00\x00\x05"  # int64 5
            b"\xd1\xff\x9c"                    # int16 -100
            b"\xcd\x01\x00"                    # uint16 256
            b"\xd9\x02\x03a"                    # str8 "\x03a"
            b"\xc4\x28" + b"b" * 40 +            # bin8 of 40: kept
            b"\xde\x00\x01\xa2\x03k\xc7\x01\x05z")  # map16 {k: ext8 len 1}
    want = (b"\x96\x05\xd0\x9c\xcd\x01\x00\xa2\x03a"
            b"\xc4\x28" + b"b" * 40 +
            b"\x81\xa2\x03k\xd4\x05z")
    eq(code(msg(info2=WRITE, fields=keyfields("compact"), ops=[op(OP_WRITE, PT_LIST, b"l", sent)])), 0)
    res = request(msg(info1=READ | GET_ALL, fields=keyfields("compact")))
    eq(res[5], [("l", PT_LIST, want)])


@check
def replace_with_bin_delete_is_4():
    eq(code(msg(info2=WRITE, info3=16, fields=keyfields("rp"), ops=[op(OP_WRITE, PT_NULL, b"a")])), 4)


@check
def set_name_mismatch_on_read_and_update_is_4():
    eq(put_int("setm", b"a", 1), 0)
    eq(code(msg(info1=READ | GET_ALL, fields=keyfields("setm", setname=b"other"))), 4)
    eq(code(msg(info2=WRITE, fields=keyfields("setm", setname=b"other"),
                ops=[op(OP_WRITE, PT_INT, b"a", struct.pack(">q", 2))])), 4)


@check
def write_response_carries_generation_and_void_time():
    name = "meta-%d" % os.getpid()
    res = request(msg(info2=WRITE, ttl=100, fields=keyfields(name),
                      ops=[op(OP_WRITE, PT_STR, b"s", b"v")]))
    eq(res[0], 0)
    eq(res[1], 1)
    now = int(time.time()) - 1262304000
    assert now + 98 <= res[2] <= now + 101, res
    res = request(msg(info1=READ | NO_BINS, fields=keyfields(name)))
    eq((res[0], res[1], res[5]), (0, 1, []))


@check
def digest_computed_from_key_when_absent():
    fields = [field(F_NS, b"test"), field(F_SET, b"wire"), field(F_KEY, b"\x03only-key")]
    eq(code(msg(info2=WRITE, fields=fields, ops=[op(OP_WRITE, PT_INT, b"a", struct.pack(">q", 1))])), 0)
    eq(code(msg(info1=READ | GET_ALL, fields=fields)), 0)


@check
def durable_delete_is_enterprise_only():
    eq(put_int("dd", b"a", 1), 0)
    eq(code(msg(info2=WRITE | DELETE | 16, fields=keyfields("dd"))), 25)
    eq(code(msg(info2=WRITE | DELETE, fields=keyfields("dd"))), 0)
    eq(code(msg(info2=WRITE | DELETE, fields=keyfields("dd"))), 2)


@check
def stored_keys_must_match_and_be_well_formed():
    fields = keyfields("sk") + [field(F_KEY, b"\x03user-1")]
    one = [op(OP_WRITE, PT_INT, b"a", struct.pack(">q", 1))]
    eq(code(msg(info2=WRITE, fields=fields, ops=one)), 0)
    other = keyfields("sk") + [field(F_KEY, b"\x03user-2")]
    eq(code(msg(info2=WRITE, fields=other, ops=one)), 19)
    eq(code(msg(info2=WRITE | DELETE, fields=other)), 19)
    short_int = keyfields("sk2") + [field(F_KEY, b"\x01\x00\x05")]
    eq(code(msg(info2=WRITE, fields=short_int, ops=one)), 16)
    eq(code(msg(info2=WRITE, fields=keyfields("sk3") + [field(F_KEY, b"")], ops=one)), 16)


@check
def cdt_operations_are_reported_unsupported_not_ignored():
    eq(code(msg(info2=WRITE, fields=keyfields("cdt"), ops=[op(OP_CDT_MODIFY, 0, b"l", b"\x93\x01\x01\x01")])), 16)


@check
def scans_and_udfs_are_reported_unsupported():
    scan = msg(info1=READ | GET_ALL, fields=[field(F_NS, b"test"), field(11, struct.pack("<H", 0))])
    eq(code(scan), 16)
    udf = msg(info2=WRITE, fields=keyfields("udf") + [field(30, b"pkg"), field(31, b"fn"), field(32, b"\x90")])
    eq(code(udf), 16)


@check
def security_messages_get_not_supported():
    s = connect()
    s.sendall(proto(2, b"\0" * 16))
    ptype, body = recv_proto(s)
    s.close()
    eq((ptype, body[1]), (2, 51))


@check
def pipelined_requests_answer_in_order():
    s = connect()
    s.sendall(b"".join(msg(info2=WRITE, fields=keyfields("pipe%d" % i),
                           ops=[op(OP_WRITE, PT_INT, b"i", struct.pack(">q", i))]) for i in range(3))
              + msg(info1=READ | GET_ALL, fields=keyfields("pipe2")))
    got = [parse_msgs(recv_proto(s)[1])[0] for _ in range(4)]
    s.close()
    eq([g[0] for g in got], [0, 0, 0, 0])
    eq(got[3][5], [("i", PT_INT, struct.pack(">q", 2))])


def batch_msg(rows, flags=4, count=None):
    data = struct.pack(">IB", len(rows) if count is None else count, flags)
    for i, (name, repeat) in enumerate(rows):
        data += struct.pack(">I", i) + digest(name)
        if repeat:
            data += b"\x01"
        else:
            # Plain read row: info1, n_fields, n_ops, namespace, set.
            data += b"\x00" + struct.pack(">BHH", READ | GET_ALL, 2, 0)
            data += field(F_NS, b"test") + field(F_SET, b"wire")
    return msg(info1=READ | BATCH, fields=[field(F_BATCH, data)])


@check
def batch_rows_with_repeat_flag_and_trailer():
    eq(put_int("br1", b"a", 1), 0)
    s = connect()
    s.sendall(batch_msg([("br1", False), ("br-missing", True), ("br1", True)]))
    rows = []
    while True:
        ptype, body = recv_proto(s)
        rows += parse_msgs(body)
        if rows[-1][4] & 1:
            break
    s.close()
    eq(rows[-1][0], 0)
    # Rows may come in any order (a server's transaction threads): each
    # names its own by the batch index.
    rows = sorted(rows[:-1], key=lambda r: r[3])
    eq([(r[0], r[3]) for r in rows], [(0, 0), (2, 1), (0, 2)])
    eq(rows[0][5], [("a", PT_INT, struct.pack(">q", 1))])
    # A found row carries its generation, and no digest field
    # (as_batch_add_result() of 8.1), a missing one its code alone
    # (as_batch_add_error).
    eq((rows[0][1] > 0, rows[0][6]), (True, []))
    eq((rows[2][1] > 0, rows[2][6]), (True, []))
    eq(rows[1][1:3] + (rows[1][5], rows[1][6]), (0, 0, [], []))


@check
def batch_read_rows_filtered_out_carry_the_generation_alone():
    eq(put_int("bf1", b"a", 1), 0)
    eq(put_int("bf2", b"a", 5), 0)
    # a > 2: [GT, [BIN, INT, "a"], 2]
    exp = bytes([0x93, 3, 0x93, 81, 2, 0xa1]) + b"a" + bytes([2])
    data = struct.pack(">IB", 2, 4)
    for i, name in enumerate(["bf1", "bf2"]):
        data += struct.pack(">I", i) + digest(name)
        data += b"\x00" + struct.pack(">BHH", READ | GET_ALL, 3, 0)
        data += field(F_NS, b"test") + field(F_SET, b"wire") + field(F_FILTER, exp)
    s = connect()
    s.sendall(msg(info1=READ | BATCH, fields=[field(F_BATCH, data)]))
    rows = []
    while True:
        ptype, body = recv_proto(s)
        rows += parse_msgs(body)
        if rows[-1][4] & 1:
            break
    s.close()
    # A row filtered out carries the record's generation, without bins.
    rows = sorted(rows[:-1], key=lambda r: r[3])
    eq([(r[0], r[1] > 0, r[2], r[3], r[5], r[6]) for r in rows],
       [(27, True, 0, 0, [], []),
        (0, True, 0, 1, [("a", PT_INT, struct.pack(">q", 5))], [])])


@check
def batch_of_zero_or_too_many_keys():
    eq(code(batch_msg([], count=0)), 4)
    info("fixture-set:batch-max-requests=2")
    try:
        res = request(batch_msg([("a", False), ("b", True), ("c", True)]))
        eq((res[0], res[4] & 1), (151, 1))
    finally:
        info("fixture-set:batch-max-requests=0")


@check
def info_answers_and_errors():
    eq(info("node", "namespaces", "partitions", "bogus"),
       "node\t%s\nnamespaces\ttest\npartitions\t4096\nbogus\tERROR:4:unrecognized command\n"
       % info("node").split("\t")[1].strip())
    replicas = info("replicas").split("\t")[1].strip()
    eq(replicas, "test:0,1," + base64.b64encode(b"\xff" * 512).decode())
    eq(info("peers-clear-std").split("\t")[1].strip(), "1,%d,[]" % PORT)


@check
def fault_close_after_drops_that_request():
    info("fixture-set:close-after=2")
    try:
        s = connect()
        s.sendall(msg(info2=WRITE, fields=keyfields("ca1"), ops=[op(OP_WRITE, PT_INT, b"a", b"\0")]))
        eq(parse_msgs(recv_proto(s)[1])[0][0], 0)
        s.sendall(msg(info2=WRITE, fields=keyfields("ca2"), ops=[op(OP_WRITE, PT_INT, b"a", b"\0")]))
        eq(recv_proto(s), None)
        s.close()
        # The dropped write was not applied.
        eq(code(msg(info1=READ | GET_ALL, fields=keyfields("ca2"))), 2)
    finally:
        info("fixture-reset")


@check
def fault_close_every_drops_every_nth_request():
    stats = dict(kv.split("=") for kv in info("fixture-stats").split("\t")[1].strip().split(";"))
    # Line the counter up so that the second request from now is an Nth.
    n = int(stats["requests"]) + 2
    info("fixture-set:close-every=%d" % n)
    try:
        eq(put_int("ce", b"a", 1), 0)
        assert closed(msg(info2=WRITE, fields=keyfields("ce"), ops=[op(OP_WRITE, PT_INT, b"a", b"\2")]))
        eq(put_int("ce", b"a", 3), 0)
    finally:
        info("fixture-reset")


@check
def fault_fail_code_counts_records():
    info("fixture-set:fail-code=18;fail-count=1")
    try:
        eq(put_int("fc", b"a", 1), 18)
        eq(put_int("fc", b"a", 1), 0)
    finally:
        info("fixture-reset")


@check
def fault_delay_holds_replies_at_least_that_long():
    info("fixture-set:delay-ms=300")
    try:
        start = time.monotonic()
        eq(put_int("dl", b"a", 1), 0)
        assert time.monotonic() - start >= 0.3
    finally:
        info("fixture-reset")


@check
def fault_restart_drops_connections_and_keeps_records():
    eq(put_int("rs", b"a", 7), 0)
    s = connect()
    eq(info("fixture-restart:down-ms=300"), "fixture-restart:down-ms=300\tok\n")
    assert s.recv(1) == b""
    s.close()
    deadline = time.monotonic() + 10
    while True:
        try:
            eq(info("partition-generation"), "partition-generation\t1\n")
            break
        except OSError:
            assert time.monotonic() < deadline, "fixture did not come back"
            time.sleep(0.05)
    res = request(msg(info1=READ | GET_ALL, fields=keyfields("rs")))
    eq(res[5], [("a", PT_INT, struct.pack(">q", 7))])


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
