#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| motcua_fuzz_targets::desk_forms(data));
