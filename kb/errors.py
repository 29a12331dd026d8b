"""Errors of the knowledge base, named after the condition, written for people."""

from __future__ import annotations


class DocumentError(Exception):
    """A document could not be indexed; the message names the file and the reason.

    ``kind`` names the condition for the ingest report (unsupported, encrypted, …).
    """

    kind = "unreadable"

    def __init__(self, path: str, reason: str) -> None:
        super().__init__(f"{path}: {reason}")
        self.path = path
        self.reason = reason


class UnsupportedDocument(DocumentError):
    """The file's type is not one the knowledge base reads."""

    kind = "unsupported"


class NeedsLibreOffice(DocumentError):
    """An old Word, WPS or OpenDocument file, and LibreOffice is not installed to convert it."""

    kind = "needs_libreoffice"


class UnreadableDocument(DocumentError):
    """The file is of a known type but cannot be read (damaged, encrypted, hostile, binary)."""


class EncryptedDocument(UnreadableDocument):
    """The file is protected by a password that the knowledge base does not have."""

    kind = "encrypted"


class DocumentTooLarge(UnreadableDocument):
    """The file, or the text extracted from it, is over a limit."""

    kind = "too_large"


class EmptyDocument(UnreadableDocument):
    """The file holds no text to index."""

    kind = "empty"


class NeedsOCR(DocumentError):
    """Scanned pages or an image, and OCR was not available to read them."""

    kind = "needs_ocr"


class QueryError(ValueError):
    """A search query that cannot be searched; the message says why, in Chinese."""
