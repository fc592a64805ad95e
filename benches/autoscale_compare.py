#!/usr/bin/env python3
"""Compares two runs of `benches/autoscale_holdout.py --json` (a policy change's before and
after): per setting and set, the traces predictive dominates hpa on in each, then every trace
whose verdict changed and every trace whose figures moved, with both runs' figures.

    python3 benches/autoscale_holdout.py ... --json before.json   # binary before the change
    python3 benches/autoscale_holdout.py ... --json after.json    # binary after it
    python3 benches/autoscale_compare.py before.json after.json

Settings are matched by their `--config` file name and sets by label; a trace in only one of
the runs is listed as such. Standard library only; exit status 0 whatever the outcome.
"""

import json
import os
import sys

KEYS = ["slo_violation_minutes", "replica_minutes_above_min", "reversals"]


def load(path):
    """{(setting, set): {trace: record}} of one --json file."""
    with open(path, encoding="utf-8") as f:
        doc = json.load(f)
    out = {}
    for st in doc["settings"]:
        name = os.path.basename(st["config"]) if st["config"] else "(defaults)"
        for g in st["sets"]:
            out[(name, g["set"])] = {r["trace"]: r for r in g["traces"]}
    return out


def figures(r):
    """'violation / replica-min / reversals, p ÷ h' of one record."""
    p, h = r["predictive"], r["hpa"]
    return "; ".join(
        f"{p[k]:.0f}/{h[k]:.0f}" if isinstance(p[k], float) else f"{p[k]}/{h[k]}" for k in KEYS
    )


def dominated(records):
    """'k of n' for one setting and set's records, '—' when the run lacks them."""
    if records is None:
        return "—"
    return f"{sum(r['dominates'] for r in records.values())} of {len(records)}"


def main():
    if len(sys.argv) != 3:
        sys.exit(__doc__)
    a, b = load(sys.argv[1]), load(sys.argv[2])
    print("| setting | set | dominated A | dominated B |")
    print("|---|---|---:|---:|")
    for key in sorted(set(a) | set(b)):
        print(f"| {key[0]} | {key[1]} | {dominated(a.get(key))} | {dominated(b.get(key))} |")
    print("\nChanged (figures: violation min; replica-min above floor; reversals, p/h):")
    moved = 0
    for key in sorted(set(a) & set(b)):
        for trace in sorted(set(a[key]) | set(b[key])):
            ra, rb = a[key].get(trace), b[key].get(trace)
            if ra is None or rb is None:
                print(f"  {key[0]} · {trace}: only in {'B' if ra is None else 'A'}")
                continue
            if ra["predictive"] == rb["predictive"] and ra["hpa"] == rb["hpa"]:
                continue
            moved += 1
            verdict = ""
            if ra["dominates"] != rb["dominates"]:
                verdict = " **won**" if rb["dominates"] else " **lost**"
            print(f"  {key[0]} · {trace}{verdict}: A {figures(ra)}  B {figures(rb)}")
    print(f"{moved} trace(s) with figures that moved")


if __name__ == "__main__":
    main()
