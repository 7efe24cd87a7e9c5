"""What a file is, from its first bytes rather than its name."""

ZIP = b"PK\x03\x04"  # xlsx and docx are zip files too
UTF16_BOMS = (b"\xff\xfe", b"\xfe\xff")

# The signature each binary suffix must start with; text suffixes map to None.
SIGNATURES = {
    ".pdf": b"%PDF",
    ".png": b"\x89PNG",
    ".jpg": b"\xff\xd8\xff",
    ".jpeg": b"\xff\xd8\xff",
    ".xlsx": ZIP,
    ".docx": ZIP,
    ".zip": ZIP,
    ".csv": None,
    ".txt": None,
    ".json": None,
}

# Bytes that start common binary files someone may pick by mistake.
BINARY_SIGNATURES = (
    ZIP,
    b"%PDF",
    b"\xd0\xcf\x11\xe0",
    b"\x89PNG",
    b"\xff\xd8\xff",
    b"MZ",
    b"\x7fELF",
    b"\x1f\x8b",
)


def read_head(upload, size: int = 2048) -> bytes:
    """The file's first bytes, leaving it rewound for whoever reads it next."""
    head = upload.read(size)
    upload.seek(0)
    return head


def starts_like_binary(head: bytes) -> bool:
    return head.startswith(BINARY_SIGNATURES)


def looks_like_text(head: bytes) -> bool:
    # UTF-16 text is full of NUL bytes; any other text has none.
    return b"\x00" not in head or head.startswith(UTF16_BOMS)


def matches_suffix(head: bytes, suffix: str) -> bool:
    """Whether the content fits the suffix (one of SIGNATURES)."""
    signature = SIGNATURES[suffix]
    return head.startswith(signature) if signature else looks_like_text(head)
