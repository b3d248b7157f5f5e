# The app of tests/patcher/ecs/seed-before.json (`python /tmp/helloworld.py`).
import subprocess
import sys

print("Hello, World from python", flush=True)
subprocess.run(["/usr/local/bin/app", "child"], check=True)
sys.exit(0)
