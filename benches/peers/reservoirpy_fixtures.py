"""Generate the ReservoirPy 0.4.2 parity fixtures used by `cargo test -p echoflow-operators`.

Run from the repository root (writes operators/tests/fixtures/reservoir/):

    .venv/bin/python benches/peers/reservoirpy_fixtures.py

Everything here is computed by ReservoirPy itself (Reservoir, Ridge, mackey_glass); numpy is only
used to lay the arrays out in echoflow's model-file format (SPEC section 5).

Fixtures
- mg500.npz: the issue's model: 500 units, Mackey-Glass tau=17, lr 0.3, sr 1.25,
  rc_connectivity 0.1, ridge 1e-6, seed 42, warmup 100, trained on rows 0..10000 to predict the
  next row. W sparse CSR with int32 indices; bias and lr scalars (as ReservoirPy keeps them).
- mg500_pred.npz: `input` (400 x 1) unseen rows and `pred` (400 x 1), ReservoirPy's readout after
  each row from a zero state; `nrmse` of ReservoirPy on the whole unseen part (SPEC definition:
  RMSE / population std, rows after the warm-up, zero start state), `train_rows`, `warmup`.
- mg_series.npz: `history` (17 values) and `series` (12000 x 1): ReservoirPy's mackey_glass(12000)
  (default seed), so the Rust generator can be checked against it.
- deep.npz / deep_pred.npz: a 2-layer stacked model (r1 >> r2, readout on [r1, r2] states) on a
  2-feature series, 60 + 40 units, W dense in layer 0 and CSR int64 in layer 1, bias (u x 1) and
  per-unit lr vectors, bout (1 x o): exercises every layout of SPEC section 5.
"""

import os

import numpy as np
from reservoirpy.datasets import mackey_glass
from reservoirpy.nodes import Reservoir, Ridge
from scipy import sparse

OUT = os.path.join("operators", "tests", "fixtures", "reservoir")
TRAIN = 10_000
WARMUP = 100
TOTAL = 12_000


def nrmse(y, p):
    return float(np.sqrt(np.mean((y - p) ** 2)) / np.std(y))


def csr_keys(w, suffix, index_dtype):
    w = sparse.csr_array(w)
    return {
        f"W_data{suffix}": w.data.astype(np.float64),
        f"W_indices{suffix}": w.indices.astype(index_dtype),
        f"W_indptr{suffix}": w.indptr.astype(index_dtype),
        f"W_shape{suffix}": np.array(w.shape, dtype=index_dtype),
    }


def dense(m):
    return m.toarray() if sparse.issparse(m) else np.asarray(m)


def mg500():
    rng_hist = None  # ReservoirPy's default dataset seed
    series = mackey_glass(TOTAL, tau=17, seed=rng_hist)
    # The 17-value random history mackey_glass drew: regenerate it the way it does.
    from reservoirpy.datasets._seed import get_seed
    from reservoirpy.utils.random import rand_generator

    hist_rng = rand_generator(get_seed())
    history = 1.2 * np.ones(17) + 0.2 * (hist_rng.random(17) - 0.5)
    np.savez(os.path.join(OUT, "mg_series.npz"), history=history, series=series)

    x, y = series[:TRAIN], series[1 : TRAIN + 1]
    res = Reservoir(500, lr=0.3, sr=1.25, rc_connectivity=0.1, seed=42)
    ridge = Ridge(ridge=1e-6)
    states = res.run(x)
    ridge.fit(states, y, warmup=WARMUP)
    keys = csr_keys(res.W, "", np.int32)
    keys.update(Win=dense(res.Win), bias=np.float64(res.bias), lr=np.float64(res.lr))
    keys.update(Wout=ridge.Wout, bout=ridge.bias)
    np.savez(os.path.join(OUT, "mg500.npz"), **keys)

    # Unseen rows, zero start state: row t is the readout after consuming row t.
    test_in = series[TRAIN:-1]
    test_y = series[TRAIN + 1 :]
    res.reset()
    pred = ridge.run(res.run(test_in))
    score = nrmse(test_y[WARMUP:], pred[WARMUP:])
    score_500 = nrmse(test_y[500:], pred[500:])
    # For reference: the state carried on from training instead of a zero state.
    res.reset()
    res.run(x)
    score_cont = nrmse(test_y, ridge.run(res.run(test_in)))
    np.savez(
        os.path.join(OUT, "mg500_pred.npz"),
        input=test_in[:400],
        pred=pred[:400],
        nrmse=np.float64(score),
        nrmse_warmup500=np.float64(score_500),
        nrmse_continued=np.float64(score_cont),
        train_rows=np.int64(TRAIN),
        warmup=np.int64(WARMUP),
    )
    print(
        f"ReservoirPy 500 units, unseen next-step NRMSE: zero state warm-up {WARMUP}: {score:.4e}, "
        f"warm-up 500: {score_500:.4e}, state continued from training: {score_cont:.4e}"
    )


def deep():
    t = np.arange(1200)
    data = np.stack([np.sin(t * 0.07), np.cos(t * 0.031) * 0.5 + 0.1 * np.sin(t * 0.5)], axis=1)
    x, y = data[:1000], data[1:1001]
    lr1 = np.linspace(0.2, 0.9, 60)
    r1 = Reservoir(60, lr=lr1, sr=0.9, rc_connectivity=1.0, input_connectivity=0.5, seed=7)
    r2 = Reservoir(40, lr=0.5, sr=1.1, rc_connectivity=0.2, seed=8, bias=0.0)
    s1 = r1.run(x)
    # a non-zero per-unit bias on layer 1, set explicitly (ReservoirPy uses it as given)
    r2.bias = np.random.default_rng(3).uniform(-0.2, 0.2, size=40)
    s2 = r2.run(s1)
    ridge = Ridge(ridge=1e-5)
    ridge.fit(np.hstack([s1, s2]), y, warmup=50)

    keys = {
        "W": dense(r1.W),
        "Win": dense(r1.Win),
        "bias": np.full((60, 1), float(r1.bias)),
        "lr": lr1,
    }
    keys.update(csr_keys(r2.W, "_1", np.int64))
    keys.update(Win_1=dense(r2.Win), bias_1=r2.bias.reshape(40, 1), lr_1=np.float64(r2.lr))
    keys.update(Wout=ridge.Wout, bout=ridge.bias.reshape(1, -1))
    np.savez(os.path.join(OUT, "deep.npz"), **keys)

    test = data[1000:1199]
    r1.reset()
    r2.reset()
    a = r1.run(test)
    b = r2.run(a)
    pred = ridge.run(np.hstack([a, b]))
    np.savez(os.path.join(OUT, "deep_pred.npz"), input=test, pred=pred)


if __name__ == "__main__":
    os.makedirs(OUT, exist_ok=True)
    mg500()
    deep()
