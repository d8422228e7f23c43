//! End-to-end test helpers shared by the workspace tests.
