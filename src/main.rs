//! The `specserve` command line.

fn main() {}
