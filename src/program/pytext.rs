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
/// with the character of that code, `{list}` holes with a packed list as Python
/// prints it ([`list_pack`]), and `{thread}`
/// with the printing thread's name; a `{}` hole shows a string value
/// ([`super::STR_BASE`]) as its text, as `print` shows a `str`. Three more holes: `{s}` shows a value as the program
/// string it names, `{ms}` shows nanoseconds as milliseconds, and `{ratio}` takes
/// two values and shows the first divided by the second (a speed-up).
pub fn fill_format(fmt: &str, args: &[Value], thread: &str, strings: &[String]) -> String {
    let fmt = fmt.replace("{thread}", thread);
    let mut fmt = fmt;
    let mut args = args.to_vec();
    // `{bool}`, `{chr}` and `{list}` holes are filled in place first, keeping
    // argument order.
    loop {
        let hole = ["{bool}", "{chr}", "{list}"]
            .into_iter()
            .filter_map(|h| fmt.find(h).map(|i| (i, h)))
            .min();
        let Some((i, h)) = hole else { break };
        let len = h.len();
        let n = fmt[..i].matches("{}").count();
        let Some(&v) = args.get(n) else { break };
        let text = match h {
            "{bool}" => (if v != 0 { "True" } else { "False" }).to_string(),
            "{list}" => value_text(v),
            _ => u32::try_from(v)
                .ok()
                .and_then(char::from_u32)
                .map(String::from)
                .unwrap_or_default(),
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

/// What a file holds when the simulator keeps the number `v` in it
/// (`Instr::FileWrite`: `json.dump({'count': v}, f)`), as Python's `json` writes it.
pub fn file_text(v: Value) -> String {
    format!("{{\"count\": {}}}", value_text(v))
}

/// What CPython prints when a process's target raises (the traceback's middle
/// lines are left out).
pub fn process_raise_text(process: &str, exception: &str) -> String {
    format!("Process {process}: Traceback (most recent call last): … {exception}")
}

/// The marker in the top byte of a value that holds a packed list: `0x40 | len`.
/// No lesson computes with numbers that large, so a packed list is never taken
/// for a number (nor for [`super::NONE`], which is negative).
const LIST_TAG: u64 = 0x40;
/// The most items a packed list holds.
pub const LIST_MAX: usize = 7;

/// A Python list of at most [`LIST_MAX`] ints from 0 to 255, packed into one
/// value so that it lives in a variable like any other (a process's own copy, or
/// one slot of shared memory for a `multiprocessing.Array`): the items in the low
/// bytes, `0x40 | len` in the top byte. `None` when the list does not fit.
pub fn list_pack(items: &[Value]) -> Option<Value> {
    if items.len() > LIST_MAX {
        return None;
    }
    let mut v = (LIST_TAG | items.len() as u64) << 56;
    for (k, &x) in items.iter().enumerate() {
        let b = u8::try_from(x).ok()?;
        v |= (b as u64) << (8 * k);
    }
    Some(v as Value)
}

/// The items of a packed list; `None` when `v` is not one.
pub fn list_items(v: Value) -> Option<Vec<Value>> {
    let u = v as u64;
    let top = u >> 56;
    if top & !0x0F != LIST_TAG || (top & 0x0F) as usize > LIST_MAX {
        return None;
    }
    let len = (top & 0x0F) as usize;
    Some((0..len).map(|k| ((u >> (8 * k)) & 0xFF) as Value).collect())
}

/// `list.append(x)` (`index` [`super::LIST_APPEND`]) or `list[index] = x` on a
/// packed list; `Err` is the exception CPython raises (or why the list cannot
/// hold the item here).
pub fn list_store(list: Value, index: u8, x: Value) -> Result<Value, String> {
    let mut items =
        list_items(list).ok_or_else(|| "TypeError: the variable is not a list".to_string())?;
    if index == super::LIST_APPEND {
        items.push(x);
    } else {
        let slot = items
            .get_mut(index as usize)
            .ok_or_else(|| "IndexError: list assignment index out of range".to_string())?;
        *slot = x;
    }
    list_pack(&items).ok_or_else(|| {
        format!("MemoryError: a lesson's list holds at most {LIST_MAX} ints from 0 to 255")
    })
}

/// A value as Python prints it: a packed list as `[1, 2, 3]`, [`super::NONE`]
/// as `None`, any other number as itself.
pub fn value_text(v: Value) -> String {
    if v == super::NONE {
        return "None".to_string();
    }
    match list_items(v) {
        Some(items) => {
            let inner: Vec<String> = items.iter().map(|x| x.to_string()).collect();
            format!("[{}]", inner.join(", "))
        }
        None => v.to_string(),
    }
}

#[cfg(test)]
mod list_tests {
    use super::*;

    #[test]
    fn a_packed_list_prints_as_python_prints_it_and_is_never_a_number() {
        let l = list_pack(&[1, 2, 3]).expect("fits");
        assert_eq!(value_text(l), "[1, 2, 3]");
        assert_eq!(value_text(list_pack(&[]).expect("fits")), "[]");
        let l4 = list_store(l, crate::program::LIST_APPEND, 4).expect("appends");
        assert_eq!(value_text(l4), "[1, 2, 3, 4]");
        assert_eq!(value_text(l), "[1, 2, 3]", "the old copy is unchanged");
        let a = list_store(l4, 3, 9).expect("stores");
        assert_eq!(list_items(a), Some(vec![1, 2, 3, 9]));
        assert!(list_store(l, 3, 9).is_err_and(|e| e.starts_with("IndexError")));
        assert!(list_pack(&[256]).is_none() && list_pack(&[0; 8]).is_none());
        for n in [0, 1, -1, 500, 1 << 40, crate::program::NONE, i64::MAX] {
            assert_eq!(list_items(n), None, "{n}");
            assert_eq!(
                value_text(n),
                if n == crate::program::NONE {
                    "None".into()
                } else {
                    n.to_string()
                }
            );
        }
        assert_eq!(
            fill_format("w {} sees {list}", &[7, l4], "t", &[]),
            "w 7 sees [1, 2, 3, 4]"
        );
    }
}
