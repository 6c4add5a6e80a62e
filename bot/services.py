"""What every request, job and command shares: settings, database, LINE client, router, and the web
process's confirmations of delivered replies."""
from __future__ import annotations

import dataclasses

from bot.config import Settings
from bot.db import Database
from bot.line.client import LineClient
from bot.line.replies import Settler
from bot.router import Router


@dataclasses.dataclass
class Services:
    settings: Settings
    db: Database
    line: LineClient
    router: Router
    settler: Settler | None = None

    def __post_init__(self):
        if self.settler is None:
            self.settler = Settler(self.db)

    def close(self) -> None:
        """Confirms the replies still to settle, then closes LINE's and the database's connections."""
        self.settler.close()
        self.line.close()
        self.db.dispose()
