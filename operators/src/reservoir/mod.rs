//! Not built yet (issue #5).
