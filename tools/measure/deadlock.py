# Topic 12: lock-ordering deadlock, detected with timeouts (never hangs).
import sys
import threading
import time

print("version:", sys.version.split()[0])


def run(order_a, order_b, use_timeout):
    A = threading.Lock()
    B = threading.Lock()
    locks = {"A": A, "B": B}
    log = []

    def worker(name, first, second):
        l1, l2 = locks[first], locks[second]
        l1.acquire()
        log.append("%s holds %s" % (name, first))
        time.sleep(0.1)
        if use_timeout:
            ok = l2.acquire(timeout=2)
        else:
            l2.acquire()
            ok = True
        if ok:
            log.append("%s holds %s+%s" % (name, first, second))
            l2.release()
        else:
            log.append("%s: acquire(%s, timeout=2) -> False" % (name, second))
        l1.release()

    t1 = threading.Thread(target=worker, args=("T1",) + order_a, daemon=True)
    t2 = threading.Thread(target=worker, args=("T2",) + order_b, daemon=True)
    t0 = time.time()
    t1.start(); t2.start()
    deadline = t0 + 3
    for t in (t1, t2):
        t.join(max(0.0, deadline - time.time()))
    alive = [t.name for t in (t1, t2) if t.is_alive()]
    return time.time() - t0, alive, log


dt, alive, log = run(("A", "B"), ("B", "A"), use_timeout=False)
print("opposite order, plain acquire(): after %.1fs threads still alive: %d -> %s; log=%s"
      % (dt, len(alive), "DEADLOCKED" if alive else "completed", log))
dt, alive, log = run(("A", "B"), ("B", "A"), use_timeout=True)
print("opposite order, acquire(timeout=2): %.1fs alive=%d log=%s" % (dt, len(alive), log))
dt, alive, log = run(("A", "B"), ("A", "B"), use_timeout=False)
print("consistent order A then B: %.1fs alive=%d -> %s; log=%s"
      % (dt, len(alive), "DEADLOCKED" if alive else "completed", log))
lk = threading.Lock()
lk.acquire()
print("same Lock acquired twice by one thread: acquire(timeout=0.5) ->", lk.acquire(timeout=0.5))
lk.release()
r = threading.RLock()
r.acquire()
print("RLock acquired twice by one thread: acquire(timeout=0.5) ->", r.acquire(timeout=0.5))
try:
    threading.Lock().release()
except Exception as e:
    print("release() of unlocked Lock: %s: %r" % (type(e).__name__, str(e)))
print("repr(threading.Lock()):", repr(threading.Lock()).split(" object at")[0])
