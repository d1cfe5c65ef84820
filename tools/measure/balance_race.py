# Topic 1: the classic `balance` race (liaoxuefeng-style tutorial program).
# Compatible with Python 2.7 and 3.6+ (2.7 only used as a historical baseline).
from __future__ import print_function
import dis
import sys
import threading
import time

balance = 0


def change_it(n):
    global balance
    balance = balance + n
    balance = balance - n


def run_thread(n, iters):
    for i in range(iters):
        change_it(n)


lock = threading.Lock()


def run_thread_locked(n, iters):
    for i in range(iters):
        lock.acquire()
        try:
            change_it(n)
        finally:
            lock.release()


def noop():
    pass


def change_it_with_call(n):
    # Variant: a Python-level call between each read and its write.  On 3.10+
    # a thread switch can only happen at a call/function entry or loop back-edge,
    # so this re-opens the read-modify-write window that 3.10+ closed.
    global balance
    tmp = balance
    noop()
    balance = tmp + n
    tmp = balance
    noop()
    balance = tmp - n


def run_thread_call(n, iters):
    for i in range(iters):
        change_it_with_call(n)


def trial(target, iters):
    global balance
    balance = 0
    t1 = threading.Thread(target=target, args=(5, iters))
    t2 = threading.Thread(target=target, args=(8, iters))
    t1.start()
    t2.start()
    t1.join()
    t2.join()
    return balance


def series(label, target, iters, runs):
    t0 = time.time()
    vals = [trial(target, iters) for _ in range(runs)]
    nz = [v for v in vals if v != 0]
    print("%s: iters=%d runs=%d nonzero=%d/%d examples=%s distinct_values=%s time=%.1fs"
          % (label, iters, runs, len(nz), runs, nz[:5], sorted(set(vals))[:12], time.time() - t0))
    sys.stdout.flush()


print("version:", sys.version.split()[0])
if hasattr(sys, "getswitchinterval"):
    print("sys.getswitchinterval():", repr(sys.getswitchinterval()))
else:
    print("sys.getswitchinterval(): <absent>")
if hasattr(sys, "getcheckinterval"):
    import warnings
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        print("sys.getcheckinterval():", sys.getcheckinterval())
else:
    print("sys.getcheckinterval(): <absent>")
print("dis.dis(change_it):")
sys.stdout.flush()
dis.dis(change_it)
sys.stdout.flush()

# optional: python3 balance_race.py RUNS_100K RUNS_1M  (defaults 50 10)
R100K = int(sys.argv[1]) if len(sys.argv) > 1 else 50
R1M = int(sys.argv[2]) if len(sys.argv) > 2 else 10
series("unlocked", run_thread, 100000, R100K)
series("unlocked", run_thread, 1000000, R1M)
if len(sys.argv) > 1:
    sys.exit(0)
if hasattr(sys, "setswitchinterval"):
    # thousands of forced switches per run: on 3.10+ still none lands inside change_it
    sys.setswitchinterval(1e-5)
    series("unlocked, setswitchinterval(1e-5)", run_thread, 100000, 10)
    sys.setswitchinterval(0.005)
series("locked", run_thread_locked, 100000, 10)
series("call-between-read-and-write", run_thread_call, 1000000, 10)
