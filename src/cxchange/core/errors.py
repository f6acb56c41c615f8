"""Errors that reach the user as one clear line (CLI) or a 4xx JSON body (API)."""

from __future__ import annotations


class CxError(Exception):
    """Base class: an error whose message is meant for the user, not a traceback.

    `status` is the HTTP status the API answers with (as datasette's `Base400`), so the handler reads it
    from the class instead of testing each type; `headers` are the response headers that go with it."""

    status: int = 400

    def headers(self) -> dict[str, str]:
        return {}


class InputError(CxError):
    """Bad input, located as precisely as we know: file, row (1-based, header is row 1), column."""

    def __init__(
        self,
        message: str,
        *,
        file: str | None = None,
        row: int | None = None,
        column: str | None = None,
    ) -> None:
        self.message = message
        self.file = file
        self.row = row
        self.column = column
        super().__init__(self.one_line())

    def one_line(self) -> str:
        where = []
        if self.file is not None:
            where.append(str(self.file))
        if self.row is not None:
            where.append(f"row {self.row}")
        if self.column is not None:
            where.append(f"column {self.column!r}")
        prefix = ", ".join(where)
        return f"{prefix}: {self.message}" if prefix else self.message


class SettingsError(CxError, ValueError):
    """A `CXCHANGE_*` setting the process cannot run with, named: one line at start-up, not a traceback
    (a ValueError too, for code that validates settings as values)."""


class NotFoundError(CxError):
    """A named thing (batch, source, unit) does not exist."""

    status = 404


class AuthError(CxError):
    """No valid credentials (HTTP 401)."""

    status = 401

    def headers(self) -> dict[str, str]:
        return {"WWW-Authenticate": "Bearer"}


class ForbiddenError(CxError):
    """Signed in, but this role or unit scope does not allow it (HTTP 403)."""

    status = 403


class NoDataError(NotFoundError):
    """A valid question that nothing in scope answers (a metric without answers under the filters):
    one line and exit 1 on the CLI, HTTP 404 with the reason from the API, never an empty table."""


class RateLimitError(CxError):
    """Too many attempts or expensive requests (HTTP 429): `retry_after` seconds until the next one."""

    def __init__(self, message: str, retry_after: float) -> None:
        self.retry_after = max(1, int(retry_after + 0.999))
        super().__init__(f"{message}: try again in {self.retry_after} s")

    status = 429

    def headers(self) -> dict[str, str]:
        return {"Retry-After": str(self.retry_after)}


class BusyError(CxError):
    """The server is already running as many analyses as it allows (HTTP 503, retry shortly)."""

    status = 503

    def headers(self) -> dict[str, str]:
        return {"Retry-After": "5"}
