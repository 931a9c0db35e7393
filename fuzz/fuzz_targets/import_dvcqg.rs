#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| motcua_fuzz_targets::import_dvcqg(data));
