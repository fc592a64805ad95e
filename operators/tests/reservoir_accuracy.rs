//! Accuracy (issue #5): echoflow's own fit on Mackey–Glass (10,000 training rows, the rest
//! unseen, 500 units, lr 0.3, sr 1.25, connectivity 0.1, ridge 1e-6, seed 42) reaches the
//! next-step NRMSE ReservoirPy 0.4.2 reaches with the same settings on the same data (its figures
//! are stored in the fixture by `benches/peers/reservoirpy_fixtures.py`); and the accuracy cost of
//! the `reduced` profile.

use std::fs::File;
use std::path::PathBuf;

use echoflow_operators::reservoir::{
    Esn, FitParams, LayerInit, Profile, ProfiledModel, Reduction, builtin_model, mackey_glass,
    next_step_nrmse,
};
use ndarray::{Array0, Array2, s};
use ndarray_npy::NpzReader;

fn fixture(name: &str) -> NpzReader<File> {
    let p = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/reservoir")
        .join(name);
    NpzReader::new(File::open(&p).unwrap_or_else(|e| panic!("{}: {e}", p.display())))
        .unwrap_or_else(|e| panic!("{}: {e}", p.display()))
}

fn scalar(npz: &mut NpzReader<File>, k: &str) -> f64 {
    let a: Array0<f64> = npz.by_name(k).unwrap_or_else(|e| panic!("{k}: {e}"));
    a[()]
}

#[test]
fn mackey_glass_500_units_reaches_reservoirpys_nrmse() {
    let series: Array2<f64> = fixture("mg_series.npz").by_name("series").expect("series");
    let mut meta = fixture("mg500_pred.npz");
    let (rpy_w100, rpy_w500) = (
        scalar(&mut meta, "nrmse"),
        scalar(&mut meta, "nrmse_warmup500"),
    );
    let p = FitParams {
        layer: LayerInit {
            units: 500,
            lr: 0.3,
            sr: 1.25,
            rc_connectivity: 0.1,
            ..LayerInit::default()
        },
        ridge: 1e-6,
        seed: 42,
        warmup: 100,
        depth: 1,
    };
    let esn = Esn::fit(series.slice(s![..10_001, ..]), &p).expect("fit");
    let test = series.slice(s![10_000.., ..]);
    let pred = esn.predict(test).expect("predict");
    let w100 = next_step_nrmse(test, pred.view(), 100).expect("score");
    let w500 = next_step_nrmse(test, pred.view(), 500).expect("score");
    eprintln!("echoflow {w100:.4e} / {w500:.4e}, ReservoirPy {rpy_w100:.4e} / {rpy_w500:.4e}");
    // Different random reservoirs (ChaCha20 vs PCG64 draws): the same settings give the same
    // accuracy up to the spread between seeds; the bound allows 50% of it.
    assert!(
        w500 <= 1.5 * rpy_w500,
        "warm-up 500: {w500:e} vs ReservoirPy {rpy_w500:e}"
    );
    assert!(
        w100 <= 1.5 * rpy_w100,
        "warm-up 100: {w100:e} vs ReservoirPy {rpy_w100:e}"
    );
}

fn score(esn: &Esn, series: &Array2<f64>) -> f64 {
    let pred = esn.predict(series.view()).expect("predict");
    next_step_nrmse(series.view(), pred.view(), 300).expect("score")
}

#[test]
fn builtin_model_and_its_reduced_profile() {
    let m = builtin_model(100, 25, 0).expect("built-in model");
    assert_eq!(m.input_dim(), 1);
    assert_eq!(m.get(Profile::Full).state_len(), 100);
    assert_eq!(m.get(Profile::Reduced).state_len(), 25);
    let unseen = mackey_glass(2000, 7);
    let (full, reduced) = (
        score(m.get(Profile::Full), &unseen),
        score(m.get(Profile::Reduced), &unseen),
    );
    eprintln!("built-in model, unseen NRMSE: full {full:.4e}, reduced {reduced:.4e}");
    assert!(full < 0.02, "full {full}");
    assert!(reduced < 0.1, "reduced {reduced}");
    assert!(full < reduced);
    assert_eq!(
        m,
        builtin_model(100, 25, 0).expect("again"),
        "pure function of its arguments"
    );
}

#[test]
fn deep_model_reduced_to_its_first_layer() {
    let train = mackey_glass(2001, 3);
    let p = FitParams {
        layer: LayerInit {
            units: 60,
            ..LayerInit::default()
        },
        depth: 2,
        ..FitParams::default()
    };
    let full = Esn::fit(train.view(), &p).expect("fit");
    let m =
        ProfiledModel::derive(full, Reduction::Layers(1), train.view(), 100, 1e-6).expect("derive");
    assert_eq!(m.get(Profile::Reduced).reservoir().depth(), 1);
    let unseen = mackey_glass(1500, 9);
    let (f, r) = (
        score(m.get(Profile::Full), &unseen),
        score(m.get(Profile::Reduced), &unseen),
    );
    eprintln!("deep 2×60: full {f:.4e}, first layer only {r:.4e}");
    assert!(f < 0.05 && r < 0.1, "full {f}, reduced {r}");
}
