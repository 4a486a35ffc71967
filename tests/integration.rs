//! Integration tests of the root package, one binary with one module per topic.

mod cli;
mod cow_cli;
mod frag;
mod golden;
mod mrc;
mod reference;
mod robust;
mod server;
mod tune_cli;
mod util;
