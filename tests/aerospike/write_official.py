"""Writes records with the official Aerospike Python client, for tests.

Usage: python write_official.py [HOST:PORT] < records.ndjson
(HOST:PORT defaults to $FS_AEROSPIKE.)

Each input line is a record (see ashelp.py).  For each, prints one line:
  {"ns":..,"set":..,"key":..,"result":CODE,"gen":N}
with the server's result code (0 on success; gen only then).  Exits 1 if
any write failed.
"""

import sys

import aerospike
from aerospike import exception as ex

import ashelp

EXISTS = {
    "create": aerospike.POLICY_EXISTS_CREATE,
    "update": aerospike.POLICY_EXISTS_UPDATE,
    "replace": aerospike.POLICY_EXISTS_REPLACE,
    "create_or_replace": aerospike.POLICY_EXISTS_CREATE_OR_REPLACE,
}


def main():
    client = ashelp.connect(sys.argv)
    status = 0
    for n, obj in ashelp.lines():
        out = {"ns": obj.get("ns", "test"), "set": obj.get("set")}
        if "digest" in obj:
            out["digest"] = obj["digest"]
        else:
            out["key"] = obj["key"]
        k = ashelp.key_of(obj)
        meta = {}
        if "ttl" in obj:
            meta["ttl"] = obj["ttl"]
        policy = {}
        if obj.get("send_key"):
            policy["key"] = aerospike.POLICY_KEY_SEND
        if "exists" in obj:
            policy["exists"] = EXISTS[obj["exists"]]
        try:
            client.put(k, ashelp.to_client(obj.get("bins", {})), meta=meta, policy=policy)
            out["result"] = 0
            out["gen"] = client.exists(k)[1]["gen"]
        except ex.AerospikeError as e:
            out["result"] = e.code
            status = 1
        ashelp.emit(out)
    client.close()
    return status


if __name__ == "__main__":
    import warnings
    warnings.simplefilter("ignore", DeprecationWarning)
    sys.exit(main())
