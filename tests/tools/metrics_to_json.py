"""Reads a /metrics exposition on stdin and prints its samples as JSON.

Parses it twice, with prometheus_client's Prometheus text parser and its
strict OpenMetrics parser; fails (exit 1) unless both accept it and agree.
Output: {"families": {name: type}, "samples": [[name, {labels}, value], ...]}.
"""
import json
import sys

from prometheus_client.openmetrics.parser import (
    text_string_to_metric_families as openmetrics_families,
)
from prometheus_client.parser import text_string_to_metric_families as prometheus_families


def samples(families):
    out = []
    types = {}
    for family in families:
        types[family.name] = family.type
        for s in family.samples:
            out.append([s.name, dict(s.labels), s.value])
    out.sort(key=lambda s: (s[0], sorted(s[1].items())))
    return types, out


text = sys.stdin.read()
om_types, om_samples = samples(openmetrics_families(text))
prom_types, prom_samples = samples(prometheus_families(text))
# The Prometheus parser does not know OpenMetrics' `_created` samples; none
# are expected, but compare only what both formats carry.
if om_samples != prom_samples:
    print("the two parsers disagree", file=sys.stderr)
    sys.exit(1)
json.dump({"families": om_types, "samples": om_samples}, sys.stdout)
