# The tickets lesson with `as-written=on` (lessons/tickets.toml): the tutorial's own
# ticket sale (`with lock:` around the whole purchase, random.randint(1, 3) s of
# network, PIDs, joins), 2 tickets and 10 buyers, with and without the lock.
# Prints, per interpreter, how many buyers printed 购票成功 and what the file held.
#
#   python3 tools/measure/tickets_as_written.py [RUNS] [VERSION ...]
import glob, json, os, re, subprocess, sys, tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
RUNS = int(sys.argv[1]) if len(sys.argv) > 1 else 5
WANT = sys.argv[2:]


def render(knobs):
    text = open(os.path.join(ROOT, 'lessons', 'tickets.toml'), encoding='utf-8').read()
    code = re.search(r'^code = """\n(.*?)"""', text, re.S | re.M).group(1)
    out = []
    for line in code.splitlines():
        ok = True
        while line.startswith('?{'):
            cond, line = line[2:].split('}', 1)
            neg = '!=' in cond
            name, value = cond.split('!=' if neg else '=')
            ok = ok and ((knobs[name] == value) != neg)
        if ok:
            for k, v in knobs.items():
                line = line.replace('{{%s}}' % k, v)
            out.append(line)
    return '\n'.join(out) + '\n'


for exe in sorted(glob.glob(os.path.expanduser('~/.pyenv/versions/3.*/bin/python'))):
    version = exe.split('/')[-3]
    if WANT and not any(version.startswith(w) for w in WANT):
        continue
    for lock in ('on', 'off'):
        prog = render({'as-written': 'on', 'lock': lock, 'tickets': '2', 'buyers': '10'})
        seen = {}
        for _ in range(RUNS):
            with tempfile.TemporaryDirectory() as d:
                r = subprocess.run([exe, '-c', prog], cwd=d, capture_output=True, timeout=120)
                out = r.stdout.decode()
                left = json.load(open(os.path.join(d, 'ticket.json')))['count']
            key = '%d sold, %d failed, file says %d left, last line %s' % (
                out.count('购票成功'), out.count('购票失败'), left,
                out.strip().splitlines()[-1] if out.strip() else '-')
            seen[key] = seen.get(key, 0) + 1
        print('%s lock=%-3s %s' % (version, lock,
              '; '.join('%s: %d' % kv for kv in sorted(seen.items()))), flush=True)
