//! The recommender's requests to the API server beyond its watches (edge): raw requests whose
//! answers are read as they arrive ([`raw`]), VPA status writes ([`status`]) and checkpoint
//! list, write and delete ([`checkpoints`]). What to write is decided in [`crate::routines`].

pub mod checkpoints;
pub mod raw;
pub mod status;
