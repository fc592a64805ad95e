"""ReservoirPy 0.4.2 doing what `echoflow reservoir fit|eval` does (SPEC section 5), so that the two
can be timed as whole processes on the same data and models.

    python reservoirpy_cli.py fit  --series S.csv --out M.npz [--units N --lr A --sr R --ridge L --seed S --warmup W]
    python reservoirpy_cli.py eval --model M.npz --series S.csv [--out P.csv] [--warmup W]

`fit`: rows 0..T-1 drive a Reservoir (rc_connectivity 0.1, ReservoirPy defaults otherwise) from
a zero state, rows 1..T are the targets, Ridge.fit(warmup=W); saved in echoflow's .npz layout
(W as CSR). `eval`: rebuilds the nodes from the file, runs from a zero state, prints
"NRMSE <value>" (RMSE / population std, rows after the warm-up) like echoflow.
"""

import argparse
import sys

import numpy as np


def load_series(path):
    return np.loadtxt(path, delimiter=",", ndmin=2)


def main(argv):
    p = argparse.ArgumentParser()
    sub = p.add_subparsers(dest="cmd", required=True)
    f = sub.add_parser("fit")
    f.add_argument("--series", required=True)
    f.add_argument("--out", required=True)
    f.add_argument("--units", type=int, default=100)
    f.add_argument("--lr", type=float, default=0.3)
    f.add_argument("--sr", type=float, default=1.25)
    f.add_argument("--ridge", type=float, default=1e-6)
    f.add_argument("--seed", type=int, default=0)
    f.add_argument("--warmup", type=int, default=100)
    e = sub.add_parser("eval")
    e.add_argument("--model", required=True)
    e.add_argument("--series", required=True)
    e.add_argument("--out")
    e.add_argument("--warmup", type=int, default=100)
    a = p.parse_args(argv)

    from reservoirpy.nodes import Reservoir, Ridge
    from scipy import sparse

    s = load_series(a.series)
    if a.cmd == "fit":
        res = Reservoir(a.units, lr=a.lr, sr=a.sr, rc_connectivity=0.1, seed=a.seed)
        ridge = Ridge(ridge=a.ridge)
        ridge.fit(res.run(s[:-1]), s[1:], warmup=a.warmup)
        w = sparse.csr_array(res.W)
        np.savez(
            a.out,
            W_data=w.data,
            W_indices=w.indices,
            W_indptr=w.indptr,
            W_shape=np.array(w.shape, dtype=w.indices.dtype),
            Win=res.Win.toarray() if sparse.issparse(res.Win) else res.Win,
            bias=np.float64(res.bias),
            lr=np.float64(res.lr),
            Wout=ridge.Wout,
            bout=ridge.bias,
        )
        print(f"fitted {a.units} units; wrote {a.out}")
    else:
        m = np.load(a.model)
        w = sparse.csr_array((m["W_data"], m["W_indices"], m["W_indptr"]), shape=tuple(m["W_shape"]))
        res = Reservoir(W=w, Win=m["Win"], bias=m["bias"].reshape(-1) if m["bias"].ndim else float(m["bias"]),
                        lr=m["lr"] if m["lr"].ndim else float(m["lr"]))
        ridge = Ridge(Wout=m["Wout"], bias=m["bout"].reshape(-1))
        pred = ridge.run(res.run(s))
        if a.out:
            np.savetxt(a.out, pred, delimiter=",", fmt="%.17g")
        y, q = s[a.warmup + 1 :], pred[a.warmup : -1]
        print(f"NRMSE {np.sqrt(np.mean((y - q) ** 2)) / np.std(y):.6e}")


if __name__ == "__main__":
    main(sys.argv[1:])
