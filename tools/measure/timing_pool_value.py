# Issue 12, second pass: the figures the pool and value-race lessons were still off on,
# measured on a terminal (a pty) as a student would see them: Pool(4)'s start orders,
# how many `Run task` lines the two pool mistakes print before their ValueError, and
# the distribution of value-race results (10 processes x 50, no lock).
# Prints one JSON object. Usage: python timing_pool_value.py [RUNS_SCALE]
import json
import re
import sys

from timing_lessons import POOL, VALUE, on_tty

SCALE = float(sys.argv[1]) if len(sys.argv) > 1 else 1.0


def n(runs):
    return max(1, int(runs * SCALE))


def main():
    res = {"version": sys.version.split()[0]}
    orders = []
    for _ in range(n(40)):
        out, _ = on_tty(POOL.replace("MISTAKE", "pass"), 20)
        orders.append("".join(re.findall(r"Run task (\d)", out)[:4]))
    res["pool4_start_orders"] = orders
    for mistake, code in (("join-before-close", "p.join()"),
                          ("apply-after-close", "p.close(); p.apply_async(long_time_task, args=(99,))")):
        counts = []
        for _ in range(n(20)):
            out, _ = on_tty(POOL.replace("MISTAKE", code), 20)
            counts.append([out.count("Run task"), out.count("Task "), "ValueError" in out])
        res["pool_mistake_" + mistake] = counts
    values = []
    for _ in range(n(80)):
        out, _ = on_tty(VALUE, 20)
        m = re.findall(r"^(\d+)$", out, re.M)
        values.append(int(m[-1]) if m else -1)
    res["value_race_10x50"] = values
    print(json.dumps(res))


if __name__ == "__main__":
    main()
