# Issue 16 item 5 (lesson `futures`): the first draft of the lesson's program
# (futures_code.py runs the lesson's own, whose sleeps differ), run on every
# CPython under pyenv with ThreadPoolExecutor and with ProcessPoolExecutor, to
# measure what the lesson would claim before it claims it:
# - what submit/result, as_completed, map and a task's exception print;
# - the GIL, without timing the two executors against each other (on a loaded
#   machine wall times say little): the CPU time of the whole process tree
#   (os.wait4, children included) divided by the wall time of the run while two
#   workers count down. Threads of one process share one GIL, so their CPU time
#   can never exceed the wall time by much (ratio <= ~1); processes can use two
#   cores at once (ratio up to 2 when two cores are free).
#
#   python3 tools/measure/futures_lesson.py [RUNS] [VERSION ...]
import glob, os, subprocess, sys, time

RUNS = int(sys.argv[1]) if len(sys.argv) > 1 else 3
WANT = sys.argv[2:]

PROGRAM = r'''
import concurrent.futures
import time

def square(x):
    time.sleep(0.1 * (4 - x))  # the later the input, the sooner it is done
    if x == 3:
        raise ValueError(f'no {x}, please')
    return x * x

def count(n):
    while n > 0:
        n -= 1
    return n

if __name__ == '__main__':
    with concurrent.futures.EXECUTORPoolExecutor(max_workers=2) as ex:
        f = ex.submit(square, 2)
        print('submit(square, 2).result():', f.result())
        futures = [ex.submit(square, x) for x in (1, 2, 3)]
        for f in concurrent.futures.as_completed(futures):
            try:
                print('as_completed:', f.result())
            except ValueError as e:
                print('as_completed: result() raised', repr(e))
        print('map:', list(ex.map(square, (1, 2))))
        try:
            list(ex.map(square, (1, 3)))
        except ValueError as e:
            print('map raised', repr(e))
        start = time.perf_counter()
        print('countdowns:', list(ex.map(count, [COUNT] * 2)))
        print('countdown wall s', round(time.perf_counter() - start, 2))
'''


def run(exe, executor, count):
    src = PROGRAM.replace('EXECUTOR', executor).replace('COUNT', str(count))
    path = '/tmp/futures_lesson_%d.py' % os.getpid()
    with open(path, 'w') as f:
        f.write(src)
    t0 = time.perf_counter()
    p = subprocess.Popen([exe, path], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    out, err = p.communicate()
    wall = time.perf_counter() - t0
    return out, err, wall


def cpu_ratio(exe, executor, count):
    """CPU of the whole tree / wall, for the countdowns alone: the same program
    with count=0 is subtracted from both."""
    def one(c):
        src = PROGRAM.replace('EXECUTOR', executor).replace('COUNT', str(c))
        path = '/tmp/futures_lesson_r%d.py' % os.getpid()
        with open(path, 'w') as f:
            f.write(src)
        t0 = time.perf_counter()
        p = subprocess.Popen([exe, path], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        _, _, ru = os.wait4(p.pid, 0)
        p.returncode = 0  # reaped by wait4
        return ru.ru_utime + ru.ru_stime, time.perf_counter() - t0
    cpu1, wall1 = one(count)
    cpu0, wall0 = one(0)
    return (cpu1 - cpu0) / max(wall1 - wall0, 1e-9), wall1 - wall0


for exe in sorted(glob.glob(os.path.expanduser('~/.pyenv/versions/3.*/bin/python'))):
    version = exe.split('/')[-3]
    if WANT and not any(version.startswith(w) for w in WANT):
        continue
    print('== %s' % version, flush=True)
    for executor in ('Thread', 'Process'):
        out, err, wall = run(exe, executor, 1000)
        print('-- %sPoolExecutor, output:' % executor)
        print('   ' + out.strip().replace('\n', '\n   '))
        if err.strip():
            print('   stderr:', err.strip()[-300:])
        ratios = []
        for _ in range(RUNS):
            r, w = cpu_ratio(exe, executor, 5_000_000)
            ratios.append('%.2f (%.1f s)' % (r, w))
        print('   two countdowns of 5M on 2 workers: CPU/wall', ', '.join(ratios), flush=True)
