"""Scrapes fs metrics with the Prometheus client's own text-format parser.

    metrics-scrape.py URL|FILE

Prints one line per sample, "NAME TYPE LABELS VALUE", LABELS being the
sample's labels as k=v joined by ',' in sorted order; a document the
parser rejects, a family given twice (Prometheus refuses that), or an
HTTP answer that is not the 0.0.4 text format,
exits 1 with the reason.  Used by tests/metrics.bats.
"""
import sys
import urllib.request

from prometheus_client.parser import text_string_to_metric_families


def fetch(src):
    if not src.startswith("http://"):
        with open(src, encoding="utf-8") as f:
            return f.read()
    with urllib.request.urlopen(src, timeout=10) as r:
        ctype = r.headers.get("Content-Type", "")
        if not ctype.startswith("text/plain; version=0.0.4"):
            sys.exit("metrics-scrape: content type %r" % ctype)
        return r.read().decode("utf-8")


def main():
    text = fetch(sys.argv[1])
    try:
        families = list(text_string_to_metric_families(text))
    except Exception as e:  # the parser's own message is the point
        sys.exit("metrics-scrape: not the text format: %s" % e)
    names = [fam.name for fam in families]
    dup = sorted({n for n in names if names.count(n) > 1})
    if dup:
        sys.exit("metrics-scrape: families given twice: %s" % " ".join(dup))
    for fam in families:
        for s in fam.samples:
            labels = ",".join("%s=%s" % kv for kv in sorted(s.labels.items()))
            print(s.name, fam.type, labels, repr(float(s.value)))


main()
