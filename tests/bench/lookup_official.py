"""The peer of scripts/bench-lookup: the official Aerospike Python client
reading the same keys with batch_read, BATCH keys per call.

Usage: python lookup_official.py HOST:PORT NS SET FIELD BATCH < events.ndjson

Reads every event's key (the string or integer in FIELD), then times the
batch reads alone (parsing the input is not counted) and prints
"keys=N found=F seconds=S keys_per_second=R".
"""

import json
import sys
import time

import aerospike


def main():
    host, port = sys.argv[1].rsplit(":", 1)
    ns, set_, field, batch = sys.argv[2], sys.argv[3], sys.argv[4], int(sys.argv[5])
    keys = [(ns, set_, json.loads(line)[field]) for line in sys.stdin if line.strip()]
    client = aerospike.client({"hosts": [(host, int(port))]}).connect()
    found = 0
    t0 = time.perf_counter()
    for i in range(0, len(keys), batch):
        for r in client.batch_read(keys[i:i + batch]).batch_records:
            if r.result == 0:
                found += 1
            elif r.result != 2:
                sys.stderr.write("lookup_official: key %r: result %d\n" % (r.key[2], r.result))
                return 1
    secs = time.perf_counter() - t0
    client.close()
    print("keys=%d found=%d seconds=%.3f keys_per_second=%d" % (len(keys), found, secs, len(keys) / secs))
    return 0


if __name__ == "__main__":
    sys.exit(main())
