#!/bin/sh
# Run every measurement script on every installed CPython; raw output in out/<script>/<version>.txt
cd "$(dirname "$0")"
VERSIONS="${VERSIONS:-3.6.15 3.7.16 3.8.18 3.9.18 3.10.13 3.11.7 3.12.1 3.13.0}"
SCRIPTS="${SCRIPTS:-balance_race thread_names thread_local mp_process mp_pool mp_queue mp_pipe subprocess_demo mp_value fork_demo gil_cpu deadlock convoy_process}"
for s in $SCRIPTS; do
  mkdir -p "out/$s"
  for v in $VERSIONS; do
    py=/root/.pyenv/versions/$v/bin/python3
    [ -x "$py" ] || py=/root/.pyenv/versions/$v/bin/python
    timeout 300 env -u PYTHONUNBUFFERED "$py" "$s.py" > "out/$s/$v.txt" 2>&1 < /dev/null
    echo "exit=$?" >> "out/$s/$v.txt"
  done
done
