//! The recommender's loop and what it writes back (status and conditions).

pub mod status;
