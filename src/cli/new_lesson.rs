//! `interleave new-lesson ID`: a commented lesson file to start from.

/// The skeleton, with `@ID@` where the lesson's id goes. It is a working lesson
/// (the `balance` scenario), so `interleave --lessons DIR check` accepts it as
/// written; tests/pkg_cli.rs keeps it so.
const TEMPLATE: &str = r#"# A lesson for interleave. Every field is described in docs/lessons.md
# (中文: docs/lessons.zh.md). Try it with:
#   interleave --lessons . check        # is the file well formed?
#   interleave --lessons . @ID@          # open it in the playground
#   interleave --lessons . run @ID@      # run it without the screen
#
# Texts that students read come in two languages: `en` and `zh` (Simplified
# Chinese); both are required. Lesson texts must not contain control characters.

# The lesson's name on the command line: lowercase letters, digits and dashes.
# A lesson with the id of a built-in lesson replaces it.
id = "@ID@"
# Where it sits in the lesson list (smaller first; the built-in ones use 10..130).
order = 500
# The program builder this lesson's code runs on (one of the built-in scenarios:
# balance, deadlock, fork, gil, pipe, pool, process, queue, subprocess, threads,
# thread-local, tickets, value-race). `balance` is two threads that add and
# subtract on one global, with an optional lock.
scenario = "balance"
# Shown in the lesson list next to the title.
concepts = ["threading.Thread", "race condition"]

title = { en = "My balance race", zh = "我的 balance 竞争" }

# One paragraph: what the student will see.
summary.en = """
Two threads add to and take away from one global. Watch an update get lost."""
summary.zh = """
两个线程对同一个全局变量加了又减。看看一次更新是怎样丢失的。"""

# The lesson itself, shown beside the code. Blank lines separate paragraphs;
# lines starting with `- ` are a list.
explanation.en = """
`balance = balance + n` is a read, an addition and a write. When the other thread
writes between this thread's read and its write, one of the two writes is lost.

Step it yourself with the number keys, then turn the lock on with `l`."""
explanation.zh = """
`balance = balance + n` 是一次读、一次加法和一次写。如果另一个线程恰好在本线程的
读和写之间写入，两次写入中就有一次丢失了。

用数字键亲手单步执行，然后按 `l` 打开锁。"""

# Optional: what you measured on which CPython versions, and how.
notes.en = """
Write here what you measured, on which CPython versions, with which script."""
notes.zh = """
在这里写下你测量了什么、在哪些 CPython 版本上、用的是哪个脚本。"""

# The Python program. The scenario finds the lines it runs by their text, so the
# lines it needs must stay as they are (`interleave check` names a missing one);
# comments and blank lines may be added.
# `?{knob=value}` at the start of a line shows the line only when the knob has
# that value; `{{knob}}` is replaced by the knob's value.
code = """
import threading

balance = 0
?{lock=on}lock = threading.Lock()

def change_it(n):
    global balance
    balance = balance + n
    balance = balance - n

def run_thread(n):
    for i in range({{iterations}}):
?{lock=off}        change_it(n)
?{lock=on}        lock.acquire()
?{lock=on}        try:
?{lock=on}            change_it(n)
?{lock=on}        finally:
?{lock=on}            lock.release()

t1 = threading.Thread(target=run_thread, args=(5,))
t2 = threading.Thread(target=run_thread, args=(8,))
t1.start()
t2.start()
t1.join()
t2.join()
print(balance)
"""

# Knobs: what the student may change (`k` in the playground, `--set` on the
# command line). The scenario decides which knob names it reads.
[[knob]]
name = "lock"
kind = "bool"        # on/off
default = false
help = { en = "wrap change_it in lock.acquire() / lock.release()", zh = "用 lock.acquire() / lock.release() 包住 change_it" }

[[knob]]
name = "iterations"
kind = "int"         # a whole number from min to max
default = 1000
min = 1
max = 100000
help = { en = "how many times each thread calls change_it", zh = "每个线程调用 change_it 的次数" }

[[knob]]
name = "gil"
kind = "choice"      # one of the options
default = "gil-classic"
options = ["gil-classic", "gil-modern", "free"]
help = { en = "where a thread switch may happen: CPython <= 3.9, CPython >= 3.10, or no GIL", zh = "线程可以在哪里切换：CPython <= 3.9、CPython >= 3.10，或没有 GIL" }

# Optional: what a correct run is, and how to say it. Expressions read the shared
# variables, the knobs (dashes as underscores, on/off as 1/0), `finished`,
# `deadlock` and the names defined here.
[verdict]
correct = "balance == 0"
expected = { balance = "0" }
missing = "0 - balance"
unit = { en = "of balance", zh = "（balance 的差额）" }
right = { en = "balance is 0: every change was undone", zh = "balance 是 0：每次修改都被撤销了" }
wrong = { en = "balance is {balance}, not 0: a write wiped out another thread's write", zh = "balance 是 {balance}，不是 0：一次写入抹掉了另一个线程的写入" }
"#;

/// The skeleton for a lesson with this id, or why the id cannot be one.
pub fn skeleton(id: &str) -> Result<String, String> {
    if id.is_empty()
        || !id
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-')
    {
        return Err(format!(
            "lesson id `{}` must be lowercase letters, digits and dashes, e.g. `my-race`",
            crate::lesson::escape(id)
        ));
    }
    Ok(TEMPLATE.replace("@ID@", id))
}
