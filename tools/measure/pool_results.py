# Issue 15 (the `pool-results` lesson): getting results back from a Pool, per CPython
# version. Prints, for each interpreter, what each call returns or raises.
#
#   python3 tools/measure/pool_results.py [VERSION ...]
import glob, os, subprocess, sys, tempfile

WANT = sys.argv[1:]

PROGRAM = r'''
import multiprocessing as mp, os, sys, threading, time

def square(x):
    return x * x

def slow(x):
    time.sleep(x)
    return x

def boom(x):
    raise ValueError('bad task %d' % x)

def say(name, what):
    print('%-34s %s' % (name, what), flush=True)

def attempt(name, fn):
    try:
        say(name, repr(fn()))
    except BaseException as e:
        say(name, 'raises %s.%s: %s' % (type(e).__module__, type(e).__qualname__, e))

if __name__ == '__main__':
    p = mp.Pool(2)
    attempt('apply(square, (3,))', lambda: p.apply(square, (3,)))
    r = p.apply_async(square, (4,))
    attempt('apply_async(...).get()', lambda: r.get())
    s = p.apply_async(slow, (0.5,))
    attempt('ready() at once', lambda: s.ready())
    attempt('successful() before ready', lambda: s.successful())
    attempt('get(timeout=0.1) on a 0.5 s task', lambda: s.get(timeout=0.1))
    attempt('wait(1); ready()', lambda: (s.wait(1), s.ready())[1])
    attempt('successful() after', lambda: s.successful())
    e = p.apply_async(boom, (7,))
    e.wait()
    attempt('successful() of a raising task', lambda: e.successful())
    attempt('get() of a raising task', lambda: e.get())
    attempt('the cause of that exception', lambda: (lambda: e.get())() if False else _cause(e))
    seen = []
    def cb(v):
        seen.append(('callback', v, threading.current_thread().name))
    def ecb(x):
        seen.append(('error_callback', repr(x), threading.current_thread().name))
    p.apply_async(square, (5,), callback=cb).wait()
    p.apply_async(boom, (5,), error_callback=ecb).wait()
    time.sleep(0.1)
    say('callbacks (what, value, thread)', seen)
    attempt('map(square, range(5))', lambda: p.map(square, range(5)))
    attempt('map_async(...).get()', lambda: p.map_async(square, range(5)).get())
    attempt('imap_unordered order (slow first)', lambda: list(p.imap_unordered(slow, [0.3, 0.0, 0.1])))
    attempt('imap order (slow first)', lambda: list(p.imap(slow, [0.3, 0.0, 0.1])))
    attempt('AsyncResult has terminate?', lambda: hasattr(r, 'terminate'))
    p.close()
    p.join()
    t0 = time.time()
    with mp.Pool(2) as q:
        late = q.apply_async(slow, (3,))
        time.sleep(0.2)
    attempt('with Pool(): block left after', lambda: '%.1f s' % (time.time() - t0))
    attempt('the unfinished task after the with', lambda: late.get(timeout=0.5))
'''

CAUSE = r'''
def _cause(e):
    try:
        e.get()
    except Exception as x:
        c = x.__cause__
        return type(c).__module__ + '.' + type(c).__qualname__ if c else None
'''

for exe in sorted(glob.glob(os.path.expanduser('~/.pyenv/versions/3.*/bin/python'))):
    version = exe.split('/')[-3]
    if WANT and not any(version.startswith(w) for w in WANT):
        continue
    with tempfile.NamedTemporaryFile('w', suffix='.py', delete=False) as f:
        f.write(CAUSE + PROGRAM)
    try:
        r = subprocess.run([exe, f.name], capture_output=True, text=True, timeout=60)
        out = r.stdout
    except subprocess.TimeoutExpired as t:
        out = (t.stdout or b'').decode() + '\n(timed out)'
    finally:
        os.unlink(f.name)
    print('== %s' % version)
    print(out, flush=True)
