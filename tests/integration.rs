//! The root package's one integration-test binary: one module per public surface.

/// Golden miss counts on the real traces against independent simple implementations.
mod golden;

/// The research policies against simple reference implementations of their sources.
mod reference;
