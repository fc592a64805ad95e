"""echoflow vs ReservoirPy 0.4.2 on the same models and data, in the same run (issue #5).

    cargo build --release --bin echoflow
    .venv/bin/python benches/peers/reservoirpy_timing.py [--units 100 500 2000] [--repeat 3]
    .venv/bin/python benches/peers/reservoirpy_timing.py --inner-only --repeat 1   # no echoflow binary
    .venv/bin/python benches/peers/reservoirpy_timing.py --inner-only --repeat 1 --units 500 --min-of 30

Writes the Mackey-Glass series (ReservoirPy's mackey_glass(12000), tau 17) as train.csv (10,001
rows: 10,000 next-step pairs) and test.csv (the last 2,000 rows, unseen) and ReservoirPy's models
rpy_<units>.npz into target/reservoir-bench/ (the Criterion bench `reservoir/steps` reads them),
then measures, for each size:

- inner loop: ReservoirPy `Reservoir.run` over the 10,000 training rows, microseconds per step
  (echoflow's inner loop is Criterion's `reservoir/steps`, on the same rpy_<units>.npz);
- whole process, fit: `reservoirpy_cli.py fit` vs `echoflow reservoir fit`, same settings (lr 0.3,
  sr 1.25, connectivity 0.1, ridge 1e-6, seed 42, warm-up 100) - different random draws;
- whole process, eval: both CLIs evaluating ReservoirPy's rpy_<units>.npz on test.csv;
- NRMSE of each fit on the unseen rows (zero state, warm-up 100 and 500).

Wall-clock medians of --repeat runs; the machine is whatever runs this (say so when quoting).
"""

import argparse
import os
import statistics
import subprocess
import sys
import time

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))


def timed(cmd, repeat):
    times, out = [], ""
    for _ in range(repeat):
        t = time.perf_counter()
        r = subprocess.run(cmd, capture_output=True, text=True)
        times.append(time.perf_counter() - t)
        if r.returncode != 0:
            raise SystemExit(f"{cmd}: {r.stderr}")
        out = r.stdout.strip()
    return statistics.median(times), out


def nrmse_of(out):
    for tok in out.split():
        try:
            return float(tok)
        except ValueError:
            pass
    return float("nan")


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--units", type=int, nargs="+", default=[100, 500, 2000])
    p.add_argument("--repeat", type=int, default=3)
    p.add_argument("--echoflow", default=os.path.join(ROOT, "target", "release", "echoflow"))
    p.add_argument("--dir", default=os.path.join(ROOT, "target", "reservoir-bench"))
    p.add_argument(
        "--inner-only",
        action="store_true",
        help="only the inner loop and ReservoirPy's saved models (no echoflow binary needed)",
    )
    p.add_argument(
        "--min-of",
        type=int,
        default=0,
        metavar="K",
        help="also time K runs of 1,000 steps and print the fastest and the median (busy machines)",
    )
    a = p.parse_args()
    os.makedirs(a.dir, exist_ok=True)

    from reservoirpy.datasets import mackey_glass
    from reservoirpy.nodes import Reservoir

    series = mackey_glass(12000, tau=17)
    train, test = os.path.join(a.dir, "train.csv"), os.path.join(a.dir, "test.csv")
    np.savetxt(train, series[:10001], fmt="%.17g")
    np.savetxt(test, series[10000:], fmt="%.17g")
    py = sys.executable
    cli = os.path.join(HERE, "reservoirpy_cli.py")
    rows = []
    for u in a.units:
        # Inner loop, in process.
        res = Reservoir(u, lr=0.3, sr=1.25, rc_connectivity=0.1, seed=42)
        res.initialize(series[:1])
        t = time.perf_counter()
        res.run(series[:10000])
        inner_us = (time.perf_counter() - t) / 10000 * 1e6
        if a.min_of:
            # Robust to a busy machine: the fastest of K timed runs of 1,000 steps (state
            # carried on), and their median.
            per = []
            for k in range(a.min_of):
                x = series[(k % 10) * 1000 : (k % 10 + 1) * 1000]
                t = time.perf_counter()
                res.run(x)
                per.append((time.perf_counter() - t) / 1000 * 1e6)
            per.sort()
            print(
                f"| {u} | ReservoirPy inner loop, {a.min_of} runs of 1,000 steps: "
                f"min {per[0]:.1f} / median {statistics.median(per):.1f} µs/step |"
            )

        rpy_model = os.path.join(a.dir, f"rpy_{u}.npz")
        ef_model = os.path.join(a.dir, f"echoflow_{u}.npz")
        common = ["--units", str(u), "--seed", "42", "--warmup", "100"]
        fit_rpy, _ = timed([py, cli, "fit", "--series", train, "--out", rpy_model, *common], a.repeat)
        if a.inner_only:
            print(f"| {u} | ReservoirPy inner loop {inner_us:.1f} µs/step | saved {rpy_model} |")
            continue
        fit_ef, _ = timed([a.echoflow, "reservoir", "fit", "--series", train, "--out", ef_model, *common], a.repeat)
        ev = ["--series", test, "--warmup", "100"]
        eval_rpy, out_rpy = timed([py, cli, "eval", "--model", rpy_model, *ev], a.repeat)
        eval_ef, out_ef = timed([a.echoflow, "reservoir", "eval", "--model", rpy_model, *ev], a.repeat)
        scores = {}
        for name, model in (("rpy", rpy_model), ("ef", ef_model)):
            for w in (100, 500):
                _, out = timed([a.echoflow, "reservoir", "eval", "--model", model, "--series", test, "--warmup", str(w)], 1)
                scores[(name, w)] = nrmse_of(out)
        rows.append((u, inner_us, fit_rpy, fit_ef, eval_rpy, eval_ef, nrmse_of(out_rpy), nrmse_of(out_ef), scores))
        print(f"done {u} units", file=sys.stderr)

    if a.inner_only:
        return
    print("| units | ReservoirPy inner loop µs/step | fit: ReservoirPy s | fit: echoflow s | eval (ReservoirPy's model): ReservoirPy s | eval: echoflow s | eval NRMSE ReservoirPy / echoflow (same model) | unseen NRMSE w100, w500: ReservoirPy fit | echoflow fit |")
    print("|---|---|---|---|---|---|---|---|---|")
    for u, inner, fr, fe, er, ee, nr, ne, sc in rows:
        print(
            f"| {u} | {inner:.1f} | {fr:.2f} | {fe:.2f} | {er:.2f} | {ee:.3f} | {nr:.6e} / {ne:.6e} | "
            f"{sc[('rpy', 100)]:.3e}, {sc[('rpy', 500)]:.3e} | {sc[('ef', 100)]:.3e}, {sc[('ef', 500)]:.3e} |"
        )


if __name__ == "__main__":
    main()
