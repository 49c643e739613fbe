"""A loopback port for a server a test must name before it starts (a harness inbox that a reference
NSW is configured to reach).

Chosen below the kernel's ephemeral range, so that no server bound to port 0 meanwhile (the
reference, another test worker's) can be handed it before the test binds it.
"""

from __future__ import annotations

import random
import socket


def free_port() -> int:
    for port in random.sample(range(20000, 32000), 50):
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
            try:
                probe.bind(("127.0.0.1", port))
            except OSError:
                continue
            return port
    raise RuntimeError("no free loopback port between 20000 and 32000")
