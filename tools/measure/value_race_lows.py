# Issue 12, value-race lows: the distribution of the final value of the lesson's program
# (10 processes x 50 `counter.value += 1`, no lock), each run a fresh interpreter on a
# terminal (a pty), as a student would run it. Also an instrumented variant (same program,
# each child records when its loop starts and ends, in a shared Array) to see how much the
# children overlap and how long a loop of 50 takes.
# Prints one JSON object. Usage: python value_race_lows.py [RUNS] [TIMED_RUNS]
import json
import os
import re
import sys

from timing_lessons import VALUE, on_tty

RUNS = int(sys.argv[1]) if len(sys.argv) > 1 else 240
TIMED_RUNS = int(sys.argv[2]) if len(sys.argv) > 2 else 40

TIMED = """
import time
from multiprocessing import Process, Value, Array
def add(counter, stamps, k):
    stamps[2 * k] = time.perf_counter()
    for i in range(50):
        counter.value += 1
    stamps[2 * k + 1] = time.perf_counter()
if __name__ == '__main__':
    counter = Value('i', 0)
    stamps = Array('d', 20)
    procs = [Process(target=add, args=(counter, stamps, k)) for k in range(10)]
    t0 = time.perf_counter()
    for p in procs:
        p.start()
    for p in procs:
        p.join()
    print(counter.value)
    print(' '.join('%.1f' % ((s - t0) * 1e6) for s in stamps))
"""


def main():
    res = {"version": sys.version.split()[0], "load_before": os.getloadavg()[0]}
    values = []
    for _ in range(RUNS):
        out, _ = on_tty(VALUE, 20)
        m = re.findall(r"^(\d+)$", out, re.M)
        values.append(int(m[-1]) if m else -1)
    res["value_race_10x50"] = values
    timed = []
    for _ in range(TIMED_RUNS):
        out, _ = on_tty(TIMED, 20)
        lines = out.strip().split("\n")
        if len(lines) >= 2:
            try:
                timed.append([int(lines[-2])] + [float(x) for x in lines[-1].split()])
            except ValueError:
                pass
    # Each entry: final value, then (loop start, loop end) in µs after the first start()
    # for Process-1..10.
    res["timed_runs"] = timed
    res["load_after"] = os.getloadavg()[0]
    print(json.dumps(res))


if __name__ == "__main__":
    main()
