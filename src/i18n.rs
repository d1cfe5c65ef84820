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
    // The lesson screen's header, info line and panel titles.
    ModeStep => (" STEP ", " 单步 "),
    ModeLive => (" LIVE ", " 实时 "),
    Playing => ("playing", "播放中"),
    Running => ("running", "运行中"),
    Paused => ("paused", "已暂停"),
    Finished => ("finished", "已结束"),
    Deadlock => ("DEADLOCK", "死锁"),
    SeedN => ("seed {}", "种子 {}"),
    PastedSchedule => ("pasted schedule", "粘贴的调度"),
    StepN => ("step {}", "第 {} 步"),
    ScheduleLabel => ("schedule: ", "调度："),
    NoneYet => ("(none yet)", "（还没有）"),
    LiveInfo => ("speed ×{} · {} ms · {} events", "速度 ×{} · {} 毫秒 · {} 个事件"),
    CodeTitle => (" code · d: bytecode ", " 代码 · d：字节码 "),
    DisTitle => (" bytecode (dis) · d: python ", " 字节码（dis）· d：Python "),
    TimelineTitle => (" timeline · {} · [ ] zoom{} ", " 时间线 · {} · [ ] 缩放{} "),
    TimelineMore => (
        "+{} more: the state panel lists all",
        "还有 {} 个：状态面板列出全部"
    ),
    AxisTime => ("time", "时间"),
    AxisEvents => ("events", "事件"),
    InterleavingTitle => (" interleaving · {} ", " 交错执行 · {} "),
    BytecodeSteps => ("bytecode steps", "按字节码单步"),
    LineSteps => ("line steps", "按行单步"),
    NothingYet => (
        "nothing has run yet: s steps, 0-9 step one actor",
        "还没有执行任何一步：s 单步，0-9 让某个执行者走一步"
    ),
    RedRowLegend => (
        "! red row: this store overwrote another actor's write it never read",
        "! 红色行：这次写入覆盖了另一个执行者的写入，而它从未读到那次写入"
    ),
    OutputTitle => (" output ", " 输出 "),
    GoToStep => (" go to step ", " 跳到第几步 "),
    GoToKeys => ("  Enter go · Esc cancel", "  Enter 跳转 · Esc 取消"),
    TooSmall => (
        "enlarge the terminal to at least {}×{} (now {}×{})",
        "请把终端放大到至少 {}×{}（现在是 {}×{}）"
    ),
    // The browser.
    BrowserTagline => (
        "  the classic Python concurrency lessons, run for real",
        "  经典的 Python 并发课程，真实地运行"
    ),
    BrowserHint => (
        " Pick a lesson: it runs on real threads (LIVE) or one step at a time (STEP).",
        " 选一课：它可以在真实的线程上运行（实时），也可以一步一步地执行（单步）。"
    ),
    LessonsTitle => (" lessons (✓ = finished) ", " 课程（✓ = 已完成）"),
    // Footer keys.
    KChoose => ("choose", "选择"),
    KOpen => ("open", "打开"),
    KHelp => ("help", "帮助"),
    KQuit => ("quit", "退出"),
    KPlay => ("play", "播放"),
    KPause => ("pause", "暂停"),
    KStep => ("step", "单步"),
    KStepActor => ("step actor", "让它走一步"),
    KBack => ("back", "后退"),
    KEnd => ("end", "到结尾"),
    KRunAgain => ("run again", "再运行一次"),
    KLock => ("lock", "锁"),
    KGil => ("GIL", "GIL"),
    KLive => ("live", "实时"),
    KStepMode => ("step mode", "单步模式"),
    KKnobs => ("knobs", "旋钮"),
    KHideText => ("hide text", "隐藏课文"),
    KLessonText => ("lesson text", "显示课文"),
    KReset => ("reset", "重置"),
    KNewSeed => ("new seed", "新种子"),
    KLeave => ("back", "返回"),
    KMoment => ("moment", "关键时刻"),
    KLang => ("中文", "English"),
    // The help overlay.
    HelpTitle => (" keys · any key closes ", " 按键 · 按任意键关闭 "),
    HelpTitleScroll => (
        " keys · ↑↓ more · any other key closes ",
        " 按键 · ↑↓ 查看更多 · 按其他键关闭 "
    ),
    HSpace => ("play / pause (STEP: the scheduler steps on its own)", "播放 / 暂停（单步模式：调度器自己一步步走）"),
    HStep => ("step once: the scheduler picks who runs", "走一步：由调度器决定谁运行"),
    HDigits => ("step actor N (0 = MainThread); says why if it cannot run", "让第 N 个执行者走一步（0 = 主线程）；不能走时会说明原因"),
    HEnter => ("in the state panel (Tab to it, ↑↓ choose): step any actor", "在状态面板中（用 Tab 切过去，↑↓ 选择）：让任意执行者走一步"),
    HBack => ("step back one step (replays the schedule so far)", "后退一步（重放到目前为止的调度）"),
    HEnd => ("run to the end", "一直运行到结尾"),
    HHome => ("back to the start", "回到开头"),
    HMoments => ("next / previous moment: a lost write, a wait, a start or an end", "下一个 / 上一个关键时刻：丢失的写入、等待、启动或结束"),
    HGoTo => ("go to a step by its number", "按编号跳到某一步"),
    HReset => ("reset: same seed, back to the start", "重置：同一个种子，回到开头"),
    HNewSeed => ("new seed: another random schedule", "新种子：换一个随机调度"),
    HLock => ("toggle the lock knob (re-runs from the start)", "切换锁旋钮（从头重新运行）"),
    HGil => ("cycle the GIL model: classic, modern, free", "切换 GIL 模型：经典、新式、无 GIL"),
    HGranularity => ("toggle step size: bytecode / whole Python line", "切换单步粒度：字节码 / 整行 Python"),
    HMode => ("switch LIVE (real threads) / STEP (you schedule)", "切换实时（真实线程）/ 单步（你来调度）"),
    HSpeed => ("speed up / slow down (play rate, or live sleeps)", "加快 / 减慢（播放速度，或实时运行中的 sleep）"),
    HKnobs => ("knob editor: every knob of the lesson", "旋钮编辑器：本课的所有旋钮"),
    HDis => ("code panel: Python / bytecode (dis)", "代码面板：Python / 字节码（dis）"),
    HText => ("show / hide the lesson's text", "显示 / 隐藏课文"),
    HLang => ("English / 中文", "English / 中文"),
    HTab => ("focus the next panel; ↑↓ PgUp PgDn scroll it", "切换到下一个面板；↑↓ PgUp PgDn 滚动它"),
    HZoom => ("timeline zoom out / in; ←→ pan when focused", "时间线缩小 / 放大；获得焦点时 ←→ 平移"),
    HWheel => ("scroll the panel under the mouse (Shift+drag selects text)", "滚动鼠标下方的面板（Shift+拖动可选中文字）"),
    HHelp => ("this help; any key closes it", "本帮助；按任意键关闭"),
    HLeave => ("back to the lessons (quit from the list)", "返回课程列表（在列表中则退出）"),
    HQuit => ("quit", "退出"),
    HMarkers => (
        " Markers in the code show each actor's next step, numbered like the keys.",
        " 代码中的标记表示每个执行者的下一步，编号与按键一致。"
    ),
    LTimeline => (" timeline: ", " 时间线："),
    LRuns => ("runs", "运行"),
    LReady => ("ready", "就绪"),
    LGilWait => ("GIL wait", "等 GIL"),
    LBlocked => ("blocked", "阻塞"),
    LSleeps => ("sleeps", "睡眠"),
    LLostWrite => ("lost write", "丢失的写入"),
    // The knob editor.
    KnobsTitle => (" knobs · a change re-runs from the start ", " 旋钮 · 修改后从头重新运行 "),
    KChange => ("change", "修改"),
    KSetNumber => ("set a number", "输入数字"),
    KClose => ("close", "关闭"),
    // Status messages.
    SPausedAtStart => (
        "paused at the start: press s to step, space to play, ? for every key",
        "停在开头：按 s 单步，空格播放，? 查看所有按键"
    ),
    SRunEnded => ("the run has ended: r runs it again, n with a new seed", "运行已结束：r 再运行一次，n 换一个新种子"),
    SRunningAgainLive => ("running again, live", "再次实时运行"),
    SLivePlaysItself => ("a live run plays by itself; m switches to STEP mode", "实时运行会自己进行；m 切换到单步模式"),
    SReset => ("reset: same seed, back to the start", "已重置：同一个种子，回到开头"),
    SNewSeed => ("new seed {}: back to the start", "新种子 {}：回到开头"),
    SLive => ("LIVE: real threads on real cores; m goes back to STEP", "实时：真实的线程跑在真实的 CPU 核上；m 回到单步"),
    SStep => ("STEP: you are the scheduler now", "单步：现在由你来调度"),
    SStepBack => ("STEP: back where you were; you are the scheduler", "单步：回到你离开的地方；由你来调度"),
    SNoKnobs => ("this lesson has no knobs", "本课没有旋钮"),
    SPlaySpeed => ("play speed: {} steps a second", "播放速度：每秒 {} 步"),
    SLiveSpeed => (
        "live speed ×{}: sleeps pass {} times as fast; re-running from the start",
        "实时速度 ×{}：sleep 快 {} 倍；从头重新运行"
    ),
    SRerun => ("{}: re-running from the start", "{}：从头重新运行"),
    SZoomMax => ("zoomed in as far as it goes: a column is one step", "已放到最大：每一列就是一步"),
    SCopied => ("copied: {}", "已复制：{}"),
    HCopy => (
        "copy the command line that replays this run (to paste in slides)",
        "复制能重放这次运行的命令行（可以贴到幻灯片里）"
    ),
    KCopy => ("copy run", "复制运行"),
    KPresent => ("present", "演示模式"),
    KFullLayout => ("all panels", "全部面板"),
    HPresent => (
        "presenter mode: code and interleaving large, for a projector",
        "演示模式：代码和交错执行放大，适合投影"
    ),
    SPresent => (
        "presenter mode: P brings back every panel",
        "演示模式：按 P 恢复所有面板"
    ),
    SFullLayout => ("every panel is back", "所有面板都回来了"),
    SZoomMin => ("the whole run is in view: ] zooms in", "整个运行都已显示：按 ] 放大"),
    SNoActor => ("there is no actor {}: this lesson has actors 0 to {}", "没有第 {} 个执行者：本课的执行者编号是 0 到 {}"),
    SNoKnob => ("this lesson has no `{}` knob", "本课没有 `{}` 旋钮"),
    SAtStep => ("at step {}", "在第 {} 步"),
    STypeStep => ("type a step number, then Enter", "输入步数，再按 Enter"),
    SLang => ("English: press L for 中文", "中文：按 L 切换到 English"),
    SMoment => ("step {}: {} · > next  < previous", "第 {} 步：{} · > 下一个  < 上一个"),
    SNoMomentAhead => (
        "no moment ahead: from here the run goes on to its end without one",
        "前面没有关键时刻了：从这里到运行结束都没有"
    ),
    SNoMomentBefore => ("no moment before this one: Home goes to the start", "前面没有更早的关键时刻：Home 回到开头"),
    // The tour and the prediction.
    SPredicted => ("you chose answer {}: now run the program (space or e) and compare", "你选了答案 {}：现在运行程序（空格或 e），再对照结果"),
    SPredictSkipped => ("question skipped: p asks it again", "已跳过这个问题：按 p 可以再答"),
    SNoTour => ("this lesson has no tour", "本课没有导览"),
    SNoPredict => ("this lesson asks no question", "本课没有预测题"),
    STourStep => ("tour: back to step {}", "导览：回到第 {} 步"),
    STourStepDone => ("step {} done: on to step {}", "第 {} 步完成：进入第 {} 步"),
    STourDone => ("tour done: every step of it", "导览完成：每一步都走完了"),
    ListTour => ("tour {}/{}", "导览 {}/{}"),
    TourTitle => ("tour · step {} of {}", "导览 · 第 {} 步，共 {} 步"),
    TourDoneTitle => ("tour · done", "导览 · 已完成"),
    TourDo => ("do: ", "操作："),
    TourHint => ("hint: ", "提示："),
    TourKeys => ("D do it for me · U back a step · T hide the tour", "D 替我做 · U 退回一步 · T 隐藏导览"),
    TourSeen => ("What you saw:", "你看到了："),
    PredictTitle => ("predict, then run", "先预测，再运行"),
    PredictKeys => ("1–{} answer · Esc skip (p asks again)", "1–{} 作答 · Esc 跳过（按 p 再答）"),
    PredictYou => ("you predicted: {}", "你的预测：{}"),
    PredictShown => ("this run fits answer {}", "这次运行符合答案 {}"),
    PredictNoneShown => ("none of the answers", "没有一个答案"),
    PredictMatch => ("the run showed what you predicted", "运行结果和你的预测一致"),
    PredictMiss => ("the run did not show what you predicted", "运行结果和你的预测不一致"),
    PredictWait => ("you predicted: {} · run it to the end to compare", "你的预测：{} · 运行到结束再对照"),
    ErrataHeading => ("The tutorial says / CPython does", "教程里说 / CPython 实际上"),
    ErrataTutorial => ("the tutorial says: ", "教程说："),
    ErrataCpython => ("CPython does: ", "CPython 实际："),
    HTour => ("the tour: T show or hide · D do this step for me · U back a step", "导览：T 显示或隐藏 · D 替我做这一步 · U 退回一步"),
    HPredict => ("ask the lesson's question again (predict, then run)", "再答一次本课的问题（先预测，再运行）"),
    MOverwrote => ("{} overwrote a write it never read", "{} 覆盖了一次它从未读到的写入"),
    MWaits => ("{} has to wait", "{} 必须等待"),
    MDeadlock => ("deadlock: every thread waits for another", "死锁：每个线程都在等另一个"),
    MEnded => ("{} was ended before its last line", "{} 在最后一行之前被结束了"),
    MRaised => ("{} raised an exception", "{} 抛出了异常"),
    MStarted => ("{} started another actor", "{} 启动了另一个执行者"),
    MExited => ("{} reached its end", "{} 运行到了结尾"),
    SLiveCannotStep => ("a live run cannot be stepped; switch to STEP mode", "实时运行不能单步；请切换到单步模式"),
    // The state panel.
    StatePanel => ("state", "状态"),
    Choose => ("choose", "选择"),
    StepIt => ("steps it", "让它走一步"),
    CorrectRunGives => ("a correct run gives {}", "正确的运行结果是 {}"),
    LostUpdates => ("overwritten writes (rows marked !)", "被覆盖的写入（标 ! 的行）"),
    VerdictRight => ("correct", "正确"),
    VerdictWrong => ("wrong", "错误"),
    MissingEffect => ("missing effect: {} {}", "缺失的效果：{} {}"),
    HeldBy => ("held by", "持有者"),
    LockFree => ("free", "空闲"),
    Waiting => ("waiting", "等待中"),
    ProcessGroup => ("process {} ({})", "进程 {}（{}）"),
    GilNotHeld => ("not held", "无人持有"),
    BlockedOnLock => ("blocked on {}", "阻塞在 {} 上"),
    InJoinWaitsFor => ("in join, waits for {}", "在 join 中，等待 {} 结束"),
    CpyHeader => ("{} — CPython {} ({}), pid {}, {}", "{} —— CPython {}（{}），pid {}，{}"),
    CpyFree => (
        "free: the real GIL and the real timing decide",
        "自由运行：由真实的 GIL 和真实的时序决定"
    ),
    CpySeed => ("controlled by seed {}", "由种子 {} 控制"),
    CpySchedule => ("controlled by a schedule", "由调度串控制"),
    CpyTraced => (
        "Traced: every step of the program's own code is reported{}; this slows the program and changes how often races show.",
        "已跟踪：程序自身代码的每一步都会上报{}；这会让程序变慢，也会改变竞争出现的频率。"
    ),
    CpyWaits => (" and waits for its turn", "并等待轮到它"),
    CpyInterleaving => ("interleaving ({} steps):", "交错（{} 步）："),
    CpyNotShown => ("  … {} steps not shown …", "  …… 省略了 {} 步 ……"),
    CpyLine => ("line", "行"),
    CpyOutput => ("output:", "输出："),
    CpyGlobals => ("globals at the end: {}", "结束时的全局变量：{}"),
    CpyEnding => ("ending: {}", "结局：{}"),
    CpyFinished => ("finished, exit code {}", "已结束，退出码 {}"),
    CpyDeadlock => (
        "DEADLOCK: no thread can take a step, and not all are done",
        "死锁：没有线程能再走一步，而且并非都已结束"
    ),
    CpyTimedOut => ("stopped at --timeout", "在 --timeout 时被停止"),
    CpySchedLine => ("schedule: {}", "调度：{}"),
    CpyReplay => ("replay: {}", "重放：{}"),
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
    // The explore view (src/ui/explore_view.rs).
    HExplore => (
        "every outcome this program can end in, each with a run that shows it",
        "这个程序所有可能的结局，每个都附一次能重现它的运行"
    ),
    XTitle => (" every outcome — {} ({}) ", " 所有结局 — {}（{}） "),
    XRunning => (
        "searching every interleaving… {} explored so far",
        "正在搜索所有交错……已探索 {} 个"
    ),
    XSummary => (
        "{} outcomes, {} interleavings explored",
        "{} 种结局，探索了 {} 个交错"
    ),
    XComplete => ("complete: no other outcome is possible", "完整：不可能有别的结局"),
    XCancelled => ("incomplete: cancelled", "不完整：已取消"),
    XIncomplete => ("{}", "不完整（{}）"),
    XPrints => ("prints {}", "打印 {}"),
    XDeadlock => ("DEADLOCK", "死锁"),
    XNothing => ("no shared variables, nothing printed", "没有共享变量，也没有输出"),
    XNone => ("no run ended before the search stopped", "搜索停止前没有一次运行结束"),
    XWitness => (
        "run: {} · {} preemptions",
        "运行：{} · {} 次抢占"
    ),
    XSeed => ("run: seed {} · {} preemptions", "运行：种子 {} · {} 次抢占"),
    XKeys => (
        "↑↓ choose · Enter open this run stepped · Esc close",
        "↑↓ 选择 · Enter 单步打开这次运行 · Esc 关闭"
    ),
    XKeysRunning => ("Esc cancel the search", "Esc 取消搜索"),
    XOpened => (
        "outcome {}: its run, at step {}, where it leaves the most common run",
        "结局 {}：它的运行，停在第 {} 步，从这里与最常见的运行分开"
    ),
    SJobRunning => (
        "running to the end: {} events, {} events/s",
        "运行到结尾：{} 个事件，每秒 {} 个"
    ),
    SJobEta => (", about {} s left", "，大约还剩 {} 秒"),
    SJobCancelHint => (" (Esc stops)", "（Esc 停止）"),
    SJobCancelled => (
        "stopped at step {} (e goes on)",
        "已停在第 {} 步（按 e 继续）"
    ),
    // A long run keeps only its newest events (issue 13).
    InterleavingTitleDropped => (
        " interleaving · {} · … {} earlier events not kept, rows count from there ",
        " 交错执行 · {} · … 之前的 {} 个事件未保留，行号从这里数起 "
    ),
    InterleavingTitleDroppedShort => (
        " interleaving · {} earlier events not kept ",
        " 交错执行 · 之前 {} 个未保留 "
    ),
    // A moment for `>`/`<`: a pool worker takes its next task.
    MTaskReused => (
        "{} takes another task: the same worker process, the same PID",
        "{} 又领到一个任务：还是同一个工作进程，同一个 PID"
    ),
    // The interleaving's notes (src/trace/rows.rs); names and values stay as written.
    RRead => ("read {} = {}", "读到 {} = {}"),
    RWrote => ("wrote {} = {}", "写入 {} = {}"),
    RIsNone => ("it is None", "它是 None"),
    RNotNone => ("a task, not None", "是一个任务，不是 None"),
    RFalse => ("false", "条件为假"),
    RTrue => ("true", "条件为真"),
    RSent => ("sent {}", "发送了 {}"),
    REof => (
        "EOFError: nobody holds the other end any more",
        "EOFError：另一端已经没有人持有了"
    ),
    RReceived => ("received {}", "收到 {}"),
    RPut => ("put {}", "放入 {}"),
    RGot => ("got {}", "取出 {}"),
    RLocal => ("this thread's local.{} = {}", "本线程的 local.{} = {}"),
    RAcquired => ("acquired", "拿到了锁"),
    RReleased => ("released", "释放了锁"),
    REnds => ("ends (exit code {})", "结束（退出码 {}）"),
    RPoolStop => ("None (the pool's signal to stop)", "None（进程池让工作进程停下的信号）"),
    RAnd => (", ", "，"),
    RBlockedJoin => ("blocked: waits for {} to finish", "阻塞：等待 {} 结束"),
    RBlockedEmpty => ("blocked: the queue is empty", "阻塞：队列是空的"),
    RBlockedRecv => ("blocked: nothing to receive yet", "阻塞：还没有可以接收的东西"),
    RBlockedFull => ("blocked: the queue is full", "阻塞：队列已满"),
    RBlockedLock => ("blocked: {} is held", "阻塞：{} 已被别人持有"),
    RBlocked => ("blocked", "阻塞"),
    RWokenBy => ("woken by {}", "被 {} 唤醒"),
    RWakes => ("wakes up", "醒来"),
    RDeadlock => ("DEADLOCK: {}", "死锁：{}"),
    RKilled => ("killed by a signal (exit code {})", "被信号杀死（退出码 {}）"),
    RException => ("ends by an exception (exit code {})", "因异常结束（退出码 {}）"),
    RForeverRecv => (
        "waits forever in {}.recv(): nobody left can send, yet the other end is still open, so no EOFError comes",
        "永远等在 {}.recv() 里：已经没有人能发送，但另一端仍然开着，所以也不会出现 EOFError"
    ),
    RForeverGet => (
        "waits forever in get(): the queue is empty and nobody left can put",
        "永远等在 get() 里：队列是空的，也没有人能再放入"
    ),
    RForeverPut => (
        "waits forever in put(): the queue is full and nobody left can get",
        "永远等在 put() 里：队列已满，也没有人能再取出"
    ),
    RForeverJoin => ("waits forever for {} to finish", "永远等待 {} 结束"),
    RForeverLock => ("waits forever for {}, held by {}", "永远等待 {}，它被 {} 持有"),
    RALock => ("a lock", "一把锁"),
    RForeverFor => ("waits for {} forever", "永远等待 {}"),
    RForever => ("waits forever", "永远等待"),
    // Why the simulator refuses a step (src/sim), and the run's own refusals.
    XNoSuchActor => ("there is no actor {}", "没有编号为 {} 的执行者"),
    XNotStarted => ("{} has not been started yet", "{} 还没有被启动"),
    XDone => ("{} has finished", "{} 已经结束了"),
    XBlockedOnLock => (
        "{} is blocked: it waits for {}, held by {}",
        "{} 被阻塞：它在等 {}，这把锁被 {} 持有"
    ),
    XBlockedOnJoin => (
        "{} is blocked in join: it waits for {} to finish",
        "{} 阻塞在 join 里：它在等 {} 结束"
    ),
    XQueueFull => (
        "{} is blocked: {} is full; it waits for a get",
        "{} 被阻塞：{} 已满，它在等别人取走一项"
    ),
    XQueueEmpty => (
        "{} is blocked: {} is empty; it waits for another process to put or send something",
        "{} 被阻塞：{} 是空的，它在等另一个进程放入或发送点什么"
    ),
    XSleeping => (
        "{} is sleeping until t={} ms; step the others first",
        "{} 在睡眠，直到 t={} 毫秒；请先让其他执行者走"
    ),
    XGilHeld => (
        "{} waits for the GIL: {} holds it and, under {}, may only let go at a call or a loop back-edge",
        "{} 在等 GIL：{} 持有它，而在 {} 下只能在函数调用或循环回跳处放手"
    ),
    XFinished => ("the run has finished", "运行已经结束了"),
    SAlreadyAtStart => ("already at the start", "已经在开头了"),
    // The CLI's text report (src/export/text.rs).
    TStepped => ("stepped", "单步模拟"),
    // The deadlock section: a thread in join() waits for one that never ends.
    TWaitsJoin => ("waits for {} to finish", "等待 {} 结束"),
    TNotKept => (
        "… {} earlier events not kept: the rows are those of the last {} events, counted from there",
        "… 之前的 {} 个事件未保留：下面的行是最后 {} 个事件，从那里数起"
    ),
    TLive => ("live", "实时运行"),
    TNothingPrinted => ("(nothing printed)", "（什么都没有打印）"),
    TTableSize => ("({} events, {} rows, {} steps)", "（{} 个事件，{} 行，按 {} 单步）"),
    TCorrectGives => ("   (a correct run gives {})", "   （正确的运行得到 {}）"),
    TStopped => (
        "the run did not end in time and was stopped",
        "运行没有按时结束，已被停下"
    ),
    TSeed => ("seed: {}", "种子：{}"),
    TRealProcesses => ("real processes", "真实的进程"),
    TRealThreads => ("real threads", "真实的线程"),
    TLiveRun => (
        "live run on {}: {} ms wall time; a live run is not replayable, its trace is what happened",
        "在{}上实时运行：实际耗时 {} 毫秒；实时运行无法重放，它的轨迹就是实际发生的事"
    ),
    TSchedule => ("schedule: {}", "调度：{}"),
    TScheduleLong => (
        "schedule: {} characters long; `--format jsonl` carries it whole",
        "调度：长 {} 个字符；`--format jsonl` 会完整给出"
    ),
    TScheduleLongGiven => (
        "schedule: {} characters long; the schedule given replays it",
        "调度：长 {} 个字符；给定的调度就能重放它"
    ),
    TScheduleLongSeed => (
        "schedule: {} characters long; the seed replays it",
        "调度：长 {} 个字符；用种子就能重放它"
    ),
    TAgain => ("again: {}", "再运行一次：{}"),
    TVerdict => ("verdict: {} ({}): {}", "判定：{}（{}）：{}"),
    TElided => ("… {} rows elided …", "… 省略了 {} 行 …"),
    TThreadLocals => (
        "threading.local(), one dictionary per thread:",
        "threading.local()，每个线程一个字典："
    ),
    TDeadlock => ("DEADLOCK: no thread can ever run again", "死锁：再也没有线程能运行"),
    TWaitsFor => ("waits for {}", "等待 {}"),
    THeldBy => (" (held by {})", "（被 {} 持有）"),
    THolds => ("holds {}, ", "持有 {}，"),
    TAnd => (" and ", " 和 "),
    // Why an exploration stopped short (src/explore), inside "incomplete (…)".
    XStopBudget => (
        "incomplete: stopped after {} executions (--budget)",
        "执行 {} 次后停下（--budget）"
    ),
    XStopTime => (
        "incomplete: stopped after {} s (--time-limit)",
        "{} 秒后停下（--time-limit）"
    ),
    XStopBound => (
        "incomplete: at most {} preemptions per run; {} branches with more were not explored",
        "每次运行最多抢占 {} 次；抢占更多的 {} 个分支没有探索"
    ),
    XStopUnsupported => ("not searched: {}", "没有搜索：{}"),
    KReplay => ("replay stepped", "单步重放"),
    HReplay => (
        "after a live run: replay it stepped (the same reads and writes), at its first lost update",
        "实时运行结束后：单步重放它（读写完全相同），停在第一次丢失更新处"
    ),
    RReplayLost => (
        "the live run, replayed stepped{}: the same reads and writes; at step {}, its first lost update",
        "单步重放的实时运行{}：读写完全相同；停在第 {} 步，第一次丢失更新处"
    ),
    RReplayClean => (
        "the live run, replayed stepped{}: the same reads and writes; it lost no update",
        "单步重放的实时运行{}：读写完全相同；没有丢失更新"
    ),
    RReplayGilFree => (" (gil=free: a live thread switched where gil-modern would not)", "（gil=free：实时线程在 gil-modern 不允许的地方切换了）"),
    RReplayNone => ("no stepped replay: {}", "无法单步重放：{}"),
    TourAllOutcomes => (
        "These are all the ways this program can end, at these knobs ({}):",
        "在当前旋钮下，这个程序所有可能的结局（共 {} 种）："
    ),
    TourAllPending => (
        "Finding every way this program can end…",
        "正在找出这个程序所有可能的结局……"
    ),
    TourAllMore => ("… and {} more (x lists them all)", "……还有 {} 种（按 x 可以全部列出）"),
    RReplayNotYet => (
        "R replays a live run stepped once it has ended",
        "实时运行结束后，按 R 可以单步重放它"
    ),
    SCopyTooLong => (
        "nothing copied: steps were picked by hand, and this run's schedule has more than {} runs, too long for a command line (step back before your first own step to copy its seed)",
        "没有复制：有些步骤是手动选的，而这次运行的调度超过 {} 段，命令行放不下（退回到你第一次手动选步之前，就能复制它的种子）"
    ),
    // The replay lines of a live run's text report (src/export/text.rs).
    TRecLiveRun => ("live run on {}: {} ms wall time", "在{}上实时运行：实际耗时 {} 毫秒"),
    TRecLost => (
        "lost updates, from which write each read saw: {}",
        "丢失的更新（按每次读取读到的是哪次写入来数）：{}"
    ),
    TRecReplay => (
        "replay it stepped (the same reads, writes and lost updates): interleave run {}{} --schedule S, with S the schedule below",
        "单步重放它（读、写和丢失的更新都相同）：interleave run {}{} --schedule S，S 是下面的调度"
    ),
    TRecNone => ("replay unavailable: {}", "无法重放：{}"),
    // Why a live run has no stepped replay (live::record::NoReplay).
    RpRecordTooLong => (
        "run too long: a thread or process made more than {} shared reads, writes, acquisitions and prints",
        "运行太长：某个线程或进程的共享读、写、加锁和打印超过了 {} 次"
    ),
    RpReplayTooLong => (
        "run too long: its replay would pass 100 million steps",
        "运行太长：重放它要超过一亿步"
    ),
    RpNotRecorded => (
        "its processes do {}, which their record does not hold",
        "它的进程执行了 {}，记录里没有这类操作"
    ),
    RpLogMissing => (
        "{} ended before it handed in its record",
        "{} 在交出记录之前就结束了"
    ),
    RpStopped => ("the run was stopped before it ended", "运行在结束之前被停下了"),
    RpDidMore => (
        "the record does not match the program: an actor did more than it recorded",
        "记录与程序对不上：某个执行者做的比记录的多"
    ),
    RpOtherPath => (
        "the record does not match the program: an actor took another path",
        "记录与程序对不上：某个执行者走了另一条路径"
    ),
    RpEndedEarly => (
        "the record does not match the program: the replay ended before the record",
        "记录与程序对不上：重放在记录之前就结束了"
    ),
    RpCannotFollow => (
        "the stepped model cannot follow this run (no actor may take its next step)",
        "单步模型跟不上这次运行（没有哪个执行者能走下一步）"
    ),
    RpSleepOrder => (
        "live, two sleeps ended in another order than the stepped model's virtual time ends them",
        "实际运行中两次 sleep 结束的先后，与单步模型的虚拟时间给出的先后不同"
    ),
    RpOverlap => (
        "two processes used {} at the same moment (a read or a write overlapped a write), so the record cannot tell which write a read saw",
        "两个进程在同一时刻用了 {}（一次读或写与另一次写重叠），记录分不清读到的是哪一次写"
    ),
    // `C`: the stepped schedule on a real CPython.
    HCompare => (
        "run this stepped schedule again on a real CPython (python3 on PATH) and say whether it agrees",
        "在真实的 CPython 上按这个单步调度再跑一遍，看结果是否一致"
    ),
    SCmpRunning => (
        "running this schedule on {} (traced: slower, one step at a time)…",
        "正在 {} 上按这个调度运行（被跟踪：更慢，一次一步）…"
    ),
    SCmpAgrees => (
        "CPython {} agrees: {}, same output, same {} shared steps",
        "CPython {} 与模拟器一致：{}，输出相同，{} 个共享步骤相同"
    ),
    SCmpDisagrees => (
        "CPython {} disagrees with the simulator: {}",
        "CPython {} 与模拟器不一致：{}"
    ),
    SCmpFailed => ("could not run {}: {}", "无法运行 {}：{}"),
    SCmpNoPython => (
        "no python3 on PATH: install CPython 3.8+ to compare; all else works without it",
        "PATH 上没有 python3：安装 CPython 3.8+ 才能对比；其余功能照常"
    ),
    SCmpLive => (
        "C compares a stepped run: press m for stepped mode",
        "C 对比的是单步运行：按 m 切换到单步模式"
    ),
    SCmpTooManySteps => (
        "this run has {} events; C steps at most {} on CPython: lower iterations (k) and try again",
        "这次运行有 {} 个事件；C 最多在 CPython 上单步 {} 个：先调低 iterations（按 k）再试"
    ),
    SCmpBothDeadlock => ("both deadlock", "两边都死锁了"),
    SCmpSameEnd => ("the same ending", "同样的结局"),
    SCmpTooLong => (
        "this run's schedule is too long to run again on CPython",
        "这次运行的调度太长，无法在 CPython 上重跑"
    ),
    // The buffering lesson: a print into the process's stdout buffer, a flush.
    RBuffered => ("buffered: {} bytes wait", "进了缓冲区：{} 字节在等待"),
    RBufferOut => ("the buffer went out", "缓冲区写出去了"),
    RBufferEmpty => ("nothing buffered", "缓冲区是空的"),
    StdoutBuffer => ("stdout buffer", "stdout 缓冲区"),
    // threading.Condition (issue 16).
    XWaitingForNotify => (
        "{} waits in {}.wait(): it goes on only after another thread calls notify",
        "{} 在 {}.wait() 里等待：只有别的线程调用 notify 之后它才能继续"
    ),
    RWaitNotify => ("waits for a notify on {}", "等待 {} 上的 notify"),
    RForeverNotify => (
        "waits forever for a notify on {}: nobody is left to call it",
        "永远等待 {} 上的 notify：已经没有线程会调用它了"
    ),
    RNotified => ("woke {} waiter(s)", "唤醒了 {} 个等待者"),
    RCondReleased => ("released {}, waits to be notified", "释放了 {}，等待被通知"),
    InWait => ("in wait()", "在 wait() 中"),
    StWaitingNotify => ("waiting for a notify", "等待 notify"),
    // The cpython engine in the playground (issue 17).
    SCpyOver => ("the CPython program has ended: r runs it again", "CPython 程序已结束：按 r 重新运行"),
    SCpyBusy => (
        "CPython is still taking the last step",
        "CPython 还在执行上一步"
    ),
    SCpyGone => ("the CPython run has stopped", "CPython 运行已停止"),
    SCpyCannot => ("CPython: {}", "CPython：{}"),
    SCpyOn => (
        "engine: real CPython ({}); E goes back to the simulator",
        "引擎：真实的 CPython（{}）；按 E 回到模拟器"
    ),
    SCpyOff => ("engine: the simulator", "引擎：模拟器"),
    SCpyNoPython => (
        "no python3 on PATH: install CPython 3.8+ (python.org, your package manager, or pyenv) or start with --python PATH; all else works without it",
        "PATH 上没有 python3：安装 CPython 3.8+（python.org、系统包管理器或 pyenv），或用 --python PATH 启动；其余功能照常"
    ),
    SCpyCannotStart => ("cannot run this on CPython: {}", "无法在 CPython 上运行：{}"),
    HeadCpython => ("real CPython {}", "真实的 CPython {}"),
    CpyCostNote => (
        "traced: every step reports to interleave, so the program runs slower and races happen at other rates than untraced",
        "已插桩：每一步都报告给 interleave，所以程序变慢，竞态出现的频率也与未插桩时不同"
    ),
    HEngine => (
        "the engine: the simulator or the real CPython (the first python3 on PATH)",
        "引擎：模拟器，或真实的 CPython 解释器（默认用环境变量中找到的那个）"
    ),
    CpyCostShort => ("traced: slower, other race rates", "已插桩：更慢，竞态频率不同"),
    // asyncio (issue 16): the tasks of one event loop.
    XLoopHeld => (
        "{} waits for the event loop: {} runs and has not reached an await that gives the loop back",
        "{} 在等事件循环：{} 正在运行，还没有走到一个交出事件循环的 await"
    ),
    RAioYield => (
        "gives the event loop back: another ready task may run",
        "交出事件循环：别的就绪任务可以运行了"
    ),
    RAioSleep => (
        "sleeps {} s; the event loop runs the other tasks meanwhile",
        "睡 {} 秒；这期间事件循环运行别的任务"
    ),
    RAioBlock => (
        "blocks the whole event loop for {} s: no other task can run",
        "让整个事件循环阻塞 {} 秒：别的任务都不能运行"
    ),
    LoopTitle => ("event loop ", "事件循环 "),
    LoopWords => (
        "one thread: tasks switch only at an await",
        "一个线程：任务只在 await 处切换"
    ),
    // The state panel: one process's own copy of a variable (the memory lesson).
    VarInProcess => ("{} in {}", "{}（在 {} 中）"),
    // threading.Barrier (issue 16, lesson `barrier`).
    XWaitingAtBarrier => (
        "{} waits in {}.wait(): it goes on once every party has arrived, or the barrier breaks",
        "{} 在 {}.wait() 里等待：要等所有参与者都到齐，或者屏障被打破，它才能继续"
    ),
    XBarrierDrains => (
        "{} waits to enter {}.wait(): the parties of the last round have not all left it yet",
        "{} 在等待进入 {}.wait()：上一轮的参与者还没有全部离开"
    ),
    RWaitBarrier => ("waits at {} for the other parties", "在 {} 处等待其他参与者"),
    RBarrierDrains => (
        "waits for the last round to leave {}",
        "等待上一轮的参与者离开 {}"
    ),
    RForeverBarrier => (
        "waits forever at {}: no party is left to arrive",
        "永远等在 {} 处：已经没有参与者会再到达了"
    ),
    RBarrierArrived => ("arrived, index {}", "到达，序号 {}"),
    RBarrierPassed => ("the barrier tripped: passes", "屏障放行：通过"),
    RBarrierBroken => (
        "BrokenBarrierError: the barrier is broken",
        "BrokenBarrierError：屏障已被打破"
    ),
    RBarrierAborted => ("broke {}", "打破了 {}"),
    InBarrier => ("waiting at it", "在此等待"),
    StWaitingBarrier => ("waiting at a barrier", "在屏障处等待"),
    // threading.Semaphore and threading.Event (issue 16).
    XWaitingForRelease => (
        "{} waits in {}.acquire(): the counter is 0; it goes on after another worker releases",
        "{} 在 {}.acquire() 里等待：计数是 0；要等别的工人释放之后它才能继续"
    ),
    XWaitingForSet => (
        "{} waits in {}.wait(): it goes on only after another thread calls set()",
        "{} 在 {}.wait() 里等待：只有别的线程调用 set() 之后它才能继续"
    ),
    RSemIs => ("{} is now {}", "{} 现在是 {}"),
    REventSet => ("{} is set: every waiter wakes", "{} 被设置：所有等待者都醒来"),
    REventClear => ("{} is cleared", "{} 被清除"),
    RWaitSem => ("waits: {} is 0", "等待：{} 是 0"),
    RWaitEvent => ("waits for {}.set()", "等待 {}.set()"),
    RForeverSem => (
        "waits forever: {} stays 0, nobody is left to release it",
        "永远等待：{} 一直是 0，已经没有线程会释放它了"
    ),
    RForeverEvent => (
        "waits forever for {}.set(): nobody is left to call it",
        "永远等待 {}.set()：已经没有线程会调用它了"
    ),
    InAcquire => ("in acquire()", "在 acquire() 中"),
    StWaitingSem => ("waiting for a release", "等待释放"),
    StWaitingEvent => ("waiting for set()", "等待 set()"),
    SCmpDeclared => ("declared: {}", "课程已声明的差异：{}"),
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
        // CJK ideographs, or CJK and full-width punctuation (a Chinese comma).
        s.chars().any(|c| {
            ('\u{4e00}'..='\u{9fff}').contains(&c)
                || ('\u{3000}'..='\u{303f}').contains(&c)
                || ('\u{ff00}'..='\u{ffef}').contains(&c)
        })
    }

    #[test]
    fn every_message_has_english_and_chinese_with_the_same_placeholders() {
        // A name that stays as it is, and the key that names the other language.
        let not_translated = [Msg::KGil, Msg::KLang];
        for m in Msg::ALL {
            let (en, zh) = m.pair();
            assert!(!en.trim().is_empty(), "{m:?} has no English");
            assert!(
                has_cjk(zh) || not_translated.contains(m),
                "{m:?} has no Chinese: {zh:?}"
            );
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
