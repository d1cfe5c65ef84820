//! The timed scheduler against CPython: each lesson's headline figure over 200
//! seeds, stepped with default knobs, inside the band that the CPythons under pyenv
//! gave (tools/measure/RESULTS.md, section 14; raw runs in tools/measure/out/timing/).
//! The seeds run on two threads; the runs are small except balance-race's.

use interleave::catalog::Catalog;
use interleave::cli::knobs_from;
use interleave::run::{Command, Origin, Run, Start};
use interleave::sim::Ending;
use interleave::trace::Trace;

const SEEDS: u64 = 200;

/// `f` of the finished trace of every seed 1..=SEEDS of a lesson with these knobs.
fn per_seed<T: Send>(
    lesson: &str,
    sets: &[&str],
    f: impl Fn(&Trace, Ending) -> T + Sync,
) -> Vec<T> {
    let catalog = Catalog::embedded().expect("the built-in lessons load");
    let l = catalog.find(lesson).expect("the lesson exists").clone();
    let sets: Vec<String> = sets.iter().map(|s| s.to_string()).collect();
    let knobs = knobs_from(&l, &sets).expect("valid knobs");
    let one = |seed: u64| {
        let mut run = Run::new(&l, knobs.clone(), Start::Stepped(Origin::Seed(seed)))
            .expect("the scenario builds");
        run.command(Command::RunToEnd);
        f(run.trace(), run.ending())
    };
    let one = &one;
    std::thread::scope(|s| {
        let odd = s.spawn(move || (1..=SEEDS).step_by(2).map(one).collect::<Vec<_>>());
        let even: Vec<T> = (2..=SEEDS).step_by(2).map(one).collect();
        let odd = odd.join().expect("the seeds' thread ends");
        odd.into_iter().chain(even).collect()
    })
}

fn var(t: &Trace, name: &str) -> i64 {
    t.final_vars()
        .into_iter()
        .find(|(n, _)| n == name)
        .map(|(_, v)| v)
        .expect("the shared variable exists")
}

fn lines(t: &Trace) -> Vec<String> {
    t.output.iter().map(|o| o.text.clone()).collect()
}

fn count(xs: &[bool]) -> usize {
    xs.iter().filter(|&&x| x).count()
}

/// CPython 3.6–3.9, 100000 iterations: wrong in 5–15 of 50 runs per version and
/// session (10–30 %); 3.10–3.13: 0 of 300.
#[test]
fn balance_race_is_wrong_as_often_as_on_cpython() {
    let wrong = per_seed("balance-race", &["gil=gil-classic"], |t, _| {
        var(t, "balance") != 0
    });
    let n = count(&wrong);
    println!("balance-race gil-classic: wrong in {n} of {SEEDS}");
    assert!(
        (SEEDS as usize * 5 / 100..=SEEDS as usize * 35 / 100).contains(&n),
        "gil-classic: balance wrong in {n} of {SEEDS} seeds; CPython 3.6-3.9: 10-30 % (band 5-35 %)"
    );
    let wrong = per_seed("balance-race", &["gil=gil-modern"], |t, _| {
        var(t, "balance") != 0
    });
    assert_eq!(
        count(&wrong),
        0,
        "gil-modern: CPython 3.10-3.13 never went wrong"
    );
}
