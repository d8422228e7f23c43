//! Scale-subresource selectors of VPA targets outside the well-known kinds; shared with the
//! updater and admission controller in `vpa_common::scale`.

pub use vpa_common::scale::{SCALE_FRESHNESS, ScaleCache, parse_selector};
