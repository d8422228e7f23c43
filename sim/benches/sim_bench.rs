//! Placeholder until the sim benchmark lands (created by the lead to unblock workspace builds).
fn main() {}
