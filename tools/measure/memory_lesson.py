# Issue 15, the `memory` lesson: its own code at every setting (run-in x share) on
# every CPython under pyenv, what the manager's processes are called, and what one
# call costs from a child process: Value `+=`, Array item store, Manager().list()
# append.
#
#   python3.11 tools/measure/memory_lesson.py [VERSION ...]     (3.11+: tomllib)
#
# Output: one line per version and setting (PIDs replaced by PID), then the cost
# table. Exit code 1 if any setting printed something other than the lesson says.
import glob, os, re, subprocess, sys, tempfile, tomllib

HERE = os.path.dirname(os.path.abspath(__file__))
LESSON = os.path.join(HERE, '..', '..', 'lessons', 'memory.toml')
WANT = sys.argv[1:]


def render(code, knobs):
    """The lesson's code for these knob values, as `Lesson::code` renders it."""
    out = []
    for line in code.splitlines():
        ok = True
        while True:
            m = re.match(r'\?\{([\w-]+)(!?=)([\w.-]+)\}', line)
            if not m:
                break
            name, op, value = m.groups()
            same = knobs[name] == value
            ok = ok and (same if op == '=' else not same)
            line = line[m.end():]
        if ok:
            out.append(line)
    return '\n'.join(out) + '\n'


def expected(run_in, share):
    change = '10' if share == 'value' else '[1, 2, 3, 4]'
    main = '[1, 2, 3]' if (share == 'none' and run_in == 'process') else change
    return ['worker PID sees ' + change, 'main PID sees ' + main]


NAMES = r'''
from multiprocessing import Process, Manager
def add(numbers, n):
    numbers.append(n)
if __name__ == '__main__':
    manager = Manager()
    numbers = manager.list([1, 2, 3])
    w = Process(target=add, args=(numbers, 4))
    print(manager._process.name, w.name)
    w.start(); w.join(); manager.shutdown()
'''

COST = r'''
import time
from multiprocessing import Process, Value, Array, Manager, Queue
N = 2000

def child(total, arr, lst, q):
    res = {}
    for name, op in [('Value +=', lambda: total.__setattr__('value', total.value + 1)),
                     ('Array [3] =', lambda: arr.__setitem__(3, 4)),
                     ('Manager list append', lambda: lst.append(4))]:
        best = None
        for _ in range(5):
            t = time.perf_counter()
            for _ in range(N):
                op()
            dt = (time.perf_counter() - t) / N
            best = dt if best is None or dt < best else best
        res[name] = best
    q.put(res)

if __name__ == '__main__':
    m = Manager()
    total, arr, lst, q = Value('i', 0), Array('i', [1, 2, 3, 0]), m.list(), Queue()
    p = Process(target=child, args=(total, arr, lst, q))
    p.start()
    res = q.get()
    p.join()
    print(' '.join('%s=%.2fus' % (k, v * 1e6) for k, v in res.items()),
          'ratio=%.0f' % (res['Manager list append'] / res['Array [3] =']),
          'len=%d' % len(lst))
    m.shutdown()
'''


def main():
    with open(LESSON, 'rb') as f:
        code = tomllib.load(f)['code']
    pys = sorted(glob.glob(os.path.expanduser('~/.pyenv/versions/3.*/bin/python')))
    bad = 0
    with tempfile.TemporaryDirectory() as d:
        for py in pys:
            ver = py.split('/')[-3]
            if WANT and not any(ver.startswith(w) for w in WANT):
                continue
            env = dict(os.environ)
            env.pop('PYTHONUNBUFFERED', None)
            for run_in in ['process', 'thread']:
                for share in ['none', 'value', 'array', 'manager']:
                    src = os.path.join(d, 'memory_%s_%s.py' % (run_in, share))
                    with open(src, 'w') as f:
                        f.write(render(code, {'run-in': run_in, 'share': share}))
                    r = subprocess.run([py, src], capture_output=True, text=True, timeout=60, env=env)
                    pids = re.findall(r' (\d+) sees', r.stdout)
                    got = re.sub(r' \d+ sees', ' PID sees', r.stdout).strip().splitlines()
                    ok = r.returncode == 0 and got == expected(run_in, share)
                    same_pid = len(set(pids)) == 1
                    bad += not ok
                    print('%s run-in=%s share=%s: %s | %s | same pid: %s | %s' % (
                        ver, run_in, share, ' / '.join(got), 'as the lesson says' if ok else 'DIFFERENT',
                        same_pid, r.stderr.strip().splitlines()[-1:] if r.returncode else 'exit 0'))
            names = os.path.join(d, 'names.py')
            with open(names, 'w') as f:
                f.write(NAMES)
            r = subprocess.run([py, names], capture_output=True, text=True, timeout=60)
            print('%s names: %s' % (ver, r.stdout.strip() or r.stderr.strip()[-200:]))
            cost = os.path.join(d, 'cost.py')
            with open(cost, 'w') as f:
                f.write(COST)
            r = subprocess.run([py, cost], capture_output=True, text=True, timeout=300)
            print('%s cost per call from a child (best of 5 x %d): %s' % (
                ver, 2000, r.stdout.strip() or r.stderr.strip()[-200:]))
    sys.exit(1 if bad else 0)


main()
