//! Fuzz target `retry_after`: arbitrary bytes through `fivetran_core_fuzz::retry_after`.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| fivetran_core_fuzz::retry_after(data));
