"""The one exception hierarchy of keel; every message says what was wrong, where, and what to do.

Each class has one exit code, and each code one meaning (the table in README.md)::

    KeelError                    1  reserved: only a gate (`--fail-on`) exits 1; never raised itself
    ├── InputError               2  bad input: a file, flag, id, or a step not done yet
    │   └── NotFoundError        2
    ├── ConfigError              2
    ├── VerificationError        3  stored or given data does not check out
    ├── RedactedError            4
    ├── StorageError             5
    │   └── ErasurePendingError  5
    ├── ServiceError             6  a served model or the user's train_command failed
    └── ReviewPending            7  the loop is waiting for people: reviews are pending
"""

import importlib
from types import ModuleType


class KeelError(Exception):
    """Base of every error keel raises on purpose; the CLI prints its message, not a traceback.

    keel raises only its subclasses: exit code 1 belongs to gates, checks that ran and failed
    (`keel watch --fail-on`), so a script can tell "the data failed the gate" from "keel could
    not run"."""

    exit_code = 1


class InputError(KeelError):
    """The user's input (a file, a flag, an id) is malformed or refers to something unknown."""

    exit_code = 2


class ConfigError(KeelError):
    """A configuration file or setting is missing or invalid."""

    exit_code = 2


class NotFoundError(InputError):
    """An id, digest or text names nothing in the ledger."""


class VerificationError(KeelError):
    """A proof, signature, checkpoint or stored byte does not check out: data may be tampered."""

    exit_code = 3


class RedactedError(KeelError):
    """The payload asked for was erased on purpose; its digest and the redaction entry remain."""

    exit_code = 4


class StorageError(KeelError):
    """The ledger's storage failed (disk full, I/O error, read-only, held by another process);
    nothing half-written is kept: a failed write leaves the ledger as it was."""

    exit_code = 5


class ErasurePendingError(StorageError):
    """A redaction is committed but the erased bytes may remain in the database's files until
    another process lets go; the next keel command on the ledger finishes the erasure."""


class ServiceError(KeelError):
    """An outside service keel depends on (a served model or judge behind an OpenAI-compatible
    API, the user's `train_command`) is unreachable, failed, or answered something unusable;
    the message says what to check, and a re-run resumes where this one stopped."""

    exit_code = 6


class ReviewPending(KeelError):  # noqa: N818 - a state to wait out, not a failure
    """The loop is waiting for people: a generation's review round still has decisions to
    make, or too few records drawn at random were decided (`[review] min_anchors`). Nothing is
    wrong; once reviewers decide, running the loop again resumes at that generation. Carries
    the generation and the decisions still pending."""

    exit_code = 7

    def __init__(self, message: str, *, generation: int | None = None, pending: int = 0) -> None:
        super().__init__(message)
        self.generation = generation
        self.pending = pending


def require(module: str, message: str, error: type[KeelError] = ConfigError) -> ModuleType:
    """Import `module` of an optional extra, or raise `error(message)`: the message says how
    to install it (`pip install 'keel[extra]'`)."""
    try:
        return importlib.import_module(module)
    except ImportError as exc:
        raise error(message) from exc
