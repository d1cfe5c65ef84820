# Issue 10.15: how often does the lesson's exact balance program end non-zero?
# Runs the program (100000 iterations per thread, default switch interval) RUNS times
# per interpreter, each in a fresh process, and counts the non-zero results.
#
#   python3 tools/measure/balance_rate.py [RUNS] [VERSION ...]
import glob, os, subprocess, sys

RUNS = int(sys.argv[1]) if len(sys.argv) > 1 else 50
WANT = sys.argv[2:]

PROGRAM = '''
import threading

balance = 0

def change_it(n):
    global balance
    balance = balance + n
    balance = balance - n

def run_thread(n):
    for i in range(100000):
        change_it(n)

t1 = threading.Thread(target=run_thread, args=(5,))
t2 = threading.Thread(target=run_thread, args=(8,))
t1.start()
t2.start()
t1.join()
t2.join()
print(balance)
'''

for exe in sorted(glob.glob(os.path.expanduser('~/.pyenv/versions/3.*/bin/python'))):
    version = exe.split('/')[-3]
    if WANT and not any(version.startswith(w) for w in WANT):
        continue
    wrong = 0
    for _ in range(RUNS):
        out = subprocess.run([exe, '-c', PROGRAM], capture_output=True, text=True).stdout
        wrong += out.strip() != '0'
    print('%s: %d of %d runs non-zero (%.0f%%)' % (version, wrong, RUNS, 100.0 * wrong / RUNS),
          flush=True)
