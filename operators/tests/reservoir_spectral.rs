//! The spectral radius by Krylov–Schur (`reservoir::init::spectral`) against every eigenvalue of
//! the dense real Schur form, on random sparse reservoirs of 100–500 units (the eigenvalues of a
//! random matrix fill a disk, so the largest is barely separated from the next) and on matrices
//! whose dominant eigenvalues are a complex-conjugate pair. Agreement to 1e-8 relative.

use echoflow_operators::reservoir::init::spectral::{ArnoldiParams, largest_modulus};
use echoflow_operators::reservoir::init::{SCHUR_MAX_UNITS, spectral_radius_schur};
use echoflow_operators::reservoir::{Csr, LayerInit, Weights, init_layer, spectral_radius};

fn assert_agree(w: &Weights, what: &str) {
    let schur = spectral_radius_schur(w).expect("schur");
    let krylov = largest_modulus(w, &ArnoldiParams::default()).expect("krylov-schur converges");
    let rel = (krylov - schur).abs() / schur;
    assert!(
        rel < 1e-8,
        "{what}: Krylov–Schur {krylov} vs Schur {schur} (rel {rel:.2e})"
    );
    // The public entry point takes the iterative path at these sizes and agrees as well.
    assert!(w.shape().0 > SCHUR_MAX_UNITS);
    let public = spectral_radius(w).expect("radius");
    assert!(
        (public - schur).abs() / schur < 1e-8,
        "{what}: {public} vs {schur}"
    );
}

#[test]
fn agrees_with_schur_on_random_sparse_reservoirs() {
    for (units, connectivity, seed) in [
        (100, 0.1, 1),
        (150, 0.05, 2),
        (200, 0.1, 3),
        (300, 0.02, 4),
        (400, 0.1, 5),
        (500, 0.1, 42),
    ] {
        let p = LayerInit {
            units,
            rc_connectivity: connectivity,
            ..LayerInit::default()
        };
        let layer = init_layer(&p, 1, seed, 0).expect("layer");
        assert_agree(
            layer.w(),
            &format!("{units} units, connectivity {connectivity}, seed {seed}"),
        );
        // init_layer scaled W to sr = 1.25 with the same routine.
        let schur = spectral_radius_schur(layer.w()).expect("schur");
        assert!((schur - 1.25).abs() < 1.25e-8, "{schur}");
    }
}

/// A random sparse 300-unit block with radius about `r`, plus a rotation block
/// `ρ·[[cos θ, −sin θ], [sin θ, cos θ]]` on units 0 and 1 coupled weakly into the rest.
fn with_dominant_pair(rho: f64, theta: f64, seed: u64) -> Weights {
    let layer = init_layer(
        &LayerInit {
            units: 300,
            sr: 1.0,
            ..LayerInit::default()
        },
        1,
        seed,
        0,
    )
    .expect("layer");
    let mut a = layer.w().to_dense();
    for j in 0..300 {
        a[(0, j)] = 0.0;
        a[(1, j)] = 0.0;
    }
    a[(0, 0)] = rho * theta.cos();
    a[(0, 1)] = -rho * theta.sin();
    a[(1, 0)] = rho * theta.sin();
    a[(1, 1)] = rho * theta.cos();
    Weights::Sparse(Csr::from_dense(a.view()))
}

#[test]
fn finds_a_dominant_complex_pair() {
    for (rho, theta, seed) in [
        (1.5, 0.7, 1),
        (1.02, 2.0, 2),
        (3.0, std::f64::consts::FRAC_PI_2, 3),
    ] {
        let w = with_dominant_pair(rho, theta, seed);
        assert_agree(&w, &format!("pair ρ={rho} θ={theta}"));
        let r = spectral_radius(&w).expect("radius");
        assert!((r - rho).abs() < 1e-10 * rho, "{r} vs {rho}");
    }
}
