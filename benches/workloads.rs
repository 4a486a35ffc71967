//! Workload generation and trace reading throughput (filled in below).
fn main() {}
