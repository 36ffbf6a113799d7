//! Nothing to run: only the license matters.
