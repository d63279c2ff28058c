"""proto_peer.py - the official Confluent Python client as fs's Protobuf peer.

The message classes come from a FileDescriptorSet that protoc wrote
(protoc --include_imports --descriptor_set_out=SET FILE.proto), so no
generated _pb2 module is needed.

  produce BROKERS REGISTRY TOPIC SET MESSAGE < values.ndjson
      each line parsed by json_format.Parse into MESSAGE and written with
      ProtobufSerializer (subject TOPIC-value); prints, for each, what
      MessageToJson gives for it (compact, key order kept)
  check BROKERS REGISTRY TOPIC SET MESSAGE EXPECTED_NDJSON
      reads as many messages as EXPECTED has lines with
      ProtobufDeserializer (the writer schema fetched from the registry)
      and compares each with the line parsed into MESSAGE; prints "ok N"
      or every difference, exit 1
"""
import json
import sys

from confluent_kafka import Consumer, Producer
from confluent_kafka.schema_registry import SchemaRegistryClient
from confluent_kafka.schema_registry.protobuf import (ProtobufDeserializer,
                                                      ProtobufSerializer)
from confluent_kafka.serialization import MessageField, SerializationContext
from google.protobuf import (descriptor_pb2, descriptor_pool, json_format,
                             message_factory)


def message_class(set_file, name):
    fds = descriptor_pb2.FileDescriptorSet()
    with open(set_file, "rb") as f:
        fds.ParseFromString(f.read())
    pool = descriptor_pool.DescriptorPool()
    for fdp in fds.file:
        pool.Add(fdp)
    return message_factory.GetMessageClass(pool.FindMessageTypeByName(name))


def to_json(m):
    """MessageToJson's text, compact (its defaults otherwise)."""
    return json.dumps(json.loads(json_format.MessageToJson(m)),
                      separators=(",", ":"), ensure_ascii=False)


def produce(brokers, registry, topic, set_file, name):
    cls = message_class(set_file, name)
    sr = SchemaRegistryClient({"url": registry})
    ser = ProtobufSerializer(cls, sr, {"auto.register.schemas": True})
    p = Producer({"bootstrap.servers": brokers})
    n = 0
    for line in sys.stdin:
        if not line.strip():
            continue
        m = json_format.Parse(line, cls())
        p.produce(topic, value=ser(m, SerializationContext(
            topic, MessageField.VALUE)))
        print(to_json(m))
        n += 1
    if p.flush(30) != 0:
        sys.exit("proto_peer: messages not delivered")
    print("produced", n, file=sys.stderr)


def check(brokers, registry, topic, set_file, name, expected_file):
    cls = message_class(set_file, name)
    sr = SchemaRegistryClient({"url": registry})
    de = ProtobufDeserializer(cls, {}, schema_registry_client=sr)
    lines = [x for x in open(expected_file) if x.strip()]
    c = Consumer({"bootstrap.servers": brokers, "group.id": "proto-peer",
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
            sys.exit("proto_peer: %s" % m.error())
        got.append(de(m.value(), SerializationContext(topic,
                                                      MessageField.VALUE)))
    c.close()
    bad = 0
    for i, line in enumerate(lines):
        want = json_format.Parse(line, cls())
        have = got[i] if i < len(got) else None
        # Compare as the wire sees it: the deserializer's class may be
        # its own, built from the registry's schema.
        if have is None or want.SerializeToString(deterministic=True) != \
                have.SerializeToString(deterministic=True):
            bad += 1
            print("message %d:\n  want %s\n  have %s" % (
                i, to_json(want), to_json(have) if have else "(none)"))
    if bad or len(got) != len(lines):
        sys.exit(1)
    print("ok", len(got))


if __name__ == "__main__":
    {"produce": produce, "check": check}[sys.argv[1]](*sys.argv[2:])
