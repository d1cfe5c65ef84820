#!/bin/sh
# The timed scheduler's calibration: timing_costs.py and timing_lessons.py on every
# installed CPython; one JSON line per script and version in out/timing/<version>.json.
# The figures in src/sim/calibration.rs and tests/calibration.rs come from these files.
cd "$(dirname "$0")"
VERSIONS="${VERSIONS:-3.6.15 3.7.16 3.8.18 3.9.18 3.10.13 3.11.7 3.12.1 3.13.0}"
mkdir -p out/timing
for v in $VERSIONS; do
  py=$HOME/.pyenv/versions/$v/bin/python
  : > "out/timing/$v.json"
  env -u PYTHONUNBUFFERED "$py" timing_costs.py >> "out/timing/$v.json" 2>&1 < /dev/null
  env -u PYTHONUNBUFFERED "$py" timing_lessons.py "${SCALE:-1}" >> "out/timing/$v.json" 2>&1 < /dev/null
done
