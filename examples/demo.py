"""Placeholder main job until the round-robin demo lands: a service, shown by ipvsadm.

Run it in the sandbox: ``bash scripts/demo``.
"""

from __future__ import annotations

import subprocess
import sys


def main() -> int:
    """Add a virtual service with two real servers and list the table."""
    for args in (
        ["-A", "-t", "100.100.100.100:80", "-s", "rr"],
        ["-a", "-t", "100.100.100.100:80", "-r", "10.0.1.2:80", "-m"],
        ["-a", "-t", "100.100.100.100:80", "-r", "10.0.2.2:80", "-m"],
    ):
        subprocess.run(["ipvsadm", *args], check=True)
    return subprocess.run(["ipvsadm", "-Ln"], check=False).returncode


if __name__ == "__main__":
    sys.exit(main())
