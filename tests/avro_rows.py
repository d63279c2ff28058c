#!/usr/bin/env python3
"""avro_rows.py DIR: every row of the committed Avro object container
files under DIR (names beginning with '.' are in progress: skipped), read
with fastavro, as one JSON object per line (keys sorted); on stderr, one
line per file: its path, codec and writer schema's name."""
import datetime
import json
import os
import sys

import fastavro


def plain(v):
    if isinstance(v, datetime.datetime):
        return round(v.timestamp() * 1000)
    raise TypeError(f"no JSON for {type(v).__name__}")


def main():
    for root, dirs, files in os.walk(sys.argv[1]):
        dirs.sort()
        for name in sorted(files):
            if name.startswith(".") or not name.endswith(".avro"):
                continue
            path = os.path.join(root, name)
            with open(path, "rb") as f:
                reader = fastavro.reader(f)
                print(path, reader.codec, reader.writer_schema["name"],
                      file=sys.stderr)
                for row in reader:
                    print(json.dumps(row, sort_keys=True,
                                     separators=(",", ":"), default=plain))


main()
