//! Errors of the reservoir engine.
//!
//! One enum for the whole module tree, so callers (the CLI, the pipeline's model loader) can turn
//! any failure into one clear line naming the key, the field or the parameter at fault (SPEC §5:
//! "errors are one clear line naming the file, field or argument").

use thiserror::Error;

/// Everything that can go wrong while building, loading, saving, fitting or running an ESN.
#[derive(Debug, Error)]
pub enum ReservoirError {
    /// A model-file key is absent.
    #[error("model file: missing key `{key}`")]
    MissingKey {
        /// The key, e.g. `Win` or `W_indptr_1`.
        key: String,
    },
    /// An array does not have the shape the other arrays call for.
    #[error("model file: key `{key}` has shape {found}, expected {expected}")]
    Shape {
        /// The key at fault.
        key: String,
        /// The shape the model needs, e.g. `(500, 1)`.
        expected: String,
        /// The shape found in the file.
        found: String,
    },
    /// A model-file array could not be read (wrong dtype, corrupt file) or written.
    #[error("model file: key `{key}`: {reason}")]
    Array {
        /// The key at fault (empty when the archive itself is broken).
        key: String,
        /// What went wrong.
        reason: String,
    },
    /// A sparse matrix whose CSR arrays are inconsistent.
    #[error("model file: key `{key}`: invalid CSR matrix: {reason}")]
    Csr {
        /// The key prefix at fault, e.g. `W_indices`.
        key: String,
        /// What is inconsistent.
        reason: String,
    },
    /// A parameter outside its allowed range.
    #[error("parameter `{name}` = {value}: {allowed}")]
    Parameter {
        /// The parameter's name as the CLI and config spell it.
        name: &'static str,
        /// The value given.
        value: String,
        /// What is allowed.
        allowed: &'static str,
    },
    /// Input data of the wrong shape or content.
    #[error("input: {0}")]
    Input(String),
    /// The ridge normal equations could not be solved to the required accuracy.
    #[error("ridge solve: {0}")]
    Solve(String),
    /// The eigenvalue iteration did not converge.
    #[error("spectral radius: {0}")]
    Eigen(String),
}

/// Result alias of the reservoir module.
pub type Result<T> = std::result::Result<T, ReservoirError>;
