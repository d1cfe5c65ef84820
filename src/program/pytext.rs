//! Python text: what CPython prints for a print format, an uncaught exception in a
//! thread or a process. Both engines (the simulator and the live runner) use it.

use super::{ActorId, ActorKind, Program, Value};

/// What CPython prints when a thread's target raises.
pub fn raise_text(actor: &str, message: &str) -> String {
    format!("Exception in thread {actor}: {message}")
}

/// What CPython prints for an uncaught exception: a thread's starts with
/// `Exception in thread NAME`, the main thread's is the traceback's last line.
pub fn uncaught_text(program: &Program, a: ActorId, message: &str) -> String {
    match program.actors.get(a as usize) {
        Some(actor) if actor.kind == ActorKind::Thread => raise_text(&actor.name, message),
        _ => message.to_string(),
    }
}

/// Fills the `{}` holes of a print format with values, in order (`None` for
/// [`super::NONE`]), `{bool}` holes with `True`/`False`, `{chr}` holes
/// with the character of that code, and `{thread}`
/// with the printing thread's name; a `{}` hole shows a string value
/// ([`super::STR_BASE`]) as its text, as `print` shows a `str`. Three more holes: `{s}` shows a value as the program
/// string it names, `{ms}` shows nanoseconds as milliseconds, and `{ratio}` takes
/// two values and shows the first divided by the second (a speed-up).
pub fn fill_format(fmt: &str, args: &[Value], thread: &str, strings: &[String]) -> String {
    let fmt = fmt.replace("{thread}", thread);
    let mut fmt = fmt;
    let mut args = args.to_vec();
    // `{bool}` and `{chr}` holes are filled in place first, keeping argument order.
    loop {
        let hole = [("{bool}", true), ("{chr}", false)]
            .into_iter()
            .filter_map(|(h, is_bool)| fmt.find(h).map(|i| (i, h.len(), is_bool)))
            .min();
        let Some((i, len, is_bool)) = hole else { break };
        let n = fmt[..i].matches("{}").count();
        let Some(&v) = args.get(n) else { break };
        let text = if is_bool {
            (if v != 0 { "True" } else { "False" }).to_string()
        } else {
            u32::try_from(v)
                .ok()
                .and_then(char::from_u32)
                .map(String::from)
                .unwrap_or_default()
        };
        fmt.replace_range(i..i + len, &text);
        args.remove(n);
    }
    let mut out = String::with_capacity(fmt.len() + 8);
    let mut args = args.into_iter();
    let mut rest = fmt.as_str();
    const HOLES: [&str; 4] = ["{}", "{s}", "{ms}", "{ratio}"];
    while let Some((i, hole)) = HOLES
        .iter()
        .filter_map(|h| rest.find(h).map(|i| (i, *h)))
        .min_by_key(|&(i, _)| i)
    {
        out.push_str(&rest[..i]);
        let text = match hole {
            "{s}" => args.next().map(|v| {
                usize::try_from(v)
                    .ok()
                    .and_then(|i| strings.get(i))
                    .cloned()
                    .unwrap_or_else(|| v.to_string())
            }),
            "{ms}" => args.next().map(|v| format!("{:.1}", v as f64 / 1e6)),
            "{ratio}" => match (args.next(), args.next()) {
                (Some(a), Some(b)) if b != 0 => Some(format!("{:.2}", a as f64 / b as f64)),
                (Some(_), Some(_)) => Some("inf".to_string()),
                _ => None,
            },
            _ => args.next().map(|v| match (v, super::as_str_id(v)) {
                (super::NONE, _) => "None".to_string(),
                (_, Some(s)) => strings.get(s as usize).cloned().unwrap_or_default(),
                (v, None) => v.to_string(),
            }),
        };
        out.push_str(text.as_deref().unwrap_or(hole));
        rest = &rest[i + hole.len()..];
    }
    out.push_str(rest);
    out
}

/// What CPython prints when a process's target raises (the traceback's middle
/// lines are left out).
pub fn process_raise_text(process: &str, exception: &str) -> String {
    format!("Process {process}: Traceback (most recent call last): … {exception}")
}
