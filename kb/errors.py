"""Errors of the knowledge base, named after the condition, written for people."""

from __future__ import annotations


class DocumentError(Exception):
    """A document could not be indexed; the message names the file and the reason."""

    def __init__(self, path: str, reason: str) -> None:
        super().__init__(f"{path}: {reason}")
        self.path = path
        self.reason = reason


class UnsupportedDocument(DocumentError):
    """The file's type is not one the knowledge base reads."""


class UnreadableDocument(DocumentError):
    """The file is of a known type but cannot be read (damaged, encrypted, hostile, binary)."""


class NeedsOCR(DocumentError):
    """A PDF without a text layer: it must go through OCR before it can be indexed."""


class QueryError(ValueError):
    """A search query that cannot be searched; the message says why, in Chinese."""


class EncryptedDocument(UnreadableDocument):
    """The file is encrypted: it cannot be opened without its password."""
