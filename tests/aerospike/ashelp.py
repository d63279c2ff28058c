"""Shared by read_official.py and write_official.py: the NDJSON shapes.

A key line:    {"ns": "test", "set": "s", "key": "user-1"}
               "set" may be null or absent (no set); "key" a string or an
               integer; or "digest": 40 hex digits instead of "key".
A record line: a key line plus "bins": {...}, and for writes optionally
               "ttl": seconds (-1 never expire, -2 keep), "send_key": true,
               "exists": "create"|"update"|"replace"|"create_or_replace".

Bin values map to the client's types: JSON numbers, strings, booleans,
arrays and objects to int/float/str/bool/list/map; null removes a bin on
write.  Bytes (blobs) are written {"@bytes": "BASE64"} both ways.
"""

import base64
import json
import os
import sys

import aerospike


def connect(argv):
    target = argv[1] if len(argv) > 1 else os.environ.get("FS_AEROSPIKE")
    if not target or ":" not in target:
        sys.stderr.write("usage: %s HOST:PORT < ndjson (or set FS_AEROSPIKE)\n" % argv[0])
        sys.exit(2)
    host, port = target.rsplit(":", 1)
    return aerospike.client({"hosts": [(host, int(port))]}).connect()


def key_of(obj):
    ns = obj.get("ns", "test")
    setname = obj.get("set")
    if "digest" in obj:
        return (ns, setname, None, bytearray.fromhex(obj["digest"]))
    k = obj["key"]
    if isinstance(k, bool) or not isinstance(k, (str, int)):
        raise ValueError("key must be a string or an integer: %r" % (k,))
    return (ns, setname, k)


def to_client(v):
    if isinstance(v, dict):
        if set(v) == {"@bytes"}:
            return base64.b64decode(v["@bytes"])
        return {k: to_client(x) for k, x in v.items()}
    if isinstance(v, list):
        return [to_client(x) for x in v]
    return v


def to_json(v):
    if isinstance(v, (bytes, bytearray)):
        return {"@bytes": base64.b64encode(bytes(v)).decode()}
    if isinstance(v, dict):
        return {str(k): to_json(x) for k, x in v.items()}
    if isinstance(v, (list, tuple)):
        return [to_json(x) for x in v]
    return v


def emit(obj):
    sys.stdout.write(json.dumps(obj, sort_keys=True, separators=(",", ":"),
                                ensure_ascii=False) + "\n")


def lines():
    for n, line in enumerate(sys.stdin, 1):
        line = line.strip()
        if line:
            yield n, json.loads(line)
