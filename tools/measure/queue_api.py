# Issue 15 (the `queue-api` lesson): multiprocessing.Queue beyond put/get, per CPython
# version: what qsize/empty/full say right after a put (they are hints: a feeder
# thread moves items into the pipe), the nowait calls and their exceptions, a bounded
# queue blocking its writer, put with a timeout, and the order several writers' items
# arrive in.
#
#   python3 tools/measure/queue_api.py [RUNS] [VERSION ...]
import glob, os, subprocess, sys, tempfile

RUNS = int(sys.argv[1]) if len(sys.argv) > 1 else 200
WANT = sys.argv[2:]

PROGRAM = r'''
import multiprocessing as mp, os, queue, sys, time
RUNS = int(sys.argv[1])

def say(name, what):
    print('%-40s %s' % (name, what), flush=True)

def attempt(name, fn):
    try:
        say(name, repr(fn()))
    except BaseException as e:
        say(name, 'raises %s.%s %r' % (type(e).__module__, type(e).__qualname__, str(e)))

def writer(q, tag):
    for i in range(3):
        q.put('%s%d' % (tag, i))

def blocked_writer(q):
    for i in range(5):
        q.put(i)
        print('writer put %d at %.2f s' % (i, time.time() - T0), flush=True)

if __name__ == '__main__':
    # empty() straight after put(): the item may still be in the feeder thread.
    empty_after_put = 0
    get_nowait_empty = 0
    for _ in range(RUNS):
        q = mp.Queue()
        q.put('x')
        empty_after_put += q.empty()
        try:
            q.get_nowait()
        except queue.Empty:
            get_nowait_empty += 1
        q.close()
        q.join_thread()
    say('empty() is True right after put()', '%d of %d' % (empty_after_put, RUNS))
    say('get_nowait() raises Empty right after put()', '%d of %d' % (get_nowait_empty, RUNS))
    q = mp.Queue()
    attempt('qsize() of an empty Queue', lambda: q.qsize())
    attempt('get_nowait() on an empty Queue', lambda: q.get_nowait())
    attempt('get(True, 0.1) on an empty Queue', lambda: q.get(True, 0.1))
    attempt('queue.Empty is', lambda: queue.Empty)
    attempt('mp.queues.Empty is queue.Empty', lambda: __import__('multiprocessing.queues').queues.Empty is queue.Empty)
    b = mp.Queue(3)
    for i in range(3):
        b.put(i)
    time.sleep(0.1)
    attempt('Queue(3) with 3 items: full()', lambda: b.full())
    attempt('Queue(3) with 3 items: qsize()', lambda: b.qsize())
    attempt('put_nowait() on a full Queue(3)', lambda: b.put_nowait(9))
    attempt('put(9, True, 0.1) on a full Queue(3)', lambda: b.put(9, True, 0.1))
    attempt('put(9, False) on a full Queue(3)', lambda: b.put(9, False))
    attempt('hasattr(mp.Queue, "Full")', lambda: hasattr(b, 'Full'))
    T0 = time.time()
    c = mp.Queue(2)
    w = mp.Process(target=blocked_writer, args=(c,))
    T0 = time.time()
    w.start()
    time.sleep(0.5)
    say('reader starts getting at', '%.2f s' % (time.time() - T0))
    got = [c.get() for _ in range(5)]
    w.join()
    say('reader got', got)
    # Several writers on one queue: is each writer's own order kept? how do they mix?
    kept, mixed = 0, 0
    for _ in range(20):
        q = mp.Queue()
        ps = [mp.Process(target=writer, args=(q, t)) for t in 'ABC']
        for p in ps: p.start()
        items = [q.get() for _ in range(9)]
        for p in ps: p.join()
        kept += all([x for x in items if x[0] == t] == ['%s%d' % (t, i) for i in range(3)] for t in 'ABC')
        mixed += any(items[i][0] != items[i + 1][0] for i in (0, 1, 3, 4, 6, 7))
    say('3 writers x 3 items, 20 runs: own order kept', kept)
    say('... runs where writers interleave', mixed)
'''

for exe in sorted(glob.glob(os.path.expanduser('~/.pyenv/versions/3.*/bin/python'))):
    version = exe.split('/')[-3]
    if WANT and not any(version.startswith(w) for w in WANT):
        continue
    with tempfile.NamedTemporaryFile('w', suffix='.py', delete=False) as f:
        f.write(PROGRAM)
    try:
        r = subprocess.run([exe, f.name, str(RUNS)], capture_output=True, text=True, timeout=120)
        out = r.stdout + r.stderr[-400:]
    except subprocess.TimeoutExpired as t:
        out = (t.stdout or b'').decode() + '\n(timed out)'
    finally:
        os.unlink(f.name)
    print('== %s' % version)
    print(out, flush=True)
