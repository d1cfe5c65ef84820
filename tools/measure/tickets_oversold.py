"""How many of 10 buyers get the one ticket when the lock is off (the tickets
lesson's headline figure), on each interpreter given: python3 tickets_oversold.py
RUNS PYTHON... Prints one line per interpreter: the count of runs by buyers served."""
import collections
import os
import subprocess
import sys
import tempfile

PROGRAM = '''import json, time
from multiprocessing import Process, Lock

def search(i):
    with open('ticket.json') as f:
        count = json.load(f)['count']
    print('buyer %s sees %s ticket(s) left' % (i, count))

def buy(i):
    with open('ticket.json') as f:
        data = json.load(f)
    time.sleep(0.1)  # the network is slow
    if data['count'] > 0:
        data['count'] -= 1
        time.sleep(0.2)  # so is the disk
        with open('ticket.json', 'w') as f:
            json.dump(data, f)
        print('buyer %s got a ticket' % i)
    else:
        print('buyer %s: sold out' % i)

def run(i, lock):
    search(i)
    buy(i)

if __name__ == '__main__':
    with open('ticket.json', 'w') as f:
        json.dump({'count': 1}, f)
    lock = Lock()
    for i in range(10):
        p = Process(target=run, args=(i, lock))
        p.start()
'''


def main():
    runs = int(sys.argv[1])
    for python in sys.argv[2:]:
        served = collections.Counter()
        with tempfile.TemporaryDirectory() as d:
            path = os.path.join(d, 'tickets.py')
            with open(path, 'w') as f:
                f.write(PROGRAM)
            for _ in range(runs):
                out = subprocess.run([python, path], cwd=d, capture_output=True, text=True,
                                     timeout=60).stdout
                served[out.count('got a ticket')] += 1
        print(python, dict(sorted(served.items())), flush=True)


if __name__ == '__main__':
    main()
