#!/bin/bash
# Issue 17 item 7 (sub17): instructions per controlled step (callgrind), the whole
# round trip: balance-race, seed 1, interleave's controller and the interpreter (the
# tracer included) counted apart; (iterations=100 - iterations=1) / their steps.
# Counts, not times: the machine is shared. After `cargo build`:
#
#   tools/measure/cpython_step_cost_cg.sh 3.8.18 3.9.18 ...
BIN=$(cd "$(dirname "$0")/../.." && pwd)/target/debug/interleave
TMP=$(mktemp -d)
trap 'rm -rf "$TMP"' EXIT
for v in "$@"; do
  py=~/.pyenv/versions/$v/bin/python
  for n in 1 100; do
    mkdir -p "$TMP/cg$n"
    valgrind --tool=callgrind --trace-children=yes --callgrind-out-file="$TMP/cg$n/cg.%p" \
      "$BIN" run balance-race --engine cpython --python "$py" --seed 1 --set iterations=$n \
      --timeout 600 --format jsonl > "$TMP/o.$n" 2>/dev/null
  done
  python3 - "$v" "$TMP" <<'PY'
import glob, sys
v, tmp = sys.argv[1], sys.argv[2]
def count(d):
    py = ctl = 0
    for f in glob.glob(d + '/cg.*'):
        cmd, tot = '', 0
        for l in open(f, errors='replace'):
            if l.startswith('cmd:'):
                cmd = l
            if l.startswith(('totals:', 'summary:')):
                tot = int(l.split()[1])
        if cmd.split()[1].endswith('/interleave'):
            ctl += tot
        else:
            py += tot
    return py, ctl
steps = [sum(1 for l in open('%s/o.%d' % (tmp, n)) if '"kind":"step"' in l) for n in (1, 100)]
(p0, c0), (p1, c1) = count(tmp + '/cg1'), count(tmp + '/cg100')
s = steps[1] - steps[0]
print('%s: %d steps; interpreter %.0f, controller %.0f instructions a step' % (v, s, (p1 - p0) / s, (c1 - c0) / s))
PY
  rm -rf "$TMP"/cg*
done
