//! Fuzz target `request`: arbitrary bytes through `fivetran_core_fuzz::request`.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| fivetran_core_fuzz::request(data));
