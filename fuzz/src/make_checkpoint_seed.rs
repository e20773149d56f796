//! Writes the seed of the `checkpoint` target's corpus: `make-checkpoint-seed DIR` puts a valid
//! checkpoint of the fixture run (about 150 KB) into DIR/valid.safetensors.

fn main() {
    let dir = std::env::args()
        .nth(1)
        .unwrap_or_else(|| "fuzz/corpus/checkpoint".into());
    std::fs::create_dir_all(&dir).expect("corpus folder");
    let path = std::path::Path::new(&dir).join("valid.safetensors");
    let bytes = gped_fuzz::checkpoint_seed();
    // The seed must load into the fixture run, or the target would never pass the header.
    let checkpoint =
        gped::checkpoint::Checkpoint::from_bytes(bytes.clone(), &path).expect("the seed parses");
    let (cfg, data) = gped_fuzz::checkpoint_fixture();
    gped::distill::RunState::resume(cfg, data, &checkpoint).expect("the seed loads");
    std::fs::write(&path, bytes).expect("seed written");
    println!(
        "{} ({} bytes, loads into the fixture run)",
        path.display(),
        checkpoint_len(&path)
    );
}

fn checkpoint_len(path: &std::path::Path) -> u64 {
    std::fs::metadata(path).map_or(0, |m| m.len())
}
