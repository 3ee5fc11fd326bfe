//! Fuzz target `page_number`: arbitrary pages (position, headers, body) read by the PageNumber paginator.
#![no_main]

use fivetran_core_fuzz::{Style, page};

libfuzzer_sys::fuzz_target!(|data: &[u8]| page(Style::PageNumber, data));
