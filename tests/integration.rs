//! Integration tests of the root package, one binary with one module per topic.

mod cli;
mod cow_cli;
mod frag;
mod golden;
mod reference;
mod tune_cli;
