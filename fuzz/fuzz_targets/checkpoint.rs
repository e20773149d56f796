//! Fuzzes the checkpoint loader: the header (format, iteration, config as TOML, log length),
//! then every tensor and scalar of the state loaded into the fixture run (`gped_fuzz`).
#![no_main]

use gped::checkpoint::Checkpoint;
use gped::distill::RunState;
use gped_fuzz::check_err;
use libfuzzer_sys::fuzz_target;
use std::path::Path;

const PATH: &str = "fuzz/run/checkpoint.safetensors";

fuzz_target!(|data: &[u8]| {
    let path = Path::new(PATH);
    let checkpoint = match Checkpoint::from_bytes(data.to_vec(), path) {
        Ok(ck) => ck,
        Err(e) => return check_err(&e, path),
    };
    // Whatever config the header names, the state must fit the fixture run or be refused.
    let (cfg, run_data) = gped_fuzz::checkpoint_fixture();
    match RunState::resume(cfg, run_data, &checkpoint) {
        Ok(state) => {
            assert_eq!(state.next, checkpoint.header.iteration);
            assert!(state.next < cfg.schedule.iterations);
        }
        Err(e) => check_err(&e, path),
    }
});
