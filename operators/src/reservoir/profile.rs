//! Model profiles: `full` and the cheaper `reduced` one used under degradation (SPEC §3: "Under
//! degradation a cheaper profile (fewer layers / a smaller sub-reservoir) is used"; the admitted
//! record names the profile it was evaluated with).
//!
//! A reduced model is derived from the full one in one of two ways ([`Reduction`]):
//! - [`Reduction::Units`]`(r)`: the sub-reservoir of the first `r` units of layer 0 (`W[..r, ..r]`,
//!   `Win[..r]`, `bias[..r]`, `lr[..r]`), its `W` rescaled to the full layer's spectral radius so
//!   that its dynamics stay in the same regime; deeper layers are dropped. Cost per step falls
//!   roughly with `r²/u²` for the recurrent product.
//! - [`Reduction::Layers`]`(k)`: the first `k` layers of a deep model.
//!
//! Either way the readout no longer matches, so it is refitted (ridge, as in [`super::esn`]) on a
//! calibration series, next-step as in `reservoir fit`. With no calibration data (a loaded model
//! and nothing to fit on), [`ProfiledModel::full_only`] uses the full model for both profiles.
//! The accuracy cost is measured in BENCHMARKS.md ("Reservoir engine") and tested in
//! `operators/tests/reservoir_profile.rs`.

use std::fmt;
use std::str::FromStr;

use ndarray::ArrayView2;

use super::error::{ReservoirError, Result};
use super::esn::Esn;
use super::init::spectral_radius;

/// Which model a request is evaluated with.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Profile {
    /// The model as fitted or loaded.
    Full,
    /// The cheaper model used under degradation.
    Reduced,
}

impl Profile {
    /// The name on the wire (`full` / `reduced`).
    pub fn as_str(self) -> &'static str {
        match self {
            Profile::Full => "full",
            Profile::Reduced => "reduced",
        }
    }
}

impl fmt::Display for Profile {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for Profile {
    type Err = ReservoirError;
    fn from_str(s: &str) -> Result<Self> {
        match s {
            "full" => Ok(Profile::Full),
            "reduced" => Ok(Profile::Reduced),
            _ => Err(ReservoirError::Parameter {
                name: "profile",
                value: s.into(),
                allowed: "full | reduced",
            }),
        }
    }
}

/// How the reduced model is cut out of the full one.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Reduction {
    /// The first `r` units of layer 0 (config `reservoir.reduced_units`).
    Units(usize),
    /// The first `k` layers.
    Layers(usize),
}

/// The two models of a deployment.
#[derive(Clone, Debug, PartialEq)]
pub struct ProfiledModel {
    full: Esn,
    reduced: Esn,
}

impl ProfiledModel {
    /// Pairs two models of the same input and output dimensions.
    pub fn new(full: Esn, reduced: Esn) -> Result<Self> {
        if full.input_dim() != reduced.input_dim() || full.output_dim() != reduced.output_dim() {
            return Err(ReservoirError::Input(format!(
                "reduced model maps {} → {} values, the full one {} → {}",
                reduced.input_dim(),
                reduced.output_dim(),
                full.input_dim(),
                full.output_dim()
            )));
        }
        Ok(ProfiledModel { full, reduced })
    }

    /// Both profiles use `full` (nothing to refit a reduced readout on).
    pub fn full_only(full: Esn) -> Self {
        ProfiledModel {
            reduced: full.clone(),
            full,
        }
    }

    /// Derives the reduced model from `full` and refits its readout on `calibration` (next-step,
    /// first `warmup` states dropped, ridge `ridge`).
    pub fn derive(
        full: Esn,
        how: Reduction,
        calibration: ArrayView2<'_, f64>,
        warmup: usize,
        ridge: f64,
    ) -> Result<Self> {
        let res = full.reservoir();
        let reduced = match how {
            Reduction::Units(r) => {
                let u = res.layers()[0].units();
                if r == 0 || r > u {
                    return Err(ReservoirError::Parameter {
                        name: "reduced_units",
                        value: r.to_string(),
                        allowed: "between 1 and the model's units",
                    });
                }
                let target = spectral_radius(res.layers()[0].w())?;
                let sub = res.sub_reservoir(r, 1.0);
                let rho = spectral_radius(sub.layers()[0].w())?;
                let scale = if rho > 1e-8 { target / rho } else { 1.0 };
                res.sub_reservoir(r, scale)
            }
            Reduction::Layers(k) => {
                if k == 0 || k > res.depth() {
                    return Err(ReservoirError::Parameter {
                        name: "reduced_layers",
                        value: k.to_string(),
                        allowed: "between 1 and the model's depth",
                    });
                }
                res.truncated(k)
            }
        };
        let reduced = Esn::fit_reservoir(reduced, calibration, warmup, ridge)?;
        ProfiledModel::new(full, reduced)
    }

    /// The model of a profile.
    pub fn get(&self, p: Profile) -> &Esn {
        match p {
            Profile::Full => &self.full,
            Profile::Reduced => &self.reduced,
        }
    }

    /// Values per input step (the same for both profiles).
    pub fn input_dim(&self) -> usize {
        self.full.input_dim()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn profile_names_round_trip() {
        for p in [Profile::Full, Profile::Reduced] {
            assert_eq!(p.as_str().parse::<Profile>().expect("parse"), p);
        }
        assert!("tiny".parse::<Profile>().is_err());
    }
}
