"""Checks a two-fixture "cluster" (asfixture --partitions I/2 --peer PORT)
with the official Python client: discovery through peers, routing by the
partition map, and failover when one node is gone.

Usage: python check_cluster.py two SEED_HOST:PORT
       python check_cluster.py solo HOST:PORT
"two": the client, seeded with one node only, finds both; 200 writes land
on their partitions' masters (each node counts misrouted requests: 0).
"solo": after the other node stopped and this one took every partition
(fixture-set:solo=1), the client sees one node and writes all go to it.
Prints TAP lines; exits 1 if a check failed.
"""

import sys
import time
import traceback
import warnings

import aerospike

warnings.simplefilter("ignore", DeprecationWarning)

MODE = sys.argv[1]
HOST, PORT = sys.argv[2].rsplit(":", 1)
client = aerospike.client({"hosts": [(HOST, int(PORT))]}).connect()
checks = []


def check(fn):
    checks.append(fn)
    return fn


def eq(got, want):
    assert got == want, "got %r, want %r" % (got, want)


def stats():
    """fixture-stats of every node the client knows, by node name."""
    out = {}
    for node, (err, val) in client.info_all("fixture-stats").items():
        assert err is None, err
        out[node] = dict(kv.split("=") for kv in val.strip().split(";"))
    return out


def wait_nodes(n):
    deadline = time.monotonic() + 10
    while len(client.get_nodes()) != n:
        assert time.monotonic() < deadline, client.get_nodes()
        time.sleep(0.1)


if MODE == "two":
    @check
    def the_client_finds_the_peer_from_one_seed():
        wait_nodes(2)

    @check
    def writes_go_to_their_partition_master():
        for i in range(200):
            client.put(("test", "cluster", "k%d" % i), {"i": i})
        for i in range(200):
            eq(client.get(("test", "cluster", "k%d" % i))[2], {"i": i})
        st = stats()
        eq(sorted(int(s["misrouted"]) for s in st.values()), [0, 0])
        counts = [int(s["records"]) for s in st.values()]
        eq(sum(counts), 200)
        assert min(counts) > 50, counts
else:
    @check
    def the_client_drops_the_gone_node():
        wait_nodes(1)

    @check
    def every_write_goes_to_the_survivor():
        (before,) = [int(s["records"]) for s in stats().values()]
        for i in range(200):
            client.put(("test", "cluster", "after%d" % i), {"i": i})
        (s,) = stats().values()
        eq(int(s["misrouted"]), 0)
        eq(int(s["records"]), before + 200)


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
