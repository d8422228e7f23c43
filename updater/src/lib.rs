//! Library side of the `updater` component, so tests and benchmarks reach its logic.
