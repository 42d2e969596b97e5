//! A bounded, fixed-seed fuzz run of every outside input the store parses
//! (see `tests/all/common/fuzz_inputs.rs`). For longer runs under libFuzzer, see
//! `fuzz/README.md`.

use crate::common::{integrity, temp_store};
use serde_json::json;
use vibe_store::store::OpenOptions;
use vibe_store::{Durability, MissionStore, Phase, SqliteStore};

/// Inputs worth mutating: edge cases of every field kind.
const SEEDS: &[&str] = &[
    "{}", "[]", "null", "5", "1.50", "-0", "1e400", "123456789012345678901234567890", "\"\\u0000\"",
    "\"\\ud800\"", "{\"a\":{\"b\":[1,2,{\"c\":null}]}}", "PLANNING", "planning", "in-progress", "IN_PROGRESS",
    "full", "Normal", "grep", "", " ", "\u{0}", "naïve 日本語 🚀", "a=1", "k={\"x\":[true]}", "plan|because",
    "\u{202e}rtl", "\u{feff}bom", "x\ny", "{\"dup\":1,\"dup\":2}", "[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[1]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]",
];

struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }

    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }
}

fn mutate(rng: &mut Rng, seed: &[u8]) -> Vec<u8> {
    let mut data = seed.to_vec();
    for _ in 0..=rng.below(4) {
        match rng.below(6) {
            0 if !data.is_empty() => {
                let i = rng.below(data.len());
                data[i] = rng.next() as u8;
            }
            1 => {
                let i = rng.below(data.len() + 1);
                data.insert(i, rng.next() as u8);
            }
            2 if !data.is_empty() => {
                let i = rng.below(data.len());
                data.remove(i);
            }
            3 => {
                let other = SEEDS[rng.below(SEEDS.len())].as_bytes();
                let i = rng.below(data.len() + 1);
                data.splice(i..i, other.iter().copied());
            }
            4 => {
                let i = rng.below(data.len() + 1);
                data.splice(i..i, "[{\"k\":".bytes().cycle().take(6 * rng.below(30)));
            }
            _ => data.extend((0..rng.below(16)).map(|_| rng.next() as u8)),
        }
    }
    data
}

#[test]
fn fixed_seed_fuzz_of_every_outside_input() {
    const EXECUTIONS: usize = 20_000;
    let (_dir, path) = crate::common::temp_db();
    let store =
        SqliteStore::open_with(&path, OpenOptions::default().durability(Durability::Normal))
            .unwrap();
    let mission = store
        .create_mission(Phase::Testing, json!({}).into())
        .unwrap();
    let mut rng = Rng(0x9E37_79B9_7F4A_7C15);
    for n in 0..EXECUTIONS {
        let seed = SEEDS[rng.below(SEEDS.len())].as_bytes();
        let mut data = vec![(n % 8) as u8];
        data.extend(mutate(&mut rng, seed));
        crate::common::fuzz_inputs::exercise(&store, &mission, &data);
    }
    assert_eq!(integrity(&path), "ok");
    eprintln!("{EXECUTIONS} fuzz executions");
}

#[test]
fn oversize_and_deep_inputs_are_refused_not_crashes() {
    let (_dir, store) = temp_store();
    let mission = store
        .create_mission(Phase::Testing, json!({}).into())
        .unwrap();
    let deep = format!("{}1{}", "[".repeat(100_000), "]".repeat(100_000));
    let big = format!("\"{}\"", "x".repeat(2 * 1024 * 1024));
    for text in [deep.as_str(), big.as_str()] {
        let mut data = vec![0u8];
        data.extend(text.as_bytes());
        crate::common::fuzz_inputs::exercise(&store, &mission, &data);
        assert!(vibe_store::Json::parse("args", text).is_err());
    }
    let long_name = vec![4u8]
        .into_iter()
        .chain("n".repeat(100_000).bytes())
        .collect::<Vec<_>>();
    crate::common::fuzz_inputs::exercise(&store, &mission, &long_name);
    assert!(store.get_tool_history(&mission).unwrap().is_empty());
}
