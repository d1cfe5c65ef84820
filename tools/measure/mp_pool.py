# Topic 5: multiprocessing.Pool
import multiprocessing as mp
import os
import random
import sys
import time


def long_time_task(name):
    start = time.time()
    time.sleep(0.1 + random.random() * 0.4)
    end = time.time()
    return (name, os.getpid(), mp.current_process().name, start, end)


def ident(x):
    time.sleep(0.02)
    return (os.getpid(), mp.current_process().name)


def main():
    print("version:", sys.version.split()[0])
    print("os.cpu_count():", os.cpu_count())
    p = mp.Pool()
    print("Pool() size (pool._processes):", p._processes)
    names = sorted(set(n for _, n in p.map(ident, range(20), chunksize=1)))
    print("Pool() worker names:", names)
    p.close(); p.join()

    T0 = time.time()
    p = mp.Pool(4)
    res = [p.apply_async(long_time_task, args=(i,)) for i in range(5)]
    print("Waiting for all subprocesses done...")
    p.close()
    p.join()
    print("All subprocesses done.")
    rows = [r.get() for r in res]
    for name, pid, pname, s, e in rows:
        print("  task %d pid=%d worker=%s start=+%.3fs end=+%.3fs" % (name, pid, pname, s - T0, e - T0))
    first4 = rows[:4]
    t5 = rows[4]
    pids4 = set(r[1] for r in first4)
    earliest_end = min(r[4] for r in first4)
    finisher = [r for r in first4 if r[1] == t5[1]]
    print("task 4 (5th) pid in first-4 pids:", t5[1] in pids4,
          "; distinct pids overall:", len(set(r[1] for r in rows)),
          "; task 4 started after earliest finish:", t5[3] >= earliest_end - 0.001,
          "; ran on the worker whose task finished first:",
          bool(finisher) and finisher[0][4] == earliest_end)

    # Error messages
    p = mp.Pool(2)
    try:
        p.join()
    except Exception as e:
        print("pool.join() before close(): %s: %r" % (type(e).__name__, str(e)))
    p.close()
    try:
        p.apply_async(ident, (1,))
    except Exception as e:
        print("apply_async after close(): %s: %r" % (type(e).__name__, str(e)))
    try:
        p.map(ident, [1])
    except Exception as e:
        print("map after close(): %s: %r" % (type(e).__name__, str(e)))
    p.join()
    p = mp.Pool(2)
    p.terminate()
    try:
        p.apply_async(ident, (1,))
    except Exception as e:
        print("apply_async after terminate(): %s: %r" % (type(e).__name__, str(e)))
    p.join()

    # with-statement: __exit__ calls terminate()
    with mp.Pool(2) as p:
        r = p.apply_async(ident, (1,))
        print("inside with: result", r.get(timeout=10)[1])
    try:
        p.apply_async(ident, (1,))
    except Exception as e:
        print("apply_async after with-block exit: %s: %r" % (type(e).__name__, str(e)))
    print("pool._state after with:", p._state)

    # exception inside a task
    p = mp.Pool(1)
    r = p.apply_async(int, ("x",))
    try:
        r.get(timeout=10)
    except Exception as e:
        print("exception in task re-raised by get(): %s: %s" % (type(e).__name__, e))
    p.close(); p.join()


if __name__ == "__main__":
    main()
