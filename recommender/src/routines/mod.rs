//! The recommender's loop and what it writes back: the pure feeding ([`feed`]), planning
//! ([`plan`], with its [`post_processing`]), status ([`status`]) and checkpoint decisions
//! ([`checkpoints`]), and the loop that carries them out ([`recommender`]), with Prometheus
//! history loading ([`history`]), per-VPA aggregation settings ([`per_vpa`]) and recommendation
//! quality ([`quality`]).

pub mod checkpoints;
pub mod feed;
pub mod history;
pub mod per_vpa;
pub mod plan;
pub mod post_processing;
pub mod quality;
pub mod recommender;
pub mod status;
