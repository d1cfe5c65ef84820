# Issue 16: the `asyncio` lesson's own program (lessons/asyncio.toml), rendered
# with its knobs as the playground renders them, run on every CPython 3.8+ under
# pyenv (asyncio.run needs 3.7; the lesson claims 3.8–3.13).
#
# For every setting of `pause` and `lock` at the default 3 rounds: what each run
# prints (RUNS runs per version), and how long it took. Then an instrumented
# copy of the `pause=blocking` and `pause=sleep` programs records when each task
# reads and writes and when each pause starts and ends, to check that no other
# task takes a step while one sits in time.sleep(0.1), and that awaited sleeps
# overlap. Finally 100 rounds with the await in the middle.
#
#   python3 tools/measure/asyncio_lesson.py [RUNS]
import glob, os, re, subprocess, sys, time

RUNS = int(sys.argv[1]) if len(sys.argv) > 1 else 10
HERE = os.path.dirname(os.path.abspath(__file__))
LESSON = os.path.join(HERE, '..', '..', 'lessons', 'asyncio.toml')


def code_template():
    text = open(LESSON, encoding='utf-8').read()
    m = re.search(r'^code = """\n(.*?)"""', text, re.S | re.M)
    return m.group(1)


def render(template, knobs):
    """The playground's rendering: `?{k=v}` / `?{k!=v}` line guards, `{{k}}`."""
    out = []
    for line in template.split('\n'):
        ok = True
        while line.startswith('?{'):
            cond, line = line[2:].split('}', 1)
            if '!=' in cond:
                k, v = cond.split('!=')
                ok &= knobs[k] != v
            else:
                k, v = cond.split('=')
                ok &= knobs[k] == v
        if ok:
            for k, v in knobs.items():
                line = line.replace('{{%s}}' % k, v)
            out.append(line)
    return '\n'.join(out)


# Logs each task's read and write, and each pause's start and end.
INSTRUMENT = [
    ('tmp = counter', 'tmp = counter; LOG.append((name, "read", time.perf_counter()))'),
    ('counter = tmp + 1', 'counter = tmp + 1; LOG.append((name, "write", time.perf_counter()))'),
    ('time.sleep(0.1)', 'LOG.append((name, "pause", time.perf_counter())); time.sleep(0.1); LOG.append((name, "resume", time.perf_counter()))'),
    ('await asyncio.sleep(0.1)', 'LOG.append((name, "pause", time.perf_counter())); await asyncio.sleep(0.1); LOG.append((name, "resume", time.perf_counter()))'),
]
CHECK = '''
pauses = {}
bad = 0
for who, what, t in LOG:
    if what == "pause":
        pauses[who] = t
    elif what == "resume":
        start = pauses.pop(who)
        bad += sum(1 for w2, x, t2 in LOG if w2 != who and start < t2 < t)
print("steps of another task during a pause:", bad)
'''


def instrumented(code):
    for old, new in INSTRUMENT:
        code = code.replace(old, new)
    code = code.replace('counter = 0\n', 'counter = 0\nLOG = []\n', 1)
    code = code.replace('asyncio.run(main())', '_t0 = time.perf_counter()\nasyncio.run(main())\n'
                        'print("asyncio.run took %.3f s" % (time.perf_counter() - _t0))')
    return code + CHECK


def run(exe, path):
    t0 = time.perf_counter()
    r = subprocess.run([exe, path], capture_output=True, text=True, timeout=60)
    return r.stdout + r.stderr, time.perf_counter() - t0


def main():
    template = code_template()
    exes = [e for e in sorted(glob.glob(os.path.expanduser('~/.pyenv/versions/3.*/bin/python')))
            if not re.search(r'/3\.[67]\.', e)]
    print('load average: %.1f %.1f %.1f' % os.getloadavg())
    for exe in exes:
        version = subprocess.run([exe, '-c', 'import sys; print(sys.version.split()[0])'],
                                 capture_output=True, text=True).stdout.strip()
        print('== %s' % version, flush=True)
        for pause in ['sleep0', 'sleep', 'blocking', 'none']:
            for lock in ['off', 'on']:
                knobs = {'pause': pause, 'lock': lock, 'rounds': '3'}
                path = '/tmp/asyncio_lesson_%s_%s.py' % (pause, lock)
                with open(path, 'w') as f:
                    f.write(render(template, knobs))
                seen, times = {}, []
                for _ in range(RUNS):
                    out, dt = run(exe, path)
                    seen[out] = seen.get(out, 0) + 1
                    times.append(dt)
                for out, n in seen.items():
                    print('  pause=%-8s lock=%-3s %2d/%d runs, %.2f-%.2f s: %s' % (
                        pause, lock, n, RUNS, min(times), max(times),
                        ' | '.join(out.strip().split('\n'))), flush=True)
        for pause in ['blocking', 'sleep']:
            for lock in ['off', 'on']:
                path = '/tmp/asyncio_lesson_instr_%s_%s.py' % (pause, lock)
                with open(path, 'w') as f:
                    f.write(instrumented(render(template, {'pause': pause, 'lock': lock, 'rounds': '3'})))
                out, _ = run(exe, path)
                print('  instrumented pause=%s lock=%s: %s' % (
                    pause, lock, ' | '.join(out.strip().split('\n')[-2:])), flush=True)
        path = '/tmp/asyncio_lesson_100.py'
        with open(path, 'w') as f:
            f.write(render(template, {'pause': 'sleep0', 'lock': 'off', 'rounds': '100'}))
        out, _ = run(exe, path)
        print('  pause=sleep0 rounds=100: %s' % ' | '.join(out.strip().split('\n')), flush=True)


if __name__ == '__main__':
    main()
