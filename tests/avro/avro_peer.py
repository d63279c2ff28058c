"""avro_peer.py - the official Confluent Python client as fs's Avro peer.

  produce BROKERS REGISTRY TOPIC SCHEMA_FILE < values.ndjson
      each line, in fs's JSON form (fs-consume(1)), turned into Python
      values and written with AvroSerializer (subject TOPIC-value)
  check BROKERS REGISTRY TOPIC EXPECTED_NDJSON
      reads as many messages as EXPECTED has lines with AvroDeserializer
      and compares each with the line turned into Python values; prints
      "ok N" or every difference, exit 1

fs's JSON form and Python's values: bytes and fixed are base64; decimal
a string; date "YYYY-MM-DD"; timestamps
integers (ms, us); a union branch other than null {"TYPE": value}.
"""
import base64
import datetime
import decimal
import json
import sys

from confluent_kafka import Consumer, Producer
from confluent_kafka.schema_registry import SchemaRegistryClient
from confluent_kafka.schema_registry.avro import (AvroDeserializer,
                                                  AvroSerializer)
from confluent_kafka.serialization import MessageField, SerializationContext

PRIMS = {"null", "boolean", "int", "long", "float", "double", "bytes",
         "string"}
EPOCH = datetime.datetime(1970, 1, 1, tzinfo=datetime.timezone.utc)


def names(schema, ns, out):
    """Every named type of schema by full name."""
    if isinstance(schema, list):
        for s in schema:
            names(s, ns, out)
    elif isinstance(schema, dict):
        t = schema.get("type")
        if t in ("record", "error", "enum", "fixed"):
            n = schema["name"]
            ns = schema.get("namespace", ns)
            full = n if "." in n or not ns else ns + "." + n
            out[full] = schema
            ns = full.rpartition(".")[0]
            for f in schema.get("fields", []):
                names(f["type"], ns, out)
        elif t == "array":
            names(schema["items"], ns, out)
        elif t == "map":
            names(schema["values"], ns, out)
        elif isinstance(t, (dict, list)):
            names(t, ns, out)
    return out


def branch_name(s):
    if isinstance(s, str):
        return s
    t = s["type"]
    if t in ("record", "error", "enum", "fixed"):
        n, ns = s["name"], s.get("namespace")
        return n if "." in n or not ns else ns + "." + n
    return t


def to_py(s, v, named):
    """fs's JSON form of a value of schema s as the client's values."""
    if isinstance(s, str) and s not in PRIMS:
        s = named[s] if s in named else next(
            x for k, x in named.items() if k.rpartition(".")[2] == s)
    if isinstance(s, list):
        if v is None:
            return None
        (k, inner), = v.items()
        for b in s:
            # a named type inherits its namespace: compare the last part
            if branch_name(b) in (k, k.rpartition(".")[2]):
                return to_py(b, inner, named)
        raise ValueError("no branch " + k)
    t = s if isinstance(s, str) else s["type"]
    lt = None if isinstance(s, str) else s.get("logicalType")
    if isinstance(t, (dict, list)):
        return to_py(t, v, named)
    if lt == "decimal":
        return decimal.Decimal(v)
    if lt == "date":
        return datetime.date.fromisoformat(v)
    if lt == "timestamp-millis":
        return EPOCH + datetime.timedelta(milliseconds=v)
    if lt == "timestamp-micros":
        return EPOCH + datetime.timedelta(microseconds=v)
    if t in ("bytes", "fixed"):
        return base64.b64decode(v, validate=True)
    if t == "record":
        return {f["name"]: to_py(f["type"], v[f["name"]], named)
                for f in s["fields"]}
    if t == "array":
        return [to_py(s["items"], x, named) for x in v]
    if t == "map":
        return {k: to_py(s["values"], x, named) for k, x in v.items()}
    return v


def produce(brokers, registry, topic, schema_file):
    text = open(schema_file).read()
    schema = json.loads(text)
    named = names(schema, None, {})
    sr = SchemaRegistryClient({"url": registry})
    ser = AvroSerializer(sr, text, conf={"auto.register.schemas": True})
    p = Producer({"bootstrap.servers": brokers})
    n = 0
    for line in sys.stdin:
        if not line.strip():
            continue
        v = to_py(schema, json.loads(line), named)
        p.produce(topic, value=ser(v, SerializationContext(
            topic, MessageField.VALUE)))
        n += 1
    if p.flush(30) != 0:
        sys.exit("avro_peer: messages not delivered")
    print("produced", n)


def check(brokers, registry, topic, expected_file):
    sr = SchemaRegistryClient({"url": registry})
    de = AvroDeserializer(sr)
    lines = [x for x in open(expected_file) if x.strip()]
    c = Consumer({"bootstrap.servers": brokers, "group.id": "avro-peer",
                  "auto.offset.reset": "earliest",
                  "enable.auto.commit": False})
    c.subscribe([topic])
    got = []
    idle = 0
    while len(got) < len(lines) and idle < 30:
        m = c.poll(1.0)
        if m is None:
            idle += 1
            continue
        if m.error():
            sys.exit("avro_peer: %s" % m.error())
        got.append(de(m.value(), SerializationContext(topic,
                                                      MessageField.VALUE)))
    c.close()
    sch = json.loads(sr.get_latest_version(topic + "-value").schema
                     .schema_str)
    named = names(sch, None, {})
    bad = 0
    for i, line in enumerate(lines):
        want = to_py(sch, json.loads(line), named)
        have = got[i] if i < len(got) else "(no message)"
        if want != have:
            bad += 1
            print("message %d:\n  want %r\n  have %r" % (i, want, have))
    if bad or len(got) != len(lines):
        sys.exit(1)
    print("ok", len(got))


if __name__ == "__main__":
    {"produce": produce, "check": check}[sys.argv[1]](*sys.argv[2:])
