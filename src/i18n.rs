//! The message catalog: every string the screen shows outside a lesson file, in
//! English and Simplified Chinese. `{}` marks where `fill` puts its arguments.

use crate::lesson::Lang;
use std::fmt::Display;

macro_rules! messages {
    ($($name:ident => ($en:expr, $zh:expr),)*) => {
        /// One message of the catalog.
        #[derive(Clone, Copy, Debug, PartialEq, Eq)]
        pub enum Msg { $($name,)* }

        impl Msg {
            /// Every message, for the tests that hold the catalog complete.
            pub const ALL: &'static [Msg] = &[$(Msg::$name,)*];

            /// The English and the Chinese text.
            pub const fn pair(self) -> (&'static str, &'static str) {
                match self { $(Msg::$name => ($en, $zh),)* }
            }
        }
    };
}

messages! {
    // The lesson panel.
    LessonPanel => ("lesson", "课文"),
    Hide => ("hide", "隐藏"),
    MeasuredHeading => ("Measured on CPython", "在 CPython 上的实测"),
    // The state panel.
    StatePanel => ("state", "状态"),
    Choose => ("choose", "选择"),
    StepIt => ("steps it", "让它走一步"),
    CorrectRunGives => ("a correct run gives {}", "正确的运行结果是 {}"),
    LostUpdates => ("lost updates", "丢失的更新"),
    HeldBy => ("held by", "持有者"),
    LockFree => ("free", "空闲"),
    Waiting => ("waiting", "等待中"),
    ProcessGroup => ("process {} ({})", "进程 {}（{}）"),
    GilNotHeld => ("not held", "无人持有"),
    BlockedOnLock => ("blocked on {}", "阻塞在 {} 上"),
    InJoinWaitsFor => ("in join, waits for {}", "在 join 中，等待 {} 结束"),
    DoneExit => ("done (exit code {})", "已结束（退出码 {}）"),
    StNotStarted => ("not started", "未启动"),
    StRunning => ("running", "运行中"),
    StReady => ("ready", "就绪"),
    StWaitingGil => ("waiting for the GIL", "等待 GIL"),
    StBlockedLock => ("blocked on a lock", "阻塞在锁上"),
    StBlockedJoin => ("blocked in join", "阻塞在 join 中"),
    StBlockedQueue => ("blocked on a queue", "阻塞在队列上"),
    StBlockedPipe => ("blocked on a pipe", "阻塞在管道上"),
    StSleeping => ("sleeping", "睡眠中"),
    StDone => ("done", "已结束"),
    GilClassicWords => (
        "classic GIL: may switch at any instruction",
        "经典 GIL：可在任意指令处切换"
    ),
    GilModernWords => (
        "modern GIL: switches only at calls and loop back-edges",
        "新式 GIL：只在函数调用和循环回跳处切换"
    ),
    GilFreeWords => ("no GIL", "没有 GIL"),
}

impl Msg {
    pub fn get(self, lang: Lang) -> &'static str {
        let (en, zh) = self.pair();
        match lang {
            Lang::En => en,
            Lang::Zh => zh,
        }
    }

    /// The message with each `{}` replaced by the next argument.
    pub fn fill(self, lang: Lang, args: &[&dyn Display]) -> String {
        let mut out = String::new();
        let mut args = args.iter();
        let mut parts = self.get(lang).split("{}").peekable();
        while let Some(p) = parts.next() {
            out.push_str(p);
            if parts.peek().is_some()
                && let Some(a) = args.next()
            {
                out.push_str(&a.to_string());
            }
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn has_cjk(s: &str) -> bool {
        s.chars().any(|c| ('\u{4e00}'..='\u{9fff}').contains(&c))
    }

    #[test]
    fn every_message_has_english_and_chinese_with_the_same_placeholders() {
        for m in Msg::ALL {
            let (en, zh) = m.pair();
            assert!(!en.trim().is_empty(), "{m:?} has no English");
            assert!(has_cjk(zh), "{m:?} has no Chinese: {zh:?}");
            assert_eq!(
                en.matches("{}").count(),
                zh.matches("{}").count(),
                "{m:?}: English and Chinese take different arguments"
            );
        }
    }

    #[test]
    fn fill_puts_the_arguments_in_order() {
        assert_eq!(Msg::LessonPanel.fill(Lang::En, &[]), "lesson");
        assert_eq!(Msg::Hide.get(Lang::Zh), "隐藏");
    }
}
