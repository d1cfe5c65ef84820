# Measures the claims in the errata of the queue, pipe, threads and thread-local lessons.
# Run: for v in ~/.pyenv/versions/3.*/bin/python; do $v tools/measure/tourb_errata.py; done
import multiprocessing as mp
import queue
import sys
import threading
import time


def spawn_child_recv(results):
    pass


def main():
    print("version:", sys.version.split()[0])

    # 1. multiprocessing's Queue has no Full/Empty attribute; the exceptions live in module queue.
    q = mp.Queue(1)
    print("mp.Queue has .Full:", hasattr(q, "Full"), "; mp.Queue (factory) has .Full:", hasattr(mp.Queue, "Full"))
    q.put("x")
    try:
        q.put("y", False)
    except queue.Full as e:
        print("put(v, False) on a full Queue(1):", type(e).__module__ + "." + type(e).__name__)

    # 2. put(False) is not put_nowait(): it puts the value False (and blocks when full).
    q2 = mp.Queue()
    q2.put(False)
    time.sleep(0.2)
    print("after q.put(False): q.get(timeout=1) ->", repr(q2.get(timeout=1)))
    q3 = mp.Queue(1)
    q3.put("a")
    t0 = time.time()
    try:
        q3.put(False, timeout=0.5)  # what put(False) does on a full queue: waits
    except queue.Full:
        print("put(False, timeout=0.5) on a full queue waited %.1f s, then queue.Full" % (time.time() - t0))

    # 3. empty() right after put(): the feeder thread may not have written yet.
    n_true = 0
    N = 200
    for _ in range(N):
        q4 = mp.Queue()
        q4.put(1)
        if q4.empty():
            n_true += 1
        q4.get()
        q4.close()
        q4.join_thread()
    print("empty() right after put(1) in the same process: True in %d of %d" % (n_true, N))

    # 4. threading names.
    t = threading.Thread(target=main)
    print("Thread(target=main).name:", repr(t.name))
    print("threading has ThreadLocal:", hasattr(threading, "ThreadLocal"))
    loc = threading.local()
    try:
        loc["student"]
    except TypeError as e:
        print("threading.local()['student']: TypeError:", str(e))
    seen = {}

    def setit(name):
        loc.student = name
        seen[name] = dict(loc.__dict__)

    ts = [threading.Thread(target=setit, args=(n,)) for n in ("Alice", "Bob")]
    for x in ts:
        x.start()
    for x in ts:
        x.join()
    print("each thread's loc.__dict__:", sorted(seen.items()), "; main's:", loc.__dict__)


if __name__ == "__main__":
    main()
