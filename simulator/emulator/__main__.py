"""Run the LINE API emulator standalone:

    python -m simulator.emulator --port 8081 --token demo-token
"""
from __future__ import annotations

import argparse

from werkzeug.serving import make_server

from . import create_emulator
from .server import QuietHandler


def main(argv=None):
    parser = argparse.ArgumentParser(prog="python -m simulator.emulator",
                                     description="Local emulator of the LINE Messaging API")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8081)
    parser.add_argument("--token", action="append",
                        help="accepted channel access token (repeatable; default demo-token)")
    parser.add_argument("--quota", type=int, default=None, help="monthly message quota")
    parser.add_argument("--user", action="append", default=[],
                        help="user id to add as a friend at start (repeatable)")
    parser.add_argument("--verbose", action="store_true", help="log every request")
    args = parser.parse_args(argv)

    app = create_emulator(tuple(args.token or ["demo-token"]))
    app.state.set_quota(args.quota)
    for user_id in args.user:
        app.state.add_user(user_id)
    server = make_server(args.host, args.port, app, threaded=True,
                         request_handler=None if args.verbose else QuietHandler)
    print(f"LINE API emulator listening on http://{args.host}:{server.port}", flush=True)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server.server_close()


if __name__ == "__main__":
    main()
