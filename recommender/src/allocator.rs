//! The process allocator (edge): jemalloc as the global allocator when the `jemalloc` feature
//! is on (the default), with its background threads and a short decay so freed pages go back to
//! the system between loops.

/// jemalloc instead of the C library's malloc. At 10k VPAs glibc's malloc kept 60-80 MiB of freed
/// memory beyond the ~130 MiB in use (RSS 206-211 MiB after loops; 164-174 MiB with jemalloc and
/// its background threads, and less CPU; BENCHMARKS.md); the release image is built for musl, whose malloc is slower still.
#[cfg(feature = "jemalloc")]
#[global_allocator]
static ALLOCATOR: tikv_jemallocator::Jemalloc = tikv_jemallocator::Jemalloc;

/// Background threads give freed pages back on jemalloc's decay timers even while the
/// recommender sleeps between loops (without them that happens only on later allocations), and
/// after 1 s instead of 10 s: a loop's transient buffers (the PodMetrics list, write bodies)
/// otherwise stayed resident into the next loop (RSS after loops 166 instead of 175 MiB).
#[cfg(feature = "jemalloc")]
pub fn tune() {
    use tikv_jemalloc_ctl::{Access, AsName};
    if let Err(error) = tikv_jemalloc_ctl::background_thread::write(true) {
        eprintln!("warning: cannot start jemalloc's background threads: {error}");
    }
    // The default for arenas made later (one per thread, lazily) and the one made at start.
    for key in ["arenas.dirty_decay_ms\0", "arena.0.dirty_decay_ms\0"] {
        if let Err(error) = key.name().write(1000_isize) {
            eprintln!(
                "warning: cannot set jemalloc's {}: {error}",
                key.trim_end_matches('\0')
            );
        }
    }
}

/// Without jemalloc (`--no-default-features`, for heaptrack): the C library's malloc as it is.
#[cfg(not(feature = "jemalloc"))]
pub fn tune() {}
