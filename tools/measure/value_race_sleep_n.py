# Variant of value_race_sleep.py: N processes, a sleep of S seconds before each of
# 50 increments, R runs; prints the increments lost per run, sorted.
# Usage: python value_race_sleep_n.py N S R   (taskset -c 0 ... for one core)
import sys, time
from multiprocessing import Process, Value
def func(val, sl):
    for i in range(50):
        time.sleep(sl)
        val.value += 1
def once(n, sl):
    v = Value('i', 0)
    ps = [Process(target=func, args=(v, sl)) for i in range(n)]
    for p in ps: p.start()
    for p in ps: p.join()
    return v.value
n = int(sys.argv[1]); sl = float(sys.argv[2]); runs = int(sys.argv[3])
vals = [once(n, sl) for _ in range(runs)]
print("n=%d sleep=%g lost per run:" % (n, sl), sorted(n*50 - x for x in vals))
