//! The Mackey–Glass chaotic series, generated exactly as ReservoirPy 0.4.2's
//! `reservoirpy.datasets.mackey_glass` does (`reservoirpy/datasets/_chaos.py`).
//!
//! The delay differential equation `dx/dt = a·x(t−τ) / (1 + x(t−τ)ⁿ) − b·x(t)` with ReservoirPy's
//! defaults τ = 17, a = 0.2, b = 0.1, n = 10, x₀ = 1.2, h = 1, discretised by ReservoirPy's own
//! step (`_mg_rk4`, which, despite its name, evaluates the right-hand side once per step):
//!
//! ```text
//! k1 = −b·h·x + a·x_τ / (1 + x_τⁿ);  k2 = 2·k1 − b·h·k1;  k3 = 2·k1 − b·h·k2;  k4 = k1 − b·h·k3
//! x ← x + (k1 + k2 + k3 + k4) / 6
//! ```
//!
//! from a history of `⌊τ/h⌋` values. Given ReservoirPy's history, [`MackeyGlass::generate`]
//! reproduces its series to the last bit (tested against a fixture). ReservoirPy draws the
//! history as `x₀ + 0.2·(U[0,1) − 0.5)` from NumPy's generator seeded 5555; echoflow's
//! [`mackey_glass`] draws the same distribution from its own seeded ChaCha20 stream (deviation:
//! no NumPy generator here), so its default series differs from ReservoirPy's only in that
//! 17-value history.

use ndarray::Array2;
use rand::{RngExt, SeedableRng};
use rand_chacha::ChaCha20Rng;

use super::error::{ReservoirError, Result};

/// Parameters of the Mackey–Glass equation (defaults: ReservoirPy's).
#[derive(Clone, Debug, PartialEq)]
pub struct MackeyGlass {
    /// Delay τ (17).
    pub tau: usize,
    /// `a` (0.2).
    pub a: f64,
    /// `b` (0.1).
    pub b: f64,
    /// Exponent `n` (10).
    pub n: f64,
    /// Initial condition x₀ (1.2).
    pub x0: f64,
    /// Time step h (1.0).
    pub h: f64,
}

impl Default for MackeyGlass {
    fn default() -> Self {
        MackeyGlass {
            tau: 17,
            a: 0.2,
            b: 0.1,
            n: 10.0,
            x0: 1.2,
            h: 1.0,
        }
    }
}

impl MackeyGlass {
    /// Number of history values needed: ⌊τ / h⌋.
    pub fn history_len(&self) -> usize {
        (self.tau as f64 / self.h).floor() as usize
    }

    /// A random history `x₀ + 0.2·(U[0,1) − 0.5)` from a ChaCha20 stream seeded by `seed`.
    pub fn random_history(&self, seed: u64) -> Vec<f64> {
        let mut rng = ChaCha20Rng::seed_from_u64(seed);
        (0..self.history_len())
            .map(|_| self.x0 + 0.2 * (rng.random::<f64>() - 0.5))
            .collect()
    }

    /// `steps` values (as a `steps × 1` series) from the most recent `history_len` values of
    /// `history`.
    pub fn generate(&self, steps: usize, history: &[f64]) -> Result<Array2<f64>> {
        let hl = self.history_len();
        if history.len() < hl {
            return Err(ReservoirError::Input(format!(
                "Mackey–Glass history of {} values, τ/h needs {hl}",
                history.len()
            )));
        }
        let mut x = Vec::with_capacity(hl + steps);
        x.extend_from_slice(&history[history.len() - hl..]);
        let mut xt = self.x0;
        for i in hl..hl + steps {
            x.push(xt);
            let xtau = if self.tau > 0 { x[i - hl] } else { 0.0 };
            xt = self.step(xt, xtau);
        }
        Ok(Array2::from_shape_vec((steps, 1), x.split_off(hl))
            .unwrap_or_else(|e| panic!("steps × 1 from {steps} values: {e}")))
    }

    fn step(&self, xt: f64, xtau: f64) -> f64 {
        let bh = -self.b * self.h;
        let k1 = bh * xt + self.a * xtau / (1.0 + xtau.powf(self.n));
        let k2 = 2.0 * k1 + bh * k1;
        let k3 = 2.0 * k1 + bh * k2;
        let k4 = k1 + bh * k3;
        xt + (k1 + k2 + k3 + k4) / 6.0
    }
}

/// `steps` values of the default Mackey–Glass series (τ = 17) from a history seeded by `seed`.
pub fn mackey_glass(steps: usize, seed: u64) -> Array2<f64> {
    let mg = MackeyGlass::default();
    let history = mg.random_history(seed);
    // The history has exactly history_len values, so generate cannot fail.
    mg.generate(steps, &history)
        .unwrap_or_else(|e| panic!("default Mackey–Glass: {e}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stays_on_the_attractor_and_is_seeded() {
        let a = mackey_glass(3000, 0);
        assert_eq!(a[(0, 0)], 1.2);
        assert!(a.iter().all(|&v| (0.2..1.5).contains(&v)));
        assert_eq!(a, mackey_glass(3000, 0));
        assert_ne!(a, mackey_glass(3000, 1));
    }

    #[test]
    fn short_history_is_an_error() {
        assert!(MackeyGlass::default().generate(10, &[1.0; 5]).is_err());
    }
}
