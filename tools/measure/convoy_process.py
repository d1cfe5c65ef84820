# Wake-up latency of a thread that sleeps 1 ms, next to CPU-bound work in another
# thread of its process (the convoy effect) and next to CPU-bound work in another
# process (which has its own GIL). Written for interleave's GIL lab.
import multiprocessing as mp
import statistics
import sys
import threading
import time

stop = False


def spin_thread():
    while not stop:
        pass


def spin_process():
    while True:
        pass


def sleeper(samples, k):
    for _ in range(k):
        t0 = time.perf_counter()
        time.sleep(0.001)
        samples.append((time.perf_counter() - t0 - 0.001) * 1000.0)


def latency(next_to, k=200):
    global stop
    stop = False
    other = None
    if next_to == "thread":
        other = threading.Thread(target=spin_thread, daemon=True)
    elif next_to == "process":
        other = mp.Process(target=spin_process, daemon=True)
    if other is not None:
        other.start()
        time.sleep(0.05)
    samples = []
    s = threading.Thread(target=sleeper, args=(samples, k))
    s.start()
    s.join()
    stop = True
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
