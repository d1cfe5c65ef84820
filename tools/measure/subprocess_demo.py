# Topic 8: subprocess
import shutil
import subprocess
import sys


def main():
    print("version:", sys.version.split()[0])
    print("$ echo hi")
    sys.stdout.flush()
    r = subprocess.call(['echo', 'hi'])
    print("subprocess.call(['echo','hi']) returned", repr(r))
    print("subprocess.call(['false']) returned", repr(subprocess.call(['false'])))
    print("subprocess.call('exit 3', shell=True) returned", repr(subprocess.call('exit 3', shell=True)))
    p = subprocess.Popen(['cat'], stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    out = p.communicate(b'set q=mx\npython.org\nexit\n')
    print("Popen(['cat'], stdin/stdout/stderr=PIPE).communicate(b'...') ->", repr(out))
    print("  returncode:", p.returncode)
    p = subprocess.Popen(['cat'], stdin=subprocess.PIPE, stdout=subprocess.PIPE)
    out = p.communicate(b'abc')
    print("Popen(['cat'], stdin=PIPE, stdout=PIPE).communicate(b'abc') ->", repr(out))
    print("  returncode before communicate() is None:", subprocess.Popen(['true']).returncode is None)
    p = subprocess.Popen(['false'])
    print("Popen(['false']).wait() ->", p.wait(), " returncode:", p.returncode)
    p = subprocess.Popen(['sleep', '10'])
    p.kill(); p.wait()
    print("Popen(['sleep','10']).kill(); wait() -> returncode", p.returncode)
    p = subprocess.Popen(['sleep', '10'])
    p.terminate(); p.wait()
    print("Popen(['sleep','10']).terminate(); wait() -> returncode", p.returncode)
    print("subprocess.run(['echo','hi'], stdout=PIPE) ->", repr(subprocess.run(['echo', 'hi'], stdout=subprocess.PIPE)))
    print("check_output(['echo','hi']) ->", repr(subprocess.check_output(['echo', 'hi'])))
    try:
        subprocess.check_call(['false'])
    except subprocess.CalledProcessError as e:
        print("check_call(['false']) raised CalledProcessError:", repr(str(e)))
    print("shutil.which('nslookup'):", shutil.which('nslookup'))
    try:
        subprocess.call(['nslookup', 'www.python.org'])
    except Exception as e:
        print("subprocess.call(['nslookup','www.python.org']) raised %s: %s" % (type(e).__name__, e))
        print("  repr:", repr(e))
    try:
        subprocess.run(['echo', 'x'], capture_output=True, text=True)
        print("subprocess.run capture_output/text: supported")
    except TypeError as e:
        print("subprocess.run(capture_output=True, text=True): TypeError:", e)


if __name__ == "__main__":
    main()
