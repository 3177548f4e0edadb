//! The process's allocator settings, and giving transient memory back: glibc's, tuned for
//! a daemon that holds a home and handles its events (the runtime and the stores call in
//! here; nothing else touches the allocator).

/// Set the allocator up for the event path, once at start (the binary's `main` and the
/// benches call it). glibc consolidates its "fast bins" of small freed blocks whenever a
/// block of 1 KB or more is asked for, and each device report asks for a few (its 3–6 KB
/// of text, the places of its fields): that consolidation was 5 % of an event's
/// instructions. Without fast bins, small blocks still come from glibc's per-thread cache.
///
/// And one arena for every thread: glibc gives each thread that meets contention an arena
/// of its own, and each keeps its own holes; the runtime's three threads left 0.4 MiB more
/// resident after the fixture's cold start under js-controller than one shared arena does
/// (BENCHMARKS.md). The threads rarely allocate at the same time (the event path is one
/// task), and the per-thread cache still serves small blocks without the arena's lock.
pub fn tune_allocator() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    // SAFETY: mallopt only changes tuning parameters of the allocator; M_MXFAST 0 and
    // M_ARENA_MAX 1 are documented values, set before any thread is started.
    unsafe {
        libc::mallopt(libc::M_MXFAST, 0);
        libc::mallopt(libc::M_ARENA_MAX, 1);
    }
}

/// Hand the memory a snapshot's, a burst's or a large read's transient data took back to
/// the system: glibc keeps freed small blocks for reuse, which left the resident size at
/// twice the live heap after loading a home. Once per snapshot, per quiet second after
/// events and per replay of a whole tree's states, so its cost (a walk of the heap, about
/// a millisecond) does not matter.
pub fn release_freed_memory() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    // SAFETY: malloc_trim only returns free memory to the system; it has no preconditions.
    unsafe {
        libc::malloc_trim(0);
    }
}
