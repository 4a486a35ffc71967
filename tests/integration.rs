//! Integration tests of the root package, one binary with one module per topic.

mod cli;
mod frag;
mod golden;
mod reference;
mod server;
