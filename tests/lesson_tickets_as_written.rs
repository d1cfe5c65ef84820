//! The tickets lesson with `as-written=on`: the tutorial's own ticket sale (with
//! lock around the whole purchase, randint(1, 3) s, PIDs, joins), stepped and
//! live, as CPython does it (tools/measure/tickets_as_written.py, RESULTS.md).

use interleave::catalog::Catalog;
use interleave::cli::knobs_from;
use interleave::live::LiveRun;
use interleave::run::{Origin, Run, Start};
use interleave::trace::Trace;
use std::collections::HashSet;
use std::sync::Arc;
use std::time::Duration;

const BIN: &str = env!("CARGO_BIN_EXE_interleave");

fn knobs(sets: &[&str]) -> (interleave::lesson::Lesson, interleave::lesson::Knobs) {
    let catalog = Catalog::embedded().expect("the built-in lessons load");
    let l = catalog.find("tickets").expect("the lesson exists").clone();
    let mut all = vec!["as-written=on".to_string(), "tickets=2".to_string()];
    all.extend(sets.iter().map(|s| s.to_string()));
    let k = knobs_from(&l, &all).expect("the knobs are valid");
    (l, k)
}

fn stepped(sets: &[&str], seed: u64) -> Trace {
    let (l, k) = knobs(sets);
    Run::new(&l, k, Start::Stepped(Origin::Seed(seed)))
        .expect("the lesson builds")
        .finish_stepped()
        .expect("the run ends")
}

fn output(t: &Trace) -> Vec<String> {
    t.output.iter().map(|o| o.text.clone()).collect()
}

fn left(t: &Trace) -> i64 {
    t.final_vars()
        .into_iter()
        .find(|(k, _)| k == "ticket.json")
        .map(|(_, v)| v)
        .expect("the file is a variable")
}

/// Every buyer prints its PID once, then the main process prints 主线程 last.
fn check_shape(out: &[String], buyers: usize) {
    assert_eq!(out.len(), buyers + 1, "{out:?}");
    assert_eq!(out[buyers], "主线程", "the joins make it last: {out:?}");
    let pids: HashSet<&str> = out[..buyers]
        .iter()
        .map(|l| l.split(' ').next().unwrap_or(""))
        .collect();
    assert_eq!(pids.len(), buyers, "one line per buyer PID: {out:?}");
}

#[test]
fn with_the_lock_exactly_two_buyers_get_the_two_tickets() {
    for seed in 1..=5 {
        let t = stepped(&["lock=on"], seed);
        let out = output(&t);
        check_shape(&out, 10);
        assert_eq!(out.iter().filter(|l| l.ends_with("购票成功")).count(), 2);
        assert_eq!(out.iter().filter(|l| l.ends_with("购票失败")).count(), 8);
        assert_eq!(left(&t), 0, "seed {seed}");
    }
}

#[test]
fn without_the_lock_every_buyer_reads_two_and_buys() {
    for seed in 1..=3 {
        let t = stepped(&["lock=off"], seed);
        let out = output(&t);
        check_shape(&out, 10);
        assert_eq!(
            out.iter().filter(|l| l.ends_with("购票成功")).count(),
            10,
            "seed {seed}: {out:?}"
        );
        assert_eq!(left(&t), 1, "every buyer wrote 2 - 1");
    }
}

#[test]
fn live_the_lock_sells_two_tickets_to_two_real_processes() {
    // SAFETY: set before any worker starts, and to the same value by every test.
    unsafe { std::env::set_var("INTERLEAVE_WORKER_EXE", BIN) };
    let (l, k) = knobs(&["lock=on", "buyers=4"]);
    let program = interleave::scenarios::build(&l, &k).expect("the lesson builds");
    // Sleeps pass 20 times faster: 2 s of network is 0.1 s.
    let (t, finished) =
        LiveRun::start(Arc::new(program), k.engine(), 20.0).wait(Duration::from_secs(60));
    assert!(finished, "the live sale finished");
    let out = output(&t);
    check_shape(&out, 4);
    assert_eq!(out.iter().filter(|l| l.ends_with("购票成功")).count(), 2);
    assert_eq!(left(&t), 0);
}
