# The tutorial's Pipe example creates the Pipe at module level and starts two
# processes. Under the 'spawn' start method (default on Windows, and on macOS since
# 3.8) each child re-imports the module and makes its own Pipe, so f2's recv() never
# gets f1's message. Run with: python pipe_spawn.py fork|spawn
import sys
from multiprocessing import Process, Pipe, set_start_method

conn1, conn2 = Pipe()


def f1():
    conn1.send('Hello shiyanlou')


def f2():
    data = conn2.recv()
    print(data)


def main():
    Process(target=f1).start()
    p2 = Process(target=f2)
    p2.start()
    p2.join(3)
    if p2.is_alive():
        print("f2 still waiting in recv() after 3 s")
        p2.terminate()
        p2.join()


if __name__ == '__main__':
    set_start_method(sys.argv[1])
    print("version:", sys.version.split()[0], "start method:", sys.argv[1])
    main()
