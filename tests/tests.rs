//! strata's integration tests: one binary, real directory trees, real
//! repositories, real mounts.

mod util;

mod backup_restore;
mod bucket;
mod check;
mod cli;
mod faults;
mod huge;
mod lifecycle;
mod mirror;
mod mount;
mod run;
mod views;
