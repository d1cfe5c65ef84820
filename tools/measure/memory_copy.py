# Issue 15 (the `memory` lesson): a process's variables are copies, a thread's are
# shared; and the three ways the tutorials share between processes. Per CPython
# version, under each start method.
#
#   python3 tools/measure/memory_copy.py [VERSION ...]
import glob, os, subprocess, sys, tempfile

WANT = sys.argv[1:]

PROGRAM = r'''
import multiprocessing as mp, os, sys, threading

numbers = [1, 2, 3]

def add(n):
    numbers.append(n)
    print('%s %s sees %s' % (WHO(), os.getpid(), numbers), flush=True)

def WHO():
    return threading.current_thread().name if threading.current_thread() is not threading.main_thread() else mp.current_process().name

def add_value(v, a, l):
    with v.get_lock():
        v.value += 1
    a[0] = 99
    l.append(4)

if __name__ == '__main__':
    mp.set_start_method(sys.argv[1])
    p = mp.Process(target=add, args=(4,))
    p.start(); p.join()
    print('after the process: main sees %s' % numbers, flush=True)
    t = threading.Thread(target=add, args=(5,))
    t.start(); t.join()
    print('after the thread: main sees %s' % numbers, flush=True)
    v = mp.Value('i', 0)
    a = mp.Array('i', [1, 2, 3])
    with mp.Manager() as m:
        l = m.list([1, 2, 3])
        p = mp.Process(target=add_value, args=(v, a, l))
        p.start(); p.join()
        print('Value %d, Array %s, Manager().list() %s' % (v.value, a[:], list(l)), flush=True)
        print('Manager runs in its own process: %s' % (m._process.pid != os.getpid()), flush=True)
'''

for exe in sorted(glob.glob(os.path.expanduser('~/.pyenv/versions/3.*/bin/python'))):
    version = exe.split('/')[-3]
    if WANT and not any(version.startswith(w) for w in WANT):
        continue
    with tempfile.NamedTemporaryFile('w', suffix='.py', delete=False) as f:
        f.write(PROGRAM)
    for method in ('fork', 'spawn'):
        try:
            r = subprocess.run([exe, f.name, method], capture_output=True, text=True, timeout=60)
            out = r.stdout + r.stderr[-300:]
        except subprocess.TimeoutExpired:
            out = '(timed out)'
        print('== %s %s' % (version, method))
        print(out, flush=True)
    os.unlink(f.name)
