"""Test process: prints its pid and dies with exit code 3 (for respawn tests)."""

import os
import sys

print(f"crasher pid {os.getpid()}", flush=True)
sys.exit(3)
