//! Fuzz target `state`: arbitrary bytes through `fivetran_core_fuzz::state`.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| fivetran_core_fuzz::state(data));
