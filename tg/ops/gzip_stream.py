"""The gzip plumbing of snapshots: CRC-32 combination for the writer (`tg.ops.snapshot`), and a read-ahead
inflater for the reader (`tg.ops.snapshot_read`).
"""

from __future__ import annotations

import queue
import threading
from typing import BinaryIO

# zlib-ng: the same API as zlib, inflating ~1.8x faster than the system zlib that `tar xzf`'s gzip uses
from zlib_ng import zlib_ng as zlib

CHUNK = 1 << 20  # bytes read, hashed or written at a time by the snapshot modules


class TrailingData(ValueError):
    """Bytes after the end of the gzip stream: not an archive tg wrote."""


def _multiply(a: int, b: int) -> int:
    """a(x) * b(x) modulo the CRC-32 polynomial (bit-reflected, as zlib's multmodp)."""
    m, product = 1 << 31, 0
    while True:
        if a & m:
            product ^= b
            if not a & (m - 1):
                return product
        m >>= 1
        b = (b >> 1) ^ 0xEDB88320 if b & 1 else b >> 1


def crc32_combine(crc1: int, crc2: int, len2: int) -> int:
    """CRC-32 of A+B from crc(A), crc(B) and len(B) (zlib's crc32_combine, which Python does not expose)."""
    power, square = 1 << 31, 1 << 23  # x^0, and x^8 (one byte); squared for each bit of len2
    while len2:
        if len2 & 1:
            power = _multiply(square, power)
        len2 >>= 1
        square = _multiply(square, square)
    return _multiply(power, crc1) ^ crc2


class Inflater:
    """The decompressed bytes of a single-member gzip file. A thread inflates 256 KiB at a time ahead of the
    reader (zlib releases the GIL while it inflates), so the reader's parsing, hashing and writing overlap the
    inflating, as `tar xzf` overlaps its gzip process: on the embedded data staging a restore took 34 ms against
    41 ms inflating in the reading thread (64 KiB pieces: 37 ms, the hand-overs add up; 1 MiB: less overlap).
    `gzip.GzipFile` is not used: it reads 8 KiB at a time through three layers, a third of verify's time on small
    files. zlib checks the CRC and length."""

    PIECE = 1 << 18
    AHEAD = 4  # pieces inflated ahead of the reader at most (1 MiB in memory)

    def __init__(self, raw: BinaryIO) -> None:
        self.raw = raw
        self.buffer = b""
        self.offset = 0
        self.eof = False
        self.stopped = threading.Event()
        self.pieces: queue.Queue[bytes | BaseException | None] = queue.Queue(maxsize=self.AHEAD)
        self.thread = threading.Thread(target=self._inflate, name="tg-snapshot-inflate", daemon=True)
        self.thread.start()

    def _put(self, item: bytes | BaseException | None) -> bool:
        while not self.stopped.is_set():
            try:
                self.pieces.put(item, timeout=0.05)
                return True
            except queue.Full:
                continue
        return False

    def _inflate(self) -> None:
        inflate = zlib.decompressobj(16 + zlib.MAX_WBITS)
        try:
            while not inflate.eof:
                compressed = inflate.unconsumed_tail or self.raw.read(CHUNK)
                if not compressed:
                    raise EOFError("the compressed stream ends early")
                if not self._put(inflate.decompress(compressed, self.PIECE)):
                    return
            if inflate.unused_data or self.raw.read(1):
                raise TrailingData("unexpected data after the end of the gzip stream")
            self._put(None)
        except Exception as exc:  # noqa: BLE001 - not handled here: handed to the reader, which raises it (a bug too,
            self._put(exc)  # rather than a reader waiting forever for a piece that never comes)

    def read(self, size: int) -> bytes:
        while len(self.buffer) - self.offset < size and not self.eof:
            piece = self.pieces.get()
            if piece is None:
                self.eof = True
            elif isinstance(piece, BaseException):
                self.eof = True
                raise piece
            else:
                self.buffer, self.offset = self.buffer[self.offset :] + piece, 0
        data = self.buffer[self.offset : self.offset + size]
        self.offset += len(data)
        return data

    def close(self) -> None:
        """Stop the inflating thread (a reader that stops early: a refused member, a manifest-only read)."""
        self.stopped.set()
        self.thread.join()
