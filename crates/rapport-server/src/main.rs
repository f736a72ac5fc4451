//! The `rapport` binary; everything it does lives in the library.

// jemalloc, purging freed memory from a background thread: the C library's
// malloc keeps what a burst of work (a drained email queue, a bulk send)
// freed in its per-thread arenas for good. With the `jemalloc` feature it
// also serves C's `malloc` (SQLite's). See the feature in Cargo.toml.
#[cfg(feature = "jemalloc")]
#[global_allocator]
static ALLOCATOR: tikv_jemallocator::Jemalloc = tikv_jemallocator::Jemalloc;

fn main() -> std::process::ExitCode {
    rapport_server::cli::main()
}
