"""Issue 17: what a plain CPython prints for an uncaught exception in a thread, in a
multiprocessing child (fork) and in the main program, so the cpython engine's
stripped tracebacks can be compared with it (tests/cpython_processes.rs does, through
the engine, on every version). Prints each version's stderr, and the frames' files.

    python3 tools/measure/cpython_tracebacks.py [PYTHON ...]
"""
import glob
import os
import subprocess
import sys
import tempfile

PROG = '''import multiprocessing as mp
import threading

def boom(n):
    return 1 // n

def work():
    boom(0)

if __name__ == '__main__':
    mp.set_start_method('fork')
    t = threading.Thread(target=work)
    t.start()
    t.join()
    p = mp.Process(target=work)
    p.start()
    p.join()
    print('exit code', p.exitcode)
    boom(0)
'''


def main():
    pythons = sys.argv[1:] or sorted(glob.glob(os.path.expanduser('~/.pyenv/versions/3.*/bin/python')))
    with tempfile.TemporaryDirectory() as d:
        prog = os.path.join(d, 'raises.py')
        with open(prog, 'w') as f:
            f.write(PROG)
        for py in pythons:
            r = subprocess.run([py, prog], capture_output=True, text=True, timeout=60)
            version = subprocess.run([py, '-c', 'import platform; print(platform.python_version())'],
                                     capture_output=True, text=True).stdout.strip()
            frames = [l.strip().split(',')[0] for l in r.stderr.splitlines() if l.strip().startswith('File ')]
            print('== CPython %s: exit %d, stdout %r' % (version, r.returncode, r.stdout.strip()))
            print('   frames: %s' % ' | '.join(os.path.basename(f.split('"')[1]) + ' ' + l.split(' in ')[-1]
                                              for f, l in zip(frames, [x.strip() for x in r.stderr.splitlines() if x.strip().startswith('File ')])))
            print('   headers: %s' % [l for l in r.stderr.splitlines() if not l.startswith(' ')])


if __name__ == '__main__':
    main()
