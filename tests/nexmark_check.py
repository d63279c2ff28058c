#!/usr/bin/env python3
"""The Nexmark queries of scripts/nexmark computed independently, with
plain loops over fs-gen --model nexmark events, for tests/nexmark.bats.

usage: nexmark_check.py QUERY EVENTS [OUTPUT]
Without OUTPUT, prints the expected rows (sorted, keys sorted); with
OUTPUT (a query's NDJSON), prints that output in the same form, so the
two can be compared as text.  q4 keeps the last row per category."""
import json
import sys


def canon(rows):
    return sorted(json.dumps(r, sort_keys=True) for r in rows)


def events(path):
    with open(path) as f:
        return [json.loads(line) for line in f]


def bids(ev):
    return [e["bid"] for e in ev if e["event_type"] == 2]


def q0(ev):
    return [{k: b[k] for k in ("auction", "bidder", "price", "dateTime",
                               "extra")} for b in bids(ev)]


def q1(ev):
    rows = q0(ev)
    for r in rows:
        r["price"] = round(float(0.908 * r["price"]), 6)
    return rows


def q2(ev):
    return [{"auction": b["auction"], "price": b["price"]}
            for b in bids(ev) if b["auction"] % 123 == 0]


def q3(ev):
    people = [e["person"] for e in ev if e["event_type"] == 0]
    rows = []
    for e in ev:
        if e["event_type"] != 1 or e["auction"]["category"] != 10:
            continue
        for p in people:
            if p["id"] == e["auction"]["seller"] and \
                    p["state"] in ("OR", "ID", "CA"):
                rows.append({"name": p["name"], "city": p["city"],
                             "state": p["state"], "id": e["auction"]["id"]})
    return rows


def q4(ev):
    finals = {}
    for e in ev:
        if e["event_type"] != 1:
            continue
        a = e["auction"]
        best = None
        for b in bids(ev):
            if b["auction"] == a["id"] and \
                    a["dateTime"] <= b["dateTime"] <= a["expires"]:
                if best is None or b["price"] > best:
                    best = b["price"]
        if best is not None:
            finals.setdefault(a["category"], []).append(best)
    return [{"category": c, "avg": round(float(sum(v) / len(v)), 6)}
            for c, v in finals.items()]


def window_starts(t, size, slide):
    s = t - t % slide
    out = []
    while s > t - size:
        out.append(s)
        s -= slide
    return out


def q5(ev):
    counts = {}
    for b in bids(ev):
        for s in window_starts(b["dateTime"], 10000, 2000):
            key = (s, b["auction"])
            counts[key] = counts.get(key, 0) + 1
    best = {}
    for (s, a), n in counts.items():
        best[s] = max(best.get(s, 0), n)
    return [{"auction": a, "num": n, "starttime": s, "endtime": s + 10000}
            for (s, a), n in counts.items() if n == best[s]]


def q7(ev):
    best = {}
    for b in bids(ev):
        s = b["dateTime"] - b["dateTime"] % 10000
        best[s] = max(best.get(s, 0), b["price"])
    return [{k: b[k] for k in ("auction", "price", "bidder", "dateTime",
                               "extra")}
            for b in bids(ev)
            if b["price"] == best[b["dateTime"] - b["dateTime"] % 10000]]


def q8(ev):
    sellers = set()
    for e in ev:
        if e["event_type"] == 1:
            sellers.add((e["auction"]["seller"], e["ts"] - e["ts"] % 10000))
    rows = []
    for e in ev:
        if e["event_type"] == 0:
            s = e["ts"] - e["ts"] % 10000
            if (e["person"]["id"], s) in sellers:
                rows.append({"id": e["person"]["id"],
                             "name": e["person"]["name"], "starttime": s})
    return rows


def q11(ev):
    times = {}
    for b in bids(ev):
        times.setdefault(b["bidder"], []).append(b["dateTime"])
    rows = []
    for bidder, ts in times.items():
        ts.sort()
        start, last, n = ts[0], ts[0], 1
        for t in ts[1:]:
            # Flink merges sessions that touch: [a, a+gap] meets [b, ...]
            if t - last <= 10000:
                last, n = t, n + 1
            else:
                rows.append({"bidder": bidder, "bid_count": n,
                             "starttime": start, "endtime": last + 10000})
                start, last, n = t, t, 1
        rows.append({"bidder": bidder, "bid_count": n, "starttime": start,
                     "endtime": last + 10000})
    return rows


def q12(ev):
    # The windows follow the wall clock: only the totals can be checked.
    n = {}
    for b in bids(ev):
        n[b["bidder"]] = n.get(b["bidder"], 0) + 1
    return [{"bidder": k, "bid_count": v} for k, v in n.items()]


def normalise(query, rows):
    if query == "q4":
        last = {}
        for r in rows:
            last[r["category"]] = r
        rows = list(last.values())
    if query in ("q1", "q4"):
        for r in rows:
            key = "price" if query == "q1" else "avg"
            r[key] = round(float(r[key]), 6)
    if query == "q12":
        n = {}
        for r in rows:
            n[r["bidder"]] = n.get(r["bidder"], 0) + r["bid_count"]
        rows = [{"bidder": k, "bid_count": v} for k, v in n.items()]
    return rows


def main():
    query, path = sys.argv[1], sys.argv[2]
    if len(sys.argv) > 3:
        with open(sys.argv[3]) as f:
            rows = normalise(query, [json.loads(line) for line in f])
    else:
        rows = globals()[query](events(path))
    for line in canon(rows):
        print(line)


main()
