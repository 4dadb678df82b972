"""``Idempotency-Key`` on POSTs: a retried request gets the first response and changes nothing again.

The guarantee given: the record is claimed (inserted *in flight*) before the action runs, so two
concurrent requests with one key never both run — the second gets 409 ``idempotency-request-in-flight``
— and a key reused with another request (method, path, body or If-Match differ) gets 422
``idempotency-key-reused``. The response (success or a 4xx problem) is stored right after the action
committed, in a second transaction of the same database: it is not one transaction with the action. So
before writing anything the action *reserves* on its claim what it is about to create — ``POST /dossiers``
the dossier code it will open, ``POST …/events`` the version its trigger will make. If the server dies
before the response is stored, the claim stays in flight for :data:`~motcua.adapters.keys.IN_FLIGHT_LEASE`;
a retry after that takes the claim over with the reservation (:class:`Reservation`) and finishes the first
run's work instead of repeating it: the dossier is opened under the reserved code at most once (and
received if the first run stopped in between), and a trigger whose entry is already in the log at the
reserved version is answered with the dossier as it stands, never fired again. A 5xx answer is not
stored: the claim is released, and a retry runs afresh — taking over at once what it had reserved, so a
server error between opening a dossier and receiving it does not open a second one. Only the same
request (same fingerprint) takes an abandoned claim over; and each claim is fenced by the instant it was
made, so a run slower than the lease, overtaken by a retry, can no longer store or release anything.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Final

from fastapi import Response

from motcua.adapters.keys import IdempotencyStore, RecordSweep, StoredResponse
from motcua.entrypoints.http.problems import BAD_KEY, IN_FLIGHT, KEY_REUSED, ApiProblem, from_error, problem_response
from motcua.workflow.engine.clock import Clock
from motcua.workflow.errors import MotcuaError

__all__ = ["REPLAYED_HEADER", "Idempotency", "Reservation", "fingerprint"]

REPLAYED_HEADER: Final = "Idempotent-Replayed"
_KEY: Final = re.compile(r"^[\x21-\x7e]{1,255}$")
_KEPT_HEADERS: Final = ("etag", "location", "content-type")


def fingerprint(method: str, path: str, body: object, if_match: str | None) -> str:
    canonical = json.dumps(body, sort_keys=True, separators=(",", ":"), ensure_ascii=False, default=str)
    return hashlib.sha256(f"{method} {path}\n{if_match or ''}\n{canonical}".encode()).hexdigest()


def _stored(response: Response) -> StoredResponse:
    headers = {name: value for name, value in response.headers.items() if name in _KEPT_HEADERS}
    return StoredResponse(response.status_code, headers, bytes(response.body).decode("utf-8"))


def _replay(stored: StoredResponse) -> Response:
    headers = {**stored.headers, REPLAYED_HEADER: "true"}
    media_type = headers.pop("content-type", "application/json")
    return Response(stored.body, status_code=stored.status_code, headers=headers, media_type=media_type)


@dataclass(frozen=True)
class Reservation:
    """What an abandoned first run of this request noted it was creating (``earlier``), and the way to
    note it for this run (``keep``) before writing anything."""

    earlier: str | None
    keep: Callable[[str], None]


_NO_KEY = Reservation(None, lambda reserved: None)


def _answer(action: Callable[[Reservation], Response], reservation: Reservation) -> Response:
    try:
        return action(reservation)
    except MotcuaError as error:
        return problem_response(from_error(error))
    except ApiProblem as problem:
        return problem_response(problem)


@dataclass(frozen=True)
class Idempotency:
    """``sweep``: deletes the records older than a day now and then (:class:`~motcua.adapters.keys.RecordSweep`)."""

    records: IdempotencyStore
    clock: Clock
    sweep: RecordSweep

    def run(
        self, scope: str, key: str | None, printed: Callable[[], str], action: Callable[[Reservation], Response]
    ) -> Response:
        """Run ``action`` once per (scope, key); without a key, simply run it. ``printed``: the request's
        :func:`fingerprint`, taken only when there is a key to keep it under."""
        if key is None:
            return action(_NO_KEY)
        if not _KEY.match(key):
            raise ApiProblem(BAD_KEY, "Idempotency-Key must be 1 to 255 visible ASCII characters")
        request_print = printed()
        claimed_at = self.clock.now()
        claimed = self.records.claim(scope, key, request_print, claimed_at)
        self.sweep.after_claim(claimed_at)
        if not claimed.fresh:
            return self._earlier(claimed.fingerprint, request_print, claimed.response, key)
        reservation = Reservation(claimed.reserved,
                                  lambda reserved: self.records.reserve(scope, key, claimed_at, reserved))
        try:
            response = _answer(action, reservation)
        except BaseException:
            self.records.release(scope, key, claimed_at)
            raise
        if response.status_code >= 500:  # noqa: PLR2004 - server errors are retried afresh, not replayed
            self.records.release(scope, key, claimed_at)
        else:
            self.records.complete(scope, key, claimed_at, _stored(response))
        return response

    @staticmethod
    def _earlier(first_print: str, request_print: str, stored: StoredResponse | None, key: str) -> Response:
        if first_print != request_print:
            raise ApiProblem(KEY_REUSED, f"Idempotency-Key {key!r} was first used with another request")
        if stored is None:
            raise ApiProblem(IN_FLIGHT, f"the first request with Idempotency-Key {key!r} is still running")
        return _replay(stored)
