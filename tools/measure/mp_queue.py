# Topic 6: multiprocessing.Queue
import multiprocessing as mp
import os
import queue
import sys
import time


def write(q):
    for value in ['A', 'B', 'C']:
        q.put(value)
        time.sleep(0.05)


def read(q):
    while True:
        value = q.get(True)
        sys.stdout.write("  Get %s from queue.\n" % value)
        sys.stdout.flush()


def main():
    print("version:", sys.version.split()[0])
    q = mp.Queue()
    print("type(mp.Queue()):", type(q))
    q.put(1); q.put("two")
    time.sleep(0.05)
    print("qsize after 2 puts:", q.qsize(), " empty():", q.empty())
    print("get, get:", q.get(), q.get())
    try:
        q.get(block=False)
    except Exception as e:
        print("get(block=False) on empty: type=%r repr=%r str=%r is queue.Empty=%s"
              % (type(e), e, str(e), isinstance(e, queue.Empty)))
    try:
        q.get_nowait()
    except queue.Empty as e:
        print("get_nowait() on empty: %r" % (e,))
    t0 = time.time()
    try:
        q.get(timeout=0.2)
    except queue.Empty as e:
        print("get(timeout=0.2) on empty raised %s after %.2fs" % (type(e).__name__, time.time() - t0))
    print("queue.Empty:", queue.Empty, " queue.Full:", queue.Full)
    print("mp.queues.Empty is queue.Empty:", mp.queues.Empty is queue.Empty)

    q1 = mp.Queue(maxsize=1)
    q1.put("x")
    try:
        q1.put("y", block=False)
    except Exception as e:
        print("Queue(maxsize=1) put(block=False) when full: type=%r repr=%r str=%r" % (type(e), e, str(e)))
    t0 = time.time()
    try:
        q1.put("y", timeout=0.2)
    except queue.Full as e:
        print("put(timeout=0.2) when full raised %s after %.2fs" % (type(e).__name__, time.time() - t0))

    # tutorial: writer + infinite reader terminated
    q = mp.Queue()
    pw = mp.Process(target=write, args=(q,))
    pr = mp.Process(target=read, args=(q,))
    pw.start(); pr.start()
    pw.join()
    time.sleep(0.2)
    pr.terminate()
    pr.join()
    print("reader exitcode after terminate():", pr.exitcode, " writer exitcode:", pw.exitcode)

    q.close()
    try:
        q.put(1)
    except Exception as e:
        print("put after q.close(): %s: %r" % (type(e).__name__, str(e)))


if __name__ == "__main__":
    main()
