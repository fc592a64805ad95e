"""A model echoflow saves loads in NumPy (issue #5): keys, shapes, dtypes, and the same numbers.

Run from the repository root with NumPy only (no SciPy, no ReservoirPy):

    python3 -m venv .venv && .venv/bin/pip install numpy
    cargo build --release --bin echoflow
    .venv/bin/python benches/peers/numpy_roundtrip.py --echoflow target/release/echoflow

It writes a Mackey-Glass-like series (RK4 of the tau=17 delay equation; the values do not matter,
only that both sides see the same CSV), runs `echoflow reservoir fit --out m.npz` and
`echoflow reservoir eval --out pred.csv`, then, in NumPy alone:

1. `np.load(m.npz)` and checks the keys and layout of SPEC section 5 (`W` dense u x u, or
   `W_data`/`W_indices`/`W_indptr`/`W_shape` CSR with int32/int64 indices; `Win` u x d; `bias`
   and `lr` scalars or (u); `Wout` u x o; `bout` (o)), every array float64 except the CSR indices;
2. rebuilds the ESN by the formula of SPEC section 3 in ReservoirPy's orientation
   (x <- (1-lr) x + lr tanh(W x + Win u + bias), y = x Wout + bout) from a zero state, and
   compares its readout after every row with echoflow's `pred.csv` (tolerance 1e-9 absolute).

Exit status 0 and a line "ok: ..." on success; a message naming what differs otherwise.
"""

import argparse
import os
import subprocess
import sys
import tempfile

import numpy as np


def mackey_glass(n, tau=17, beta=0.2, gamma=0.1, p=10, h=1.0, x0=1.2):
    hist = int(tau / h)
    x = np.full(n + hist, x0)

    def f(xt, xlag):
        return beta * xlag / (1 + xlag**p) - gamma * xt

    for t in range(hist, n + hist - 1):
        xl = x[t - hist]
        xl_next = x[t - hist + 1]
        xl_mid = 0.5 * (xl + xl_next)
        k1 = f(x[t], xl)
        k2 = f(x[t] + 0.5 * h * k1, xl_mid)
        k3 = f(x[t] + 0.5 * h * k2, xl_mid)
        k4 = f(x[t] + h * k3, xl_next)
        x[t + 1] = x[t] + h / 6 * (k1 + 2 * k2 + 2 * k3 + k4)
    return x[hist:].reshape(-1, 1)


def fail(msg):
    print(f"FAIL: {msg}")
    sys.exit(1)


def check_float(m, key, shapes):
    if key not in m:
        fail(f"key {key} missing (keys: {sorted(m.keys())})")
    a = m[key]
    if a.dtype != np.float64:
        fail(f"{key}: dtype {a.dtype}, expected float64")
    if a.shape not in shapes:
        fail(f"{key}: shape {a.shape}, expected one of {shapes}")
    return a


def load_layer(m, sfx=""):
    if f"W{sfx}" in m:
        w = m[f"W{sfx}"]
        if w.dtype != np.float64 or w.ndim != 2 or w.shape[0] != w.shape[1]:
            fail(f"W{sfx}: {w.dtype} {w.shape}, expected float64 (u, u)")
        u = w.shape[0]
    else:
        data = m[f"W_data{sfx}"]
        idx = m[f"W_indices{sfx}"]
        ptr = m[f"W_indptr{sfx}"]
        shape = m[f"W_shape{sfx}"]
        if data.dtype != np.float64:
            fail(f"W_data{sfx}: dtype {data.dtype}")
        for k, a in ((f"W_indices{sfx}", idx), (f"W_indptr{sfx}", ptr), (f"W_shape{sfx}", shape)):
            if a.dtype not in (np.int32, np.int64):
                fail(f"{k}: dtype {a.dtype}, expected int32 or int64")
        u = int(shape[0])
        if tuple(shape) != (u, u) or ptr.shape != (u + 1,) or idx.shape != data.shape:
            fail(f"W CSR{sfx}: shape {tuple(shape)}, indptr {ptr.shape}, indices {idx.shape}, data {data.shape}")
        w = np.zeros((u, u))
        rows = np.repeat(np.arange(u), np.diff(ptr))
        np.add.at(w, (rows, idx), data)
    win = m[f"Win{sfx}"]
    if win.dtype != np.float64 or win.ndim != 2 or win.shape[0] != u:
        fail(f"Win{sfx}: {win.dtype} {win.shape}, expected float64 ({u}, d)")
    bias = check_float(m, f"bias{sfx}", [(), (u,), (u, 1)]).reshape(-1)
    lr = check_float(m, f"lr{sfx}", [(), (u,)]).reshape(-1)
    return w, win, np.broadcast_to(bias, (u,)), np.broadcast_to(lr, (u,))


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--echoflow", default="target/release/echoflow")
    ap.add_argument("--units", type=int, default=200)
    ap.add_argument("--rows", type=int, default=3000)
    args = ap.parse_args()

    with tempfile.TemporaryDirectory() as d:
        series = mackey_glass(args.rows)
        s_csv = os.path.join(d, "series.csv")
        np.savetxt(s_csv, series, delimiter=",", fmt="%.17g")
        model = os.path.join(d, "m.npz")
        pred_csv = os.path.join(d, "pred.csv")
        run = lambda *a: subprocess.run([args.echoflow, "reservoir", *a], check=True, capture_output=True)
        run("fit", "--series", s_csv, "--out", model, "--units", str(args.units), "--seed", "7", "--warmup", "100")
        run("eval", "--model", model, "--series", s_csv, "--out", pred_csv)
        pred = np.loadtxt(pred_csv, delimiter=",", ndmin=2)

        m = np.load(model)
        layers = [load_layer(m)]
        k = 1
        while f"W_{k}" in m or f"W_data_{k}" in m:
            layers.append(load_layer(m, f"_{k}"))
            k += 1
        state_len = sum(w.shape[0] for w, _, _, _ in layers)
        wout = m["Wout"]
        if wout.dtype != np.float64 or wout.ndim != 2 or wout.shape[0] != state_len:
            fail(f"Wout: {wout.dtype} {wout.shape}, expected float64 ({state_len}, o)")
        o = wout.shape[1]
        bout = check_float(m, "bout", [(), (o,), (1, o)]).reshape(-1)

        xs = [np.zeros(w.shape[0]) for w, _, _, _ in layers]
        ours = np.empty((series.shape[0], o))
        for t, row in enumerate(series):
            inp = row
            for i, (w, win, bias, lr) in enumerate(layers):
                xs[i] = (1 - lr) * xs[i] + lr * np.tanh((w @ xs[i] + win @ inp) + bias)
                inp = xs[i]
            ours[t] = np.concatenate(xs) @ wout + bout
        if pred.shape != ours.shape:
            fail(f"pred.csv has shape {pred.shape}, NumPy's readout {ours.shape}")
        err = np.max(np.abs(pred - ours))
        if not err <= 1e-9:
            fail(f"max |echoflow - numpy| = {err:.3e} > 1e-9")
        keys = sorted(m.keys())
        print(
            f"ok: {model_desc(layers)}, keys {keys}, {series.shape[0]} rows, "
            f"max |echoflow eval - NumPy ESN| = {err:.3e}"
        )


def model_desc(layers):
    return " + ".join(f"{w.shape[0]} units" for w, _, _, _ in layers)


if __name__ == "__main__":
    main()
