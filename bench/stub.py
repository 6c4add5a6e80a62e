"""A null LINE: answers push and multicast at once, checks nothing, remembers who got what.

    python -m bench.stub      # prints the port, then serves (asyncio, one thread)

Against it the dispatcher's own ceiling shows, which the emulator (a threaded Flask app under one GIL,
about 1,000 requests/s on a small machine) hides. It speaks the same /_bench/ routes as
bench.emulator_proc, so the benchmark verifies deliveries the same way.
"""
from __future__ import annotations

import asyncio
import collections
import json

PUSH_ANSWER = {"sentMessages": [{"id": "1"}]}


class Store:
    def __init__(self):
        self.reset()

    def reset(self):
        self.texts = collections.defaultdict(list)
        self.calls = collections.Counter()
        self.multicast_sizes = []

    def answer(self, path: str, body: dict) -> tuple[int, dict]:
        if path in ("/v2/bot/message/push", "/v2/bot/message/multicast"):
            kind = path.rsplit("/", 1)[1]
            to = [body["to"]] if kind == "push" else body["to"]
            self.calls[kind] += 1
            if kind == "multicast":
                self.multicast_sizes.append(len(to))
            for uid in to:
                self.texts[uid].extend(m.get("text") for m in body["messages"])
            return 200, PUSH_ANSWER if kind == "push" else {}
        if path == "/_bench/users":
            if body.get("reset", True):
                self.reset()
            return 200, {}
        if path == "/_bench/summary":
            return 200, {"texts": {uid: self.texts.get(uid, []) for uid in body["ids"]},
                         "calls": dict(self.calls), "multicast_sizes": self.multicast_sizes,
                         "rejected": 0, "rejected_examples": [], "rejected_reasons": {}}
        return 404, {"message": "Not found"}


async def serve(store: Store, reader, writer):
    try:
        while True:
            head = (await reader.readuntil(b"\r\n\r\n")).decode("latin-1").split("\r\n")
            path = head[0].split(" ")[1].split("?")[0]
            headers = {k.strip().lower(): v.strip() for k, _, v in (h.partition(":") for h in head[1:] if h)}
            raw = await reader.readexactly(int(headers.get("content-length", 0)))
            status, answer = store.answer(path, json.loads(raw) if raw else {})
            data = json.dumps(answer).encode()
            writer.write(f"HTTP/1.1 {status} X\r\nContent-Type: application/json\r\n"
                         f"Content-Length: {len(data)}\r\nX-Line-Request-Id: stub\r\n\r\n".encode() + data)
            await writer.drain()
            if headers.get("connection", "").lower() == "close":
                break
    except (asyncio.IncompleteReadError, ConnectionError):
        pass
    writer.close()


async def main() -> None:
    store = Store()
    server = await asyncio.start_server(lambda r, w: serve(store, r, w), "127.0.0.1", 0)
    print(server.sockets[0].getsockname()[1], flush=True)
    await server.serve_forever()


if __name__ == "__main__":
    asyncio.run(main())
