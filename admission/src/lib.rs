//! Library side of the `admission` component, so tests and benchmarks reach its logic.
