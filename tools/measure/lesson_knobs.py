# Runs a lesson's own code (lessons/ID.toml, `code`) rendered with the given
# knob settings on each CPython under pyenv, RUNS times, stdout a pipe, and
# prints each distinct output (numbers of 3+ digits, i.e. PIDs and thread
# idents, masked as <n>) with how often it came, plus the exit status.
# Knobs not given take the lesson's defaults. PYTHONUNBUFFERED is removed from
# the child's environment (it is set on this machine).
#
#   python3 tools/measure/lesson_knobs.py LESSON [knob=value ...] [--runs N]
#       [--versions 3.8,3.13] [--timeout S] [--raw] [-u] [--tty]
#
# --tty: stdout is a pseudo-terminal (line-buffered, as a student's terminal),
# not a pipe; stderr then goes to the same terminal.
import glob, os, pty, re, select, subprocess, sys, time, tomllib
from collections import Counter

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))


def lesson(id_):
    with open(os.path.join(ROOT, 'lessons', id_ + '.toml'), 'rb') as f:
        return tomllib.load(f)


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
    text = '\n'.join(out).lstrip('\n') + '\n'
    # `{{knob}}` holes take the knob's value, as the playground fills them.
    for name, value in knobs.items():
        text = text.replace('{{%s}}' % name, value)
    return text


def defaults(les):
    k = {}
    for knob in les.get('knob', []):
        d = knob['default']
        if isinstance(d, bool):
            d = 'on' if d else 'off'
        k[knob['name']] = str(d)
    return k


def versions(want):
    exes = sorted(glob.glob(os.path.expanduser('~/.pyenv/versions/3.*/bin/python')),
                  key=lambda p: [int(x) for x in p.split('/')[-3].split('.')])
    if want:
        exes = [e for e in exes if any(e.split('/')[-3].startswith(w + '.') for w in want)]
    return exes


def main():
    args = sys.argv[1:]
    runs, want, timeout, raw = 5, [], 20.0, False
    if '--runs' in args:
        i = args.index('--runs'); runs = int(args[i + 1]); del args[i:i + 2]
    if '--versions' in args:
        i = args.index('--versions'); want = args[i + 1].split(','); del args[i:i + 2]
    if '--timeout' in args:
        i = args.index('--timeout'); timeout = float(args[i + 1]); del args[i:i + 2]
    if '--raw' in args:
        args.remove('--raw'); raw = True
    tty = '--tty' in args
    if tty:
        args.remove('--tty')
    flags = []
    if '-u' in args:
        # stdout unbuffered, as on a terminal line by line: print order is
        # the order the prints ran in.
        args.remove('-u'); flags = ['-u']
    les = lesson(args[0])
    knobs = defaults(les)
    for kv in args[1:]:
        k, v = kv.split('=', 1)
        knobs[k] = v
    prog = render(les['code'], knobs)
    print('lesson %s%s%s, knobs %s' % (args[0], ' (python -u)' if flags else '',
                                       ', stdout a tty' if tty else ', stdout a pipe', ' '.join('%s=%s' % kv for kv in sorted(knobs.items()))))
    env = dict(os.environ)
    env.pop('PYTHONUNBUFFERED', None)
    for exe in versions(want):
        ver = exe.split('/')[-3]
        seen = Counter()
        for _ in range(runs):
            if tty:
                out, status = on_tty([exe] + flags + ['-c', prog], env, timeout)
                if not raw:
                    out = re.sub(r'\d{3,}', '<n>', out)
                seen[(out, status)] += 1
                continue
            try:
                p = subprocess.run([exe] + flags + ['-c', prog], capture_output=True, text=True,
                                   timeout=timeout, env=env)
                out = p.stdout + ''.join('stderr: ' + l + '\n' for l in p.stderr.splitlines()
                                         if raw or 'Error' in l or 'Warning' in l)
                status = p.returncode
            except subprocess.TimeoutExpired as e:
                out = (e.stdout or b'').decode() if isinstance(e.stdout, bytes) else (e.stdout or '')
                status = 'timeout %ss' % timeout
            if not raw:
                out = re.sub(r'\d{3,}', '<n>', out)
            seen[(out, status)] += 1
        for (out, status), n in seen.most_common():
            print('== %s: %d of %d runs, exit %s' % (ver, n, runs, status))
            print(out, end='' if out.endswith('\n') or not out else '\n')


def on_tty(argv, env, timeout):
    master, slave = pty.openpty()
    p = subprocess.Popen(argv, stdout=slave, stderr=slave, stdin=subprocess.DEVNULL, env=env)
    os.close(slave)
    chunks, t0 = [], time.monotonic()
    while time.monotonic() - t0 < timeout:
        r, _, _ = select.select([master], [], [], 0.5)
        if not r:
            if p.poll() is not None:
                break
            continue
        try:
            data = os.read(master, 65536)
        except OSError:
            break
        if not data:
            break
        chunks.append(data)
    try:
        status = p.wait(timeout=max(0.1, timeout - (time.monotonic() - t0)))
    except subprocess.TimeoutExpired:
        p.kill()
        p.wait()
        status = 'timeout %ss' % timeout
    os.close(master)
    return b''.join(chunks).decode(errors='replace').replace('\r\n', '\n'), status


if __name__ == '__main__':
    main()
