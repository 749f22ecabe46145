"""asyncpg errors -> ``StoreError`` messages that say what went wrong, and what to do.

Imported by ``PostgresWorkflowStore`` when it opens, never by ``import descartes_nb``: this
is where asyncpg is needed for its exception classes.
"""

from __future__ import annotations

import asyncio
import socket
from datetime import timedelta
from typing import Final

import asyncpg

from ..errors import SerializationError, StateMachineError, StoreError

# SQLSTATEs with a message of their own.
_DISK_FULL: Final = "53100"
_OUT_OF_MEMORY: Final = ("53200", "53000")
_READ_ONLY: Final = "25006"
_LOCK_TIMEOUT: Final = "55P03"
_QUERY_CANCELED: Final = "57014"
_BAD_TEXT: Final = ("22021", "22P05", "54000")  # a NUL byte, untranslatable, too long
# admin shutdown, crash shutdown, cannot connect now (the server is starting or stopping)
_SHUTDOWN: Final = ("57P01", "57P02", "57P03")

CONNECTION_ERRORS: Final = (
    OSError,  # refused, reset, unreachable (ConnectionError is one)
    asyncio.TimeoutError,  # no answer to a connect in time
    asyncpg.exceptions.ConnectionDoesNotExistError,
    asyncpg.exceptions.InterfaceError,  # the connection was closed under a call
    asyncpg.exceptions.PostgresConnectionError,
)


def is_translatable(exc: BaseException) -> bool:
    """Whether ``exc`` comes from the driver or the network (not from our own checks)."""
    if isinstance(exc, StateMachineError):
        return False
    driver = (
        asyncpg.PostgresError,
        asyncpg.InterfaceError,
        asyncpg.exceptions.InternalClientError,  # a protocol error, a stale schema cache
        UnicodeEncodeError,
    )
    return isinstance(exc, driver + CONNECTION_ERRORS)


def is_connection_lost(exc: BaseException) -> bool:
    """Whether ``exc`` means the connection is gone (the pool must connect anew)."""
    if isinstance(exc, CONNECTION_ERRORS):
        return True
    return getattr(exc, "sqlstate", None) in _SHUTDOWN


def _is_refused(exc: BaseException) -> bool:
    """Whether no connection could be made at all (nothing was sent)."""
    refused = (ConnectionRefusedError, socket.gaierror)
    return isinstance(exc, refused) or getattr(exc, "sqlstate", None) == "57P03"


def translate(
    exc: BaseException, where: str, doing: str, lock_timeout: timedelta, *, read_only: bool
) -> StateMachineError:
    """The library's error for ``exc``, raised while ``doing`` on the database ``where``."""
    state = getattr(exc, "sqlstate", None)
    if isinstance(exc, UnicodeEncodeError) or isinstance(exc.__cause__, UnicodeEncodeError):
        return SerializationError(f"{doing}: text that is not valid UTF-8 ({exc})")
    if state in _BAD_TEXT:
        return SerializationError(f"{doing}: text PostgreSQL cannot store ({exc})")
    if is_connection_lost(exc):
        why = "was shut down or restarted" if state in _SHUTDOWN else "cannot be reached"
        if doing == "connecting" or _is_refused(exc):
            return StoreError(
                f"database {where} {why} ({type(exc).__name__}: {exc}); check the URL and "
                "that the server is running"
            )
        return StoreError(
            f"database {where} {why}, or the connection to it was lost, while {doing} "
            f"({type(exc).__name__}: {exc}); nothing of it was written unless reading the "
            "workflow again shows it; the next call connects anew"
        )
    if state == _QUERY_CANCELED:
        return StoreError(
            f"database {where} cancelled the statement while {doing} (statement_timeout, "
            f"or cancelled by an administrator: {exc}); nothing of it was written"
        )
    if state == _LOCK_TIMEOUT:
        return StoreError(
            f"database {where}: a row was locked by another connection: {doing} waited "
            f"busy_timeout ({lock_timeout}) for it; retry, or raise StateStoreConfig.busy_timeout"
        )
    if state == _DISK_FULL:
        return StoreError(f"database {where} is out of disk space while {doing}: {exc}")
    if state in _OUT_OF_MEMORY:
        return StoreError(f"database {where} is out of memory or resources while {doing}: {exc}")
    if read_only and state == _READ_ONLY:
        return StoreError(
            f"{doing} would write to {where}, a store opened read-only; "
            "open it without read_only=True to change it"
        )
    code = f"SQLSTATE {state}" if state else type(exc).__name__
    return StoreError(f"database {where} failed while {doing}: {exc} ({code})")
