"""Reads records with the official Aerospike Python client, for tests.

Usage: python read_official.py [HOST:PORT] < keys.ndjson
(HOST:PORT defaults to $FS_AEROSPIKE.)

Each input line is a key (see ashelp.py).  For each, prints one line:
  {"ns":..,"set":..,"key":..,"found":true,"gen":N,"ttl":N,"bins":{..}}
  {"ns":..,"set":..,"key":..,"found":false}
ttl is the seconds left as the client computes it, -1 for never expires.
Keys are sorted, output is compact, so outputs compare byte for byte.
Exits 1 on any error other than "not found".
"""

import sys

from aerospike import exception as ex

import ashelp


def main():
    client = ashelp.connect(sys.argv)
    status = 0
    for n, obj in ashelp.lines():
        out = {"ns": obj.get("ns", "test"), "set": obj.get("set")}
        if "digest" in obj:
            out["digest"] = obj["digest"]
        else:
            out["key"] = obj["key"]
        try:
            _, meta, bins = client.get(ashelp.key_of(obj))
        except ex.RecordNotFound:
            out["found"] = False
            ashelp.emit(out)
            continue
        except ex.AerospikeError as e:
            sys.stderr.write("read_official: line %d: error %d: %s\n" % (n, e.code, e.msg))
            status = 1
            continue
        out["found"] = True
        out["gen"] = meta["gen"]
        out["ttl"] = -1 if meta["ttl"] == 4294967295 else meta["ttl"]
        out["bins"] = ashelp.to_json(bins)
        ashelp.emit(out)
    client.close()
    return status


if __name__ == "__main__":
    import warnings
    warnings.simplefilter("ignore", DeprecationWarning)
    sys.exit(main())
