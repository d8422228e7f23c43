use std::time::Duration;

use super::*;
use crate::test_support::{PodBuilder, at};

#[test]
fn infeasible_falls_back_at_once_and_deferred_after_five_minutes() {
    let min = |m: u64| Duration::from_secs(m * 60);
    assert!(resize_gave_up(ResizeStatus::Infeasible, Duration::ZERO));
    assert!(resize_gave_up(ResizeStatus::Error, Duration::ZERO));
    assert!(!resize_gave_up(ResizeStatus::Deferred, min(5)));
    assert!(resize_gave_up(
        ResizeStatus::Deferred,
        min(5) + Duration::from_secs(1)
    ));
    assert!(!resize_gave_up(ResizeStatus::InProgress, min(60)));
    assert!(resize_gave_up(ResizeStatus::InProgress, min(61)));
    assert!(!resize_gave_up(ResizeStatus::None, min(1000)));
}

#[test]
fn timers_start_when_a_resize_is_first_seen_and_reset_when_it_ends() {
    let deferred = PodBuilder::new("ns", "p")
        .container("app", "1", "")
        .condition("PodResizePending", Some("Deferred"))
        .build();
    let mut timers = ResizeTimers::default();
    timers.observe([&deferred], at(100));
    timers.observe([&deferred], at(400));
    assert_eq!(
        timers.resizing_for(&deferred, at(400)),
        Duration::from_secs(300)
    );
    let not_resizing = PodBuilder::new("ns", "p")
        .container("app", "1", "100Mi")
        .build();
    timers.observe([&not_resizing], at(500));
    assert!(timers.is_empty());
    timers.observe([&deferred], at(600));
    assert_eq!(
        timers.resizing_for(&deferred, at(660)),
        Duration::from_secs(60)
    );
}
