# The tutorial's multiprocessing.Value program as written: ten processes, fifty
# increments each, time.sleep(0.01) before every increment, with and without the
# lock. Prints, per configuration, how many runs ended below 500 and the values.
# Usage: python value_race_sleep.py [RUNS]
import sys
import time
from multiprocessing import Process, Value, Lock


def func(val):
    for i in range(50):
        time.sleep(0.01)
        val.value += 1


def func_locked(val, lock):
    for i in range(50):
        time.sleep(0.01)
        with lock:
            val.value += 1


def once(locked):
    v = Value('i', 0)
    lock = Lock()
    if locked:
        procs = [Process(target=func_locked, args=(v, lock)) for i in range(10)]
    else:
        procs = [Process(target=func, args=(v,)) for i in range(10)]
    for p in procs:
        p.start()
    for p in procs:
        p.join()
    return v.value


def main():
    runs = int(sys.argv[1]) if len(sys.argv) > 1 else 20
    print("version:", sys.version.split()[0])
    for locked in (False, True):
        t0 = time.time()
        vals = [once(locked) for _ in range(runs)]
        low = [x for x in vals if x < 500]
        print("lock=%s runs=%d below500=%d min=%d values=%s (%.1fs)"
              % ("on" if locked else "off", runs, len(low), min(vals), sorted(vals), time.time() - t0))
        sys.stdout.flush()


if __name__ == '__main__':
    main()
