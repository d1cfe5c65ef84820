# The `buffering` lesson's own code (lessons/buffering.toml), rendered for every
# `show` and `fix` the lesson offers, run on each CPython with stdout a pipe and
# a pseudo-terminal; prints what the reader received, summarised, per setting.
# `fix=unbuffered` runs the program with `python -u`, as the lesson says.
# PYTHONUNBUFFERED is removed from the child's environment (set, it hides
# everything this lesson shows).
#
#   python3 tools/measure/buffering_lesson.py [RUNS] [VERSION ...]
import glob, os, pty, re, select, subprocess, sys, time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
RUNS = int(sys.argv[1]) if len(sys.argv) > 1 else 5
WANT = sys.argv[2:]


def lesson_code():
    text = open(os.path.join(ROOT, 'lessons', 'buffering.toml')).read()
    return re.search(r'^code = """\n(.*?)"""', text, re.S | re.M).group(1)


def render(code, knobs):
    out = []
    for line in code.splitlines():
        ok = True
        while line.startswith('?{'):
            cond, line = line[2:].split('}', 1)
            if '!=' in cond:
                name, value = cond.split('!=')
                ok = ok and knobs[name] != value
            else:
                name, value = cond.split('=')
                ok = ok and knobs[name] == value
        if ok:
            out.append(line)
    return '\n'.join(out) + '\n'


def env():
    e = dict(os.environ)
    e.pop('PYTHONUNBUFFERED', None)
    return e


def run(exe, prog, where, unbuffered):
    args = [exe] + (['-u'] if unbuffered else []) + ['-c', prog]
    if where == 'pipe':
        p = subprocess.Popen(args, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, env=env())
        return read_timed(p.stdout.fileno(), p)
    master, slave = pty.openpty()
    p = subprocess.Popen(args, stdout=slave, stderr=subprocess.DEVNULL,
                         stdin=subprocess.DEVNULL, env=env())
    os.close(slave)
    return read_timed(master, p)


def read_timed(fd, p):
    t0 = time.monotonic()
    chunks = []
    while True:
        r, _, _ = select.select([fd], [], [], 15)
        if not r:
            break
        try:
            data = os.read(fd, 65536)
        except OSError:
            break
        if not data:
            break
        chunks.append((time.monotonic() - t0, data.decode(errors='replace')))
    p.wait()
    return chunks


def summarise(show, chunks):
    out = ''.join(c for _, c in chunks).replace('\r\n', '\n')
    if show == 'fork':
        return 'start line x%d, %d lines' % (out.count('start...'), len(out.splitlines()))
    if show == 'process':
        return '"Parent process" x%d, %d lines' % (out.count('Parent process'),
                                                   len(out.splitlines()))
    if show == 'terminate':
        return 'child line %s' % ('kept' if 'child:' in out else 'lost')
    digits = [t for t, c in chunks if any(ch.isdigit() for ch in c)]
    spread = digits[-1] - digits[0] if digits else 0
    return 'digits %s' % ('at once' if spread < 0.1 else 'one by one')


code = lesson_code()
for exe in sorted(glob.glob(os.path.expanduser('~/.pyenv/versions/3.*/bin/python'))):
    version = exe.split('/')[-3]
    if WANT and not any(version.startswith(w) for w in WANT):
        continue
    for show in ('fork', 'process', 'terminate', 'end'):
        for fix in ('none', 'flush', 'unbuffered'):
            prog = render(code, {'show': show, 'fix': fix})
            for where in ('pipe', 'tty'):
                seen = {}
                for _ in range(RUNS if show != 'end' else 2):
                    s = summarise(show, run(exe, prog, where, fix == 'unbuffered'))
                    seen[s] = seen.get(s, 0) + 1
                print('%s %-9s fix=%-10s %-4s %s' % (version, show, fix, where,
                      '; '.join('%s: %d' % kv for kv in sorted(seen.items()))), flush=True)
