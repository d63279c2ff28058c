"""Checks the protocol fixture against the official Aerospike Python client.

Usage: python check_official_client.py HOST:PORT [SET]

Every check talks to the fixture through the official client (the C client
underneath), so what passes here is what the client accepts from a real
server.  Results are compared exactly.  Prints TAP lines; exits 1 if any
check failed.  Restores every fixture knob it changes.
"""

import math
import sys
import time
import traceback
import warnings

import aerospike
from aerospike import exception as ex
from aerospike_helpers import expressions as exp
from aerospike_helpers.batch import records as br
from aerospike_helpers.operations import operations as op

HOST, PORT = sys.argv[1].rsplit(":", 1)
SET = sys.argv[2] if len(sys.argv) > 2 else "official-%d" % int(time.time() * 1000)
NS = "test"

# The client warns about its own deprecations (meta["ttl"], string append);
# they are not about the fixture.
warnings.simplefilter("ignore", DeprecationWarning)

client = aerospike.client({"hosts": [(HOST, int(PORT))]}).connect()
checks = []


def check(fn):
    checks.append(fn)
    return fn


def key(name):
    return (NS, SET, name)


def code_of(fn):
    """The server result code fn raises, or 0."""
    try:
        fn()
    except ex.AerospikeError as e:
        return e.code
    return 0


def fixture(cmd):
    """Sends a fixture info command; returns the value."""
    res = client.info_all(cmd)
    (_, (err, val)), = res.items()
    assert err is None, err
    return val.strip()


def eq(got, want):
    assert got == want, "got %r, want %r" % (got, want)


EVERY_TYPE = {
    "int": 42,
    "neg": -7,
    "min": -(2 ** 63),
    "max": 2 ** 63 - 1,
    "float": 3.25,
    "negzero": -0.0,
    "huge": 1.7976931348623157e308,
    "str": "feature",
    "empty": "",
    "utf8": "caf\u00e9 \u65e5\u672c \U0001f600",
    "bytes": b"\x00\x01\xff",
    "true": True,
    "false": False,
    "list": [1, "two", 3.5, None, True, [4, [5]], {"k": "v"}, b"\x02"],
    "map": {"a": 1, "b": [1, 2], "c": {"d": None}, 7: "int key", "e": 2.5},
    "emptylist": [],
    "emptymap": {},
    "long": "x" * 100000,
}


@check
def put_get_every_value_type():
    client.put(key("types"), EVERY_TYPE)
    _, meta, bins = client.get(key("types"))
    eq(bins, EVERY_TYPE)
    eq(math.copysign(1, bins["negzero"]), -1.0)
    eq(meta["gen"], 1)


@check
def key_ordered_maps_round_trip():
    m = aerospike.KeyOrderedDict({"b": 2, "a": 1, "c": [3]})
    client.put(key("kom"), {"m": m})
    got = client.get(key("kom"))[2]["m"]
    eq(dict(got), {"a": 1, "b": 2, "c": [3]})
    eq(list(got.keys()), ["a", "b", "c"])


@check
def get_named_bins_skips_missing_ones():
    client.put(key("named"), {"a": 1, "b": "x"})
    _, _, bins = client.select(key("named"), ["a", "nothere"])
    eq(bins, {"a": 1})


@check
def exists_gives_metadata_only():
    client.put(key("ex"), {"a": 1})
    _, meta = client.exists(key("ex"))
    eq(meta, {"ttl": 4294967295, "gen": 1})
    _, meta = client.exists(key("ex-missing"))
    eq(meta, None)


@check
def generation_counts_writes():
    for i in range(3):
        client.put(key("gen"), {"i": i})
    eq(client.get(key("gen"))[1]["gen"], 3)


@check
def ttl_sets_void_time():
    client.put(key("ttl"), {"a": 1}, meta={"ttl": 1000})
    ttl = client.get(key("ttl"))[1]["ttl"]
    assert 998 <= ttl <= 1000, ttl
    # -2: keep the record's TTL on update.
    client.put(key("ttl"), {"a": 2}, meta={"ttl": aerospike.TTL_DONT_UPDATE})
    ttl = client.get(key("ttl"))[1]["ttl"]
    assert 998 <= ttl <= 1000, ttl
    # -1: never expire.
    client.put(key("ttl"), {"a": 3}, meta={"ttl": aerospike.TTL_NEVER_EXPIRE})
    eq(client.get(key("ttl"))[1]["ttl"], 4294967295)


@check
def ttl_without_nsup_period_is_forbidden():
    fixture("fixture-set:nsup-period=0")
    try:
        eq(code_of(lambda: client.put(key("nsup"), {"a": 1}, meta={"ttl": 60})), 22)
        # No TTL (namespace default 0) is still allowed.
        eq(code_of(lambda: client.put(key("nsup"), {"a": 1})), 0)
        eq(code_of(lambda: client.put(key("nsup"), {"a": 1},
                                      meta={"ttl": aerospike.TTL_NEVER_EXPIRE})), 0)
    finally:
        fixture("fixture-set:nsup-period=120")


@check
def record_exists_policies():
    k = key("policy")
    eq(code_of(lambda: client.put(k, {"a": 1}, policy={"exists": aerospike.POLICY_EXISTS_UPDATE})), 2)
    eq(code_of(lambda: client.put(k, {"a": 1}, policy={"exists": aerospike.POLICY_EXISTS_REPLACE})), 2)
    eq(code_of(lambda: client.put(k, {"a": 1, "b": 2}, policy={"exists": aerospike.POLICY_EXISTS_CREATE})), 0)
    eq(code_of(lambda: client.put(k, {"a": 9}, policy={"exists": aerospike.POLICY_EXISTS_CREATE})), 5)
    client.put(k, {"c": 3}, policy={"exists": aerospike.POLICY_EXISTS_UPDATE})
    eq(client.get(k)[2], {"a": 1, "b": 2, "c": 3})
    client.put(k, {"d": 4}, policy={"exists": aerospike.POLICY_EXISTS_REPLACE})
    eq(client.get(k)[2], {"d": 4})
    client.put(k, {"e": 5}, policy={"exists": aerospike.POLICY_EXISTS_CREATE_OR_REPLACE})
    eq(client.get(k)[2], {"e": 5})
    client.put(key("policy2"), {"f": 6}, policy={"exists": aerospike.POLICY_EXISTS_CREATE_OR_REPLACE})
    eq(client.get(key("policy2"))[2], {"f": 6})


@check
def generation_policies():
    k = key("genpol")
    client.put(k, {"a": 1})
    eq(code_of(lambda: client.put(k, {"a": 2}, meta={"gen": 5}, policy={"gen": aerospike.POLICY_GEN_EQ})), 3)
    eq(code_of(lambda: client.put(k, {"a": 2}, meta={"gen": 1}, policy={"gen": aerospike.POLICY_GEN_EQ})), 0)
    eq(code_of(lambda: client.put(k, {"a": 3}, meta={"gen": 2}, policy={"gen": aerospike.POLICY_GEN_GT})), 3)
    eq(code_of(lambda: client.put(k, {"a": 3}, meta={"gen": 3}, policy={"gen": aerospike.POLICY_GEN_GT})), 0)
    eq(client.get(k)[1]["gen"], 3)


@check
def null_bin_removes_it_and_last_bin_removes_record():
    k = key("nullbin")
    client.put(k, {"a": 1, "b": 2})
    client.put(k, {"a": None})
    eq(client.get(k)[2], {"b": 2})
    client.put(k, {"b": None})
    eq(client.exists(k)[1], None)


@check
def remove_and_remove_missing():
    k = key("rm")
    client.put(k, {"a": 1})
    client.remove(k)
    eq(client.exists(k)[1], None)
    eq(code_of(lambda: client.remove(k)), 2)
    eq(code_of(lambda: client.get(k)), 2)


@check
def touch_updates_ttl_and_generation():
    k = key("touch")
    client.put(k, {"a": 1})
    client.touch(k, 500)
    _, meta = client.exists(k)
    eq(meta["gen"], 2)
    assert 498 <= meta["ttl"] <= 500, meta
    eq(code_of(lambda: client.touch(key("touch-missing"), 10)), 2)


@check
def operate_modifies_and_reads_in_order():
    k = key("operate")
    client.put(k, {"n": 10, "s": "b", "f": 1.5, "bl": b"\x01"})
    _, meta, bins = client.operate(k, [
        op.increment("n", 5),
        op.increment("f", 0.25),
        op.append("s", "c"),
        op.prepend("s", "a"),
        op.append("bl", b"\x02"),
        op.write("w", [1, 2]),
        op.read("n"), op.read("f"), op.read("s"), op.read("bl"), op.read("w"),
    ])
    eq(bins, {"n": 15, "f": 1.75, "s": "abc", "bl": b"\x01\x02", "w": [1, 2]})
    eq(meta["gen"], 2)
    # Without respond-all-ops (the client sets it only for CDT ops), only
    # reads of existing bins answer.
    _, _, ordered = client.operate_ordered(k, [op.increment("n", 1), op.read("n"), op.read("nothere")])
    eq(ordered, [("n", 16)])
    # Incrementing a string is a type error (12), applied all-or-nothing.
    eq(code_of(lambda: client.operate(k, [op.increment("n", 1), op.increment("s", 1)])), 12)
    eq(client.get(k)[2]["n"], 16)
    # Increment creates a missing record.
    _, _, bins = client.operate(key("operate-new"), [op.increment("c", 3), op.read("c")])
    eq(bins, {"c": 3})
    # Touch and delete in operate.
    client.operate(k, [op.touch(100)])
    assert 98 <= client.exists(k)[1]["ttl"] <= 100
    client.operate(k, [op.delete()])
    eq(client.exists(k)[1], None)


@check
def filter_expression_monotonic_upsert():
    k = key("mono")

    def newer_than_stored(ts):
        return exp.Or(exp.Not(exp.BinExists("ts")),
                      exp.LT(exp.IntBin("ts"), ts)).compile()

    def put(ts, v):
        return code_of(lambda: client.put(k, {"ts": ts, "v": v},
                                          policy={"expressions": newer_than_stored(ts)}))

    eq(put(100, "a"), 0)            # absent record: written
    eq(put(200, "b"), 0)            # newer: written
    eq(put(150, "late"), 27)        # older: filtered out
    eq(put(200, "same"), 27)        # equal: filtered out
    eq(client.get(k)[2], {"ts": 200, "v": "b"})
    client.put(k, {"ts": None, "other": 1})
    eq(put(50, "no ts bin"), 0)     # stored record without ts: written
    eq(client.get(k)[2], {"ts": 50, "v": "no ts bin", "other": 1})
    # A float ts bin is not an int: the comparison is unknown, filtered out.
    client.put(k, {"ts": 1.5})
    eq(put(60, "typed"), 27)


@check
def filter_expressions_on_read_remove_and_metadata():
    k = key("filt")
    client.put(k, {"a": 5, "s": "abc"})
    yes = exp.And(exp.Eq(exp.IntBin("a"), 5), exp.GE(exp.StrBin("s"), "abc")).compile()
    no = exp.GT(exp.IntBin("a"), 5).compile()
    eq(client.get(k, policy={"expressions": yes})[2], {"a": 5, "s": "abc"})
    eq(code_of(lambda: client.get(k, policy={"expressions": no})), 27)
    eq(code_of(lambda: client.remove(k, policy={"expressions": no})), 27)
    eq(code_of(lambda: client.get(k, policy={"expressions": exp.Eq(exp.SetName(), SET).compile()})), 0)
    eq(code_of(lambda: client.get(k, policy={"expressions": exp.BinExists("zz").compile()})), 27)
    # Mismatched types in a comparison: the server refuses to build it (4).
    eq(code_of(lambda: client.get(k, policy={"expressions": exp.Eq(exp.IntBin("a"), "5").compile()})), 4)
    client.remove(k, policy={"expressions": yes})
    eq(client.exists(k)[1], None)


@check
def exclusive_stops_at_the_second_true_or_the_first_unknown():
    k = key("xor")
    client.put(k, {"a": 5})

    def passes(e):
        return code_of(lambda: client.get(k, policy={"expressions": e.compile()})) == 0

    a5, a6 = exp.Eq(exp.IntBin("a"), 5), exp.Eq(exp.IntBin("a"), 6)
    unknown = exp.Eq(exp.IntBin("missing"), 1)
    eq(passes(exp.Exclusive(a5, a6)), True)
    eq(passes(exp.Exclusive(a5, a5)), False)
    # Two trues decide "false" before the unknown is reached...
    eq(passes(exp.Not(exp.Exclusive(a5, a5, unknown))), True)
    # ...an unknown first makes the whole unknown.
    eq(passes(exp.Not(exp.Exclusive(unknown, a5, a5))), False)


@check
def send_key_stores_the_key():
    kept = key("sendkey")
    client.put(kept, {"a": 1}, policy={"key": aerospike.POLICY_KEY_SEND})
    has_key = {"expressions": exp.KeyExists().compile()}
    eq(client.get(kept, policy=has_key)[2], {"a": 1})
    plain = key("nokey")
    client.put(plain, {"a": 1})
    eq(code_of(lambda: client.get(plain, policy=has_key)), 27)


@check
def integer_and_bytes_user_keys():
    for k in [(NS, SET, 12345), (NS, SET, -1), (NS, SET, bytearray(b"\x00k")), (NS, None, "noset")]:
        client.put(k, {"k": str(k[2])}, policy={"key": aerospike.POLICY_KEY_SEND})
        eq(client.get(k)[2], {"k": str(k[2])})


@check
def unknown_namespace_is_20():
    eq(code_of(lambda: client.put(("nons", SET, "x"), {"a": 1})), 20)
    eq(code_of(lambda: client.get(("nons", SET, "x"))), 20)


@check
def record_too_big_is_13():
    fixture("fixture-set:max-record-size=1000")
    try:
        eq(code_of(lambda: client.put(key("big"), {"s": "x" * 2000})), 13)
        eq(client.exists(key("big"))[1], None)
    finally:
        fixture("fixture-set:max-record-size=1048576")


@check
def batch_read_all_named_and_exists():
    client.put(key("b1"), {"a": 1, "b": 2})
    client.put(key("b2"), {"a": 3})
    keys = [key("b1"), key("b-missing"), key("b2")]
    got = [(r.result, r.record[2] if r.record else None) for r in client.batch_read(keys).batch_records]
    eq(got, [(0, {"a": 1, "b": 2}), (2, None), (0, {"a": 3})])
    got = [(r.result, r.record[2] if r.record else None) for r in client.batch_read(keys, ["b"]).batch_records]
    eq(got, [(0, {"b": 2}), (2, None), (0, {})])
    got = [(r.result, r.record[1]["gen"] if r.record else None) for r in client.batch_read(keys, []).batch_records]
    eq(got, [(0, 1), (2, None), (0, 1)])


@check
def batch_read_filtered_missing_and_since_update():
    client.put(key("bf-old"), {"t": 1})
    client.put(key("bf-new"), {"t": 9})
    keys = [key("bf-old"), key("bf-missing"), key("bf-new")]
    fresh = {"expressions": exp.GE(exp.IntBin("t"), 5).compile()}
    res = client.batch_read(keys, policy=fresh)
    eq([(r.result, r.record[1]["gen"] if r.record and r.record[1] else None,
         r.record[2] if r.record else None) for r in res.batch_records],
       [(27, None, None), (2, None, None), (0, 1, {"t": 9})])
    # written just now: updated less than an hour ago, not within -1 ms
    recent = {"expressions": exp.LE(exp.SinceUpdateTime(), 3600000).compile()}
    eq([r.result for r in client.batch_read(keys, policy=recent).batch_records], [0, 2, 0])
    never = {"expressions": exp.LT(exp.SinceUpdateTime(), 0).compile()}
    eq([r.result for r in client.batch_read(keys, policy=never).batch_records], [27, 2, 27])


@check
def batch_write_per_record_results():
    client.put(key("bw-exists"), {"a": 0})
    recs = br.BatchRecords([
        br.Write(key("bw1"), [op.write("a", 1), op.write("m", {"x": [1]})]),
        br.Write(key("bw-exists"), [op.write("a", 2)],
                 policy={"exists": aerospike.POLICY_EXISTS_CREATE}),
        br.Write(key("bw2"), [op.increment("n", 5), op.read("n")]),
        br.Read(key("bw1"), [op.read("a")]),
        br.Remove(key("bw-missing")),
        br.Write(("nons", SET, "x"), [op.write("a", 1)]),
    ])
    res = client.batch_write(recs)
    eq([r.result for r in res.batch_records], [0, 5, 0, 0, 2, 20])
    eq(res.batch_records[2].record[2], {"n": 5})
    eq(res.batch_records[3].record[2], {"a": 1})
    eq(client.get(key("bw1"))[2], {"a": 1, "m": {"x": [1]}})
    eq(client.get(key("bw-exists"))[2], {"a": 0})


@check
def batch_write_with_filter_expression():
    client.put(key("bf1"), {"ts": 10})
    client.put(key("bf2"), {"ts": 30})
    newer = exp.Or(exp.Not(exp.BinExists("ts")), exp.LT(exp.IntBin("ts"), 20)).compile()
    recs = br.BatchRecords([
        br.Write(key(n), [op.write("ts", 20)], policy={"expressions": newer})
        for n in ("bf1", "bf2", "bf3")
    ])
    res = client.batch_write(recs)
    eq([r.result for r in res.batch_records], [0, 27, 0])
    eq([client.get(key(n))[2]["ts"] for n in ("bf1", "bf2", "bf3")], [20, 30, 20])


@check
def batch_operate_and_remove():
    keys = [key("bo1"), key("bo2")]
    client.put(keys[0], {"c": 1})
    res = client.batch_operate(keys, [op.increment("c", 1), op.read("c")])
    eq([(r.result, r.record[2]) for r in res.batch_records], [(0, {"c": 2}), (0, {"c": 1})])
    res = client.batch_remove(keys + [key("bo-missing")])
    eq([r.result for r in res.batch_records], [0, 0, 2])


@check
def compressed_commands_are_accepted():
    k = key("compressed")
    value = {"s": "y" * 5000, "l": list(range(500))}
    client.put(k, value, policy={"compress": True})
    eq(client.get(k, policy={"compress": True})[2], value)


@check
def injected_result_codes_reach_the_client():
    fixture("fixture-set:fail-code=14;fail-count=2")
    try:
        eq(code_of(lambda: client.put(key("inj"), {"a": 1})), 14)
        eq(code_of(lambda: client.get(key("inj"))), 14)
        eq(code_of(lambda: client.put(key("inj"), {"a": 1})), 0)
    finally:
        fixture("fixture-reset")


@check
def info_discovery_values():
    node = client.get_nodes()
    eq(len(node), 1)
    eq(fixture("namespaces"), "test")
    eq(fixture("partitions"), "4096")
    eq(fixture("build"), "8.0.0.0")


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
    client.close()
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
