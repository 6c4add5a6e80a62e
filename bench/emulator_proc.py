"""The emulator as the benchmarks run it in a process of its own, with its own GIL:

    python -m bench.emulator_proc --token T     # prints the port, then serves

The same server as `python -m simulator.emulator` (werkzeug, threaded, quiet), plus three routes that
spare the benchmark thousands of control calls: POST /_bench/users, /_bench/summary and
/_bench/reply-tokens (one token per user id given, in order).

It keeps every call it accepts (the benchmark verifies them), a few hundred thousand JSON objects by
the end of a phase. Python's full collections walked all of them: pauses of 170–340 ms once or twice
a second, which held every reply in flight and made most of the bot's p99 (30 Nov night, timestamps of
the slow requests against a gc callback's log). LINE does not pause for the calls it has seen, so the
process makes no full collection by itself; the young generations are still collected, and a full
collection runs when the benchmark resets the state between phases, outside any timed phase.
"""
from __future__ import annotations

import argparse
import gc
import signal
import sys

from flask import request
from werkzeug.serving import make_server

from bench.emulator import add_users, reply_tokens, summary
from simulator.emulator import create_emulator
from simulator.emulator.app import json_response
from simulator.emulator.server import QuietHandler


# Full collections come after this many young ones: never, in a benchmark's lifetime.
NO_FULL_COLLECTIONS = 1 << 30


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.emulator_proc")
    parser.add_argument("--token", required=True)
    parser.add_argument("--port", type=int, default=0)
    args = parser.parse_args(argv)

    app = create_emulator((args.token,))

    def bench_users():
        body = request.get_json(force=True)
        reset = body.get("reset", True)
        add_users(app.state, body["ids"], reset)
        if reset:
            gc.collect()
        return json_response(200, {})

    def bench_summary():
        return json_response(200, summary(app.state, request.get_json(force=True)["ids"]))

    def bench_tokens():
        return json_response(200, {"tokens": reply_tokens(app.state, request.get_json(force=True)["ids"])})

    app.add_url_rule("/_bench/reply-tokens", "_bench.reply_tokens", bench_tokens, methods=["POST"])
    app.add_url_rule("/_bench/users", "_bench.users", bench_users, methods=["POST"])
    app.add_url_rule("/_bench/summary", "_bench.summary", bench_summary, methods=["POST"])
    gc.set_threshold(*gc.get_threshold()[:2], NO_FULL_COLLECTIONS)
    server = make_server("127.0.0.1", args.port, app, threaded=True, request_handler=QuietHandler)
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    print(server.port, flush=True)
    try:
        server.serve_forever()
    finally:
        server.server_close()


if __name__ == "__main__":
    main()
