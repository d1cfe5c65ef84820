//! The explorer: every outcome, each with a witness that replays it.

use interleave::catalog::Catalog;
use interleave::explore::{self, Control, Limits, OutcomeKey};
use interleave::program::{EngineConfig, Program};
use std::collections::BTreeSet;
use std::sync::Arc;

fn build(lesson: &str, sets: &[&str]) -> (Arc<Program>, EngineConfig) {
    let catalog = Catalog::embedded().expect("the embedded lessons load");
    let l = catalog.get(lesson).expect("the lesson exists");
    let sets: Vec<String> = sets.iter().map(|s| s.to_string()).collect();
    let knobs = interleave::cli::knobs_from(l, &sets).expect("valid knobs");
    let p = interleave::scenarios::build(l, &knobs).expect("it builds");
    (Arc::new(p), knobs.engine())
}

fn dpor_only() -> Limits {
    Limits {
        fewest: false,
        ..Limits::default()
    }
}

#[test]
#[ignore = "timing, run with --release --ignored --nocapture"]
fn timing() {
    for sets in [
        &["iterations=1", "gil=free"][..],
        &["iterations=2", "gil=free"],
        &["iterations=3", "gil=free"],
    ] {
        let (p, cfg) = build("balance-race", sets);
        let ex = explore::exhaustive(&p, cfg, &dpor_only(), &Control::default());
        println!(
            "{sets:?}: dpor {} execs {} outcomes {:?} {:?}",
            ex.executions,
            ex.outcomes.len(),
            ex.elapsed,
            ex.stop
        );
        let t = std::time::Instant::now();
        let all = explore::enumerate_all(&p, cfg, 10_000_000).map(|s| s.len());
        println!("  states: {all:?} outcomes in {:?}", t.elapsed());
    }
}
