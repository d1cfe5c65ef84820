# Issue 16 (lessons after the tutorials): threading.Condition, Semaphore,
# BoundedSemaphore, Event and Barrier, per CPython version: what each call returns or
# raises, and how often the classic Condition mistake (`if` instead of `while` around
# wait) breaks a bounded buffer.
#
#   python3 tools/measure/sync_primitives.py [RUNS] [VERSION ...]
import glob, os, subprocess, sys

RUNS = int(sys.argv[1]) if len(sys.argv) > 1 else 50
WANT = sys.argv[2:]

PROGRAM = r'''
import sys, threading, time
RUNS = int(sys.argv[1])

def say(name, what):
    print('%-46s %s' % (name, what), flush=True)

def attempt(name, fn):
    try:
        say(name, repr(fn()))
    except BaseException as e:
        say(name, 'raises %s.%s %r' % (type(e).__module__, type(e).__qualname__, str(e)))

# --- Condition: two consumers, one producer, a buffer of one item -----------------
def buffer_run(check):
    cond = threading.Condition()
    items = []
    errors = []
    def consumer():
        for _ in range(200):
            with cond:
                woke = True
                if check == 'if':
                    if not items:
                        woke = cond.wait(0.5)
                else:
                    while not items and woke:
                        woke = cond.wait(0.5)
                if items:
                    items.pop()
                elif woke:
                    errors.append(1)    # notified, yet the buffer is empty: stolen
    def producer():
        for i in range(400):
            with cond:
                items.append(i)
                cond.notify_all()
            time.sleep(0)
    ts = [threading.Thread(target=consumer) for _ in range(2)] + [threading.Thread(target=producer)]
    for t in ts: t.start()
    for t in ts: t.join()
    return len(errors)

for check in ('if', 'while'):
    broken = [buffer_run(check) for _ in range(RUNS // 10 or 1)]
    say('Condition, %s around wait: runs with a stolen wake-up' % check,
        '%d of %d (woken to an empty buffer: %d times in all)' % (sum(1 for b in broken if b), len(broken), sum(broken)))

c = threading.Condition()
def late_notify():
    with c:
        c.notify()
t = threading.Thread(target=late_notify); t.start(); t.join()
with c:
    attempt('Condition: notify() before wait(0.2): wait returns', lambda: c.wait(0.2))
attempt('Condition.wait() without holding the lock', lambda: threading.Condition().wait(0.1))
attempt('Condition.notify() without holding the lock', lambda: threading.Condition().notify())

# --- Semaphore ----------------------------------------------------------------------
s = threading.Semaphore(2)
inside, most = [0], [0]
guard = threading.Lock()
def worker():
    with s:
        with guard:
            inside[0] += 1
            most[0] = max(most[0], inside[0])
        time.sleep(0.05)
        with guard:
            inside[0] -= 1
ts = [threading.Thread(target=worker) for _ in range(5)]
for t in ts: t.start()
for t in ts: t.join()
say('Semaphore(2), 5 workers: most inside at once', most[0])
s = threading.Semaphore(1)
s.release()
attempt('Semaphore(1).release() once too often', lambda: s._value)
b = threading.BoundedSemaphore(1)
attempt('BoundedSemaphore(1).release() once too often', lambda: b.release())
attempt('Semaphore(0).acquire(timeout=0.1)', lambda: threading.Semaphore(0).acquire(timeout=0.1))
attempt('Semaphore(1).acquire(blocking=False) twice', lambda: (lambda x: (x.acquire(False), x.acquire(False)))(threading.Semaphore(1)))

# --- Event --------------------------------------------------------------------------
e = threading.Event()
attempt('Event().wait(0.1) never set', lambda: e.wait(0.1))
threading.Timer(0.05, e.set).start()
attempt('Event().wait(1) set after 0.05 s', lambda: e.wait(1))
attempt('is_set() then clear(); is_set()', lambda: (e.is_set(), e.clear(), e.is_set()))

# --- Barrier ------------------------------------------------------------------------
bar = threading.Barrier(3)
got = []
def party():
    got.append(bar.wait())
ts = [threading.Thread(target=party) for _ in range(3)]
for t in ts: t.start()
for t in ts: t.join()
attempt('Barrier(3).wait() return values, sorted', lambda: sorted(got))
bar = threading.Barrier(2, timeout=0.1)
attempt('Barrier(2) with one party, timeout 0.1', lambda: bar.wait())
attempt('that barrier afterwards: broken', lambda: bar.broken)
attempt('wait() on the broken barrier', lambda: bar.wait())
bar = threading.Barrier(2)
waiter_result = []
def waiter():
    try:
        bar.wait()
    except threading.BrokenBarrierError as x:
        waiter_result.append(type(x).__name__)
t = threading.Thread(target=waiter); t.start(); time.sleep(0.05); bar.abort(); t.join()
say('abort() while a party waits: the party gets', waiter_result)
attempt('BrokenBarrierError is a subclass of', lambda: threading.BrokenBarrierError.__mro__[1].__name__)
'''

for exe in sorted(glob.glob(os.path.expanduser('~/.pyenv/versions/3.*/bin/python'))):
    version = exe.split('/')[-3]
    if WANT and not any(version.startswith(w) for w in WANT):
        continue
    r = subprocess.run([exe, '-c', PROGRAM, str(RUNS)], capture_output=True, text=True, timeout=300)
    print('== %s' % version)
    print(r.stdout + r.stderr[-400:], flush=True)
