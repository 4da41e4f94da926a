"""Run the real server app with tokens on under uvicorn (security tests only).

``python -m tests.security.launch --db sqlite:///x.db [--port 0]`` builds
``create_app(store, Settings(...))`` (tokens from ``$BOTWIRE_ADMIN_TOKEN``), prints
``listening on http://127.0.0.1:PORT`` and logs *everything* (every logger, DEBUG)
to stderr, so a test can assert no secret ever reaches a log. Once ``botwire
serve`` wires ``TokenAuth`` itself, tests can start that instead.
"""

from __future__ import annotations

import argparse
import logging
import socket
import sys
from urllib.parse import urlsplit


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m tests.security.launch")
    parser.add_argument("--db", required=True)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument("--max-value-bytes", type=int, default=None)
    args = parser.parse_args()

    logging.basicConfig(
        stream=sys.stderr, level=logging.DEBUG, format="%(name)s %(levelname)s %(message)s"
    )
    import uvicorn

    from botwire._open import open_async_store, open_store
    from botwire.server import Settings, create_app

    scheme = urlsplit(args.db).scheme
    store = open_async_store(args.db) if scheme.startswith("postgres") else open_store(args.db)
    options = {"max_value_bytes": args.max_value_bytes} if args.max_value_bytes else {}
    # The admin token comes from BOTWIRE_ADMIN_TOKEN, read by Settings itself.
    settings = Settings(host=args.host, db=args.db, access_log=True, **options)
    app = create_app(store, settings)

    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind((args.host, args.port))
    url = f"http://{args.host}:{sock.getsockname()[1]}"

    class Server(uvicorn.Server):
        async def startup(self, sockets: list[socket.socket] | None = None) -> None:
            await super().startup(sockets)
            print(f"listening on {url}", flush=True)

    config = uvicorn.Config(app, log_config=None, log_level="debug", access_log=True)
    Server(config).run(sockets=[sock])


if __name__ == "__main__":
    main()
