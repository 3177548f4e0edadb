//! libFuzzer entry of the `model` target; the target itself is in `fuzz/src/targets.rs`.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| iobroker_hmip_fuzz::targets::model(data));
