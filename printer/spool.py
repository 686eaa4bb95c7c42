"""The durable record of tickets: which are waiting to print, which have printed.

A ticket enters `pending` when it is accepted for printing and leaves it once the printer
confirmed it; its key (date + number) then joins `printed`, so it is never printed again,
even after a node restart. Kept tickets (paper out, printer offline) simply stay pending.
The file is JSON, rewritten atomically (temporary file, fsync, rename) on every change; a
corrupt file is set aside as `<name>.corrupt` and the spool starts empty (logged). With
`path=None` the spool lives in memory only (tests, previews).

Not thread-safe on its own: the printing worker owns it; other threads read through the
worker's snapshots.
"""

from __future__ import annotations

import json
import logging
import os
from pathlib import Path

from service_desk_robot.printer.ticket import TicketData

log = logging.getLogger(__name__)

PRINTED_KEYS_KEPT = 5000  # enough for several busy days; keys carry their date


class TicketSpool:
    def __init__(self, path: Path | None = None) -> None:
        self._path = Path(path) if path else None
        self._pending: dict[str, TicketData] = {}  # insertion order = print order
        self._printed: list[str] = []
        self._printed_set: set[str] = set()
        self.save_error = ""  # why the last write failed; "" when the file is current
        if self._path is not None and self._path.exists():
            self._load()

    def _load(self) -> None:
        try:
            data = json.loads(self._path.read_text(encoding="utf-8"))
            pending = [TicketData.from_dict(t) for t in data["pending"]]
            printed = [str(k) for k in data["printed"]]
        except (OSError, ValueError, KeyError, TypeError) as error:
            aside = self._path.with_name(self._path.name + ".corrupt")
            log.error(f"ticket spool {self._path} unreadable ({error!r}); moved to {aside}, starting empty")
            os.replace(self._path, aside)
            return
        self._pending = {t.key: t for t in pending}
        self._printed = printed[-PRINTED_KEYS_KEPT:]
        self._printed_set = set(self._printed)

    def _save(self) -> None:
        if self._path is None:
            return
        data = {"pending": [t.to_dict() for t in self._pending.values()], "printed": self._printed}
        tmp = self._path.with_name(self._path.name + ".tmp")
        try:
            self._path.parent.mkdir(parents=True, exist_ok=True)
            with open(tmp, "w", encoding="utf-8") as handle:
                json.dump(data, handle, ensure_ascii=False)
                handle.flush()
                os.fsync(handle.fileno())
            os.replace(tmp, self._path)
        except OSError as error:
            # Printing goes on from memory; only survival across a restart is at risk.
            if not self.save_error:
                log.error(f"ticket spool {self._path} cannot be written ({error}); keeping it in memory")
            self.save_error = str(error)
        else:
            self.save_error = ""

    def add(self, ticket: TicketData) -> None:
        if ticket.key in self._pending or ticket.key in self._printed_set:
            return
        self._pending[ticket.key] = ticket
        self._save()

    def mark_printed(self, key: str) -> None:
        self._pending.pop(key, None)
        if key not in self._printed_set:
            self._printed.append(key)
            self._printed_set.add(key)
            if len(self._printed) > PRINTED_KEYS_KEPT:
                self._printed_set.discard(self._printed.pop(0))
        self._save()

    def discard(self, key: str) -> None:
        """Forget a pending ticket that can never print (it is not recorded as printed)."""
        if self._pending.pop(key, None) is not None:
            self._save()

    def is_printed(self, key: str) -> bool:
        return key in self._printed_set

    def is_pending(self, key: str) -> bool:
        return key in self._pending

    def pending(self) -> list[TicketData]:
        return list(self._pending.values())
