"""Checks behind the errata of the value-race, tickets, deadlock and gil lessons.

Run with each CPython: for v in 3.6.15 ... 3.13.0; do ~/.pyenv/versions/$v/bin/python
tutorial_errata_c.py; done. Prints one `key: value` line per claim.
"""
import json
import os
import sys
import tempfile
import threading
import time
from multiprocessing import Process, Value


def bump(val):
    # the tutorial's func(val): 50 increments with a 0.01 s nap, no lock
    for i in range(50):
        time.sleep(0.01)
        val.value += 1


def reader(path, stop_at, out):
    errors = reads = 0
    while time.time() < stop_at:
        try:
            with open(path) as f:
                json.load(f)
        except ValueError:  # json.JSONDecodeError is a ValueError
            errors += 1
        reads += 1
    out.value = errors


def writer(path, stop_at):
    while time.time() < stop_at:
        with open(path, 'w') as f:
            json.dump({'count': 1}, f)


if __name__ == '__main__':
    print('version:', sys.version.split()[0])

    # value-race: the tutorial's fixed code has a full-width '＃' before its comment
    try:
        compile("v = 0\n\uff03 初始化锁\nlock = None\n", 'tutorial.py', 'exec')
        print('fullwidth_hash: compiles')
    except SyntaxError as e:
        print('fullwidth_hash: SyntaxError:', e.msg)

    # value-race: what Value('i', 0) is
    v = Value('i', 0)
    print('value_type:', type(v).__module__ + '.' + type(v).__name__)
    print('value_get_lock:', type(v.get_lock()).__module__ + '.' + type(v.get_lock()).__name__)

    # value-race: the tutorial's unlocked program (with its sleep 0.01), 5 runs
    results = []
    for run in range(5):
        val = Value('i', 0)
        procs = [Process(target=bump, args=(val,)) for i in range(10)]
        for p in procs:
            p.start()
        for p in procs:
            p.join()
        results.append(val.value)
    print('tutorial_value_runs:', results)

    # tickets: a reader that opens the file between a writer's truncate and write
    d = tempfile.mkdtemp()
    path = os.path.join(d, 'ticket.json')
    with open(path, 'w') as f:
        json.dump({'count': 1}, f)
    w = open(path, 'w')  # truncates at once, before anything is written
    try:
        with open(path) as f:
            json.load(f)
        print('read_after_truncate: ok')
    except ValueError as e:
        print('read_after_truncate:', type(e).__name__ + ':', e)
    json.dump({'count': 0}, w)
    w.close()
    errs = Value('i', 0)
    stop_at = time.time() + 1.0
    ps = [Process(target=writer, args=(path, stop_at)),
          Process(target=reader, args=(path, stop_at, errs))]
    for p in ps:
        p.start()
    for p in ps:
        p.join()
    print('reader_errors_in_1s_against_a_writer:', errs.value)

    # deadlock: the threads that wait forever are alive, not dead
    a, b = threading.Lock(), threading.Lock()

    def w1():
        with a:
            time.sleep(0.1)
            b.acquire()

    def w2():
        with b:
            time.sleep(0.1)
            a.acquire()

    t1 = threading.Thread(target=w1, daemon=True)
    t2 = threading.Thread(target=w2, daemon=True)
    t1.start()
    t2.start()
    t1.join(1.0)
    print('deadlocked_is_alive:', t1.is_alive(), t2.is_alive(), 'active_count:', threading.active_count())

    # gil: "every 100 bytecodes"
    print('switchinterval:', sys.getswitchinterval(), 'has_getcheckinterval:', hasattr(sys, 'getcheckinterval'))

