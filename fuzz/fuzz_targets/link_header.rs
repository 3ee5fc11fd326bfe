//! Fuzz target `link_header`: arbitrary pages (position, headers, body) read by the LinkHeader paginator.
#![no_main]

use fivetran_core_fuzz::{Style, page};

libfuzzer_sys::fuzz_target!(|data: &[u8]| page(Style::LinkHeader, data));
