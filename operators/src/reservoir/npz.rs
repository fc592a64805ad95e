//! Model files: NumPy `.npz` archives with the keys of SPEC §5, read and written with
//! `ndarray-npy`.
//!
//! | key | shape (float64 unless noted) |
//! |---|---|
//! | `W` | u×u dense, **or** `W_data` (nnz), `W_indices` (nnz, int32/int64), `W_indptr` (u+1, int32/int64), `W_shape` (2, int32/int64): SciPy's CSR arrays |
//! | `Win` | u×d |
//! | `bias` | scalar, (u) or (u×1) |
//! | `lr` | scalar or (u) |
//! | `Wout` | S×o, S = Σ units over layers |
//! | `bout` | scalar, (o) or (1×o) |
//!
//! A deep model adds layers k ≥ 1 as `W_k` (or `W_data_k`, `W_indices_k`, `W_indptr_k`,
//! `W_shape_k`), `Win_k` (u_k × u_{k−1}), `bias_k`, `lr_k`; layers are read for k = 1, 2, … while
//! `W_k` or `W_data_k` exists. ReservoirPy 0.4.2 keeps `bias` and `lr` as Python scalars, which
//! `np.savez` stores as 0-d arrays; both forms load. Other keys (SciPy's `format`, for one) are
//! ignored. Every error names the key and, for shapes, both the expected and the found shape.
//!
//! echoflow writes: `W` as CSR when it is stored sparse (int32 indices when they fit, as SciPy
//! does) and dense otherwise, `Win` and `Win_k` dense, `bias`/`lr` as scalars when every unit has
//! the same value (as ReservoirPy would) and as (u) vectors otherwise, `Wout` (S×o), `bout` (o).
//! The archive is uncompressed, as `np.savez` writes it; `np.load` reads it.
//!
//! The functions take any `Read + Seek` / `Write + Seek`, so this module does no file I/O itself:
//! the caller opens the file (and names it in its own error).

use std::collections::BTreeSet;
use std::io::{Read, Seek, Write};

use ndarray::{Array0, Array1, Array2, ArrayD, IxDyn};
use ndarray_npy::{NpzReader, NpzWriter};

use super::deep::Reservoir;
use super::error::{ReservoirError, Result};
use super::esn::Esn;
use super::layer::{Layer, key};
use super::readout::Readout;
use super::weights::{Csr, Weights};

fn shape_str(s: &[usize]) -> String {
    match s {
        [a] => format!("({a},)"),
        _ => format!(
            "({})",
            s.iter()
                .map(ToString::to_string)
                .collect::<Vec<_>>()
                .join(", ")
        ),
    }
}

struct Archive<R: Read + Seek> {
    npz: NpzReader<R>,
    names: BTreeSet<String>,
}

impl<R: Read + Seek> Archive<R> {
    fn has(&self, k: &str) -> bool {
        self.names.contains(k)
    }

    fn f64s(&mut self, k: &str) -> Result<ArrayD<f64>> {
        if !self.has(k) {
            return Err(ReservoirError::MissingKey { key: k.into() });
        }
        self.npz
            .by_name::<ndarray::OwnedRepr<f64>, IxDyn>(k)
            .map_err(|e| ReservoirError::Array {
                key: k.into(),
                reason: format!("expected a float64 array: {e}"),
            })
    }

    fn ints(&mut self, k: &str) -> Result<Vec<i64>> {
        if !self.has(k) {
            return Err(ReservoirError::MissingKey { key: k.into() });
        }
        let a32 = self.npz.by_name::<ndarray::OwnedRepr<i32>, IxDyn>(k);
        if let Ok(a) = a32 {
            return Ok(a.iter().map(|&v| i64::from(v)).collect());
        }
        self.npz
            .by_name::<ndarray::OwnedRepr<i64>, IxDyn>(k)
            .map(|a| a.iter().copied().collect())
            .map_err(|e| ReservoirError::Array {
                key: k.into(),
                reason: format!("expected an int32 or int64 array: {e}"),
            })
    }

    fn matrix(&mut self, k: &str) -> Result<Array2<f64>> {
        let a = self.f64s(k)?;
        let s = a.shape().to_vec();
        a.into_dimensionality().map_err(|_| ReservoirError::Shape {
            key: k.into(),
            expected: "a 2-D array".into(),
            found: shape_str(&s),
        })
    }

    /// A scalar, (len) or, when `column`, (len×1), else (1×len), as `len` values.
    fn vector(&mut self, k: &str, len: usize, column: bool, of: &str) -> Result<Vec<f64>> {
        let a = self.f64s(k)?;
        let s = a.shape().to_vec();
        let ok = match s.as_slice() {
            [] => return Ok(vec![a.iter().copied().next().unwrap_or(0.0); len]),
            [n] => *n == len,
            [r, c] if column => *r == len && *c == 1,
            [r, c] => *r == 1 && *c == len,
            _ => false,
        };
        if !ok {
            let two = if column {
                format!("({len}, 1)")
            } else {
                format!("(1, {len})")
            };
            return Err(ReservoirError::Shape {
                key: k.into(),
                expected: format!("() or ({len},) or {two} to match {of}"),
                found: shape_str(&s),
            });
        }
        Ok(a.iter().copied().collect())
    }

    fn recurrent(&mut self, k: usize) -> Result<Weights> {
        let dense = key("W", k);
        if self.has(&dense) {
            return Ok(Weights::Dense(self.matrix(&dense)?));
        }
        let data_key = key("W_data", k);
        if !self.has(&data_key) {
            return Err(ReservoirError::MissingKey {
                key: format!("{dense}` (or `{data_key}"),
            });
        }
        let data = self.f64s(&data_key)?.iter().copied().collect::<Vec<_>>();
        let shape_key = key("W_shape", k);
        let shape = self.ints(&shape_key)?;
        let (rows, cols) = match shape.as_slice() {
            &[r, c] if r >= 0 && c >= 0 => (r as usize, c as usize),
            _ => {
                return Err(ReservoirError::Shape {
                    key: shape_key,
                    expected: "2 non-negative integers".into(),
                    found: format!("{shape:?}"),
                });
            }
        };
        let to_usize = |k: &str, v: Vec<i64>| -> Result<Vec<usize>> {
            v.into_iter()
                .map(|x| {
                    usize::try_from(x).map_err(|_| ReservoirError::Csr {
                        key: k.into(),
                        reason: format!("negative entry {x}"),
                    })
                })
                .collect()
        };
        let ind_key = key("W_indices", k);
        let ptr_key = key("W_indptr", k);
        let indices = to_usize(&ind_key, self.ints(&ind_key)?)?;
        let indptr = to_usize(&ptr_key, self.ints(&ptr_key)?)?;
        Csr::new(rows, cols, indptr, indices, data)
            .map(Weights::Sparse)
            .map_err(|reason| ReservoirError::Csr {
                key: format!("{data_key}/{ind_key}/{ptr_key}"),
                reason,
            })
    }

    fn layer(&mut self, k: usize) -> Result<Layer> {
        let w = self.recurrent(k)?;
        let (u, c) = w.shape();
        let wk = key("W", k);
        if u != c {
            return Err(ReservoirError::Shape {
                key: wk,
                expected: format!("({u}, {u}) (square)"),
                found: format!("({u}, {c})"),
            });
        }
        let win_key = key("Win", k);
        let win = self.matrix(&win_key)?;
        if win.nrows() != u {
            return Err(ReservoirError::Shape {
                key: win_key,
                expected: format!("({u}, d) to match {wk} ({u}, {u})"),
                found: shape_str(win.shape()),
            });
        }
        let of = format!("{wk} ({u}, {u})");
        let bias = self.vector(&key("bias", k), u, true, &of)?;
        let lr = self.vector(&key("lr", k), u, false, &of)?;
        Layer::new(k, w, Weights::Dense(win), bias, lr)
    }
}

/// Reads a model from an `.npz` archive.
pub fn read_model<R: Read + Seek>(reader: R) -> Result<Esn> {
    let mut npz = NpzReader::new(reader).map_err(|e| ReservoirError::Array {
        key: String::new(),
        reason: format!("not a readable .npz archive: {e}"),
    })?;
    let names = npz
        .names()
        .map_err(|e| ReservoirError::Array {
            key: String::new(),
            reason: format!("cannot list the archive: {e}"),
        })?
        .into_iter()
        .collect();
    let mut ar = Archive { npz, names };
    let mut layers = vec![ar.layer(0)?];
    let mut k = 1;
    while ar.has(&key("W", k)) || ar.has(&key("W_data", k)) {
        layers.push(ar.layer(k)?);
        k += 1;
    }
    let reservoir = Reservoir::new(layers)?;
    let wout = ar.matrix("Wout")?;
    if wout.nrows() != reservoir.state_len() {
        return Err(ReservoirError::Shape {
            key: "Wout".into(),
            expected: format!(
                "({}, o): one row per unit of the {} layer(s)",
                reservoir.state_len(),
                reservoir.depth()
            ),
            found: shape_str(wout.shape()),
        });
    }
    let o = wout.ncols();
    let bout = ar.vector(
        "bout",
        o,
        false,
        &format!("Wout {}", shape_str(wout.shape())),
    )?;
    Esn::new(reservoir, Readout::new(wout, bout)?)
}

fn put<W: Write + Seek, T: ndarray_npy::WritableElement, D: ndarray::Dimension>(
    npz: &mut NpzWriter<W>,
    k: &str,
    a: &ndarray::Array<T, D>,
) -> Result<()> {
    npz.add_array(k, a).map_err(|e| ReservoirError::Array {
        key: k.into(),
        reason: format!("cannot write: {e}"),
    })
}

fn put_vector<W: Write + Seek>(npz: &mut NpzWriter<W>, k: &str, v: &[f64]) -> Result<()> {
    match v.first() {
        Some(&first) if v.iter().all(|&x| x == first) => put(npz, k, &Array0::from_elem((), first)),
        _ => put(npz, k, &Array1::from(v.to_vec())),
    }
}

fn put_indices<W: Write + Seek>(
    npz: &mut NpzWriter<W>,
    k: &str,
    v: &[usize],
    small: bool,
) -> Result<()> {
    if small {
        put(npz, k, &Array1::from_iter(v.iter().map(|&x| x as i32)))
    } else {
        put(npz, k, &Array1::from_iter(v.iter().map(|&x| x as i64)))
    }
}

/// Writes a model as an `.npz` archive (see the module docs for the layout).
pub fn write_model<W: Write + Seek>(esn: &Esn, writer: W) -> Result<()> {
    let mut npz = NpzWriter::new(writer);
    for (k, layer) in esn.reservoir().layers().iter().enumerate() {
        match layer.w() {
            Weights::Dense(a) => put(&mut npz, &key("W", k), a)?,
            Weights::Sparse(c) => {
                let (r, cols) = c.shape();
                let small = c.nnz().max(r).max(cols) <= i32::MAX as usize;
                put(
                    &mut npz,
                    &key("W_data", k),
                    &Array1::from(c.data().to_vec()),
                )?;
                let idx: Vec<usize> = c.indices().iter().map(|&j| j as usize).collect();
                put_indices(&mut npz, &key("W_indices", k), &idx, small)?;
                put_indices(&mut npz, &key("W_indptr", k), c.indptr(), small)?;
                put_indices(&mut npz, &key("W_shape", k), &[r, cols], small)?;
            }
        }
        put(&mut npz, &key("Win", k), &layer.win().to_dense())?;
        put_vector(&mut npz, &key("bias", k), layer.bias())?;
        put_vector(&mut npz, &key("lr", k), layer.lr())?;
    }
    put(&mut npz, "Wout", esn.readout().wout())?;
    put(
        &mut npz,
        "bout",
        &Array1::from(esn.readout().bout().to_vec()),
    )?;
    npz.finish().map_err(|e| ReservoirError::Array {
        key: String::new(),
        reason: format!("cannot finish the archive: {e}"),
    })?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::reservoir::datasets::mackey_glass;
    use crate::reservoir::esn::FitParams;
    use crate::reservoir::init::LayerInit;
    use std::io::Cursor;

    fn model(depth: usize) -> Esn {
        let p = FitParams {
            layer: LayerInit {
                units: 30,
                ..LayerInit::default()
            },
            depth,
            warmup: 20,
            ..FitParams::default()
        };
        Esn::fit(mackey_glass(200, 0).view(), &p).expect("fit")
    }

    fn bytes(esn: &Esn) -> Vec<u8> {
        let mut buf = Cursor::new(Vec::new());
        write_model(esn, &mut buf).expect("write");
        buf.into_inner()
    }

    #[test]
    fn write_then_read_gives_the_same_model() {
        for depth in [1, 2] {
            let esn = model(depth);
            let back = read_model(Cursor::new(bytes(&esn))).expect("read");
            assert_eq!(back, esn);
        }
    }

    fn rewrite(esn: &Esn, drop: &str, replace: Option<(&str, ArrayD<f64>)>) -> Vec<u8> {
        let mut ar = NpzReader::new(Cursor::new(bytes(esn))).expect("npz");
        let names = ar.names().expect("names");
        let mut out = NpzWriter::new(Cursor::new(Vec::new()));
        for n in names {
            if n == drop {
                continue;
            }
            if let Some((k, a)) = &replace
                && n == *k
            {
                out.add_array(n.as_str(), a).expect("add");
                continue;
            }
            if let Ok(a) = ar.by_name::<ndarray::OwnedRepr<f64>, IxDyn>(&n) {
                out.add_array(n.as_str(), &a).expect("add");
            } else if let Ok(a) = ar.by_name::<ndarray::OwnedRepr<i32>, IxDyn>(&n) {
                out.add_array(n.as_str(), &a).expect("add");
            }
        }
        out.finish().expect("finish").into_inner()
    }

    #[test]
    fn missing_keys_and_bad_shapes_are_named() {
        let esn = model(1);
        let e = read_model(Cursor::new(rewrite(&esn, "Win", None))).expect_err("no Win");
        assert!(e.to_string().contains("`Win`"), "{e}");
        let e = read_model(Cursor::new(rewrite(&esn, "bout", None))).expect_err("no bout");
        assert!(e.to_string().contains("`bout`"), "{e}");
        let bad = ArrayD::zeros(IxDyn(&[29, 1]));
        let e = read_model(Cursor::new(rewrite(&esn, "", Some(("Win", bad))))).expect_err("shape");
        let msg = e.to_string();
        assert!(
            msg.contains("Win") && msg.contains("(29, 1)") && msg.contains("(30, 30)"),
            "{msg}"
        );
        let bad = ArrayD::zeros(IxDyn(&[31]));
        let e = read_model(Cursor::new(rewrite(&esn, "", Some(("lr", bad))))).expect_err("lr");
        let msg = e.to_string();
        assert!(
            msg.contains("lr") && msg.contains("(31,)") && msg.contains("(30,)"),
            "{msg}"
        );
        let bad = ArrayD::zeros(IxDyn(&[29, 1]));
        let e = read_model(Cursor::new(rewrite(&esn, "", Some(("Wout", bad))))).expect_err("Wout");
        assert!(e.to_string().contains("Wout"), "{e}");
        assert!(read_model(Cursor::new(b"not a zip".to_vec())).is_err());
    }
}
