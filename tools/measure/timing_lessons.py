# Calibration for the timed scheduler: each lesson's headline figure on this CPython,
# the lesson's own program run many times on a terminal (a pty), as a student would.
# Prints one JSON object. Usage: python timing_lessons.py [RUNS_SCALE]
import json
import os
import pty
import re
import select
import subprocess
import sys
import time

SCALE = float(sys.argv[1]) if len(sys.argv) > 1 else 1.0


def on_tty(code, timeout):
    """Runs `code` on a fresh interpreter whose stdout and stderr are a terminal.
    Returns (output, timed_out)."""
    master, slave = pty.openpty()
    env = dict(os.environ)
    env.pop("PYTHONUNBUFFERED", None)
    p = subprocess.Popen([sys.executable, "-c", code], stdin=subprocess.DEVNULL,
                         stdout=slave, stderr=slave, env=env, start_new_session=True)
    os.close(slave)
    out = b""
    end = time.time() + timeout
    timed_out = False
    while True:
        left = end - time.time()
        if left <= 0:
            timed_out = True
            break
        r, _, _ = select.select([master], [], [], min(left, 0.2))
        if r:
            try:
                chunk = os.read(master, 65536)
            except OSError:
                chunk = b""
            if not chunk:
                break
            out += chunk
        elif p.poll() is not None:
            # Drain what is left, then stop.
            while select.select([master], [], [], 0.05)[0]:
                try:
                    chunk = os.read(master, 65536)
                except OSError:
                    chunk = b""
                if not chunk:
                    break
                out += chunk
            break
    if p.poll() is None:
        os.killpg(p.pid, 9)
    p.wait()
    os.close(master)
    return out.decode(errors="replace").replace("\r\n", "\n"), timed_out


THREAD_LOCAL = """
import threading
local_school = threading.local()
def process_student():
    std = local_school.student
    print('Hello, %s (in %s)' % (std, threading.current_thread().name))
def process_thread(name):
    local_school.student = name
    process_student()
t1 = threading.Thread(target=process_thread, args=('Alice',), name='Thread-A')
t2 = threading.Thread(target=process_thread, args=('Bob',), name='Thread-B')
t1.start()
t2.start()
t1.join()
t2.join()
"""

DEADLOCK = """
import threading, time
lock_a = threading.Lock()
lock_b = threading.Lock()
def worker_1():
    lock_a.acquire()
    print('t1 holds lock_a')
    lock_b.acquire()
    print('t1 holds lock_a and lock_b')
    lock_b.release()
    lock_a.release()
def worker_2():
    lock_b.acquire()
    print('t2 holds lock_b')
    lock_a.acquire()
    print('t2 holds both locks')
    lock_a.release()
    lock_b.release()
t1 = threading.Thread(target=worker_1, name='t1')
t2 = threading.Thread(target=worker_2, name='t2')
t1.start()
t2.start()
t1.join()
t2.join()
print('both threads finished')
"""

POOL = """
from multiprocessing import Pool
import os, time
def long_time_task(name):
    print('Run task %s (%s)...' % (name, os.getpid()))
    time.sleep(0.1)
    print('Task %s done.' % name)
if __name__=='__main__':
    print('Parent process %s.' % os.getpid())
    p = Pool(4)
    for i in range(5):
        p.apply_async(long_time_task, args=(i,))
    print('Waiting for all subprocesses done...')
    MISTAKE
    p.close()
    p.join()
    print('All subprocesses done.')
"""

VALUE = """
from multiprocessing import Process, Value, Lock
def add(counter, lock):
    for i in range(50):
        counter.value += 1
if __name__ == '__main__':
    counter = Value('i', 0)
    lock = Lock()
    procs = [Process(target=add, args=(counter, lock)) for i in range(10)]
    for p in procs:
        p.start()
    for p in procs:
        p.join()
    print(counter.value)
"""

GIL_LAB = """
import os, threading, time
import multiprocessing as mp
def count(n):
    while n > 0:
        n -= 1
def probe():
    for i in range(10):
        t = time.perf_counter()
        time.sleep(0.001)
        late = time.perf_counter() - t - 0.001
        print('I/O thread woke up %.1f ms late' % (late * 1000))
def cpu():
    t = os.times()
    return t.user + t.system + t.children_user + t.children_system
if __name__ == '__main__':
    t0 = time.perf_counter()
    for i in range(2):
        count(N)
    one_after_another = time.perf_counter() - t0
    workers = [MAKE(target=count, args=(N,)) for i in range(2)]
    io = threading.Thread(target=probe)
    io.start()
    t0, c0 = time.perf_counter(), cpu()
    for w in workers:
        w.start()
    for w in workers:
        w.join()
    wall, used = time.perf_counter() - t0, cpu() - c0
    io.join()
    print('one after another: %.1f ms' % (one_after_another * 1000))
    print('at the same time:  %.1f ms wall, %.1f ms CPU' % (wall * 1000, used * 1000))
    print('speed-up: %.2fx' % (one_after_another / wall))
"""


def n(runs):
    return max(1, int(runs * SCALE))


def main():
    res = {"version": sys.version.split()[0]}
    first = []
    for _ in range(n(60)):
        out, _ = on_tty(THREAD_LOCAL, 10)
        first.append("A" if out.find("Alice") < out.find("Bob") else "B")
    res["thread_local_first"] = "".join(first)

    dead = 0
    runs = n(20)
    for _ in range(runs):
        _, timed_out = on_tty(DEADLOCK, 1.5)
        dead += timed_out
    res["deadlock_no_nap"] = [dead, runs]

    orders = []
    for _ in range(n(30)):
        out, _ = on_tty(POOL.replace("MISTAKE", "pass"), 20)
        orders.append("".join(re.findall(r"Run task (\d)", out)[:4]))
    res["pool4_start_orders"] = orders

    for mistake, code in (("join-before-close", "p.join()"),
                          ("apply-after-close", "p.close(); p.apply_async(long_time_task, args=(99,))")):
        counts = []
        for _ in range(n(20)):
            out, _ = on_tty(POOL.replace("MISTAKE", code), 20)
            counts.append(out.count("Run task"))
        res["pool_mistake_" + mistake + "_run_lines"] = counts

    values = []
    for _ in range(n(50)):
        out, _ = on_tty(VALUE, 20)
        m = re.findall(r"^(\d+)$", out, re.M)
        values.append(int(m[-1]) if m else -1)
    res["value_race_10x50"] = values

    for make in ("threading.Thread", "mp.Process"):
        late, figures = [], []
        for _ in range(n(1)):
            out, _ = on_tty(GIL_LAB.replace("MAKE", make).replace("N", "20000000"), 120)
            late += [float(x) for x in re.findall(r"woke up ([\d.]+) ms late", out)]
            figures.append([float(x) for x in re.findall(r"([\d.]+) ms|([\d.]+)x", out) for x in x if x])
        res["gil_lab_" + make + "_late_ms"] = late
        res["gil_lab_" + make + "_figures"] = figures
    print(json.dumps(res))


if __name__ == "__main__":
    main()
