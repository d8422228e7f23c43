//! The plain-HTTP admin server: `/healthz` (and upstream's `/health-check`) and `/metrics`,
//! shared with the recommender in `vpa_common::admin`.

pub use vpa_common::admin::{listen_address, router};
