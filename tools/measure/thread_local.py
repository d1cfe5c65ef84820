# Topic 3: threading.local()
import sys
import threading

print("version:", sys.version.split()[0])
local_school = threading.local()
print("type(threading.local()) =", type(local_school))
print("threading.local =", threading.local)
try:
    local_school.student
except AttributeError as e:
    print("unset attribute: AttributeError:", repr(str(e)))
    print("repr(e) =", repr(e))

results = {}


def process_thread(name):
    local_school.student = name
    results[threading.current_thread().name] = local_school.student


ts = [threading.Thread(target=process_thread, args=(n,), name=tn)
      for n, tn in (('Alice', 'Thread-A'), ('Bob', 'Thread-B'))]
for t in ts:
    t.start()
for t in ts:
    t.join()
print("per-thread values:", sorted(results.items()))
try:
    local_school.student
    print("main thread sees student:", local_school.student)
except AttributeError as e:
    print("main thread after workers set it: AttributeError:", repr(str(e)))


class MyLocal(threading.local):
    pass


try:
    MyLocal().x
except AttributeError as e:
    print("subclass unset attribute: AttributeError:", repr(str(e)))
