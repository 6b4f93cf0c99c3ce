"""Ctrl-C interrupts a long run within a second and raises KeyboardInterrupt."""

import os
import signal
import subprocess
import sys
import time

SCRIPT = r"""
import sys, time
import solvent
print("start", flush=True)
t = time.time()
try:
    solvent.datagen("darcy", grid=96, count=2000, strategy="independent", precond="none", device="cpu")
    print("finished", flush=True)
except KeyboardInterrupt:
    print("interrupted", time.time(), flush=True)
    sys.exit(3)
"""


def test_ctrl_c_raises_keyboard_interrupt_within_a_second():
    p = subprocess.Popen([sys.executable, "-c", SCRIPT], stdout=subprocess.PIPE, text=True)
    assert p.stdout.readline().strip() == "start"
    time.sleep(1.5)
    sent = time.time()
    p.send_signal(signal.SIGINT)
    out, _ = p.communicate(timeout=30)
    assert p.returncode == 3, out
    when = float(out.split()[1])
    assert when - sent < 1.0, when - sent
