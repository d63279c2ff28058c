"""Writes NDJSON records with the official client's batch_write: the peer
of fs-sink-aerospike in scripts/bench-aerospike.

Usage: python batch_write_official.py HOST:PORT NS SET KEYFIELD BATCH
       < records.ndjson

Each line becomes one record as fs-sink-aerospike writes it: the key from
KEYFIELD (a string or an integer, sent as its digest), every other member
a bin.  Lines go out BATCH rows to a batch_write, one call after the
other (the client's synchronous API; one call is one request per node).
Prints "writes=N seconds=S cpu_seconds=C" on stdout: the time and the
process's CPU from the first line read to the last answer, connecting
excluded.  Exits 1 if a row or a batch failed.
"""

import json
import sys
import time

import aerospike
from aerospike import exception as ex
from aerospike_helpers.batch import records as br
from aerospike_helpers.operations import operations as op


def main():
    if len(sys.argv) != 6:
        sys.stderr.write(__doc__)
        return 2
    host, port = sys.argv[1].rsplit(":", 1)
    ns, setname, keyfield = sys.argv[2], sys.argv[3], sys.argv[4]
    batch = int(sys.argv[5])
    client = aerospike.client({"hosts": [(host, int(port))]}).connect()
    failed = 0
    writes = 0
    rows = []

    def flush():
        nonlocal failed, writes
        try:
            res = client.batch_write(br.BatchRecords(rows))
        except ex.AerospikeError as e:
            sys.stderr.write("batch_write: %s\n" % e)
            failed += len(rows)
            return
        for r in res.batch_records:
            if r.result != 0:
                failed += 1
        writes += len(rows)

    t0 = time.monotonic()
    c0 = time.process_time()
    for line in sys.stdin:
        obj = json.loads(line)
        key = (ns, setname, obj[keyfield])
        ops = [op.write(k, v) for k, v in obj.items() if k != keyfield]
        rows.append(br.Write(key, ops))
        if len(rows) == batch:
            flush()
            rows = []
    if rows:
        flush()
    seconds = time.monotonic() - t0
    cpu = time.process_time() - c0
    client.close()
    print("writes=%d seconds=%.3f cpu_seconds=%.3f" % (writes, seconds, cpu))
    if failed:
        sys.stderr.write("batch_write_official: %d rows failed\n" % failed)
        return 1
    return 0


if __name__ == "__main__":
    import warnings
    warnings.simplefilter("ignore", DeprecationWarning)
    sys.exit(main())
