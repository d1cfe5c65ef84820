# Issue 15 (the `start-methods` lesson): what each start method does on Linux, per
# CPython version. For each interpreter it prints
# - the default start method and the ones available;
# - under spawn and forkserver, whether the module's top-level code runs again in the
#   child (it prints a line at import time);
# - what happens without the `if __name__ == '__main__':` guard under each method;
# - the warning (if any) when a process with a second thread forks, by os.fork() and by
#   multiprocessing's fork method.
#
#   python3 tools/measure/start_methods.py [VERSION ...]
import glob, os, subprocess, sys, tempfile

WANT = sys.argv[1:]

DEFAULT = '''
import multiprocessing as mp
print(mp.get_start_method(), sorted(mp.get_all_start_methods()))
'''

GUARDED = '''
import multiprocessing as mp, os
print('top level runs as %s in %s' % (__name__, os.getpid()), flush=True)
def f():
    print('child %s runs f' % os.getpid(), flush=True)
if __name__ == '__main__':
    mp.set_start_method('METHOD')
    p = mp.Process(target=f)
    p.start()
    p.join()
'''

UNGUARDED = '''
import multiprocessing as mp, os
def f():
    print('child runs f', flush=True)
mp.set_start_method('METHOD', force=True)
p = mp.Process(target=f)
p.start()
p.join()
print('parent done, exitcode', p.exitcode, flush=True)
'''

THREAD_FORK = '''
import os, threading, time, warnings, multiprocessing as mp
warnings.simplefilter('default')
t = threading.Thread(target=time.sleep, args=(0.5,))
t.start()
def f():
    pass
if __name__ == '__main__':
    if 'HOW' == 'os.fork':
        pid = os.fork()
        if pid == 0:
            os._exit(0)
        os.waitpid(pid, 0)
    else:
        mp.set_start_method('fork')
        p = mp.Process(target=f)
        p.start()
        p.join()
    t.join()
'''


def run(exe, prog):
    with tempfile.NamedTemporaryFile('w', suffix='.py', delete=False) as f:
        f.write(prog)
    try:
        r = subprocess.run([exe, f.name], capture_output=True, text=True, timeout=20)
        return r.returncode, r.stdout, r.stderr
    except subprocess.TimeoutExpired:
        return 'timeout', '', ''
    finally:
        os.unlink(f.name)


def last_error(stderr):
    lines = stderr.splitlines()
    for i in range(len(lines) - 1, -1, -1):
        l = lines[i]
        if not l.startswith(' ') and ('Error' in l or 'Warning' in l):
            words = l.split(': ', 1)[-1] if 'Warning' in l else l
            if words.endswith(': ') or words.endswith(':'):
                more = [m.strip() for m in lines[i + 1:] if m.strip()]
                words += ' ' + (more[0] if more else '')
            return words.replace('%d' % 0, '0')[:160]
    return '(nothing on stderr)'


for exe in sorted(glob.glob(os.path.expanduser('~/.pyenv/versions/3.*/bin/python'))):
    version = exe.split('/')[-3]
    if WANT and not any(version.startswith(w) for w in WANT):
        continue
    code, out, err = run(exe, DEFAULT)
    print('%s default: %s' % (version, out.strip()), flush=True)
    for method in ('fork', 'spawn', 'forkserver'):
        code, out, err = run(exe, GUARDED.replace('METHOD', method))
        tops = [l for l in out.splitlines() if l.startswith('top level')]
        print('%s %-10s guarded: top-level line printed %d time(s): %s' % (version, method, len(tops), ' | '.join(tops)), flush=True)
        code, out, err = run(exe, UNGUARDED.replace('METHOD', method))
        done = [l for l in out.splitlines() if l.startswith('parent done')]
        print('%s %-10s no guard: exit %s, %d "child runs f", %s; %s'
              % (version, method, code, out.count('child runs f'), done[0] if done else 'no "parent done"', last_error(err)), flush=True)
    for how in ('os.fork', 'mp fork'):
        code, out, err = run(exe, THREAD_FORK.replace('HOW', how))
        print('%s fork with a thread running (%s): %s' % (version, how, last_error(err)), flush=True)
