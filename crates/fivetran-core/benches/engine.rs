//! Benchmark placeholder: parse → rows → serialized response (filled in below).

fn main() {}
