# Topic 2: default thread names.
import sys
import threading


def loop():
    print("  inside loop: threading.current_thread().name =", repr(threading.current_thread().name))


print("version:", sys.version.split()[0])
print("main: threading.current_thread().name =", repr(threading.current_thread().name))
print("main: threading.main_thread().name =", repr(threading.main_thread().name))
print("main: type(current_thread()) =", type(threading.current_thread()))
t = threading.Thread(target=loop)
print("Thread(target=loop).name before start =", repr(t.name))
t.start(); t.join()
t2 = threading.Thread(target=loop)
print("second Thread(target=loop).name =", repr(t2.name))
t2.start(); t2.join()
t3 = threading.Thread(target=loop, name='LoopThread')
print("Thread(target=loop, name='LoopThread').name =", repr(t3.name))
t3.start(); t3.join()
t4 = threading.Thread(target=lambda: None)
print("Thread(target=lambda: None).name =", repr(t4.name))
t5 = threading.Thread()
print("Thread() (no target).name =", repr(t5.name))
print("repr(Thread(target=loop)) =", repr(threading.Thread(target=loop)))
print("threading.get_ident() type:", type(threading.get_ident()).__name__)
print("has threading.get_native_id:", hasattr(threading, "get_native_id"))
# Issue 10.15: only unnamed threads use up a number of the counter.
fresh = r'''
import threading
def loop(): pass
a = threading.Thread(target=loop, name='LoopThread')
b = threading.Thread(target=loop)
print(repr(a.name), repr(b.name))
'''
import subprocess, sys
print("a named thread, then an unnamed one (fresh interpreter):",
      subprocess.run([sys.executable, "-c", fresh], stdout=subprocess.PIPE).stdout.decode().strip())
