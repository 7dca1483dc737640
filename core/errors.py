"""Why a message was rejected, as specific exception types.

Every decoder raises one of these and leaves the current book untouched. The
``reason`` class attribute is the stable, short key used in rejection counters
and logs, so a user can see *which* kind of bad input a feed is sending.
"""
from __future__ import annotations


class FeedError(Exception):
    """Base class: a message that was not applied to the book."""

    reason = "rejected"
    #: True when the local book can no longer be trusted and a fresh snapshot is needed.
    needs_resync = False


class MalformedJSON(FeedError):
    """The frame is not JSON (or not a JSON object)."""

    reason = "malformed_json"


class MissingField(FeedError):
    """A required field is absent."""

    reason = "missing_field"


class WrongSchema(FeedError):
    """A field is present but has the wrong type or shape (e.g. a level that is not a list)."""

    reason = "wrong_schema"


class NonNumeric(FeedError):
    """A price or size string is not a decimal number."""

    reason = "non_numeric"


class NonFinite(FeedError):
    """A price or size is NaN or infinite."""

    reason = "non_finite"


class NonPositivePrice(FeedError):
    """A price is zero or negative."""

    reason = "non_positive_price"


class NegativeSize(FeedError):
    """A size is negative."""

    reason = "negative_size"


class CrossedBook(FeedError):
    """Best bid is at or above best ask after the message: the book would be crossed or locked."""

    reason = "crossed_book"


class UnsortedLevels(FeedError):
    """Levels are not sorted best-first (asks ascending, bids descending)."""

    reason = "unsorted_levels"


class DuplicateLevel(FeedError):
    """The same price appears twice on one side of one message."""

    reason = "duplicate_level"


class OversizedMessage(FeedError):
    """The frame exceeds the byte limit or holds more levels than a book side may hold."""

    reason = "oversized_message"


class WrongInstrument(FeedError):
    """The message is for an instrument other than the one subscribed."""

    reason = "wrong_instrument"


class InvalidTimestamp(FeedError):
    """The timestamp field cannot be parsed."""

    reason = "invalid_timestamp"


class SequenceGap(FeedError):
    """An update's prevSeqId does not chain to the last applied seqId (OKX)."""

    reason = "sequence_gap"
    needs_resync = True


class ChecksumMismatch(FeedError):
    """The CRC32 over the top 25 levels differs from the exchange's (OKX)."""

    reason = "checksum_mismatch"
    needs_resync = True


class OutOfSync(FeedError):
    """A delta arrived while the book waits for a fresh snapshot; it cannot be applied."""

    reason = "out_of_sync"
    needs_resync = True


#: Every rejection kind, for counters that list zeros too.
REJECTION_REASONS: tuple[str, ...] = tuple(
    cls.reason
    for cls in (
        MalformedJSON, MissingField, WrongSchema, NonNumeric, NonFinite, NonPositivePrice,
        NegativeSize, CrossedBook, UnsortedLevels, DuplicateLevel, OversizedMessage,
        WrongInstrument, InvalidTimestamp, SequenceGap, ChecksumMismatch, OutOfSync,
    )
)
