# Wake-up latency of a thread that sleeps 1 ms, next to CPU-bound work in another
# thread of its process (the convoy effect) and next to CPU-bound work in another
# process (which has its own GIL). Written for interleave's GIL lab.
import multiprocessing as mp
import statistics
import sys
import threading
import time

import gil_cpu  # its spinner thread and its 1 ms sleeper


def spin_process():
    while True:
        pass


def latency(next_to, k=200):
    gil_cpu.stop = False
    other = None
    if next_to == "thread":
        other = threading.Thread(target=gil_cpu.spinner, daemon=True)
    elif next_to == "process":
        other = mp.Process(target=spin_process, daemon=True)
    if other is not None:
        other.start()
        time.sleep(0.05)
    samples = []
    s = threading.Thread(target=gil_cpu.sleeper, args=(samples, k))
    s.start()
    s.join()
    gil_cpu.stop = True
    if next_to == "process":
        other.terminate()
    if other is not None:
        other.join()
    samples.sort()
    return statistics.median(samples), samples[int(len(samples) * 0.9)]


def main():
    print("version:", sys.version.split()[0], " switchinterval:", sys.getswitchinterval())
    for next_to in ("nothing", "thread", "process"):
        med, p90 = latency(next_to)
        print("sleeper next to a CPU-bound %-8s wake-up late by: median %.3f ms, p90 %.3f ms"
              % (next_to + ":", med, p90))


if __name__ == "__main__":
    main()
