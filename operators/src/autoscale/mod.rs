//! Not built yet (issue #6).
