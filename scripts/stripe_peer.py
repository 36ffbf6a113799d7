"""Starts localstripe, the local Stripe peer, for development and tests.

Differences from `localstripe --port N`, all about isolation:
- it listens on 127.0.0.1 only (test traffic never leaves loopback);
- its state lives in this process only: the upstream server loads and dumps one
  pickle file shared by every instance on the machine, on every write.

Usage: stripe_peer.py PORT
"""

import logging
import socket
import sys

from aiohttp import web
from localstripe import resources

resources.Store.dump_to_disk = lambda self: None
resources.Store.try_load_from_disk = lambda self: None

from localstripe.server import app  # noqa: E402  (after the patch above)


def main() -> None:
    port = int(sys.argv[1]) if len(sys.argv) > 1 else 8420
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", port))
    logger = logging.getLogger("aiohttp.access")
    logger.setLevel(logging.WARNING)
    logger.addHandler(logging.StreamHandler())
    web.run_app(app, sock=sock, access_log=None, print=None)


if __name__ == "__main__":
    main()
