"""Copy a zip package member by member, raw: untouched members keep their exact bytes.

Python's zipfile can only recompress a member it copies. An xlsx filled in place must keep
every part but one byte-identical, so this module reads the central directory itself, copies
each untouched member's local record (header, compressed data, descriptor) verbatim, writes
the replaced members with a streaming compressor, and writes a central directory whose
entries are the source's own, with only offsets (and the replaced members' sizes) changed.
"""

from __future__ import annotations

import contextlib
import os
import queue
import struct
import sys
import threading
import zlib
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from typing import Any, BinaryIO

from ..errors import EngineError

_EOCD = b"PK\x05\x06"
_EOCD64_LOCATOR = b"PK\x06\x07"
_CENTRAL = b"PK\x01\x02"
_LOCAL = b"PK\x03\x04"
_U32 = 0xFFFFFFFF
COPY_CHUNK = 1 << 20


@dataclass
class Member:
    """One central-directory entry, raw."""

    name: str
    method: int
    flags: int
    offset: int  # of its local header in the source
    compressed: int
    size: int
    central: bytes  # the raw central-directory record (46 bytes + name + extra + comment)
    end: int = 0  # where its local record ends in the source (next record or the directory)


def _bad(path: str, why: str) -> EngineError:
    return EngineError(
        f"{os.path.basename(path)!r} is not a readable Excel workbook ({why}): export it from Sales again, "
        "or open it in Excel and save it as .xlsx"
    )


def _zip64_values(extra: bytes, wanted: list[str]) -> dict[str, int]:
    """The zip64 extra block's values, in the order the entry's 0xFFFFFFFF fields ask for them."""
    i = 0
    while i + 4 <= len(extra):
        tag, size = struct.unpack_from("<HH", extra, i)
        if tag == 1:
            return dict(zip(wanted, struct.unpack_from(f"<{len(wanted)}Q", extra, i + 4), strict=False))
        i += 4 + size
    return {}


def _without_zip64(extra: bytes) -> bytes:
    out, i = b"", 0
    while i + 4 <= len(extra):
        tag, size = struct.unpack_from("<HH", extra, i)
        if tag != 1:
            out += extra[i : i + 4 + size]
        i += 4 + size
    return out


def read_members(path: str) -> list[Member]:
    """The package's members in central-directory order, with their raw records."""
    size = os.path.getsize(path)
    with open(path, "rb") as f:
        tail_len = min(size, 65536 + 22)
        f.seek(size - tail_len)
        tail = f.read(tail_len)
        at = tail.rfind(_EOCD)
        if at < 0:
            raise _bad(path, "no zip directory")
        count, cd_size, cd_offset = struct.unpack_from("<HII", tail, at + 10)
        if _U32 in (cd_size, cd_offset) or count == 0xFFFF:
            loc = tail.rfind(_EOCD64_LOCATOR, 0, at)
            if loc < 0:
                raise _bad(path, "damaged zip64 directory")
            (eocd64,) = struct.unpack_from("<Q", tail, loc + 8)
            f.seek(eocd64)
            rec = f.read(56)
            count, _, cd_size, cd_offset = struct.unpack_from("<QQQQ", rec, 24)
        f.seek(cd_offset)
        cd = f.read(cd_size)
    members: list[Member] = []
    i = 0
    for _ in range(count):
        if cd[i : i + 4] != _CENTRAL:
            raise _bad(path, "damaged zip directory")
        flags, method = struct.unpack_from("<HH", cd, i + 8)
        csize, usize, n, m, k = struct.unpack_from("<IIHHH", cd, i + 20)
        (offset,) = struct.unpack_from("<I", cd, i + 42)
        name_raw = cd[i + 46 : i + 46 + n]
        extra = cd[i + 46 + n : i + 46 + n + m]
        wanted = [f for f, v in (("size", usize), ("compressed", csize), ("offset", offset)) if v == _U32]
        big = _zip64_values(extra, wanted) if wanted else {}
        name = name_raw.decode("utf-8" if flags & 0x800 else "cp437")
        members.append(
            Member(
                name,
                method,
                flags,
                big.get("offset", offset),
                big.get("compressed", csize),
                big.get("size", usize),
                cd[i : i + 46 + n + m + k],
            )
        )
        i += 46 + n + m + k
    ends = sorted({mb.offset for mb in members} | {cd_offset})
    for mb in members:
        nxt = ends.index(mb.offset) + 1
        mb.end = ends[nxt] if nxt < len(ends) else cd_offset
    return members


class PackageWriter:
    """Writes a zip: raw copies of source members and new, streamed members; then the directory."""

    def __init__(self, out: BinaryIO, source_path: str) -> None:
        self.out = out
        self.src = open(source_path, "rb")  # noqa: SIM115 (closed in close())
        self.central: list[bytes] = []

    def _write(self, data: bytes) -> None:
        self.out.write(data)

    def copy(self, member: Member) -> None:
        """The member's local record, byte for byte; its directory entry with the new offset."""
        offset = self.out.tell()
        self.src.seek(member.offset)
        left = member.end - member.offset
        while left:
            chunk = self.src.read(min(left, COPY_CHUNK))
            if not chunk:
                raise EngineError("the workbook is truncated: export it from Sales again")
            self._write(chunk)
            left -= len(chunk)
        self.central.append(_with_offset(member.central, offset))

    def stream(self, member: Member, chunks: Iterable[bytes], level: int = 6) -> int:
        """A new body for member (same name, method, time and attributes); returns its size."""
        offset = self.out.tell()
        c = bytearray(member.central)
        n, m, k = struct.unpack_from("<HHH", c, 28)
        name = bytes(c[46 : 46 + n])
        extra = _without_zip64(bytes(c[46 + n : 46 + n + m]))
        comment = bytes(c[46 + n + m : 46 + n + m + k])
        flags = member.flags & ~0x08  # sizes go in the header: no data descriptor
        method = member.method if member.method in (0, 8) else 8
        version, mtime, mdate = struct.unpack_from("<H", c, 6)[0], *struct.unpack_from("<HH", c, 12)
        header = struct.pack("<4sHHHHHIIIHH", _LOCAL, 20, flags, method, mtime, mdate, 0, 0, 0, n, 0)
        self._write(header + name)
        comp = zlib.compressobj(level, zlib.DEFLATED, -15) if method == 8 else None
        crc, size, written = _Deflater(comp, self._write).run(chunks)
        if max(size, written, offset) >= _U32:
            raise EngineError("the filled workbook would exceed 4 GB: write a .csv output instead")
        end = self.out.tell()
        self.out.seek(offset + 14)
        self.out.write(struct.pack("<III", crc, written, size))
        self.out.seek(end)
        head = struct.pack("<4sHHHHHHIIIHHHHHII", _CENTRAL, *struct.unpack_from("<H", c, 4), max(version, 20),
                           flags, method, mtime, mdate, crc, written, size, n, len(extra), k,
                           *struct.unpack_from("<HHI", c, 34), offset)  # fmt: skip
        self.central.append(head + name + extra + comment)
        return size

    def close(self) -> None:
        """Writes the directory."""
        start = self.out.tell()
        cd = b"".join(self.central)
        count = len(self.central)
        self.out.write(cd)
        self.out.write(struct.pack("<4sHHHHIIH", _EOCD, 0, 0, count, count, len(cd), start, 0))
        self.src.close()
        self.out.flush()


_switches = threading.Lock()
_switching: list[float] = []  # the interval before the first quick_switches still running


@contextlib.contextmanager
def quick_switches(interval: float = 0.0002) -> Iterator[None]:
    """A shorter GIL switch interval while one thread makes a member's XML and another deflates
    it. The deflate thread, back from zlib, waits for the GIL until the making thread lets go of
    it, by default after 5 ms: a third of a 100,000-row fill's time went so (3.1 s against 2.5 s
    at 0.2 ms, the deflate's own). Not for several makers at once (the cut's parts): there the
    switches cost more than the waits. Nested and concurrent uses restore the interval once."""
    with _switches:
        if not _switching:
            _switching.append(sys.getswitchinterval())
            sys.setswitchinterval(min(interval, _switching[0]))
        else:
            _switching.append(_switching[0])
    try:
        yield
    finally:
        with _switches:
            first = _switching.pop()
            if not _switching:
                sys.setswitchinterval(first)


class _Deflater:
    """Compresses a member's chunks on a thread of its own while the chunks are being made: zlib
    lets go of the GIL, so the XML of the next rows is written while the last ones compress.
    Chunks are gathered into blocks of about a megabyte (deflate's output does not depend on
    how its input is cut), and at most a few blocks wait: memory stays flat."""

    BLOCK = 1 << 20

    def __init__(self, comp: Any, write: Callable[[bytes], None]) -> None:
        self.comp, self.write = comp, write
        self.crc = self.size = self.written = 0
        self.error: BaseException | None = None

    def _work(self, blocks: queue.Queue[bytes | None]) -> None:
        try:
            while (block := blocks.get()) is not None:
                self._take(block)
            if self.comp is not None:
                data = self.comp.flush()
                self.write(data)
                self.written += len(data)
        except BaseException as e:  # handed to the thread making the chunks
            self.error = e
            while blocks.get() is not None:  # let the maker finish putting
                pass

    def _take(self, block: bytes) -> None:
        self.crc = zlib.crc32(block, self.crc)
        self.size += len(block)
        data = self.comp.compress(block) if self.comp is not None else block
        if data:
            self.write(data)
            self.written += len(data)

    def run(self, chunks: Iterable[bytes]) -> tuple[int, int, int]:
        blocks: queue.Queue[bytes | None] = queue.Queue(maxsize=4)
        worker = threading.Thread(target=self._work, args=(blocks,), daemon=True)
        worker.start()
        gathered: list[bytes] = []
        n = 0
        try:
            for chunk in chunks:
                if self.error is not None:
                    break
                gathered.append(chunk)
                n += len(chunk)
                if n >= self.BLOCK:
                    blocks.put(b"".join(gathered))
                    gathered, n = [], 0
            if gathered and self.error is None:
                blocks.put(b"".join(gathered))
        finally:
            blocks.put(None)
            worker.join()
        if self.error is not None:
            raise self.error
        return self.crc, self.size, self.written


def _with_offset(central: bytes, offset: int) -> bytes:
    (old,) = struct.unpack_from("<I", central, 42)
    if old != _U32:
        if offset >= _U32:
            raise EngineError("the workbook would exceed 4 GB: write a .csv output instead")
        return central[:42] + struct.pack("<I", offset) + central[46:]
    # The offset lives in the zip64 extra block: rewrite it there.
    c = bytearray(central)
    n, m = struct.unpack_from("<HH", c, 28)
    usize, csize = struct.unpack_from("<II", c, 20)
    slot = (usize == _U32) + (csize == _U32)
    i = 46 + n
    while i + 4 <= 46 + n + m:
        tag, size = struct.unpack_from("<HH", c, i)
        if tag == 1:
            struct.pack_into("<Q", c, i + 4 + 8 * slot, offset)
            return bytes(c)
        i += 4 + size
    return central


def read_member(path: str, members: list[Member], name: str) -> bytes | None:
    """A (small) member's uncompressed bytes, or None when absent."""
    import zipfile

    if not any(m.name == name for m in members):
        return None
    with zipfile.ZipFile(path) as zf:
        return zf.read(name)
