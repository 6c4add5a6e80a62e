"""Serve a WSGI app (the emulator) on a local port from a background thread."""
from __future__ import annotations

import threading
from dataclasses import dataclass

from werkzeug.serving import BaseWSGIServer, WSGIRequestHandler, make_server


class QuietHandler(WSGIRequestHandler):
    """Does not log each request (tests would drown in lines)."""

    def log_request(self, *args, **kwargs):
        pass


@dataclass
class RunningServer:
    server: BaseWSGIServer
    thread: threading.Thread
    host: str
    port: int

    @property
    def base_url(self) -> str:
        return f"http://{self.host}:{self.port}"

    def shutdown(self):
        self.server.shutdown()
        self.server.server_close()
        self.thread.join(timeout=5)


def serve_in_thread(wsgi_app, host="127.0.0.1", port=0, *, quiet=True) -> RunningServer:
    """Start serving at once; port 0 picks a free port (see ``.port``)."""
    server = make_server(host, port, wsgi_app, threaded=True,
                         request_handler=QuietHandler if quiet else None)
    thread = threading.Thread(target=server.serve_forever, name=f"emulator:{server.port}",
                              daemon=True)
    thread.start()
    return RunningServer(server=server, thread=thread, host=host, port=server.port)
