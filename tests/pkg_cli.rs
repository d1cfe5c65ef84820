//! `interleave completions SHELL`, `interleave man` and `interleave new-lesson ID`:
//! what a person installing the tool, or a teacher starting a lesson, gets.

use clap::CommandFactory;
use std::process::{Command, Output};

fn interleave(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_interleave"))
        .args(args)
        .env_remove("INTERLEAVE_WORKER_EXE")
        .output()
        .expect("the binary runs")
}

fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

/// The subcommands a person sees (not the hidden worker), with their long flags.
fn visible() -> Vec<(String, Vec<String>)> {
    let cmd = interleave::cli::Cli::command();
    let flags = |c: &clap::Command| -> Vec<String> {
        c.get_arguments()
            .filter(|a| !a.is_hide_set())
            .filter_map(|a| a.get_long().map(|l| format!("--{l}")))
            .collect()
    };
    let mut out = vec![(String::new(), flags(&cmd))];
    for s in cmd.get_subcommands().filter(|s| !s.is_hide_set()) {
        out.push((s.get_name().to_string(), flags(s)));
    }
    out
}

#[test]
fn every_shell_gets_a_script_that_names_every_subcommand_and_flag() {
    let subs = visible();
    assert!(subs.iter().any(|(s, _)| s == "new-lesson"), "{subs:?}");
    for shell in ["bash", "zsh", "fish", "powershell", "elvish"] {
        let o = interleave(&["completions", shell]);
        assert!(o.status.success(), "{shell}: {o:?}");
        let script = stdout(&o);
        for (sub, flags) in &subs {
            assert!(script.contains(sub.as_str()), "{shell}: no `{sub}`");
            for f in flags {
                // fish and elvish write the flag without its dashes.
                let bare = f.trim_start_matches('-');
                assert!(
                    script.contains(f.as_str()) || script.contains(bare),
                    "{shell}: no `{f}` of `{sub}`"
                );
            }
        }
        if shell == "bash" {
            assert!(!script.contains("worker"), "the hidden worker is offered");
        }
        // The lesson arguments complete to the lessons' ids (clap_complete writes
        // positional values for bash and zsh only).
        if ["bash", "zsh"].contains(&shell) {
            assert!(script.contains("balance-race"), "{shell}: no lesson ids");
        }
    }
    let bad = interleave(&["completions", "tcsh"]);
    assert_eq!(bad.status.code(), Some(2));
}

/// Completes `line` (the words before the cursor) with the bash script, as bash
/// does when Tab is pressed, and returns the candidates.
fn bash_complete(script: &str, words: &[&str]) -> Vec<String> {
    let dir = tempfile::tempdir().expect("temp dir");
    let file = dir.path().join("interleave.bash");
    std::fs::write(&file, script).expect("writes");
    let quoted: Vec<String> = words.iter().map(|w| format!("'{w}'")).collect();
    let line = words.join(" ");
    let prog = format!(
        "source '{}'; COMP_WORDS=({}); COMP_CWORD={}; COMP_LINE='{line}'; COMP_POINT={}; \
         _interleave interleave '{}' '{}'; printf '%s\\n' \"${{COMPREPLY[@]}}\"",
        file.display(),
        quoted.join(" "),
        words.len() - 1,
        line.len(),
        words[words.len() - 1],
        words[words.len().saturating_sub(2)],
    );
    let o = Command::new("bash")
        .args(["--norc", "--noprofile", "-c", &prog])
        .output()
        .expect("bash runs");
    assert!(o.status.success(), "{o:?}");
    stdout(&o).lines().map(str::to_string).collect()
}

#[test]
fn bash_completes_subcommands_flags_and_lesson_ids() {
    let script = stdout(&interleave(&["completions", "bash"]));
    let c = bash_complete(&script, &["interleave", "ru"]);
    assert_eq!(c, ["run"]);
    let c = bash_complete(&script, &["interleave", "run", "bal"]);
    assert_eq!(c, ["balance-race"]);
    let c = bash_complete(&script, &["interleave", "run", "fork", "--se"]);
    assert!(c.contains(&"--seed".to_string()), "{c:?}");
    assert!(c.contains(&"--set".to_string()), "{c:?}");
    let c = bash_complete(&script, &["interleave", "completions", "z"]);
    assert_eq!(c, ["zsh"]);
}

#[test]
fn the_man_page_is_roff_with_every_subcommand_and_flag() {
    let o = interleave(&["man"]);
    assert!(o.status.success(), "{o:?}");
    let page = stdout(&o);
    assert!(
        page.contains("\n.TH interleave 1 "),
        "{}",
        &page[..200.min(page.len())]
    );
    assert!(page.contains("\n.SH NAME\n"), "no NAME section");
    assert!(page.contains("\n.SH SYNOPSIS\n"));
    assert!(page.contains("\n.SH \"EXIT STATUS\"\n"), "no exit status");
    assert!(page.contains("INTERLEAVE_WORKER_EXE"));
    for (sub, flags) in visible() {
        if !sub.is_empty() {
            let heading = format!("\n.SH \"INTERLEAVE {}\"\n", sub.to_uppercase());
            assert!(page.contains(&heading), "no section for `{sub}`");
        }
        for f in flags {
            // roff writes a dash as `\-`.
            let roff = f.replace('-', "\\-");
            assert!(page.contains(&roff), "no `{f}` of `{sub}`");
        }
    }
    assert!(
        !page.contains("INTERLEAVE WORKER"),
        "the hidden worker is documented"
    );
    assert!(
        !page.contains("interleave\\-run(1)"),
        "the page points at pages that do not exist"
    );
    // groff, where the machine has it, reads the page without a warning.
    let groff = Command::new("groff")
        .args(["-man", "-ww", "-z"])
        .stdin(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn();
    if let Ok(mut g) = groff {
        use std::io::Write;
        g.stdin
            .take()
            .expect("stdin")
            .write_all(page.as_bytes())
            .expect("groff reads");
        let o = g.wait_with_output().expect("groff ends");
        assert!(o.status.success(), "{o:?}");
        assert_eq!(String::from_utf8_lossy(&o.stderr), "", "groff warns");
    }
}

#[test]
fn a_new_lesson_is_a_lesson_that_check_accepts() {
    let dir = tempfile::tempdir().expect("temp dir");
    let path = dir.path().join("my-race.toml");
    let path_s = path.to_str().expect("utf-8 path");
    let o = interleave(&["new-lesson", "my-race", "--output", path_s]);
    assert!(o.status.success(), "{o:?}");
    assert!(stdout(&o).contains("check"), "{}", stdout(&o));
    let text = std::fs::read_to_string(&path).expect("the file was written");
    assert!(text.contains("id = \"my-race\""));
    assert!(
        text.lines().filter(|l| l.starts_with('#')).count() > 10,
        "commented"
    );

    let d = dir.path().to_str().expect("utf-8 path");
    let check = interleave(&["--lessons", d, "check"]);
    assert!(check.status.success(), "{check:?}");
    let list = stdout(&interleave(&["--lessons", d, "list"]));
    assert!(list.contains("my-race"), "{list}");
    let run = interleave(&[
        "--lessons",
        d,
        "run",
        "my-race",
        "--seed",
        "3",
        "--set",
        "iterations=2",
    ]);
    assert!(run.status.success(), "{run:?}");
    assert!(stdout(&run).contains("balance"), "{}", stdout(&run));

    // Never over an existing file; a bad id is bad input; `-` is stdout.
    let again = interleave(&["new-lesson", "my-race", "--output", path_s]);
    assert_eq!(again.status.code(), Some(2), "{again:?}");
    assert!(String::from_utf8_lossy(&again.stderr).contains("exists already"));
    assert_eq!(std::fs::read_to_string(&path).expect("still there"), text);
    let bad = interleave(&["new-lesson", "My Race"]);
    assert_eq!(bad.status.code(), Some(2), "{bad:?}");
    let printed = interleave(&["new-lesson", "my-race", "--output", "-"]);
    assert_eq!(stdout(&printed), text);
}

#[test]
fn the_default_new_lesson_file_is_id_toml_in_the_current_folder() {
    let dir = tempfile::tempdir().expect("temp dir");
    let o = Command::new(env!("CARGO_BIN_EXE_interleave"))
        .args(["new-lesson", "classroom-1"])
        .current_dir(dir.path())
        .output()
        .expect("runs");
    assert!(o.status.success(), "{o:?}");
    assert!(dir.path().join("classroom-1.toml").is_file());
}

#[test]
fn record_is_refused_outside_the_playground() {
    let o = interleave(&["--record", "x.cast", "list"]);
    assert_eq!(o.status.code(), Some(2), "{o:?}");
    assert!(!std::path::Path::new("x.cast").exists());
}
