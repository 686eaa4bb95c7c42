"""Test process that ignores SIGINT (and SIGTERM with --ignore-term) and forks a grandchild
that ignores both: only SIGKILL to the whole process group ends them."""

import os
import signal
import subprocess
import sys
import time

IGNORE = "import signal, time; signal.signal(signal.SIGINT, signal.SIG_IGN); "
IGNORE += "signal.signal(signal.SIGTERM, signal.SIG_IGN); time.sleep(120)"

signal.signal(signal.SIGINT, signal.SIG_IGN)
if "--ignore-term" in sys.argv:
    signal.signal(signal.SIGTERM, signal.SIG_IGN)
grandchild = subprocess.Popen([sys.executable, "-c", IGNORE])
print(f"stubborn pid {os.getpid()} grandchild {grandchild.pid}", flush=True)
time.sleep(120)
