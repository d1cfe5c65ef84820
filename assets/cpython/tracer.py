# interleave's tracer: runs one Python program on this interpreter and reports, step by
# step, what its threads do, over a pipe to the playground (the controller).
#
#   python3 tracer.py PROGRAM.py
#
# Environment:
#   INTERLEAVE_EVENTS_FD   fd to write events to (one line each, tab-separated)
#   INTERLEAVE_COMMANDS_FD fd to read commands from (controlled mode)
#   INTERLEAVE_MODE        free (run on its own, recorded) | controlled (every step waits)
#   INTERLEAVE_GRANULARITY bytecode (a step is one opcode) | line (one source line)
#   INTERLEAVE_SOCKET      a Unix socket the controller listens on: each child process
#                          (os.fork, multiprocessing with fork) connects to it at the
#                          fork and speaks this protocol on it, for its own threads;
#                          one multiprocessing starts with spawn or forkserver connects
#                          when it starts (sitecustomize.py, on PYTHONPATH)
#   INTERLEAVE_TRACER      this file, for sitecustomize.py to load
#   INTERLEAVE_SITE        the folder sitecustomize.py is in (first on PYTHONPATH)
#   INTERLEAVE_SUBPROCESS  set by a traced process for a Python program it runs by
#                          subprocess: "run" (its stdout is the run's output) or "own"
#   INTERLEAVE_PROGRAM, INTERLEAVE_PARENT  set by the tracer for its spawned children:
#                          the program's path, and the PID of the traced process
#
# Events, tracer -> controller ("T" is a thread's index: 0 is MainThread, then the
# threads in the order they were started):
#   hello VERSION PID [KEY]        at start; a child process names itself by KEY
#   fork T KEY CT                  T forks a child process KEY ("0.1": the root's first
#                                  fork); in the child, thread CT goes on from the fork
#   new T BY                       thread BY just started T: expect it to stop soon
#   thread T NAME                  T runs, with this name
#   at T LINE OP ARG               T stands before a step (OP is "" by lines)
#   read T NAME VALUE              T's step read a global
#   wrote T NAME VALUE             T's last step wrote a global
#                                  (read/wrote of a file the program opened: NAME as
#                                  it named the file, VALUE what a read returned, or
#                                  the whole file once a write reached it: _File)
#   out T TEXT                     T wrote TEXT to stdout
#   blocked T lock L | join U      T cannot go on until lock L is free / U is done
#   blocked T pjoin KEY            T waits in Process.join() (or Popen.wait()) for
#                                  process KEY to end
#   blocked T poll WHAT            T found nothing to read in a pipe (WHAT: Connection.recv)
#                                  and waits to look again, after another step
#   blocked T io WHAT              T waits in a library call (WHAT: Queue.get, ...)
#                                  on another process; it comes back by itself:
#   unblocked T                    the call returned; T runs on to its next step
#   acquired T L / released T L    lock L changed hands
#   done T                         T's function returned (or raised)
#   final NAME VALUE               a global's value at the end of the main program
#   exit CODE                      the main program ended
#   pid KEY PID                    child KEY (spawn, forkserver, a Python program run
#                                  by subprocess) has this PID; it says hello with the
#                                  key pPID, not knowing KEY
#   child T KEY PID NAME           T started program NAME (subprocess), not Python: not traced
#   cout KEY TEXT                  that program wrote TEXT to the stdout it inherited
#   cdone KEY CODE                 that program was reaped: it exited with CODE
#   refuse MESSAGE                 this interpreter cannot run the program so
# Commands, controller -> tracer (controlled mode):
#   go T                           T runs its next step (or, blocked, tries again)
#   end                            every thread is done: nobody waits any more
#
# Only code in PROGRAM.py is stepped; the standard library runs between steps. Thread
# indices and lock ids are per process: the controller tells processes apart by their
# connection. A process that has connected sends nothing when it ends: its connection
# closes.
import _thread
import dis
import io
import os
from select import select as _select
import sys
import threading
import time
import types

MODE = os.environ.get('INTERLEAVE_MODE', 'free')
GRANULARITY = os.environ.get('INTERLEAVE_GRANULARITY', 'bytecode')
CONTROLLED = MODE == 'controlled'
# Imported (by the sitecustomize.py next to it) in a process multiprocessing started
# with spawn or forkserver: that process has no pipes of ours and connects at once.
_IMPORTED = __name__ != '__main__'
_os_exit = os._exit
_events = None if _IMPORTED else os.fdopen(int(os.environ.get('INTERLEAVE_EVENTS_FD', '2')), 'w', encoding='utf-8')
_write_lock = _thread.allocate_lock()
_clock = getattr(time, 'perf_counter_ns', None) or (lambda: int(time.perf_counter() * 1e9))
_t0 = _clock()


def _clean(value):
    text = value if type(value) is str else str(value)
    # Most fields are names and numbers: escape only when there is something to escape.
    if '\\' in text or '\t' in text or '\n' in text or '\r' in text:
        text = text.replace('\\', '\\\\').replace('\t', '\\t').replace('\n', '\\n').replace('\r', '\\r')
    return text


def emit(*fields):
    line = '%s\t%d\n' % ('\t'.join([_clean(f) for f in fields]), _clock() - _t0)
    with _write_lock:
        _events.write(line)
        # Controlled, the thread holding the token writes its events out just before
        # it waits for the next command (one write a step, not one an event); every
        # other thread writes at once, as the controller may be waiting for it.
        if not CONTROLLED or _all_free[0] or _token[0] != me():
            _events.flush()


def _emit_at(t, line, opname, arg):
    """emit('at', t, line, opname, arg) for the step every traced opcode reports:
    its fields need no escaping (numbers, an opcode's name, a global's name), so the
    line is made in one go, 2-3 µs a step less than emit() (3.8, 3.12)."""
    text = 'at\t%d\t%s\t%s\t%s\t%d\n' % (t, line, opname, arg, _clock() - _t0)
    with _write_lock:
        _events.write(text)
        if not CONTROLLED or _all_free[0] or _token[0] != t:
            _events.flush()


def _send():
    with _write_lock:
        _events.flush()


def show(value):
    """A global's value as the state panel shows it: simple values only."""
    if isinstance(value, (bool, int, float, str, type(None))):
        text = repr(value)
    elif isinstance(value, (list, tuple, dict, set)) and len(value) <= 8:
        text = repr(value)
    else:
        return None
    return text if len(text) <= 80 else text[:77] + '...'


# --- threads: an index each, a gate each -------------------------------------------
_index = {}          # thread ident -> index
_gates = {}          # index -> a lock used as a gate (acquired by the thread to wait)
_next_index = [1]
_index[threading.get_ident()] = 0


def me():
    return _index.get(threading.get_ident(), -1)


_gates_lock = _thread.allocate_lock()


def _gate(t):
    with _gates_lock:
        g = _gates.get(t)
        if g is None:
            g = _gates[t] = _thread.allocate_lock()
            g.acquire()
        return g


# Controlled mode passes a token: the thread that took the last step reads the
# controller's next command itself. When the command is its own index it goes on with
# no thread switch at all; otherwise it opens that thread's gate, hands it the token
# and waits at its own gate.
_token = [0]
_all_free = [False]
_command_fd = -1 if _IMPORTED else int(os.environ.get('INTERLEAVE_COMMANDS_FD', '0'))
_command_buf = [b'']


# Before a blocking read of the next command, a thread looks for it up to _SPIN times
# without sleeping (the controller sets INTERLEAVE_SPIN): the answer comes within
# microseconds, and waking from a sleeping read costs more than that on a virtual
# machine (benches/cpython.rs). Spinning only pays while a core is free for the
# controller: it is not done when more threads are runnable than there are cores
# (/proc/loadavg, looked at every 32 reads), nor for 64 reads after 3 spins in a
# row found nothing.
_SPIN = int(os.environ.get('INTERLEAVE_SPIN', '0'))
_last_go = [-1]      # the thread the last command let go on, -1 after a hand-over
_spun = [0, 0, 0]    # spins in a row that found nothing, reads left at rest, reads to the next look at the load
try:
    _CORES = len(os.sched_getaffinity(0))
except (AttributeError, OSError):
    _CORES = os.cpu_count() or 1


def _cores_free():
    """Whether no more threads are runnable on the machine than it has cores."""
    try:
        fd = os.open('/proc/loadavg', os.O_RDONLY)
        try:
            running = int(os.read(fd, 128).split()[3].split(b'/')[0])
        finally:
            os.close(fd)
    except (OSError, ValueError, IndexError):
        return False
    return running <= _CORES


def _spin():
    """Looks for the controller's next command a few times without sleeping."""
    s = _spun
    if s[2] <= 0:
        s[2] = 32
        if not _cores_free():
            s[1] = 32
    s[2] -= 1
    if s[1]:
        s[1] -= 1
        return
    try:
        for _ in range(_SPIN):
            if _select([_command_fd], (), (), 0)[0]:
                s[0] = 0
                return
    except (OSError, ValueError):
        return
    s[0] += 1
    if s[0] >= 3:
        s[0] = 0
        s[1] = 64


def _read_command(t=None):
    """The controller's next command. `t`: the thread that reads it, which spins
    first (_spin) only if the last command let it go on: after a hand-over the
    controller answers later (it does not spin then either)."""
    if b'\n' not in _command_buf[0]:
        _send()
    while b'\n' not in _command_buf[0]:
        if _SPIN and t is not None and _last_go[0] == t:
            _spin()
        chunk = os.read(_command_fd, 4096)
        if not chunk:
            return ''
        _command_buf[0] += chunk
    line, _, rest = _command_buf[0].partition(b'\n')
    _command_buf[0] = rest
    return line.decode('utf-8')


def _dispatch(t):
    """t holds the token: carry out the next command. True when t itself goes on."""
    parts = _read_command(t).split()
    if len(parts) == 2 and parts[0] == 'go':
        u = int(parts[1])
        # A thread handed the turn reads its next command without spinning first.
        _last_go[0] = u if u == t else -1
        if u == t:
            return True
        _token[0] = u
        _gate(u).release()
        return False
    # `end` (every thread is done), or the controller is gone: nobody waits any more.
    _all_free[0] = True
    for g in list(_gates.values()):
        if g.locked():
            g.release()
    return True


def runner(t):
    """Whether t holds the token. Asked before t reports a stop: once it has, the
    token may be handed to t for its next step, and that arrives through its gate."""
    return _token[0] == t


def wait_turn(t, was_runner):
    if not CONTROLLED or _all_free[0]:
        return
    if was_runner and _dispatch(t):
        return
    _gate(t).acquire()


_in_io = set()       # idents of the threads inside a library call that waits


def _io_call(what, fn, args, kwargs, inner=False):
    """A library call that may wait for another process (a queue's get, a pipe's
    recv): the thread says it is blocked, and says so again when the call returns. It
    cannot read the controller's commands while it waits, so if it holds the token a
    stand-in thread takes the next command for this process and hands the token on.
    `inner`: the calls inside this one report their own waits (a child process that
    runs a library function, which may call the program's and wait in its turn)."""
    t = me()
    ident = threading.get_ident()
    if t < 0 or ident in _in_io:
        return fn(*args, **kwargs)
    if not inner:
        _in_io.add(ident)
    stand_in = CONTROLLED and not _all_free[0] and runner(t)
    if stand_in:
        _token[0] = -2
    emit('blocked', t, 'io', what)
    if stand_in:
        _thread.start_new_thread(_dispatch, (-2,))
    try:
        return fn(*args, **kwargs)
    finally:
        _in_io.discard(ident)
        emit('unblocked', t)


def hand_over(t, was_runner):
    """t is done: it passes the next command on before it leaves."""
    if CONTROLLED and not _all_free[0] and was_runner:
        _dispatch(t)


# --- stepping: settrace (3.7-3.11) or sys.monitoring (3.12+) ------------------------
_program_file = None
_info = {}           # code -> {offset: (line, opname, argname)}
_pending_write = {}  # thread index -> global name its last step stores


def _code_info(code):
    info = _info.get(code)
    if info is None:
        info = {}
        line = code.co_firstlineno
        for ins in dis.get_instructions(code):
            pos = getattr(ins, 'positions', None)
            if pos is not None and pos.lineno is not None:
                line = pos.lineno
            elif isinstance(ins.starts_line, int) and not isinstance(ins.starts_line, bool):
                line = ins.starts_line
            arg = ins.argval if ins.opname in _GLOBAL_OPS else ''
            info[ins.offset] = (line, ins.opname, arg)
        _info[code] = info
    return info


_GLOBAL_OPS = {'LOAD_GLOBAL', 'STORE_GLOBAL', 'LOAD_NAME', 'STORE_NAME'}


def _step(code, globals_, line, opname, arg):
    """The thread stands before a step: report it, wait for its turn, and report
    what the step reads."""
    t = me()
    if t < 0:
        return
    name = _pending_write.pop(t, None)
    if name is not None and name in globals_:
        v = show(globals_[name])
        if v is not None:
            emit('wrote', t, name, v)
    was_runner = runner(t)
    _emit_at(t, line, opname, arg)
    wait_turn(t, was_runner)
    if opname in ('LOAD_GLOBAL', 'LOAD_NAME') and arg in globals_:
        v = show(globals_[arg])
        if v is not None:
            emit('read', t, arg, v)
    elif opname in ('STORE_GLOBAL', 'STORE_NAME') and (
            opname == 'STORE_GLOBAL' or code is _main_code
            or (_main_code is None and code.co_name == '<module>')):
        _pending_write[t] = arg


_main_code = None
_main_globals = None


def _local_trace(frame, event, arg):
    code = frame.f_code
    if event == 'opcode':
        line, opname, name = _code_info(code).get(frame.f_lasti, (frame.f_lineno, '?', ''))
        _step(code, frame.f_globals, line, opname, name)
    elif event == 'line' and GRANULARITY == 'line':
        _step(code, frame.f_globals, frame.f_lineno, '', '')
    return _local_trace


def _global_trace(frame, event, arg):
    if frame.f_code.co_filename != _program_file:
        return None
    if GRANULARITY == 'bytecode':
        frame.f_trace_opcodes = True
        frame.f_trace_lines = False
    return _local_trace


def _all_codes(code):
    yield code
    for c in code.co_consts:
        if isinstance(c, types.CodeType):
            yield from _all_codes(c)


def _install_monitoring(top):
    """3.12+: sys.settrace instruments a code object lazily, and the first call of it
    misses its opcode events; sys.monitoring, set on every code object of the program
    before it runs, has no such gap. `top` None: a spawned child, whose program is
    compiled later (by multiprocessing, as __mp_main__): every code object is watched,
    and one that is not the program's is let go for good at its first event."""
    mon = sys.monitoring
    tool = mon.DEBUGGER_ID
    mon.use_tool_id(tool, 'interleave')
    if GRANULARITY == 'bytecode':
        event = mon.events.INSTRUCTION

        def on_instruction(code, offset):
            line, opname, name = _code_info(code).get(offset, (0, '?', ''))
            _step(code, _main_globals, line, opname, name)

        def on_any_instruction(code, offset):
            if code.co_filename != _program_file:
                return mon.DISABLE
            line, opname, name = _code_info(code).get(offset, (0, '?', ''))
            _step(code, sys._getframe(1).f_globals, line, opname, name)
        mon.register_callback(tool, event, on_instruction if top is not None else on_any_instruction)
    else:
        event = mon.events.LINE

        def on_line(code, line):
            _step(code, _main_globals, line, '', '')

        def on_any_line(code, line):
            if code.co_filename != _program_file:
                return mon.DISABLE
            _step(code, sys._getframe(1).f_globals, line, '', '')
        mon.register_callback(tool, event, on_line if top is not None else on_any_line)
    if top is None:
        mon.set_events(tool, event)
        return
    for code in _all_codes(top):
        mon.set_local_events(tool, code, event)


def _start_tracing():
    if not hasattr(sys, 'monitoring'):
        sys.settrace(_global_trace)


# --- the library calls a step can block in ------------------------------------------
_RealThread = threading.Thread
_lock_ids = [0]


def _lock_factory():
    """threading.Lock(): a reporting lock when the program asks, the plain one when the
    standard library does (its Events and Conditions are not the program's steps)."""
    if sys._getframe(1).f_code.co_filename == _program_file:
        return TracedLock()
    return _thread.allocate_lock()


class TracedLock:
    """threading.Lock, reporting who holds it and who waits (controlled mode waits for
    the controller before each retry, so the order of acquisitions is its choice)."""

    def __init__(self):
        self._lock = _thread.allocate_lock()
        _lock_ids[0] += 1
        self.id = 'L%d' % _lock_ids[0]

    def acquire(self, blocking=True, timeout=-1):
        t = me()
        while True:
            if self._lock.acquire(False):
                emit('acquired', t, self.id)
                return True
            if not blocking:
                return False
            if not CONTROLLED:
                if timeout < 0:
                    emit('blocked', t, 'lock', self.id)
                got = self._lock.acquire(True, timeout)
                if got:
                    emit('acquired', t, self.id)
                return got
            was_runner = runner(t)
            emit('blocked', t, 'lock', self.id)
            wait_turn(t, was_runner)

    def release(self):
        self._lock.release()
        emit('released', me(), self.id)

    def locked(self):
        return self._lock.locked()

    def _is_owned(self):
        # What Condition asks of its lock; without it, Condition would find out
        # by an acquire(False) and a release, two steps the program never took.
        return self._lock.locked()

    __enter__ = acquire

    def __exit__(self, *exc):
        self.release()


# --- the program's Conditions, Events, Barriers and Semaphores -----------------------
# Controlled, a thread that waits in one of them (Condition.wait, which Event.wait,
# Barrier.wait and Semaphore.acquire wait in) says so: the controller sees it blocked
# until another thread's notify() frees it, instead of a thread that never stops. The
# objects are CPython's own; only the lock a waiter sleeps on is ours. A Condition the
# program makes without a lock gets a reporting RLock: `with cond:` is a lock step.
_THREADING_FILE = threading.__file__
_RealCondition = threading.Condition
_cond_wait_code = _RealCondition.wait.__code__
_waiter_ids = [0]


def _made_by_program(depth, obj):
    """Whether `obj`, being made `depth` frames up, is made by the program: past the
    __init__s of obj's own classes in threading.py (a BoundedSemaphore's calls
    Semaphore's), the caller is the program's code. An Event a Thread makes for
    itself is the library's."""
    f = sys._getframe(depth + 1)
    while (f is not None and f.f_code.co_filename == _THREADING_FILE
           and f.f_code.co_name == '__init__' and f.f_locals.get('self') is obj):
        f = f.f_back
    return f is not None and f.f_code.co_filename == _program_file


class TracedRLock:
    """threading.RLock for a Condition the program made: reports its first
    acquisition and its last release, as TracedLock does, and has the methods a
    Condition uses to wait with it held once or more."""

    def __init__(self):
        self._lock = TracedLock()
        self._owner = None
        self._count = 0

    def acquire(self, blocking=True, timeout=-1):
        ident = threading.get_ident()
        if self._owner == ident:
            self._count += 1
            return True
        if not self._lock.acquire(blocking, timeout):
            return False
        self._owner, self._count = ident, 1
        return True

    def release(self):
        if self._owner != threading.get_ident():
            raise RuntimeError('cannot release un-acquired lock')
        self._count -= 1
        if self._count == 0:
            self._owner = None
            self._lock.release()

    __enter__ = acquire

    def __exit__(self, *exc):
        self.release()

    def _is_owned(self):
        return self._owner == threading.get_ident()

    def _release_save(self):
        if not self._is_owned():
            raise RuntimeError('cannot release un-acquired lock')
        state = self._count
        self._owner, self._count = None, 0
        self._lock.release()
        return state

    def _acquire_restore(self, state):
        self._lock.acquire()
        self._owner, self._count = threading.get_ident(), state


class _Waiter:
    """The lock a controlled thread sleeps on in Condition.wait: held by its waiter,
    released by notify(). Its changes of hands are `held` and `freed`, not a lock
    step of the program; the wait is `blocked T wait ID [timed]`. A timed wait ends,
    as its timeout would, when the controller lets the thread go un-notified."""

    def __init__(self):
        self._lock = _thread.allocate_lock()
        _waiter_ids[0] += 1
        self.id = 'W%d' % _waiter_ids[0]

    def acquire(self, blocking=True, timeout=-1):
        t = me()
        if self._lock.acquire(False):
            emit('held', t, self.id)
            return True
        if not blocking:
            return False
        timed = timeout is not None and timeout >= 0
        while not _all_free[0]:
            was_runner = runner(t)
            if timed:
                emit('blocked', t, 'wait', self.id, 'timed')
            else:
                emit('blocked', t, 'wait', self.id)
            wait_turn(t, was_runner)
            if self._lock.acquire(False):
                return True
            if timed:
                return False
        return self._lock.acquire(True, timeout)

    def release(self):
        self._lock.release()
        emit('freed', me(), self.id)

    def locked(self):
        return self._lock.locked()


def _allocate_waiter():
    """threading._allocate_lock: a _Waiter for a controlled thread's
    Condition.wait on a condition the program made, the plain lock otherwise."""
    f = sys._getframe(1)
    if (CONTROLLED and not _all_free[0] and f.f_code is _cond_wait_code and me() >= 0
            and getattr(f.f_locals.get('self'), '_interleave', False)):
        return _Waiter()
    return _thread.allocate_lock()


def _patch_synchronisation():
    """Marks the Conditions the program makes, and those inside the Events,
    Barriers and Semaphores it makes, as the program's."""
    def condition_init(self, lock=None):
        mine = _made_by_program(1, self)
        if mine and lock is None:
            lock = TracedRLock()
        _RealCondition.__init__(self, lock)
        self._interleave = mine
    threading.Condition = type('Condition', (_RealCondition,), {'__init__': condition_init})
    for cls in (threading.Event, threading.Barrier, threading.Semaphore):
        def init(self, *args, _real=cls.__init__, **kwargs):
            _real(self, *args, **kwargs)
            cond = getattr(self, '_cond', None)
            if cond is not None and _made_by_program(1, self):
                cond._interleave = True
        cls.__init__ = init
    threading._allocate_lock = _allocate_waiter
    _patch_signals()


def _signalled(real, own):
    """`real` (set, release, notify, abort) of a program's object, which reports a
    `signal` once it has returned: a step that may let a waiting thread go. `own`:
    whether the object is the program's."""
    def wrapper(self, *args, **kwargs):
        result = real(self, *args, **kwargs)
        if CONTROLLED and own(self) and me() >= 0:
            emit('signal', me())
        return result
    return wrapper


def _patch_signals():
    def inner(obj):
        return getattr(getattr(obj, '_cond', None), '_interleave', False)

    def called_by_program(obj):
        # A Condition's notify reports when the program calls it; an Event's,
        # a Semaphore's or a Barrier's own notify is their call's.
        return (getattr(obj, '_interleave', False)
                and sys._getframe(2).f_code.co_filename == _program_file)
    cond = threading.Condition
    cond.notify = _signalled(_RealCondition.notify, called_by_program)
    # notify_all is notify(len(waiters)) on 3.8-3.13: one signal, not two.
    cond.notify_all = _signalled(lambda self: _RealCondition.notify(self, len(self._waiters)),
                                 called_by_program)
    threading.Event.set = _signalled(threading.Event.set, inner)
    threading.Semaphore.release = _signalled(threading.Semaphore.release, inner)
    threading.BoundedSemaphore.release = _signalled(threading.BoundedSemaphore.release, inner)
    real_enter = threading.Barrier._enter

    def enter(self):
        # Past _enter, the thread arrives (the last one trips the barrier) before
        # any other step of the program's.
        result = real_enter(self)
        if CONTROLLED and inner(self) and me() >= 0:
            emit('arrive', me())
        return result
    threading.Barrier._enter = enter
    real_exit = threading.Barrier._exit

    def leave(self):
        # Every party leaves wait() through _exit (tripped, broken or timed out).
        result = real_exit(self)
        if CONTROLLED and inner(self) and me() >= 0:
            emit('leave', me())
        return result
    threading.Barrier._exit = leave
    threading.Barrier.abort = _signalled(threading.Barrier.abort, inner)


_finished = set()    # indices of the threads that have reported `done`


class Thread(_RealThread):
    def start(self):
        if sys._getframe(1).f_code.co_filename != _program_file:
            # The standard library's own threads (a Queue's feeder, a Pool's
            # handlers) run free, untraced, as the library between steps does.
            self._interleave_index = None
            return _RealThread.start(self)
        t = _next_index[0]
        _next_index[0] += 1
        self._interleave_index = t
        emit('new', t, me())
        _RealThread.start(self)

    def run(self):
        t = self._interleave_index
        if t is None:
            return _RealThread.run(self)
        _index[threading.get_ident()] = t
        emit('thread', t, self.name)
        _start_tracing()
        try:
            _RealThread.run(self)
        except BaseException:
            # Reported here, while this thread still holds the token, as the
            # interpreter would report it: two threads that raise would otherwise
            # write their tracebacks to stderr at the same time, mixed.
            sys.settrace(None)
            _report_thread_error(self)
        finally:
            sys.settrace(None)
            was_runner = runner(t)
            _finished.add(t)
            emit('done', t)
            hand_over(t, was_runner)

    def join(self, timeout=None):
        t = me()
        target = getattr(self, '_interleave_index', None)
        # Done by our count, not is_alive(): a thread that has reported `done` may
        # still be leaving, and whether join() waits must not depend on that timing.
        if target is not None and target not in _finished and timeout is None:
            was_runner = runner(t)
            emit('blocked', t, 'join', target)
            wait_turn(t, was_runner)
        _RealThread.join(self, timeout)


_HERE = os.path.abspath(__file__)


def _strip(tb):
    """The traceback without the tracer's frames (relinked in place), so a student
    sees what the interpreter would print for their program alone."""
    head = last = None
    while tb is not None:
        if os.path.abspath(tb.tb_frame.f_code.co_filename) != _HERE:
            if last is None:
                head = tb
            else:
                last.tb_next = tb
            last = tb
        tb = tb.tb_next
    if last is not None:
        last.tb_next = None
    return head


def _strip_all(value, seen=None):
    """`value`'s traceback, and those of the exceptions it was raised from or
    during, without the tracer's frames."""
    seen = set() if seen is None else seen
    while isinstance(value, BaseException) and id(value) not in seen:
        seen.add(id(value))
        if value.__traceback__ is not None:
            value.with_traceback(_strip(value.__traceback__))
        _strip_all(value.__cause__, seen)
        value = value.__context__


def _strip_reports():
    """Tracebacks printed by the interpreter (an uncaught exception) or by the
    library (multiprocessing prints a child's with traceback.print_exc) leave out
    the tracer's frames, as a plain run has none."""
    import traceback
    real_print = traceback.print_exception

    def print_exception(*args, **kwargs):
        args = [_strip(a) if isinstance(a, types.TracebackType) else a for a in args]
        for a in args:
            _strip_all(a)
        if isinstance(kwargs.get('tb'), types.TracebackType):
            kwargs['tb'] = _strip(kwargs['tb'])
        _strip_all(kwargs.get('value'))
        return real_print(*args, **kwargs)
    traceback.print_exception = print_exception
    real_hook = sys.excepthook

    def excepthook(kind, value, tb):
        _strip_all(value)
        return real_hook(kind, value, _strip(tb))
    sys.excepthook = excepthook


def _report_thread_error(thread):
    exc = sys.exc_info()
    # As threading reports it: from its _bootstrap_inner, which called run().
    tb = _strip(exc[2])
    caller = sys._getframe(2)
    if caller.f_code.co_name == '_bootstrap_inner':
        tb = types.TracebackType(tb, caller, caller.f_lasti, caller.f_lineno)
    if exc[1] is not None:
        # What the interpreter's own hook prints (it reads the exception's).
        exc[1].with_traceback(tb)
    exc = (exc[0], exc[1], tb)
    hook = getattr(threading, 'excepthook', None)
    if hook is not None and hasattr(threading, 'ExceptHookArgs'):
        hook(threading.ExceptHookArgs([exc[0], exc[1], exc[2], thread]))
    else:
        import traceback
        sys.stderr.write('Exception in thread %s:\n' % thread.name)
        traceback.print_exception(*exc)
        sys.stderr.flush()


class _Stdout:
    def __init__(self, real):
        self._real = real

    def write(self, text):
        if text:
            emit('out', me(), text)
        return len(text)

    def flush(self):
        pass

    def __getattr__(self, name):
        return getattr(self._real, name)


class _Terminal(io.RawIOBase):
    """Under INTERLEAVE_STDOUT: the bottom of a real sys.stdout. CPython's own text and
    buffer layers sit on it, configured as CPython configures them at start-up, so
    print() fills a real buffer (copied by fork, lost with a killed process, flushed
    at exit); each write that reaches it is one write(2) and one `out` event."""

    def __init__(self, tty):
        io.RawIOBase.__init__(self)
        self._tty = tty

    def writable(self):
        return True

    def isatty(self):
        return self._tty

    def fileno(self):
        return 1

    def write(self, data):
        data = bytes(data)
        if data:
            emit('out', me(), data.decode('utf-8', 'replace'))
        return len(data)



def _buffered_stdout(mode):
    """sys.stdout as CPython makes it (create_stdio): unbuffered under -u (the text
    layer writes through to the raw file), else a BufferedWriter, line-buffered on a
    terminal and block-buffered on a pipe. `mode`: tty or pipe."""
    raw = _Terminal(mode == 'tty')
    unbuffered = os.environ.get('PYTHONUNBUFFERED') or getattr(sys.__stdout__, 'write_through', False)
    if unbuffered and sys.version_info >= (3, 7):
        return io.TextIOWrapper(raw, encoding='utf-8', errors='strict', write_through=True)
    buffer = io.BufferedWriter(raw, io.DEFAULT_BUFFER_SIZE)
    return io.TextIOWrapper(buffer, encoding='utf-8', errors='strict',
                            line_buffering=mode == 'tty' and not unbuffered,
                            write_through=bool(unbuffered))


_STDOUT_MODE = os.environ.get('INTERLEAVE_STDOUT')


def _flush_at_exit():
    """What the interpreter flushes as the process ends normally, before its thread is
    reported done (the step the simulator shows as `flushes sys.stdout at exit`)."""
    if _STDOUT_MODE and _stdout_is_run[0]:
        try:
            sys.stdout.flush()
        except (OSError, ValueError):
            pass


class _Stdin:
    """A followed subprocess child's stdin, often a pipe its parent writes while the
    child runs (communicate(input)): a read may wait for the parent, so it is a
    library call that comes back by itself, and the controller steps the others."""

    def __init__(self, real):
        self._real = real

    def read(self, *args):
        return _io_call('stdin.read', self._real.read, args, {})

    def readline(self, *args):
        return _io_call('stdin.readline', self._real.readline, args, {})

    def readlines(self, *args):
        return _io_call('stdin.readlines', self._real.readlines, args, {})

    def __iter__(self):
        return self

    def __next__(self):
        line = self.readline()
        if not line:
            raise StopIteration
        return line

    def __getattr__(self, name):
        return getattr(self._real, name)


# --- files: what the program reads from and writes to a file it opened --------------
_FILE_TEXT = 1000   # characters of a file's content reported at most


class _File:
    """A file the program's own code opened. A file is memory every process sees, so
    its reads and writes are reported as a global's, named as the program named the
    file: `read T NAME CONTENT` with what a read returned, and `wrote T NAME CONTENT`
    when written text reaches the file, at the program's flush() or close() (the
    write(2) another process can see; a small write waits in the buffer until then),
    with the whole file as it is then."""

    def __init__(self, real, name, path):
        self._real = real
        self._name = name
        self._path = path
        self._dirty = False

    def _report(self, kind, data):
        t = me()
        if t >= 0:
            text = data if isinstance(data, str) else bytes(data).decode('utf-8', 'replace')
            if len(text) > _FILE_TEXT:
                text = text[:_FILE_TEXT - 3] + '...'
            emit(kind, t, self._name, text)
        return data

    def read(self, *args):
        return self._report('read', self._real.read(*args))

    def readline(self, *args):
        return self._report('read', self._real.readline(*args))

    def readlines(self, *args):
        lines = self._real.readlines(*args)
        self._report('read', ''.join(lines) if not lines or isinstance(lines[0], str) else b''.join(lines))
        return lines

    def __iter__(self):
        return self

    def __next__(self):
        return self._report('read', next(self._real))

    def write(self, data):
        n = self._real.write(data)
        self._dirty = True
        return n

    def writelines(self, lines):
        self._real.writelines(lines)
        self._dirty = True

    def _landed(self):
        if not self._dirty:
            return
        self._dirty = False
        try:
            with _real_open(self._path, 'rb') as f:
                data = f.read()
        except OSError:
            return
        self._report('wrote', data)

    def flush(self):
        self._real.flush()
        self._landed()

    def close(self):
        self._real.close()
        self._landed()

    def __enter__(self):
        self._real.__enter__()
        return self

    def __exit__(self, *exc):
        self.close()
        return False

    def __getattr__(self, name):
        return getattr(self._real, name)


_real_open = open


def _patch_open():
    """open() called by the program's own code gives a `_File`; anyone else's
    (the standard library's, ours) the file itself."""
    import builtins
    if getattr(builtins.open, '_interleave', False):
        return

    def open_(file, *args, **kwargs):
        f = _real_open(file, *args, **kwargs)
        try:
            caller = sys._getframe(1).f_code.co_filename
        except ValueError:
            return f
        if caller != _program_file or isinstance(file, int):
            return f
        return _File(f, os.fsdecode(file), os.path.abspath(file))
    open_._interleave = True
    builtins.open = open_


# --- processes: every child connects to the controller ------------------------------
_proc_key = ['0']    # this process: "0" the root, "0.1" its first child, "0.1.2" ...
_forks = [0]         # children this process has forked
_forking = [None]    # (key, thread index in the child) of the fork under way
_socket_path = os.environ.get('INTERLEAVE_SOCKET')
_mp_starting = [False]  # inside Process.start()


def _before_fork():
    t = me()
    _forks[0] += 1
    key = '%s.%d' % (_proc_key[0], _forks[0])
    ct = t
    if ct < 0:
        ct = _next_index[0]
        _next_index[0] += 1
    # A multiprocessing child started by the main thread dies with its parent, which
    # joins or terminates it before it exits anyway; a bare os.fork child may outlive
    # its parent, as the fork lesson's may, so it is left alone.
    mortal = _mp_starting[0] and threading.current_thread() is threading.main_thread()
    _forking[0] = (key, ct, mortal and os.getpid())
    emit('fork', t, key, ct)
    # No other thread may be half-way through a line when the child is made, and
    # nothing written may wait in the buffer: the child would send it again.
    _write_lock.acquire()
    _events.flush()


def _after_fork_parent():
    _write_lock.release()


def _die_with_parent(parent):
    """Linux: the child is killed when its parent dies, as the root is when the
    playground does, so a run ended by a signal leaves no process behind. Only for a
    fork by the main thread (the signal comes when the forking *thread* ends) inside
    Process.start(). `parent`: the parent's PID as the parent knew it, so a parent
    that died before this ran is seen (the child has been adopted) and the child
    goes too."""
    try:
        import ctypes
        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(1, 9, 0, 0, 0)  # PR_SET_PDEATHSIG, SIGKILL
    except (OSError, AttributeError, ImportError):
        return
    if os.getppid() != parent:
        # The real _exit: the wrapper would flush under the write lock, which a
        # child of fork holds until it reconnects.
        _os_exit(1)


def _after_fork_child():
    """The child connects to the controller on a socket of its own, put on the fds the
    parent's pipes were on: two processes never write one pipe, and the parent's
    commands are not read here."""
    global _write_lock, _gates_lock
    key, ct, mortal = _forking[0]
    _mp_starting[0] = False
    if mortal:
        _die_with_parent(mortal)
    _write_lock = _thread.allocate_lock()
    _gates_lock = _thread.allocate_lock()
    _proc_key[0] = key
    _forks[0] = 0
    _index.clear()
    _index[threading.get_ident()] = ct
    _gates.clear()
    _in_io.clear()
    _token[0] = ct
    _command_buf[0] = b''
    try:
        import socket
        s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        s.connect(_socket_path)
        os.dup2(s.fileno(), _events.fileno())
        os.dup2(s.fileno(), _command_fd)
        s.close()
    except (OSError, TypeError) as e:
        # Straight to the fd: the child cannot be followed, and says why.
        line = 'refuse\ta child process could not connect to interleave (%s)\t0\n' % _clean(e)
        os.write(_events.fileno(), line.encode('utf-8'))
        os._exit(2)
    os.environ['INTERLEAVE_PARENT'] = str(os.getpid())
    emit('hello', '%d.%d.%d' % sys.version_info[:3], os.getpid(), key)
    _send()


def _polled(cls, name, what):
    """A pipe's recv, controlled: the thread does not block in it. It asks poll(0)
    whether a message (or EOF) is there, and if not says it waits and waits for its
    turn; the controller lets it look again once another step has been taken. A
    message sent by a step is in the pipe when that step is over, so the run does
    not depend on when the reader's process wakes, and a pipe nobody will write is
    a deadlock the controller sees."""
    real = getattr(cls, name)

    def wrapper(self, *args, **kwargs):
        t = me()
        if not CONTROLLED or t < 0 or _all_free[0] or threading.get_ident() in _in_io:
            return _io_call(what, real, (self,) + args, kwargs)
        while not _all_free[0]:
            try:
                if self.poll(0):
                    break
            except (OSError, EOFError):
                break
            was_runner = runner(t)
            emit('blocked', t, 'poll', what)
            wait_turn(t, was_runner)
        return real(self, *args, **kwargs)
    setattr(cls, name, wrapper)


def _poll_room(sem):
    """A controlled put() on a full queue with no timeout: it looks for room again
    after each step another thread takes (`blocked T poll Queue.put`), as a get()
    looks for an item, so that a put nobody will ever make room for is a deadlock
    the controller sees, not a wait that might end by itself."""
    t = me()
    while not _all_free[0]:
        was_runner = runner(t)
        emit('blocked', t, 'poll', 'Queue.put')
        wait_turn(t, was_runner)
        if sem.acquire(False):
            return
    sem.acquire()


def _controlled_queue(cls, raw_get):
    """multiprocessing.Queue, controlled: put() writes the item into the queue's pipe
    itself, in its step, instead of leaving it to the queue's feeder thread (which
    runs free, so when the item lands would depend on timing); a blocking get()
    without a timeout polls as a pipe's recv does. Free runs keep the real Queue."""
    import queue
    from multiprocessing.reduction import ForkingPickler
    real_put = cls.put   # as free runs see them: the waits reported
    real_get = cls.get

    def put(self, obj, block=True, timeout=None):
        if not CONTROLLED or _all_free[0] or me() < 0 or self._thread is not None:
            return real_put(self, obj, block, timeout)
        if self._closed:
            raise ValueError('Queue %r is closed' % (self,))
        if not self._sem.acquire(False):
            if not block:
                raise queue.Full
            if timeout is None:
                _poll_room(self._sem)
            elif not _io_call('Queue.put', self._sem.acquire, (True, timeout), {}):
                raise queue.Full
        data = ForkingPickler.dumps(obj)
        if self._wlock is None:
            self._writer.send_bytes(data)
        else:
            with self._wlock:
                self._writer.send_bytes(data)
    cls.put = put

    def get(self, block=True, timeout=None):
        t = me()
        if (not CONTROLLED or _all_free[0] or t < 0 or not block or timeout is not None
                or threading.get_ident() in _in_io):
            return real_get(self, block, timeout)
        while not _all_free[0]:
            try:
                if self._reader.poll(0):
                    break
            except (OSError, EOFError):
                break
            was_runner = runner(t)
            emit('blocked', t, 'poll', 'Queue.get')
            wait_turn(t, was_runner)
        return raw_get(self, block, timeout)
    cls.get = get


def _report_queue_calls(mpq):
    """The program's put and get on a multiprocessing.Queue (put_nowait and get_nowait
    too) are steps of the program's: `queue T put|get` once the call returned or
    raised queue.Full or queue.Empty. The library's own queues (a Pool's) are not."""
    import queue
    qfile = mpq.__file__

    def report(name):
        real = getattr(mpq.Queue, name)

        def wrapper(self, *args, **kwargs):
            f = sys._getframe(1)
            if f.f_code.co_filename == qfile and f.f_code.co_name == name + '_nowait':
                f = f.f_back
            t = me()
            if t < 0 or f is None or f.f_code.co_filename != _program_file:
                return real(self, *args, **kwargs)
            try:
                v = real(self, *args, **kwargs)
            except (queue.Empty, queue.Full):
                emit('queue', t, name)
                raise
            emit('queue', t, name)
            return v
        setattr(mpq.Queue, name, wrapper)
    report('put')
    report('get')
def _pool_takes(cls, mppool):
    """A Pool worker's get() of its next task, controlled: the worker stands before it
    (`at T 0 take`) until it is told to go, then gets (waiting, as the library call
    `Pool task`, for what the pool's task-handler thread sends) and says so (`take T`). Which worker
    takes which task is then the controller's choice, not the OS's: the workers held
    before their get() do not race for the pipe. Other gets, and free runs, are as
    before."""
    real = cls.get

    def get(self):
        t = me()
        if (not CONTROLLED or _all_free[0] or t < 0
                or sys._getframe(1).f_code is not mppool.worker.__code__):
            return real(self)
        was_runner = runner(t)
        emit('at', t, 0, 'take', 'Pool task')
        wait_turn(t, was_runner)
        item = _io_call('Pool task', real, (self,), {})
        emit('take', t)
        return item
    cls.get = get


def _pool_gives(cls, mppool):
    """A Pool worker's put() of a task's outcome on the pool's result queue,
    controlled like its take (`_pool_takes`): the worker stands before it (`at T 0
    give`) until it is told to go, then puts and says so (`queue T result`). The
    parent's `get()`, `wait()` and `imap` wait for the pool's result-handler thread,
    which runs free and passes the outcomes on in the order the workers put them: held
    here, the workers put them in the simulator's order, and a parent that waits for
    one waits only for the library, not for a worker the controller holds."""
    real = cls.put

    def put(self, obj):
        t = me()
        if (not CONTROLLED or _all_free[0] or t < 0
                or sys._getframe(1).f_code is not mppool.worker.__code__):
            return real(self, obj)
        was_runner = runner(t)
        emit('at', t, 0, 'give', 'Pool result')
        wait_turn(t, was_runner)
        v = real(self, obj)
        emit('queue', t, 'result')
        return v
    cls.put = put


def _patch_multiprocessing():
    """multiprocessing under fork: a Process knows its child's key, so join() waits for
    that process (the controller lets it go once the process is over); the calls that
    wait for another process say so; spawn and forkserver children are refused."""
    import multiprocessing.connection as mpc
    import multiprocessing.pool as mppool
    import multiprocessing.process as mpp
    import multiprocessing.queues as mpq

    real_start = mpp.BaseProcess.start

    def start(self):
        before = _forks[0]
        _mp_starting[0] = True
        try:
            real_start(self)
        finally:
            _mp_starting[0] = False
        if _forks[0] != before:
            self._interleave_key = '%s.%d' % (_proc_key[0], _forks[0])
    mpp.BaseProcess.start = start

    real_join = mpp.BaseProcess.join

    def join(self, timeout=None):
        t = me()
        key = getattr(self, '_interleave_key', None)
        if t < 0 or key is None or timeout is not None or t in _finished or _all_free[0]:
            return real_join(self, timeout)
        was_runner = runner(t)
        emit('blocked', t, 'pjoin', key)
        wait_turn(t, was_runner)
        ident = threading.get_ident()
        _in_io.add(ident)
        try:
            return real_join(self, timeout)
        finally:
            _in_io.discard(ident)
    mpp.BaseProcess.join = join

    real_bootstrap = mpp.BaseProcess._bootstrap

    def bootstrap(self, *args, **kwargs):
        # In the child: its actor takes the process's name (Process-1), as the
        # simulator and multiprocessing call it.
        if me() >= 0:
            emit('thread', me(), self.name)
        # A child whose target is not the program's (time.sleep) has no step to stop
        # at: it runs as a library call that others need not wait for. Set here, on
        # this process alone, so a target of the program's runs with no frame of
        # ours between multiprocessing and it: its traceback is as CPython prints it.
        target = getattr(self, '_target', None)
        code = getattr(target, '__code__', None)
        if target is not None and (code is None or code.co_filename != _program_file):
            what = 'runs ' + getattr(target, '__name__', 'target')
            real = self.run
            self.run = lambda: _io_call(what, real, (), {}, inner=True)
        try:
            return real_bootstrap(self, *args, **kwargs)
        finally:
            # os._exit comes next: what the token holder has not sent yet goes now.
            _send()
    mpp.BaseProcess._bootstrap = bootstrap

    def waits(cls, name, what, blocking=None):
        real = getattr(cls, name)

        def wrapper(*args, **kwargs):
            if blocking is not None and not blocking(args, kwargs):
                return real(*args, **kwargs)
            return _io_call(what, real, args, kwargs)
        setattr(cls, name, wrapper)

    def block_arg(args, kwargs):
        return args[1] if len(args) > 1 else kwargs.get('block', True)
    raw_get = mpq.Queue.get
    waits(mpq.Queue, 'get', 'Queue.get', block_arg)
    waits(mpq.Queue, 'put', 'Queue.put', lambda a, k: block_arg(a, k) and a[0]._maxsize > 0)
    _controlled_queue(mpq.Queue, raw_get)
    _report_queue_calls(mpq)
    waits(mpq.JoinableQueue, 'join', 'JoinableQueue.join')
    waits(mpq.SimpleQueue, 'get', 'SimpleQueue.get')
    _pool_takes(mpq.SimpleQueue, mppool)
    _pool_gives(mpq.SimpleQueue, mppool)
    for name in ('recv', 'recv_bytes', 'recv_bytes_into'):
        _polled(mpc._ConnectionBase, name, 'Connection.' + name)
    _patch_shared_values()
    _patch_mp_locks()
    waits(mppool.Pool, 'join', 'Pool.join')
    waits(mppool.ApplyResult, 'wait', 'AsyncResult.wait')
    waits(mppool.IMapIterator, 'next', 'imap next')
    # A for loop calls __next__, which pool.py binds to the real next: wrapped too.
    waits(mppool.IMapIterator, '__next__', 'imap next')

    real_sleep = time.sleep

    def sleep(seconds):
        # With processes, a sleeping process does not hold the others back.
        if sys._getframe(1).f_code.co_filename != _program_file:
            return real_sleep(seconds)
        return _io_call('time.sleep', real_sleep, (seconds,), {})
    time.sleep = sleep

    def announced(real):
        """A spawn or forkserver child: a new interpreter, which connects by itself
        (sitecustomize.py) and names itself by its PID. The parent numbers it now, as
        it does a fork child, and says which PID it got once it has one."""
        def launch(self, process_obj):
            # Said once it is started: a start that raises (a spawned child that
            # reaches p.start() while importing the program) starts nobody. Until
            # the parent says so, the controller holds the child's hello.
            real(self, process_obj)
            _forks[0] += 1
            key = '%s.%d' % (_proc_key[0], _forks[0])
            emit('fork', me(), key, 0)
            emit('pid', key, self.pid)
            _send()
        return launch
    for module in ('popen_spawn_posix', 'popen_forkserver'):
        try:
            mod = __import__('multiprocessing.' + module, fromlist=['Popen'])
            mod.Popen._launch = announced(mod.Popen._launch)
        except ImportError:
            pass


def _mp_lock_id(lock):
    """A multiprocessing Lock's or RLock's id, the same in every process that has it:
    its semaphore's name (spawn, forkserver) or its address (fork copies it as is).
    `M…`: the controller does not make it a per-process lock's (`L…@P`)."""
    sem = lock._semlock
    return 'M%s' % (getattr(sem, 'name', None) or sem.handle)


def _mp_acquire(lock, real, block, timeout):
    """The program's acquire of a multiprocessing Lock or RLock (a real semaphore that
    every process shares): reported as a threading lock's is, `acquired` or `blocked`
    (controlled, it waits for the controller before each retry). An RLock reports its
    first acquisition only."""
    t = me()
    first = not (isinstance(lock, _mp_rlock[0]) and lock._semlock._is_mine())
    while True:
        if real(False):
            if first:
                emit('acquired', t, _mp_lock_id(lock))
            return True
        if not block:
            return False
        if not CONTROLLED or _all_free[0] or timeout is not None:
            if timeout is None:
                emit('blocked', t, 'lock', _mp_lock_id(lock))
            got = real(True, timeout)
            if got:
                emit('acquired', t, _mp_lock_id(lock))
            return got
        was_runner = runner(t)
        emit('blocked', t, 'lock', _mp_lock_id(lock))
        wait_turn(t, was_runner)


def _mp_release(lock, real):
    last = not isinstance(lock, _mp_rlock[0]) or lock._semlock._count() == 1
    real()
    if last:
        emit('released', me(), _mp_lock_id(lock))


_mp_rlock = [()]


def _patch_mp_locks():
    """multiprocessing.Lock and RLock (`Value.get_lock()` is one) taken by the
    program's code (`with lock:`, `lock.acquire()`) are lock steps; taken by the
    library's (a Value's own lock in `.value`, a Condition's) they are not."""
    try:
        import multiprocessing.synchronize as mps
    except ImportError:   # no sem_open on this system: multiprocessing has no locks
        return
    _mp_rlock[0] = mps.RLock
    real_make = mps.SemLock._make_methods

    def traced(depth):
        return me() >= 0 and sys._getframe(depth).f_code.co_filename == _program_file

    def make_methods(self):
        real_make(self)
        if not isinstance(self, (mps.Lock, mps.RLock)):
            return
        acquire, release = self._semlock.acquire, self._semlock.release

        def acquire_(block=True, timeout=None):
            if not traced(2):
                return acquire(block, timeout)
            return _mp_acquire(self, acquire, block, timeout)

        def release_():
            if not traced(2):
                return release()
            return _mp_release(self, release)
        self.acquire, self.release = acquire_, release_
    mps.SemLock._make_methods = make_methods
    for cls in (mps.Lock, mps.RLock):
        real_enter, real_exit = cls.__enter__, cls.__exit__

        def enter(self, real_enter=real_enter):
            if not traced(2):
                return real_enter(self)
            return _mp_acquire(self, self._semlock.acquire, True, None)

        def exit_(self, *args, real_exit=real_exit):
            if not traced(2):
                return real_exit(self, *args)
            return _mp_release(self, self._semlock.release)
        cls.__enter__, cls.__exit__ = enter, exit_


def _value_name(obj, frame):
    """What the program's frame calls a multiprocessing.Value: `counter.value`."""
    for scope in (frame.f_locals, frame.f_globals):
        for name, v in list(scope.items()):
            if v is obj:
                return name + '.value'
    return None


def _patch_shared_values():
    """multiprocessing.Value: the program's reads and writes of `.value` are steps on
    memory every process shares, reported as those of a global named `NAME.value`
    (NAME: what the calling frame calls the object), as the simulator names it."""
    import multiprocessing.sharedctypes as mps
    prop = mps.Synchronized.__dict__.get('value')
    if not isinstance(prop, property):
        return

    def report(kind, obj, v):
        t = me()
        frame = sys._getframe(2)
        if t < 0 or frame.f_code.co_filename != _program_file:
            return
        name, text = _value_name(obj, frame), show(v)
        if name is not None and text is not None:
            emit(kind, t, name, text)

    def get(self):
        v = prop.fget(self)
        report('read', self, v)
        return v

    def set_(self, v):
        prop.fset(self, v)
        report('wrote', self, v)
    mps.Synchronized.value = property(get, set_)
    _patch_shared_arrays(mps)


def _patch_shared_arrays(mps):
    """multiprocessing.Array: the program's `numbers[:]` reads the whole array, which
    every process shares, reported as a read of the global the simulator keeps it in,
    named as the calling frame names the array (a worker's parameter `numbers` too).
    A write by index is no shared step, as a list's is not."""
    real = mps.SynchronizedArray.__getitem__
    whole = slice(None)

    def getitem(self, i):
        v = real(self, i)
        t = me()
        frame = sys._getframe(1)
        if t >= 0 and i == whole and frame.f_code.co_filename == _program_file:
            name, text = _value_name(self, frame), show(list(v))
            if name is not None and text is not None:
                emit('read', t, name[:-len('.value')], text)
        return v
    mps.SynchronizedArray.__getitem__ = getitem


def _shared_finals(names):
    """The program's multiprocessing.Values at the end, as `final NAME.value V`."""
    try:
        import multiprocessing.sharedctypes as mps
    except ImportError:
        return
    for name, value in names:
        if isinstance(value, mps.Synchronized):
            v = show(value.value)
            if v is not None:
                emit('final', name + '.value', v)
        elif isinstance(value, mps.SynchronizedArray):
            v = show(list(value[:]))
            if v is not None:
                emit('final', name, v)


_stdout_is_run = [True]   # this process's stdout is the run's output (not a pipe of
                          # its parent's): a program it starts that inherits it prints there
_PY_FLAGS = set('bBdOqsu')   # python options sitecustomize.py still runs under


def _python_argv(argv, kwargs):
    """Whether subprocess runs this interpreter on a Python program (a file, or -c
    CODE) with no option that skips sitecustomize.py (-E, -I, -S) or runs something
    else (-m, -i, -): `python3` found on PATH counts if it is the same file."""
    if kwargs.get('shell') or not isinstance(argv, (list, tuple)) or not argv:
        return False
    try:
        argv = [os.fsdecode(a) for a in argv]
    except TypeError:
        return False
    exe = kwargs.get('executable') or argv[0]
    exe = os.fsdecode(exe)
    env = kwargs.get('env')
    if os.sep in exe:
        found = [os.path.join(os.fsdecode(kwargs.get('cwd') or os.curdir), exe)]
    else:
        found = [os.path.join(d, exe) for d in os.get_exec_path(env)]
    for path in found:
        if os.path.isfile(path) and os.access(path, os.X_OK):
            try:
                same = os.path.samefile(path, sys.executable)
            except OSError:
                same = False
            if not same:
                return False
            break
    else:
        return False
    i = 1
    while i < len(argv):
        a = argv[i]
        if a == '-c':
            return i + 1 < len(argv)
        if a in ('-X', '-W'):
            i += 2
            continue
        if a.startswith(('-X', '-W')) or (len(a) > 1 and a[0] == '-' and set(a[1:]) <= _PY_FLAGS):
            i += 1
            continue
        return not a.startswith('-')
    return False


def _child_env(kwargs, stdout):
    """The environment of a Python child this process follows: the caller's (or
    ours), with what its sitecustomize.py needs to connect, and the mark."""
    env = dict(os.environ if kwargs.get('env') is None else kwargs['env'])
    for name, value in os.environ.items():
        if name.startswith('INTERLEAVE_'):
            env[name] = value
    env['INTERLEAVE_PARENT'] = str(os.getpid())
    env['INTERLEAVE_SUBPROCESS'] = stdout
    site = os.environ.get('INTERLEAVE_SITE')
    if site:
        theirs = [p for p in env.get('PYTHONPATH', '').split(os.pathsep) if p and p != site]
        env['PYTHONPATH'] = os.pathsep.join([site] + theirs)
    return env


def _patch_subprocess():
    """A program subprocess runs (echo, tr, ...) is not Python the tracer can step:
    it is shown as a process of its own with its real PID, blocked in "runs NAME"
    until it is reaped. What it writes to a stdout it inherited (the student's
    terminal) is read on a pipe of ours and shown as its output; a stdout the program
    redirects (PIPE, a file) is left as the program set it.
    A Python program on this same interpreter is followed instead, as a spawned
    multiprocessing child is: it connects at its start (sitecustomize.py) and its
    lines are steps. Its prints reach the run's output when it inherited the stdout,
    and go where the caller sent them (a pipe the parent reads) otherwise."""
    import codecs
    import subprocess
    real_init = subprocess.Popen.__init__
    real_exit = subprocess.Popen._handle_exitstatus
    real_wait = subprocess.Popen.wait
    real_communicate = subprocess.Popen.communicate

    def init(self, *args, **kwargs):
        t = me()
        self._interleave_key = None
        self._interleave_traced = None
        if t < 0:
            return real_init(self, *args, **kwargs)
        r = w = None
        inherits = len(args) < 5 and kwargs.get('stdout') is None
        if inherits and _stdout_is_run[0]:
            r, w = os.pipe()
            kwargs['stdout'] = w
        argv = args[0] if args else kwargs.get('args', '?')
        python = len(args) < 2 and _python_argv(argv, kwargs)
        if python:
            kwargs['env'] = _child_env(kwargs, 'run' if inherits and _stdout_is_run[0] else 'own')
        try:
            real_init(self, *args, **kwargs)
        except BaseException:
            if r is not None:
                os.close(r)
            raise
        finally:
            if w is not None:
                os.close(w)
        _forks[0] += 1
        key = '%s.%d' % (_proc_key[0], _forks[0])
        if python:
            # As a spawned child: numbered now, it says hello by its PID.
            self._interleave_traced = key
            emit('fork', t, key, 0)
            emit('pid', key, self.pid)
            _send()
        else:
            first = argv.split()[0] if isinstance(argv, str) and argv.split() else (
                argv[0] if isinstance(argv, (list, tuple)) and argv else argv)
            self._interleave_key = key
            emit('child', t, key, self.pid, os.path.basename(os.fsdecode(first)))
        self._interleave_reader = None
        if r is not None:
            def forward():
                decode = codecs.getincrementaldecoder('utf-8')('replace')
                while True:
                    chunk = os.read(r, 65536)
                    text = decode.decode(chunk, final=not chunk)
                    if text:
                        emit('cout', key, text)
                    if not chunk:
                        break
                os.close(r)
            self._interleave_reader = _RealThread(target=forward, daemon=True)
            self._interleave_reader.start()

    def handle_exitstatus(self, *args, **kwargs):
        real_exit(self, *args, **kwargs)
        if self.returncode is None:
            return
        # All it wrote comes before it is reaped (a grandchild that keeps the
        # pipe open does not hold the program back long).
        reader = getattr(self, '_interleave_reader', None)
        if reader is not None:
            self._interleave_reader = None
            reader.join(2.0)
        key = getattr(self, '_interleave_key', None)
        if key is not None:
            self._interleave_key = None
            emit('cdone', key, self.returncode)

    def wait(self, timeout=None):
        # A Python child that is followed: the caller waits for its process to end,
        # as Process.join() does, and the controller lets it go once it has.
        t = me()
        key = getattr(self, '_interleave_traced', None)
        ident = threading.get_ident()
        if (t < 0 or key is None or self.returncode is not None or _all_free[0]
                or t in _finished or ident in _in_io):
            return real_wait(self, timeout)
        if timeout is not None:
            return _io_call('Popen.wait', real_wait, (self, timeout), {})
        was_runner = runner(t)
        emit('blocked', t, 'pjoin', key)
        wait_turn(t, was_runner)
        _in_io.add(ident)
        try:
            return real_wait(self)
        finally:
            _in_io.discard(ident)

    def communicate(self, input=None, timeout=None):
        # With a pipe, the parent writes and reads while the child runs: a library
        # call that comes back by itself. With none, it is wait().
        if (getattr(self, '_interleave_traced', None) is None
                or (self.stdin is None and self.stdout is None and self.stderr is None)):
            return real_communicate(self, input, timeout)
        return _io_call('Popen.communicate', real_communicate, (self, input, timeout), {})
    subprocess.Popen.__init__ = init
    subprocess.Popen._handle_exitstatus = handle_exitstatus
    subprocess.Popen.wait = wait
    subprocess.Popen.communicate = communicate


_server_pid = [0]    # in a fork server: its own PID, its children's parent


def spawned(server):
    """Called by sitecustomize.py in a new interpreter that multiprocessing started
    from a traced process: a spawn child connects now; the fork server (not shown: it
    runs none of the program) makes each of its children connect at its fork."""
    if server:
        _die_with_parent(int(os.environ.get('INTERLEAVE_PARENT', '0')))
        _server_pid[0] = os.getpid()
        os.register_at_fork(after_in_child=_start_spawned)
    else:
        _start_spawned()


def _start_spawned():
    # A fork server's child: its parent is the server; a spawn child's is the
    # traced process named in INTERLEAVE_PARENT (sitecustomize.py checked it).
    _die_with_parent(_server_pid[0] or int(os.environ.get('INTERLEAVE_PARENT', '0')))
    _connect(os.environ.get('INTERLEAVE_PROGRAM'))
    _install()
    import atexit
    atexit.register(_send)
    import multiprocessing.spawn as mps
    real_fixup = mps._fixup_main_from_path

    def fixup(*args, **kwargs):
        # The process's name (Process-1) is set from its parent's data just before
        # the program is imported again: its actor takes it from the first step.
        import multiprocessing
        emit('thread', me(), multiprocessing.current_process().name)
        return real_fixup(*args, **kwargs)
    mps._fixup_main_from_path = fixup
    if hasattr(sys, 'monitoring'):
        _install_monitoring(None)
    _start_tracing()


def _connect(program):
    """A new interpreter (spawned, or run by subprocess) connects to the controller
    and says hello by its PID; its parent has said which key that PID is."""
    global _events, _command_fd, _program_file, _write_lock, _gates_lock
    _write_lock = _thread.allocate_lock()
    _gates_lock = _thread.allocate_lock()
    _program_file = program
    key = 'p%d' % os.getpid()
    _proc_key[0] = key
    _forks[0] = 0
    _index.clear()
    _index[threading.get_ident()] = 0
    _gates.clear()
    _token[0] = 0
    try:
        import socket
        s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        s.connect(_socket_path)
        fd = s.detach()
        _command_fd = os.dup(fd)
        _events = os.fdopen(fd, 'w', encoding='utf-8')
    except (OSError, TypeError) as e:
        sys.stderr.write('interleave: a child process could not connect (%s)\n' % e)
        os._exit(2)
    os.environ['INTERLEAVE_PARENT'] = str(os.getpid())
    emit('hello', '%d.%d.%d' % sys.version_info[:3], os.getpid(), key)
    _send()


def subprocessed(stdout):
    """Called by sitecustomize.py in a Python program a traced process ran with
    subprocess (`python FILE.py ...` or `python -c CODE`): it connects now, and its
    own lines are steps. `stdout`: 'run' when it inherited the run's output (its prints
    are shown on its row), 'own' when its parent gave it another (a pipe it reads):
    its prints then go there untouched, as bytes, as without interleave."""
    program, source = _subprocess_program()
    _stdout_is_run[0] = stdout == 'run'
    _connect(program)
    emit('thread', 0, threading.current_thread().name)
    _install('multiprocessing' in source)
    if sys.stdin is not None:
        sys.stdin = _Stdin(sys.stdin)
    if 'subprocess' in source:
        _patch_subprocess()
    import atexit
    atexit.register(_send)
    real_shutdown = threading._shutdown

    def shutdown():
        # The program's last line is done: MainThread waits for its threads (the
        # interpreter's own join, shown as one), then is done; the controller lets
        # the others go meanwhile. Then the interpreter's own shutdown.
        t = me()
        if t >= 0 and t not in _finished and not _all_free[0]:
            for th in threading.enumerate():
                if th is not threading.current_thread() and not th.daemon:
                    th.join()
            _flush_at_exit()
            was_runner = runner(t)
            _finished.add(t)
            emit('done', t)
            hand_over(t, was_runner)
        return real_shutdown()
    threading._shutdown = shutdown
    if hasattr(sys, 'monitoring'):
        _install_monitoring(None)
    _start_tracing()


def _subprocess_program():
    """The file name this interpreter will compile its program under, and its
    source: `-c CODE` is '<string>'; a file is as given on the command line on 3.8
    and joined to the working folder from 3.9 (RESULTS 16.4)."""
    if sys.argv[0] == '-c':
        try:
            with open('/proc/self/cmdline', 'rb') as f:
                args = f.read().split(b'\0')
            return '<string>', os.fsdecode(args[args.index(b'-c', 1) + 1])
        except (OSError, ValueError, IndexError):
            return '<string>', ''
    path = sys.argv[0]
    if sys.version_info >= (3, 9) and not os.path.isabs(path):
        path = os.path.join(os.getcwd(), path)
    try:
        with open(path, encoding='utf-8') as f:
            return path, f.read()
    except (OSError, ValueError):
        return path, ''


def _install(multiprocessing=None):
    """What every traced process has: its threads and locks reported, its prints
    sent (unless its stdout is not the run's), its forks followed."""
    threading.Thread = Thread
    threading.Lock = _lock_factory
    _patch_synchronisation()
    _patch_open()
    _strip_reports()
    if _stdout_is_run[0] and _STDOUT_MODE in ('tty', 'pipe'):
        sys.stdout = _buffered_stdout(_STDOUT_MODE)
    elif _stdout_is_run[0]:
        sys.stdout = _Stdout(sys.stdout)
    real_exit = os._exit

    def _exit(code):
        _send()
        real_exit(code)
    os._exit = _exit
    if hasattr(os, 'register_at_fork'):
        os.register_at_fork(before=_before_fork, after_in_parent=_after_fork_parent,
                            after_in_child=_after_fork_child)
    if _IMPORTED if multiprocessing is None else multiprocessing:
        _patch_multiprocessing()


def main():
    global _program_file, _main_code, _main_globals
    if len(sys.argv) != 2:
        sys.stderr.write('usage: tracer.py PROGRAM.py\n')
        return 2
    path = os.path.abspath(sys.argv[1])
    with open(path, encoding='utf-8') as f:
        source = f.read()
    _program_file = path
    emit('hello', '%d.%d.%d' % sys.version_info[:3], os.getpid())
    try:
        code = compile(source, path, 'exec')
    except SyntaxError as e:
        emit('refuse', '%s:%s:%s: %s: %s' % (sys.argv[1], e.lineno, e.offset, type(e).__name__, e.msg))
        return 2
    _main_code = code
    module = types.ModuleType('__main__')
    module.__file__ = path
    module.__builtins__ = __builtins__
    sys.modules['__main__'] = module
    _main_globals = module.__dict__
    sys.argv = [path]
    # Read by sitecustomize.py in the processes multiprocessing spawns.
    os.environ['INTERLEAVE_PROGRAM'] = path
    os.environ['INTERLEAVE_PARENT'] = str(os.getpid())
    _install()
    if 'multiprocessing' in source:
        _patch_multiprocessing()
    if 'subprocess' in source:
        _patch_subprocess()
    if sys.version_info < (3, 7) and GRANULARITY == 'bytecode':
        emit('refuse', 'CPython %d.%d.%d cannot be stepped by bytecode (frame.f_trace_opcodes is 3.7+): '
             'use granularity=line or a newer interpreter' % sys.version_info[:3])
        return 2
    emit('thread', 0, threading.current_thread().name)
    if hasattr(sys, 'monitoring'):
        _install_monitoring(code)
    _start_tracing()
    status = 0
    try:
        exec(code, module.__dict__)
    except SystemExit as e:
        status = e.code if isinstance(e.code, int) else 1
    except BaseException:
        sys.settrace(None)
        import traceback
        kind, value, tb = sys.exc_info()
        tb = _strip(tb)
        if value is not None:
            value.with_traceback(tb)
        traceback.print_exception(kind, value, tb)
        status = 1
    sys.settrace(None)
    name = _pending_write.pop(me(), None)
    if name is not None and name in module.__dict__:
        v = show(module.__dict__[name])
        if v is not None:
            emit('wrote', me(), name, v)
    t = me()
    _flush_at_exit()
    was_runner = runner(t)
    _finished.add(t)
    emit('done', t)
    hand_over(t, was_runner)
    # Like the interpreter at exit: wait for the threads that are still running.
    for th in threading.enumerate():
        if th is not threading.current_thread() and not th.daemon:
            _RealThread.join(th)
    for name, value in list(module.__dict__.items()):
        if not name.startswith('__') and not isinstance(value, (types.ModuleType, types.FunctionType, type)):
            v = show(value)
            if v is not None:
                emit('final', name, v)
    if 'multiprocessing.sharedctypes' in sys.modules:
        _shared_finals(list(module.__dict__.items()))
    emit('exit', status)
    _send()
    return status


if __name__ == '__main__':
    sys.exit(main())
