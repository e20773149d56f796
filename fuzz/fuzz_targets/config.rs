//! Fuzzes the run configuration: TOML parsing, validation, the TOML round trip of valid configs,
//! `--set` overrides, and building every network (with its optimiser and U_o state) that a valid
//! config describes, as a run would: a valid config must never ask for an impossible allocation.
#![no_main]

use gped::config::RunConfig;
use libfuzzer_sys::fuzz_target;

const ORIGIN: &str = "<fuzz>";

fn check_err(err: &gped::Error) -> String {
    let msg = err.to_string();
    assert!(!msg.trim().is_empty(), "empty error message: {err:?}");
    msg
}

/// Validates `config`; when valid, writes it as TOML and reads it back, which must give the
/// same config (and the same TOML).
fn validate_and_round_trip(config: &RunConfig) {
    let valid = match config.validate() {
        Ok(valid) => valid,
        Err(e) => {
            check_err(&e);
            return;
        }
    };
    assert_eq!(valid.config(), config);
    let text = match config.to_toml_string() {
        Ok(text) => text,
        Err(e) => {
            check_err(&e);
            return;
        }
    };
    let back = RunConfig::from_toml_str(&text, ORIGIN)
        .unwrap_or_else(|e| panic!("written config does not parse back: {e}\n{text}"));
    assert_eq!(&back, config, "round trip changed the config:\n{text}");
    assert_eq!(back.to_toml_string().unwrap(), text);
    assert_eq!(back.validate().expect("still valid"), valid);
    gped::distill::state::build_networks(&valid, valid.teacher_train_size(), valid.pool_size())
        .unwrap_or_else(|e| panic!("a valid config's networks do not build: {e}\n{text}"));
}

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };

    // The input as a config file.
    match RunConfig::from_toml_str(text, ORIGIN) {
        Ok(config) => validate_and_round_trip(&config),
        Err(e) => {
            let msg = check_err(&e);
            assert!(
                msg.contains(ORIGIN),
                "parse error does not name the origin: {msg}"
            );
        }
    }

    // The input's lines as `--set` overrides of the default config.
    let overrides: Vec<String> = text.lines().map(str::to_string).collect();
    match RunConfig::default().with_overrides(&overrides) {
        Ok(config) => validate_and_round_trip(&config),
        Err(e) => {
            check_err(&e);
        }
    }
});
