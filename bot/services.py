"""What every request, job and command shares: settings, database, LINE client and router."""
from __future__ import annotations

import dataclasses

from bot.config import Settings
from bot.db import Database
from bot.line.client import LineClient
from bot.router import Router


@dataclasses.dataclass
class Services:
    settings: Settings
    db: Database
    line: LineClient
    router: Router
