# Issue 16 (lessons after the tutorials): concurrent.futures and asyncio, per CPython
# version. Futures: results, exceptions carried by a future, as_completed and map
# order, and CPU-bound work on threads versus processes (the GIL, timed). asyncio: a
# counter raced across an await, fixed by asyncio.Lock; the same counter with no await
# in the middle; a blocking time.sleep freezing every task.
#
#   python3 tools/measure/futures_asyncio.py [VERSION ...]
import glob, os, subprocess, sys

WANT = sys.argv[1:]

PROGRAM = r'''
import asyncio, concurrent.futures as cf, os, threading, time

def say(name, what):
    print('%-48s %s' % (name, what), flush=True)

def attempt(name, fn):
    try:
        say(name, repr(fn()))
    except BaseException as e:
        say(name, 'raises %s.%s %r' % (type(e).__module__, type(e).__qualname__, str(e)))

def slow(x):
    time.sleep(x)
    return x

def boom(x):
    raise ValueError('bad %d' % x)

def count(n):
    while n > 0:
        n -= 1
    return threading.current_thread().name

if __name__ == '__main__':
    with cf.ThreadPoolExecutor(max_workers=3) as ex:
        f = ex.submit(slow, 0.1)
        attempt('submit(slow, 0.1).result()', lambda: f.result())
        g = ex.submit(boom, 1)
        attempt('result() of a raising task', lambda: g.result())
        attempt('exception() of a raising task', lambda: g.exception())
        attempt('as_completed order of slow(0.3), slow(0), slow(0.1)',
                lambda: [x.result() for x in cf.as_completed([ex.submit(slow, d) for d in (0.3, 0.0, 0.1)])])
        attempt('map order of the same', lambda: list(ex.map(slow, (0.3, 0.0, 0.1))))
        attempt('result(timeout=0.05) on a 0.3 s task', lambda: ex.submit(slow, 0.3).result(timeout=0.05))
        attempt('worker thread names', lambda: sorted(set(ex.map(count, [1000] * 6))))
    attempt('map over [1, 2] with boom: raised at', lambda: [x for x in cf.ThreadPoolExecutor().map(boom, [1, 2])])
    attempt('os.cpu_count()', lambda: os.cpu_count())
    N = 3_000_000
    for kind in (cf.ThreadPoolExecutor, cf.ProcessPoolExecutor):
        with kind(max_workers=2) as ex:
            list(ex.map(count, [10, 10]))          # start the workers first
            t0 = time.perf_counter()
            list(ex.map(count, [N, N]))
            both = time.perf_counter() - t0
        t0 = time.perf_counter()
        count(N)
        one = time.perf_counter() - t0
        say('%s: 2 tasks of %d / 1 alone' % (kind.__name__, N), '%.2f s / %.2f s = %.2f' % (both, one, both / one))

    # asyncio: read, await, write
    async def race(lock):
        counter = [0]
        async def bump():
            for _ in range(100):
                if lock:
                    async with lock:
                        v = counter[0]
                        await asyncio.sleep(0)
                        counter[0] = v + 1
                else:
                    v = counter[0]
                    await asyncio.sleep(0)
                    counter[0] = v + 1
        await asyncio.gather(bump(), bump())
        return counter[0]
    async def no_await():
        counter = [0]
        async def bump():
            for _ in range(100):
                v = counter[0]
                counter[0] = v + 1
                await asyncio.sleep(0)
        await asyncio.gather(bump(), bump())
        return counter[0]
    async def blocking():
        ticks = []
        async def ticker():
            for _ in range(5):
                ticks.append(time.perf_counter())
                await asyncio.sleep(0.05)
        async def sleeper():
            await asyncio.sleep(0.06)
            time.sleep(0.5)
        t0 = time.perf_counter()
        await asyncio.gather(ticker(), sleeper())
        gaps = [b - a for a, b in zip(ticks, ticks[1:])]
        return '%.2f s' % max(gaps)
    # asyncio.run is 3.7+; 3.6 runs the coroutine on a new loop by hand.
    def run(coro):
        if hasattr(asyncio, 'run'):
            return asyncio.run(coro)
        loop = asyncio.new_event_loop()
        try:
            return loop.run_until_complete(coro)
        finally:
            loop.close()
    async def locked():
        return await race(asyncio.Lock())
    attempt('asyncio: 2 tasks x 100, await between read and write', lambda: run(race(None)))
    attempt('asyncio: the same under an asyncio.Lock', lambda: run(locked()))
    attempt('asyncio: read and write with no await between', lambda: run(no_await()))
    attempt('asyncio: time.sleep(0.5) in a task: longest tick gap', lambda: run(blocking()))
'''

for exe in sorted(glob.glob(os.path.expanduser('~/.pyenv/versions/3.*/bin/python'))):
    version = exe.split('/')[-3]
    if WANT and not any(version.startswith(w) for w in WANT):
        continue
    with open('/tmp/futures_asyncio_prog.py', 'w') as f:
        f.write(PROGRAM)
    r = subprocess.run([exe, '/tmp/futures_asyncio_prog.py'], capture_output=True, text=True, timeout=300)
    print('== %s' % version)
    print(r.stdout + r.stderr[-600:], flush=True)
