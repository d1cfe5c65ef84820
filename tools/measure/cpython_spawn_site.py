"""Issue 17 item 4: which processes a multiprocessing program starts under spawn and
forkserver run a sitecustomize.py found on PYTHONPATH, what each is (from
/proc/self/cmdline), who its parent is, and who prints the module's top level.
The cpython engine's sitecustomize.py keys on exactly these facts.

    python3 tools/measure/cpython_spawn_site.py [PYTHON ...]
"""
import glob
import os
import subprocess
import sys
import tempfile

SITE = r'''
import os, sys
with open('/proc/self/cmdline', 'rb') as f:
    cmd = f.read().split(b'\0')
kind = 'other'
joined = b' '.join(cmd)
if b'spawn_main' in joined:
    kind = 'spawn child'
elif b'forkserver import main' in joined:
    kind = 'fork server'
elif b'resource_tracker' in joined:
    kind = 'resource tracker'
elif len(cmd) > 1 and cmd[1].endswith(b'prog.py'):
    kind = 'the program'
sys.stderr.write('SITE %s pid=%d ppid=%d argv=%r\n' % (kind, os.getpid(), os.getppid(), sys.argv))
'''

PROG = r'''
import multiprocessing as mp, os, sys
print('top level: __name__ is %s pid %d ppid %d' % (__name__, os.getpid(), os.getppid()), flush=True)

def f(name):
    print('child %s runs f pid %d ppid %d' % (name, os.getpid(), os.getppid()), flush=True)

if __name__ == '__main__':
    mp.set_start_method(sys.argv[1])
    ps = [mp.Process(target=f, args=(n,)) for n in 'AB']
    for p in ps:
        p.start()
    for p in ps:
        p.join()
    print('parent done, exit codes', [p.exitcode for p in ps], flush=True)
'''


def main():
    pythons = sys.argv[1:] or sorted(glob.glob(os.path.expanduser('~/.pyenv/versions/3.*/bin/python')))
    with tempfile.TemporaryDirectory() as d:
        site = os.path.join(d, 'site')
        os.mkdir(site)
        with open(os.path.join(site, 'sitecustomize.py'), 'w') as f:
            f.write(SITE)
        prog = os.path.join(d, 'prog.py')
        with open(prog, 'w') as f:
            f.write(PROG)
        env = dict(os.environ, PYTHONPATH=site)
        for py in pythons:
            version = subprocess.run([py, '-c', 'import platform; print(platform.python_version())'],
                                     capture_output=True, text=True).stdout.strip()
            if tuple(int(x) for x in version.split('.')[:2]) < (3, 8):
                continue
            for method in ('spawn', 'forkserver'):
                r = subprocess.run([py, prog, method], env=env, capture_output=True, text=True, timeout=60)
                print('== CPython %s, %s (exit %d)' % (version, method, r.returncode))
                for line in (r.stderr + r.stdout).splitlines():
                    print('   ', line)


if __name__ == '__main__':
    main()
