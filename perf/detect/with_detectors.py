#!/usr/bin/env python3
"""The same rule set with the four example detectors of
rules/examples/behaviour.yaml added (call bombing, mass calling, one-ring,
neighbour spoofing): its `detectors:` section and its rules after the base
set's. What perf/run's detection section compares the base set against.

Usage: with_detectors.py BASE.yaml OUT.yaml [--capacity N]
  --capacity  keys per detector per worker (default: as in behaviour.yaml)
"""
import argparse
import os

import yaml

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("base")
    ap.add_argument("out")
    ap.add_argument("--capacity", type=int)
    a = ap.parse_args()
    base = yaml.safe_load(open(a.base))
    beh = yaml.safe_load(open(os.path.join(ROOT, "rules", "examples", "behaviour.yaml")))
    dets = beh["detectors"]
    if a.capacity:
        for d in dets:
            d["capacity"] = a.capacity
    base["detectors"] = dets
    base["version"] = str(base.get("version", "base")) + "+detectors"
    base["rules"] = list(base.get("rules", [])) + beh["rules"]
    with open(a.out, "w") as f:
        yaml.safe_dump(base, f, sort_keys=False, allow_unicode=True, width=1 << 20)
    print(f"{a.out}: {a.base} + {len(dets)} detectors, {len(beh['rules'])} rules of behaviour.yaml")


if __name__ == "__main__":
    main()
