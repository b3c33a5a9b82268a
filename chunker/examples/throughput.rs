//! Single-threaded chunking throughput on 256 MiB of random data held in
//! memory, at the default parameters. Run by scripts/bench.sh:
//! `cargo run --release -p strata-chunker --example throughput [MiB]`.

use std::time::Instant;
use strata_chunker::Chunker;

fn main() {
    let mib: usize = std::env::args().nth(1).and_then(|a| a.parse().ok()).unwrap_or(256);
    let mut data = vec![0u8; mib << 20];
    let mut state = 0x5eed_u64;
    for word in data.chunks_exact_mut(8) {
        // xorshift64*: fast, and random enough that the masks behave as on real data.
        state ^= state >> 12;
        state ^= state << 25;
        state ^= state >> 27;
        word.copy_from_slice(&state.wrapping_mul(0x2545_f491_4f6c_dd1d).to_le_bytes());
    }
    let chunker = Chunker::default();
    let mut best = f64::MAX;
    let mut count = 0;
    for _ in 0..5 {
        let start = Instant::now();
        count = chunker.chunks(std::hint::black_box(&data)).count();
        best = best.min(start.elapsed().as_secs_f64());
    }
    let mbps = data.len() as f64 / 1e6 / best;
    println!(
        "chunker v1: {mib} MiB, {count} chunks (avg {} KiB), best of 5: {mbps:.0} MB/s",
        data.len() / count.max(1) / 1024
    );
}
