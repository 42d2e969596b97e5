//! libFuzzer over every outside input the store parses; the harness is the
//! one `tests/all/fuzz.rs` runs with a fixed seed.
#![no_main]

use std::sync::OnceLock;

use libfuzzer_sys::fuzz_target;
use vibe_store::store::OpenOptions;
use vibe_store::{Durability, Phase, SqliteStore};

#[path = "../../tests/all/common/fuzz_inputs.rs"]
mod fuzz_inputs;

struct Target {
    _dir: tempfile::TempDir,
    store: SqliteStore,
    mission: String,
}

static TARGET: OnceLock<Target> = OnceLock::new();

fuzz_target!(|data: &[u8]| {
    let target = TARGET.get_or_init(|| {
        let dir = tempfile::tempdir().expect("temp dir");
        let options = OpenOptions::default().durability(Durability::Normal);
        let store = SqliteStore::open_with(dir.path().join("fuzz.db"), options).expect("store");
        let mission = store
            .create_mission(Phase::Testing, &serde_json::json!({}))
            .expect("mission");
        Target { _dir: dir, store, mission }
    });
    fuzz_inputs::exercise(&target.store, &target.mission, data);
});
