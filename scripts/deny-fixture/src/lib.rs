//! Nothing to run: only the lockfile matters.
