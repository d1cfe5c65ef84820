# Is a process still alive right after terminate()? terminate() sends SIGTERM and
# returns; the child is gone (and reaped by join) a moment later.
import sys, time
from multiprocessing import Process


def forever():
    while True:
        time.sleep(0.01)


if __name__ == '__main__':
    alive_after = 0
    N = 20
    codes = set()
    for _ in range(N):
        p = Process(target=forever)
        p.start()
        time.sleep(0.05)
        p.terminate()
        if p.is_alive():
            alive_after += 1
        p.join()
        codes.add(p.exitcode)
    print("version:", sys.version.split()[0], "is_alive() True right after terminate(): %d of %d; exitcode after join: %s" % (alive_after, N, sorted(codes)))
