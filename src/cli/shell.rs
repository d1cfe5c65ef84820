//! Shell completions and the man page, both generated from the clap definition.

use super::Cli;
use crate::catalog::Catalog;
use clap::CommandFactory;
use clap::builder::{PossibleValue, PossibleValuesParser};
use clap_mangen::roff::{Roff, bold, italic, roman};
use std::io;

/// The command line as clap knows it, with the lesson arguments completing to the
/// catalog's lesson ids (only here: parsing still takes any id and says which
/// ones exist when it is wrong).
pub fn command(catalog: &Catalog) -> clap::Command {
    let ids: Vec<PossibleValue> = catalog
        .lessons()
        .iter()
        .map(|l| PossibleValue::new(l.id.clone()).help(l.title.en.clone()))
        .collect();
    let lessons = move |a: clap::Arg| a.value_parser(PossibleValuesParser::new(ids.clone()));
    // The same command without the hidden `worker` (some generators offer hidden
    // subcommands): clap cannot remove one, so the command is put together again.
    let full = Cli::command();
    let mut cmd = clap::Command::new(full.get_name().to_string());
    if let Some(v) = full.get_version() {
        cmd = cmd.version(v.to_string());
    }
    if let Some(a) = full.get_about() {
        cmd = cmd.about(a.clone());
    }
    if let Some(a) = full.get_after_help() {
        cmd = cmd.after_help(a.clone());
    }
    for a in full.get_arguments().filter(|a| !a.is_hide_set()) {
        cmd = cmd.arg(a.clone());
    }
    for s in full.get_subcommands().filter(|s| !s.is_hide_set()) {
        cmd = cmd.subcommand(s.clone());
    }
    cmd = cmd.mut_arg("lesson", lessons.clone());
    for sub in ["run", "explore"] {
        let lessons = lessons.clone();
        cmd = cmd.mut_subcommand(sub, move |s| s.mut_arg("lesson", lessons));
    }
    cmd
}

/// A completion script for `shell`.
pub fn completions(catalog: &Catalog, shell: clap_complete::Shell) -> Vec<u8> {
    let mut cmd = command(catalog);
    let mut out = Vec::new();
    clap_complete::generate(shell, &mut cmd, "interleave", &mut out);
    out
}

/// The man page (section 1, roff): the top-level command as clap_mangen writes
/// it, then one section per subcommand with its synopsis and options, then exit
/// status, environment and files.
pub fn man(catalog: &Catalog) -> io::Result<Vec<u8>> {
    let cmd = command(catalog).disable_help_subcommand(true);
    let mut out = Vec::new();
    let man = clap_mangen::Man::new(cmd.clone());
    // clap_mangen's own page, less its list of subcommands: it points at pages
    // (interleave-run(1)) that do not exist, because each has a section here.
    man.render_title(&mut out)?;
    man.render_name_section(&mut out)?;
    man.render_synopsis_section(&mut out)?;
    man.render_description_section(&mut out)?;
    man.render_options_section(&mut out)?;
    man.render_extra_section(&mut out)?;
    man.render_version_section(&mut out)?;
    for sub in cmd.get_subcommands() {
        let name = format!("interleave {}", sub.get_name());
        let page = clap_mangen::Man::new(sub.clone().name(name.clone()).bin_name(name.clone()));
        let mut part = Vec::new();
        page.render_description_section(&mut part)?;
        page.render_synopsis_section(&mut part)?;
        if sub.get_arguments().any(|a| !a.is_hide_set()) {
            page.render_options_section(&mut part)?;
        }
        // The subcommand's own sections become subsections of one section for it;
        // the string definitions each rendered part starts with are there once.
        let part: String = String::from_utf8_lossy(&part)
            .lines()
            .filter(|l| !l.starts_with(".ie \\n(.g .ds Aq") && !l.starts_with(".el .ds Aq"))
            .map(|l| match l.strip_prefix(".SH ") {
                Some(rest) => format!(".SS {rest}\n"),
                None => format!("{l}\n"),
            })
            .collect();
        Roff::new()
            .control("SH", [name.to_uppercase().as_str()])
            .to_writer(&mut out)?;
        out.extend_from_slice(part.as_bytes());
    }
    trailer().to_writer(&mut out)?;
    Ok(out)
}

/// Exit status, environment, files: what clap does not know.
fn trailer() -> Roff {
    let mut r = Roff::new();
    r.control("SH", ["EXIT STATUS"]);
    for (code, what) in [
        (
            "0",
            "the run finished (also when stdout is a pipe that closed early)",
        ),
        ("1", "internal error (one line on stderr)"),
        (
            "2",
            "bad input: unknown lesson or knob, a value out of range, a malformed schedule or lesson file",
        ),
        ("3", "the run ended in a deadlock or blocked for ever"),
        ("4", "a live run was stopped at --timeout"),
        (
            "130, 143, 129",
            "ended by SIGINT, SIGTERM or SIGHUP (128 + the signal)",
        ),
    ] {
        r.control("TP", []).text([bold(code)]).text([roman(what)]);
    }
    r.control("SH", ["ENVIRONMENT"]);
    for (var, what) in [
        (
            "INTERLEAVE_WORKER_EXE",
            "the binary that live process lessons start as their workers; by default the running interleave itself",
        ),
        (
            "XDG_STATE_HOME",
            "where the playground remembers finished lessons (default ~/.local/state), in interleave/finished",
        ),
        (
            "NO_COLOR",
            "when set to anything but empty, the playground draws without colours",
        ),
    ] {
        r.control("TP", []).text([bold(var)]).text([roman(what)]);
    }
    r.control("SH", ["FILES"]);
    r.control("TP", [])
        .text([italic("DIR"), roman("/*.toml")])
        .text([roman(
            "lesson files read with --lessons DIR; the format is described in docs/lessons.md \
             of the source, and `interleave new-lesson ID` writes a commented skeleton",
        )]);
    r.control("SH", ["SEE ALSO"]);
    r.text([roman(
        "asciinema(1) plays the recordings written by --record; python3(1)",
    )]);
    r
}
