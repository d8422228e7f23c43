//! The VPA updater: finds pods whose requests drifted from their VPA's recommendation and
//! applies the recommendation by evicting them (so the admission controller sets new requests
//! on the replacement) or by resizing them in place.
//!
//! Pure decision modules: [`priority`], [`restriction`], [`inplace`], [`ratelimit`], [`lease`].

pub mod inplace;
pub mod lease;
pub mod pod;
pub mod priority;
pub mod ratelimit;
pub mod restriction;
pub mod time;

#[cfg(test)]
mod test_support;
