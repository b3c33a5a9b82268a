//! Compiles `src/store/check.cc`, the few RocksDB calls `strata check` needs
//! that the C API lacks, against the RocksDB that librocksdb-sys builds (its
//! headers come from the crate's sources, announced through `links`).

fn main() {
    let root = std::env::var("DEP_ROCKSDB_CARGO_MANIFEST_DIR")
        .expect("librocksdb-sys announces its sources (a direct dependency, for its `links` metadata)");
    let root = std::path::Path::new(&root).join("rocksdb");
    cc::Build::new()
        .cpp(true)
        .flag_if_supported("-std=c++17")
        .define("NDEBUG", Some("1"))
        .include(root.join("include"))
        .warnings(false)
        .file("src/store/check.cc")
        .compile("strata_check");
    println!("cargo:rerun-if-changed=src/store/check.cc");
    println!("cargo:rerun-if-changed=build.rs");
}
