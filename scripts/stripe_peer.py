"""Starts localstripe, the local Stripe peer, for development and tests.

Differences from `localstripe --port N`:
- it listens on 127.0.0.1 only (test traffic never leaves loopback);
- its state lives in this process only, or, when STATE_FILE is given, in that
  file (loaded at start, written atomically after every change) — upstream
  loads and dumps one pickle file shared by every instance on the machine, so
  the demo keeps its Stripe objects beside its own database instead;
- its fake Stripe.js is served inside a block: upstream, its top-level
  `class Element` shadows the DOM's global `Element` for every script of the
  page, which breaks `instanceof Element` checks (and so Leptos' hydration).
  Real Stripe.js declares no such global; the block keeps the fake as harmless.

Usage: stripe_peer.py PORT [STATE_FILE]
"""

import logging
import os
import pickle
import socket
import sys

from aiohttp import web

import localstripe
from localstripe import resources

STATE_FILE = sys.argv[2] if len(sys.argv) > 2 else None


def dump_to_disk(store: resources.Store) -> None:
    if STATE_FILE is None:
        return
    tmp = STATE_FILE + ".tmp"
    with open(tmp, "wb") as f:
        pickle.dump(dict(store), f, protocol=pickle.HIGHEST_PROTOCOL)
    os.replace(tmp, STATE_FILE)


def load_from_disk(store: resources.Store) -> None:
    if STATE_FILE is None or not os.path.exists(STATE_FILE):
        return
    with open(STATE_FILE, "rb") as f:
        saved = pickle.load(f)
    dict.clear(store)
    dict.update(store, saved)


resources.Store.dump_to_disk = dump_to_disk
resources.Store.try_load_from_disk = load_from_disk

from localstripe.server import app  # noqa: E402  (after the patch above)

JS_PATH = "/js.stripe.com/v3/"


@web.middleware
async def scoped_stripe_js(request, handler):
    if request.path != JS_PATH:
        return await handler(request)
    with open(os.path.join(os.path.dirname(localstripe.__file__), "localstripe-v3.js")) as f:
        source = f.read()
    return web.Response(text="{\n" + source + "\n}\n", content_type="application/javascript")


app.middlewares.append(scoped_stripe_js)


def main() -> None:
    port = int(sys.argv[1]) if len(sys.argv) > 1 else 8420
    load_from_disk(resources.store)
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", port))
    logger = logging.getLogger("aiohttp.access")
    logger.setLevel(logging.WARNING)
    logger.addHandler(logging.StreamHandler())
    web.run_app(app, sock=sock, access_log=None, print=None)


if __name__ == "__main__":
    main()
