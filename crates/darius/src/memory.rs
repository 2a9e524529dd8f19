//! Giving freed memory back to the system after a burst.
//!
//! glibc's allocator keeps the memory a program frees in its arenas; only the free space at the
//! very top of an arena goes back to the kernel by itself. After 10,000 idle IMAP connections
//! closed, the server measured 191 MB resident against 35 MB fresh although its heap held little:
//! the connections' freed buffers sat between live allocations (measured with
//! `darius-bench idle`). `malloc_trim(0)` returns every whole free page of every arena to the
//! kernel (glibc ≥ 2.8); on the same server it brought 191 MB down to 68 MB.
//!
//! So one plain thread looks every [`CHECK_EVERY`] at how much the arenas hold free
//! (`mallinfo2`) and trims when that passes [`TRIM_ABOVE`]: an idle or steady server is left
//! alone, a server after a burst gives the burst back within seconds.
//!
//! One of the two modules of the binary that call C (with `server_name.rs`): both functions
//! are plain glibc calls with no pointers to pass and no preconditions (see the SAFETY notes).
//! Other C libraries do not have them; there the thread is not started.

use std::time::Duration;

/// How often the arenas are looked at.
pub const CHECK_EVERY: Duration = Duration::from_secs(10);
/// Free bytes held in the arenas above which they are trimmed.
pub const TRIM_ABOVE: usize = 16 << 20;

/// Starts the reclaiming thread (for the life of the process).
pub fn start_reclaimer() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    {
        let started = std::thread::Builder::new()
            .name("darius-reclaim".into())
            .spawn(|| loop {
                std::thread::sleep(CHECK_EVERY);
                reclaim(TRIM_ABOVE);
            });
        if let Err(e) = started {
            tracing::warn!("not returning freed memory to the system: {e}");
        }
    }
}

/// Trims the allocator's arenas if they hold more than `above` bytes free; returns whether it
/// trimmed.
#[cfg(all(target_os = "linux", target_env = "gnu"))]
#[allow(unsafe_code)]
pub fn reclaim(above: usize) -> bool {
    // SAFETY: mallinfo2 takes no arguments and returns a plain struct by value; it only reads
    // the allocator's state under the allocator's own locks.
    let info = unsafe { libc::mallinfo2() };
    if info.fordblks <= above {
        return false;
    }
    // SAFETY: malloc_trim takes an integer and touches only free memory, under the allocator's
    // own locks; live allocations are never moved or released.
    let released = unsafe { libc::malloc_trim(0) };
    tracing::debug!(
        "returned free memory to the system ({} MiB were free in the arenas; released: {})",
        info.fordblks >> 20,
        released != 0
    );
    true
}

#[cfg(test)]
mod tests {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    #[test]
    fn a_burst_of_freed_memory_is_trimmed_and_a_quiet_heap_is_left_alone() {
        // Many small blocks, every other one freed: the free space lies between live blocks,
        // where glibc does not give it back by itself.
        let mut blocks: Vec<Vec<u8>> = (0..40_000).map(|i| vec![i as u8; 1024]).collect();
        let kept: Vec<Vec<u8>> = blocks
            .drain(..)
            .enumerate()
            .filter_map(|(i, b)| (i % 2 == 0).then_some(b))
            .collect();
        assert!(
            super::reclaim(4 << 20),
            "about 20 MB free should be trimmed"
        );
        assert!(
            !super::reclaim(usize::MAX),
            "nothing is ever above usize::MAX"
        );
        drop(kept);
    }
}
