"""A strict local emulator of the LINE Messaging API, for development and tests.

    app = create_emulator(("demo-token",))      # a WSGI app
    app.state.add_user("U" + "0" * 32)
    running = serve_in_thread(app)              # running.base_url
    # point the SDK's Configuration(host=running.base_url) at it

See state.py for the conclusions about LINE's behaviour it encodes.
"""
from .app import Emulator, create_emulator
from .faults import FaultRule
from .server import RunningServer, serve_in_thread
from .state import REPLY_TOKEN_TTL, RETRY_KEY_TTL, EmulatorState, new_user_id

__all__ = [
    "Emulator", "EmulatorState", "FaultRule", "REPLY_TOKEN_TTL", "RETRY_KEY_TTL",
    "RunningServer", "create_emulator", "new_user_id", "serve_in_thread",
]
