//! Loop liveness for `/healthz`: the loop marks each run; the process is unhealthy when no loop
//! ran for 5 × `--updater-interval`, as upstream, and healthy before its first loop (a standby
//! replica waiting for leadership).

pub use vpa_common::admin::{Health, STALE_INTERVALS};
