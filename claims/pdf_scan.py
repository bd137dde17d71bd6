"""Find active content in a PDF: scripts, launch actions and embedded files, which a claim document never needs.

A diagnosis report or a scanned page is text and images. A PDF can also carry JavaScript (run by some
readers when the file opens), an action that starts a program, or whole files hidden inside it; staff
open these documents on their own computers, so such a PDF is refused rather than stored.

The check reads the PDF's own syntax, without a PDF library: every name outside the stream data
(`/JavaScript`, also when written with `#xx` escapes such as `/J#61vaScript`), and the inside of
compressed object streams, where PDF 1.5+ writers put dictionaries that are not visible in the raw
bytes. Page content and image streams are skipped: their bytes are not PDF syntax, and random image
data would otherwise match `/JS` now and then. A PDF whose object streams cannot be read (encrypted,
an unusual filter, corrupt, or expanding beyond a sane size) cannot be checked and is refused too.
"""

from __future__ import annotations

import re
import zlib

# Names that make a PDF do something rather than show something. /OpenAction and /AA (actions on
# opening a page or a document) are harmless alone, e.g. "open at page 1, fit width"; with a script
# they point to a /JS or /JavaScript action, which is what is refused.
ACTIVE_NAMES: dict[bytes, str] = {
    b"JS": "JavaScript",
    b"JavaScript": "JavaScript",
    b"Launch": "Launch",
    b"EmbeddedFile": "EmbeddedFile",
    b"EmbeddedFiles": "EmbeddedFile",
    b"RichMedia": "RichMedia",
}

# Stream data, from the keyword after a dictionary to the matching keyword: skipped by the name scan.
_STREAM = re.compile(rb">>\s*stream\r?\n(.*?)endstream", re.DOTALL)
# A name: a slash, then regular characters (PDF 32000-1, 7.3.5); delimiters and whitespace end it.
_NAME = re.compile(rb"/([^\s/<>\[\]()%{}]*)")
_HEX_ESCAPE = re.compile(rb"#([0-9A-Fa-f]{2})")
# The dictionary before a stream: from the last "obj" keyword to the stream keyword.
_OBJ = re.compile(rb"\bobj\b")

# Object streams hold dictionaries only, a few kilobytes to a few megabytes; more is a compression bomb.
MAX_EXPANDED_BYTES = 64 * 1024 * 1024


class UncheckablePdf(Exception):
    """The PDF's object streams could not be read, so what they hold is unknown."""


def _names(data: bytes) -> set[bytes]:
    return {_HEX_ESCAPE.sub(lambda m: bytes([int(m.group(1), 16)]), raw) for raw in _NAME.findall(data)}


def _stream_dictionary(data: bytes, stream_start: int) -> bytes:
    """The bytes of the object's dictionary: from its `obj` keyword to the start of its stream."""
    window_start = max(0, stream_start - 4096)
    window = data[window_start:stream_start]
    starts = [match.end() for match in _OBJ.finditer(window)]
    return window[starts[-1] :] if starts else window


def _expand(stream: bytes, dictionary_names: set[bytes], budget: int) -> bytes:
    """Decompress one object stream (FlateDecode only), at most `budget` bytes."""
    filters = dictionary_names & {b"FlateDecode", b"ASCIIHexDecode", b"ASCII85Decode", b"LZWDecode", b"Crypt"}
    if filters != {b"FlateDecode"}:
        raise UncheckablePdf
    inflater = zlib.decompressobj()
    try:
        expanded = inflater.decompress(stream, budget + 1)
    except zlib.error as exc:
        raise UncheckablePdf from exc
    if len(expanded) > budget:
        raise UncheckablePdf
    return expanded


def pdf_active_content(data: bytes) -> str | None:
    """The kind of active content the PDF holds (“JavaScript”, “Launch”…), or None when there is none.

    Raises UncheckablePdf when part of the PDF cannot be read to find out.
    """
    outside_streams = _names(_STREAM.sub(b">>stream\nendstream", data))
    found = _first_active(outside_streams)
    if found is not None:
        return found
    # Encryption covers streams: an encrypted object stream cannot be read without the password.
    encrypted = b"Encrypt" in outside_streams
    budget = MAX_EXPANDED_BYTES
    for match in _STREAM.finditer(data):
        dictionary_names = _names(_stream_dictionary(data, match.start()))
        if b"ObjStm" not in dictionary_names:
            continue
        if encrypted:
            raise UncheckablePdf
        expanded = _expand(match.group(1), dictionary_names, budget)
        budget -= len(expanded)
        found = _first_active(_names(expanded))
        if found is not None:
            return found
    return None


def _first_active(names: set[bytes]) -> str | None:
    hits = sorted(ACTIVE_NAMES[name] for name in names if name in ACTIVE_NAMES)
    return hits[0] if hits else None
