# Issue 15 (the `start-methods` lesson): a tutorial-style program whose Pipe is
# created at module level, not under the `__main__` guard, and whose child uses that
# global. Under fork the child inherits the parent's pipe; under spawn and
# forkserver it imports the module again and gets a pipe of its own, so the
# parent hears nothing. Prints what the parent received within 3 s, per method.
#
#   python3 tools/measure/start_methods_pipe.py [VERSION ...]
import glob, os, subprocess, sys, tempfile

WANT = sys.argv[1:]

PROGRAM = r'''
import multiprocessing as mp, sys
parent_conn, child_conn = mp.Pipe()

def f():
    child_conn.send('Hello shiyanlou')

if __name__ == '__main__':
    mp.set_start_method(sys.argv[1])
    p = mp.Process(target=f)
    p.start()
    got = parent_conn.recv() if parent_conn.poll(3) else 'nothing within 3 s'
    p.join()
    print('%s: parent received %r, child exit code %s' % (sys.argv[1], got, p.exitcode))
'''

for exe in sorted(glob.glob(os.path.expanduser('~/.pyenv/versions/3.*/bin/python'))):
    version = exe.split('/')[-3]
    if WANT and not any(version.startswith(w) for w in WANT):
        continue
    d = tempfile.mkdtemp()
    path = os.path.join(d, 'pipe_at_module_level.py')
    open(path, 'w').write(PROGRAM)
    for method in ('fork', 'spawn', 'forkserver'):
        r = subprocess.run([exe, path, method], capture_output=True, text=True, timeout=30, cwd=d)
        print('%s %s' % (version, (r.stdout.strip() or r.stderr.strip().splitlines()[-1])), flush=True)
