#![no_main]
// Differential: whole vs chunked parse, snapshot validity, and serde_json.
libfuzzer_sys::fuzz_target!(|data: &[u8]| switchyard_stream::fuzzing::differential(data));
