//! Integration tests of the root package, one binary with one module per topic.

mod cli;
mod cow_cli;
mod echovault;
mod frag;
mod golden;
mod libcachesim;
mod mrc;
mod rdb_dump;
mod redis_memory;
mod reference;
mod robust;
mod server;
mod speed;
mod tune_cli;
mod util;
