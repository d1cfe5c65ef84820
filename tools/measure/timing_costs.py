# Calibration for the timed scheduler: what single operations cost on this CPython.
# Prints one JSON object (medians in nanoseconds). Run on every pyenv CPython by
# tools/measure/calibrate.sh; the figures are copied into src/sim/calibration.rs.
import json
import multiprocessing as mp
import os
import sys
import threading
import time

pc = time.perf_counter


def median(xs):
    xs = sorted(xs)
    return xs[len(xs) // 2]


def pct(xs, p):
    xs = sorted(xs)
    return xs[min(len(xs) - 1, int(len(xs) * p))]


balance = 0


def change_it(n):
    global balance
    balance = balance + n
    balance = balance - n


def balance_iter_ns():
    best = None
    for _ in range(5):
        t = pc()
        for i in range(200000):
            change_it(5)
        d = (pc() - t) / 200000 * 1e9
        best = d if best is None else min(best, d)
    return best


def noop(n):
    pass


def call_iter_ns():
    # The balance loop with an empty change_it: the rest is the two statements.
    best = None
    for _ in range(5):
        t = pc()
        for i in range(200000):
            noop(5)
        d = (pc() - t) / 200000 * 1e9
        best = d if best is None else min(best, d)
    return best


def value_incr_ns():
    # counter.value += 1 on a multiprocessing.Value: lock, read, unlock, lock, write, unlock.
    c = mp.Value("i", 0)
    best = None
    for _ in range(5):
        t = pc()
        for i in range(20000):
            c.value += 1
        d = (pc() - t) / 20000 * 1e9
        best = d if best is None else min(best, d)
    return best


def countdown_ns():
    best = None
    for _ in range(5):
        n = 1000000
        t = pc()
        while n > 0:
            n -= 1
        d = (pc() - t) / 1000000 * 1e9
        best = d if best is None else min(best, d)
    return best


def thread_start():
    first, ret = [], []
    for _ in range(200):
        box = []
        th = threading.Thread(target=lambda: box.append(pc()))
        t = pc()
        th.start()
        r = pc()
        th.join()
        first.append((box[0] - t) * 1e9)
        ret.append((r - t) * 1e9)
    return median(first), median(ret)


def _child_first(q, t0):
    q.put(time.perf_counter() - t0)


def process_start():
    # perf_counter is CLOCK_MONOTONIC on Linux: one clock for every process.
    q = mp.Queue()
    first, ret, join = [], [], []
    for _ in range(30):
        t = pc()
        p = mp.Process(target=_child_first, args=(q, t))
        p.start()
        r = pc()
        first.append(q.get() * 1e9)
        p.join()
        join.append((pc() - t) * 1e9)
        ret.append((r - t) * 1e9)
    return median(first), median(ret), median(join)


def print_cost(fd_out, buffering, lines=300):
    # A terminal is line-buffered (a write per print); a pipe is block-buffered.
    f = open(fd_out, "w", buffering=buffering, closefd=False)
    t = pc()
    for i in range(lines):
        print("Run task %s (%s)..." % (i, 12345), file=f)
    f.flush()
    return (pc() - t) / lines * 1e9


def print_costs():
    import pty

    r, w = os.pipe()
    pid = os.fork()
    if pid == 0:
        os.close(w)
        while os.read(r, 65536):
            pass
        os._exit(0)
    os.close(r)
    pipe_ns = print_cost(w, -1)
    os.close(w)
    os.waitpid(pid, 0)
    master, slave = pty.openpty()
    pid = os.fork()
    if pid == 0:
        os.close(slave)
        try:
            while os.read(master, 65536):
                pass
        except OSError:
            pass
        os._exit(0)
    tty_ns = print_cost(slave, 1)
    os.close(slave)
    os.close(master)
    os.waitpid(pid, 0)
    return pipe_ns, tty_ns


def sleep_late():
    late = []
    for _ in range(200):
        t = pc()
        time.sleep(0.001)
        late.append((pc() - t - 0.001) * 1e9)
    return median(late), pct(late, 0.9)


def _getter(q, out):
    for _ in range(50):
        t0 = q.get()
        out.put(time.perf_counter() - t0)


def _receiver(conn, out):
    for _ in range(50):
        t0 = conn.recv()
        out.put(time.perf_counter() - t0)


def handoffs():
    q, out = mp.Queue(), mp.Queue()
    p = mp.Process(target=_getter, args=(q, out))
    p.start()
    qs = []
    for _ in range(50):
        time.sleep(0.002)
        q.put(pc())
        qs.append(out.get() * 1e9)
    p.join()
    a, b = mp.Pipe()
    p = mp.Process(target=_receiver, args=(b, out))
    p.start()
    ps = []
    for _ in range(50):
        time.sleep(0.002)
        a.send(pc())
        ps.append(out.get() * 1e9)
    p.join()
    return median(qs), median(ps)


def _task(t0):
    return time.perf_counter() - t0


def pool_dispatch():
    with mp.Pool(2) as pool:
        pool.apply(_task, (pc(),))
        xs = []
        for _ in range(50):
            time.sleep(0.002)
            xs.append(pool.apply_async(_task, (pc(),)).get() * 1e9)
    return median(xs)


if __name__ == "__main__":
    out = {"version": sys.version.split()[0]}
    out["balance_iter_ns"] = balance_iter_ns()
    out["call_iter_ns"] = call_iter_ns()
    out["countdown_turn_ns"] = countdown_ns()
    out["value_incr_ns"] = value_incr_ns()
    out["thread_first_line_ns"], out["thread_start_returns_ns"] = thread_start()
    (
        out["process_first_line_ns"],
        out["process_start_returns_ns"],
        out["process_start_to_joined_ns"],
    ) = process_start()
    out["print_pipe_ns"], out["print_tty_ns"] = print_costs()
    out["sleep_1ms_late_ns"], out["sleep_1ms_late_p90_ns"] = sleep_late()
    out["queue_handoff_ns"], out["pipe_handoff_ns"] = handoffs()
    out["pool_dispatch_ns"] = pool_dispatch()
    print(json.dumps({k: (round(v) if isinstance(v, float) else v) for k, v in out.items()}))
