#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| motcua_fuzz_targets::receipt_letter(data));
