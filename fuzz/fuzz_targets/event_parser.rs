//! libFuzzer entry of the `event_parser` target; the target itself is in `fuzz/src/targets.rs`.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| iobroker_hmip_fuzz::targets::event_parser(data));
