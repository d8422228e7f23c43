//! The plain-HTTP admin server: `/healthz` (and upstream's `/health-check`), failing once the
//! loop stalls for 5 intervals, and `/metrics`; shared with the updater in `vpa_common::admin`.

pub use vpa_common::admin::{Health, STALE_INTERVALS, listen_address, router};
