#!/usr/bin/env python3
"""SeqRec wire-protocol client (docs/PROTOCOL.md, versions 1 and 2). Standard library only.

    from seqrec_client import Client
    with Client("127.0.0.1", 7878) as client:
        result = client.recommend([1, 2, 3], k=10)
        print(result.items, result.scores)
        # version 2 options (the client negotiates 1...2 and gets 2 from a current server):
        result = client.recommend([1, 2, 3], k=10, session_key="shopper-9", explain=True,
                                  filters={"categories_exclude": ["Horror"], "max_per_category": 2},
                                  diversity={"lambda": 0.7, "pool": 200})
        print(result.fallback, result.because)

CLI:  python3 seqrec_client.py --host 127.0.0.1 --port 7878 recommend --session 1,2,3 --k 10
"""

import argparse
import json
import socket
import struct
import sys
import time
from dataclasses import dataclass
from typing import List, Optional, Sequence, Union

PREFACE = b"SRECv1\r\n"
PROTOCOL_VERSION = 1  # what encode_hello offers by default (a version 1 HELLO)
MAX_PROTOCOL_VERSION = 2  # what Client offers: 1...2 (§3)
HEADER = struct.Struct(">IBBHII")  # length, type, flags, reserved, request_id, aux
HEADER_SIZE = 16
MIN_LENGTH = 12

# Frame types (§5).
HELLO, HELLO_ACK, RECOMMEND, RECOMMEND_RESPONSE, ERROR, PING, PONG, GOAWAY = range(1, 9)
HEALTH, HEALTH_RESPONSE, CANCEL, MODEL_INFO, MODEL_LIST = range(9, 14)

FLAG_COMPRESSED = 0x01
FLAG_NOT_PROCESSED = 0x02

# RECOMMEND option bits (§6.2).
OPT_EXTERNAL_IDS, OPT_EXCLUDE_SEEN, OPT_SKIP_UNKNOWN, OPT_WANT_EMBEDDING = 0x01, 0x02, 0x04, 0x08

# Version 2 extension types (§6.7, §6.8) and limits (§6.6, §12).
EXT_SESSION_KEY, EXT_FILTERS, EXT_DIVERSITY, EXT_FALLBACK, EXT_EXPLAIN = 1, 2, 3, 4, 5
EXT_RESPONSE_FALLBACK, EXT_RESPONSE_EXPLANATIONS = 1, 2
EXT_IGNORABLE = 0x8000
MAX_EXTENSIONS = 16
MAX_SESSION_KEY_BYTES = 64
MAX_FILTER_CATEGORIES = 64
MAX_CATEGORY_BYTES = 128
MAX_PER_CATEGORY = 1000
MAX_DIVERSITY_POOL = 1000
MAX_CONTRIBUTORS = 3

STATUS_NAMES = [
    "OK", "CANCELLED", "UNKNOWN", "INVALID_ARGUMENT", "DEADLINE_EXCEEDED", "NOT_FOUND",
    "ALREADY_EXISTS", "PERMISSION_DENIED", "RESOURCE_EXHAUSTED", "FAILED_PRECONDITION", "ABORTED",
    "OUT_OF_RANGE", "UNIMPLEMENTED", "INTERNAL", "UNAVAILABLE", "DATA_LOSS", "UNAUTHENTICATED",
]
HEALTH_NAMES = ["UNKNOWN", "SERVING", "NOT_SERVING", "SERVICE_UNKNOWN"]

# Defaults of §12; replaced by the server's HELLO_ACK once connected.
DEFAULT_LIMITS = {
    "max_frame_length": 4 * 1024 * 1024, "max_inflight_per_connection": 128,
    "max_connections": 1024, "max_session_items": 1000, "max_list_items": 10000, "max_k": 1000,
    "max_string_bytes": 256, "max_message_bytes": 1024, "max_embedding_width": 16384,
    "max_models": 1024, "default_timeout_us": 1000000, "max_timeout_us": 10000000,
}
LIMIT_ORDER = list(DEFAULT_LIMITS)  # wire order of HELLO_ACK (§7.2)

# The constant load-balancer probe and healthy answer of §8.
HEALTH_PROBE = bytes.fromhex("5352454376310d0a0000000e0900000000000001000000000000")
HEALTH_SERVING = bytes.fromhex("0000000d0a000000000000010000000001")


class SeqRecError(Exception):
    """A request failed with an ERROR frame, or the connection ended with a GOAWAY."""

    def __init__(self, status: int, message: str, not_processed: bool = False,
                 retry_after_ms: int = 0, request_id: int = 0):
        self.status = status
        self.status_name = STATUS_NAMES[status] if 0 <= status < len(STATUS_NAMES) else str(status)
        self.message = message
        self.not_processed = not_processed
        self.retry_after_ms = retry_after_ms
        self.request_id = request_id
        note = " (not processed: safe to retry elsewhere)" if not_processed else ""
        super().__init__(f"{self.status_name}: {message}{note}")


class ProtocolViolation(Exception):
    """The peer sent bytes that break docs/PROTOCOL.md; the connection is unusable."""


@dataclass
class RecommendResult:
    items: List[Union[int, str]]
    scores: List[float]
    model: str
    version: int
    embedding: Optional[List[float]] = None
    fallback: bool = False  # version 2: the items are the popularity fallback
    # version 2, when explain was asked: per item, [(session item id, contribution), ...] largest first
    because: Optional[List[List[tuple]]] = None


@dataclass
class ModelInfo:
    name: str
    version: int
    family: str
    n_items: int
    first_item: int
    max_session_length: int
    embedding_width: int
    has_vocabulary: bool
    is_default: bool


# ---------------------------------------------------------------- encoding

def encode_frame(frame_type: int, request_id: int, body: bytes, flags: int = 0, aux: int = 0) -> bytes:
    return HEADER.pack(MIN_LENGTH + len(body), frame_type, flags, 0, request_id, aux) + body


def _str16(text: str, field_name: str, limit: int = 65535) -> bytes:
    raw = text.encode("utf-8")
    if len(raw) > limit:
        raise ValueError(f"{field_name} is {len(raw)} bytes, limit is {limit}")
    return struct.pack(">H", len(raw)) + raw


def _ids(values: Sequence[Union[int, str]], external: bool, field_name: str, limit: int,
         max_string: int) -> bytes:
    if len(values) > limit:
        raise ValueError(f"{field_name} has {len(values)} ids, limit is {limit}")
    out = [struct.pack(">I", len(values))]
    for index, value in enumerate(values):
        if external:
            if not isinstance(value, str) or not value:
                raise ValueError(f"{field_name}[{index}] must be a non-empty string (external ids)")
            out.append(_str16(value, f"{field_name}[{index}]", max_string))
        else:
            if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= 0xFFFFFFFF:
                raise ValueError(f"{field_name}[{index}] must be an int in 0...2^32-1 (internal ids)")
            out.append(struct.pack(">I", value))
    return b"".join(out)


def encode_hello(min_version: int = PROTOCOL_VERSION, max_version: int = PROTOCOL_VERSION,
                 auth_token: bytes = b"") -> bytes:
    if len(auth_token) > 256:
        raise ValueError("auth token is longer than 256 bytes")
    body = struct.pack(">HHH", min_version, max_version, 0) + struct.pack(">H", len(auth_token)) + auth_token
    return encode_frame(HELLO, 0, body)


def encode_recommend(request_id: int, session: Sequence[Union[int, str]], k: int = 10, model: str = "",
                     version: int = 0, external: bool = False, exclude_seen: bool = False,
                     allow=None, deny=None, candidates=None, skip_unknown: bool = False,
                     embedding: bool = False, timeout_us: int = 0, limits: dict = DEFAULT_LIMITS,
                     protocol_version: int = 1, session_key: Union[bytes, str] = b"", filters: Optional[dict] = None,
                     diversity: Optional[dict] = None, fallback: Optional[bool] = None, explain: int = 0) -> bytes:
    """A whole RECOMMEND frame (§6.2) in the layout of `protocol_version` (the connection's);
    raises ValueError for arguments the server would reject. The version 2 options (§6.7):
    session_key (1...64 bytes), filters {"available_only", "categories_include",
    "categories_exclude", "max_per_category"}, diversity {"lambda", "pool"}, fallback (True/False,
    None = the model's default), explain (0 = off, 1...3 contributors, True = 3)."""
    candidates = list(candidates or [])
    max_k = min(limits["max_k"], len(candidates)) if candidates else limits["max_k"]
    if not 1 <= k <= max_k:
        raise ValueError(f"k = {k} is outside 1...{max_k}")
    block = encode_extensions(session_key, filters, diversity, fallback, explain, k)
    if protocol_version < 2 and block != b"\x00\x00":
        raise ValueError("request options (session_key, filters, diversity, fallback, explain) need protocol "
                         "version 2; the connection negotiated version 1")
    if not session and (fallback is False or protocol_version < 2):
        raise ValueError("session must contain at least one item (on protocol version 2 an empty session is "
                         "for the popularity fallback: fallback=True, or None for the model's default)")
    if not 0 <= timeout_us <= 0xFFFFFFFF:
        raise ValueError("timeout does not fit u32 microseconds")
    options = ((OPT_EXTERNAL_IDS if external else 0) | (OPT_EXCLUDE_SEEN if exclude_seen else 0)
               | (OPT_SKIP_UNKNOWN if skip_unknown else 0) | (OPT_WANT_EMBEDDING if embedding else 0))
    max_string, max_list = limits["max_string_bytes"], limits["max_list_items"]
    body = b"".join([
        struct.pack(">BH", options, k),
        _str16(model, "model", max_string),
        struct.pack(">I", version),
        _ids(list(session), external, "session", limits["max_session_items"], max_string),
        _ids(list(allow or []), external, "allow", max_list, max_string),
        _ids(list(deny or []), external, "deny", max_list, max_string),
        _ids(candidates, external, "candidates", max_list, max_string),
    ])
    if protocol_version >= 2:
        body += block
    return encode_frame(RECOMMEND, request_id, body, aux=timeout_us)


def _extension(ext_type: int, value: bytes) -> bytes:
    return struct.pack(">HI", ext_type, len(value)) + value


def encode_extensions(session_key: Union[bytes, str] = b"", filters: Optional[dict] = None,
                      diversity: Optional[dict] = None, fallback: Optional[bool] = None,
                      explain: int = 0, k: int = 10) -> bytes:
    """The version 2 extension block of a RECOMMEND (§6.6, §6.7), types ascending, each once."""
    parts = []
    key = session_key.encode("utf-8") if isinstance(session_key, str) else bytes(session_key)
    if key:
        if len(key) > MAX_SESSION_KEY_BYTES:
            raise ValueError(f"session_key is {len(key)} bytes, limit is {MAX_SESSION_KEY_BYTES}")
        parts.append(_extension(EXT_SESSION_KEY, key))
    if filters is not None:
        unknown = set(filters) - {"available_only", "categories_include", "categories_exclude", "max_per_category"}
        if unknown:
            raise ValueError(f"filters.{sorted(unknown)[0]} is not a known filter")
        available = filters.get("available_only")
        value = [struct.pack(">B", 2 if available is None else int(bool(available)))]
        for name in ("categories_include", "categories_exclude"):
            names = [str(category) for category in filters.get(name) or []]
            if len(names) > MAX_FILTER_CATEGORIES:
                raise ValueError(f"filters.{name} has {len(names)} categories, limit is {MAX_FILTER_CATEGORIES}")
            value.append(struct.pack(">H", len(names)))
            for index, category in enumerate(names):
                if not category:
                    raise ValueError(f"filters.{name}[{index}] must not be empty")
                value.append(_str16(category, f"filters.{name}[{index}]", MAX_CATEGORY_BYTES))
        cap = filters.get("max_per_category") or 0
        if isinstance(cap, bool) or not isinstance(cap, int) or not 0 <= cap <= MAX_PER_CATEGORY:
            raise ValueError(f"filters.max_per_category must be 0...{MAX_PER_CATEGORY} (0 = no cap)")
        value.append(struct.pack(">H", cap))
        parts.append(_extension(EXT_FILTERS, b"".join(value)))
    if diversity is not None:
        lam, pool = float(diversity.get("lambda", -1)), diversity.get("pool", 0)
        if not 0.0 <= lam <= 1.0:  # also false for NaN
            raise ValueError("diversity.lambda must be a number in [0, 1]")
        if isinstance(pool, bool) or not isinstance(pool, int) or not (pool == 0 or k <= pool <= MAX_DIVERSITY_POOL):
            raise ValueError(f"diversity.pool must be 0 (server default) or k = {k} ... {MAX_DIVERSITY_POOL}")
        parts.append(_extension(EXT_DIVERSITY, struct.pack("<f", lam) + struct.pack(">H", pool)))
    if fallback is not None:
        parts.append(_extension(EXT_FALLBACK, struct.pack(">B", int(bool(fallback)))))
    contributors = MAX_CONTRIBUTORS if explain is True else int(explain or 0)
    if not 0 <= contributors <= MAX_CONTRIBUTORS:
        raise ValueError(f"explain must be 0...{MAX_CONTRIBUTORS} contributors (or True)")
    if contributors:
        parts.append(_extension(EXT_EXPLAIN, struct.pack(">B", contributors)))
    return struct.pack(">H", len(parts)) + b"".join(parts)


def encode_health(request_id: int, service: str = "") -> bytes:
    return encode_frame(HEALTH, request_id, _str16(service, "service"))


def encode_model_info(request_id: int, model: str = "") -> bytes:
    return encode_frame(MODEL_INFO, request_id, _str16(model, "model"))


def encode_ping(payload: int) -> bytes:
    return encode_frame(PING, 0, struct.pack(">Q", payload))


def encode_cancel(request_id: int) -> bytes:
    return encode_frame(CANCEL, request_id, b"")


# ---------------------------------------------------------------- decoding

class _Reader:
    """Checked reader over one body: every length is checked against what remains."""

    def __init__(self, body: bytes):
        self.body, self.pos = body, 0

    def take(self, size: int, what: str) -> bytes:
        if size > len(self.body) - self.pos:
            raise ProtocolViolation(f"body truncated in {what}")
        chunk = self.body[self.pos:self.pos + size]
        self.pos += size
        return chunk

    def u8(self, what):
        return self.take(1, what)[0]

    def u16(self, what):
        return struct.unpack(">H", self.take(2, what))[0]

    def u32(self, what):
        return struct.unpack(">I", self.take(4, what))[0]

    def str16(self, what, limit):
        size = self.u16(what)
        if size > limit:
            raise ProtocolViolation(f"{what} is {size} bytes, limit is {limit}")
        try:
            return self.take(size, what).decode("utf-8")
        except UnicodeDecodeError:
            raise ProtocolViolation(f"{what} is not valid UTF-8") from None

    def count(self, what, limit, element_size):
        n = self.u32(what)
        if n > limit or n * element_size > len(self.body) - self.pos:
            raise ProtocolViolation(f"{what} count {n} exceeds limit {limit} or the body")
        return n

    def floats(self, n, what):
        return list(struct.unpack(f"<{n}f", self.take(4 * n, what)))

    def finish(self, what):
        if self.pos != len(self.body):
            raise ProtocolViolation(f"{what} has {len(self.body) - self.pos} trailing bytes")


def decode_header(header: bytes, max_frame_length: int = DEFAULT_LIMITS["max_frame_length"]):
    """(type, flags, request_id, aux, body_length) of a 16-byte header, checked as in §4."""
    length, frame_type, flags, reserved, request_id, aux = HEADER.unpack(header)
    if not MIN_LENGTH <= length <= max_frame_length:
        raise ProtocolViolation(f"frame length {length} outside {MIN_LENGTH}...{max_frame_length}")
    if not HELLO <= frame_type <= MODEL_LIST:
        raise ProtocolViolation(f"unknown frame type {frame_type}")
    if reserved or flags & ~(FLAG_COMPRESSED | FLAG_NOT_PROCESSED) or flags & FLAG_COMPRESSED:
        raise ProtocolViolation(f"reserved bits set (flags 0x{flags:02x}, reserved {reserved})")
    return frame_type, flags, request_id, aux, length - MIN_LENGTH


def decode_hello_ack(body: bytes):
    """(version, limits dict, server_id)."""
    reader = _Reader(body)
    version = reader.u16("version")
    limits = {name: reader.u32(name) for name in LIMIT_ORDER}
    server_id = reader.str16("server_id", 256)
    reader.finish("HELLO_ACK")
    return version, limits, server_id


def decode_extension_block(reader: "_Reader", known_max_lengths: dict):
    """[(type, value bytes)] of a version 2 extension block (§6.6): count and order checked, each
    length checked before reading, unknown IGNORABLE types skipped, unknown critical types refused."""
    n = reader.u16("n_extensions")
    if n > MAX_EXTENSIONS or n * 6 > len(reader.body) - reader.pos:
        raise ProtocolViolation(f"n_extensions {n} exceeds {MAX_EXTENSIONS} or the body")
    previous, found = -1, []
    for index in range(n):
        ext_type = reader.u16(f"extensions[{index}].type")
        if ext_type <= previous:
            raise ProtocolViolation(f"extensions[{index}].type {ext_type} does not follow {previous}")
        previous = ext_type
        length = reader.u32(f"extensions[{index}].length")
        if length > len(reader.body) - reader.pos:
            raise ProtocolViolation(f"extensions[{index}].length {length} exceeds the body")
        if ext_type not in known_max_lengths:
            if not ext_type & EXT_IGNORABLE:
                raise ProtocolViolation(f"critical extension type {ext_type} is not supported")
            reader.take(length, f"extensions[{index}]")
            continue
        if length > known_max_lengths[ext_type]:
            raise ProtocolViolation(f"extensions[{index}].length {length} exceeds {known_max_lengths[ext_type]}")
        found.append((ext_type, reader.take(length, f"extensions[{index}]")))
    return found


def _decode_explanations(value: bytes, items: list, external: bool, limits: dict):
    reader = _Reader(value)
    n = reader.u32("EXPLANATIONS.n")
    if n != len(items):
        raise ProtocolViolation(f"EXPLANATIONS.n is {n}, the response has {len(items)} items")
    because = []
    for index in range(n):
        m = reader.u8(f"EXPLANATIONS[{index}].m")
        if m > MAX_CONTRIBUTORS:
            raise ProtocolViolation(f"EXPLANATIONS[{index}].m is {m}, limit is {MAX_CONTRIBUTORS}")
        entry = []
        for position in range(m):
            what = f"EXPLANATIONS[{index}].items[{position}]"
            item = reader.str16(what, limits["max_string_bytes"]) if external else reader.u32(what)
            entry.append((item, reader.floats(1, f"EXPLANATIONS[{index}].contributions[{position}]")[0]))
        because.append(entry)
    reader.finish("extension EXPLANATIONS")
    return because


def decode_recommend_response(body: bytes, limits: dict = DEFAULT_LIMITS, protocol_version: int = 1) -> RecommendResult:
    """A RECOMMEND_RESPONSE body in the layout of `protocol_version` (the connection's)."""
    reader = _Reader(body)
    model = reader.str16("model_name", limits["max_string_bytes"])
    version = reader.u32("model_version")
    flags = reader.u8("flags")
    if flags > 1:
        raise ProtocolViolation(f"RECOMMEND_RESPONSE flags {flags}")
    external = flags == 1
    n = reader.count("items", limits["max_k"], 7 if external else 8)
    if external:
        items = [reader.str16(f"items[{i}]", limits["max_string_bytes"]) for i in range(n)]
    else:
        items = list(struct.unpack(f">{n}I", reader.take(4 * n, "items")))
    scores = reader.floats(n, "scores")
    width = reader.count("embedding", limits["max_embedding_width"], 4)
    embedding = reader.floats(width, "embedding") if width else None
    fallback, because = False, None
    if protocol_version >= 2:
        known = {EXT_RESPONSE_FALLBACK: 0, EXT_RESPONSE_EXPLANATIONS: len(body)}
        for ext_type, value in decode_extension_block(reader, known):
            if ext_type == EXT_RESPONSE_FALLBACK:
                fallback = True
            else:
                because = _decode_explanations(value, items, external, limits)
    reader.finish("RECOMMEND_RESPONSE")
    return RecommendResult(items, scores, model, version, embedding, fallback, because)


def decode_model_list(body: bytes, limits: dict = DEFAULT_LIMITS) -> List[ModelInfo]:
    reader = _Reader(body)
    n = reader.u16("models")
    if n > limits["max_models"]:
        raise ProtocolViolation(f"{n} models, limit is {limits['max_models']}")
    models = []
    for i in range(n):
        name = reader.str16(f"models[{i}].name", limits["max_string_bytes"])
        version = reader.u32("version")
        family = reader.str16(f"models[{i}].family", limits["max_string_bytes"])
        n_items, first_item = reader.u32("n_items"), reader.u32("first_item")
        max_len, width = reader.u32("max_session_length"), reader.u32("embedding_width")
        flags = reader.u8("flags")
        models.append(ModelInfo(name, version, family, n_items, first_item, max_len, width,
                                bool(flags & 1), bool(flags & 2)))
    reader.finish("MODEL_LIST")
    return models


def decode_status_body(body: bytes, max_message: int = DEFAULT_LIMITS["max_message_bytes"]):
    """(status, message) of an ERROR or GOAWAY body."""
    reader = _Reader(body)
    status = reader.u16("status")
    message = reader.str16("message", max_message)
    reader.finish("status body")
    return status, message


# ---------------------------------------------------------------- client

class Client:
    """One synchronous connection: one request at a time (no pipelining)."""

    def __init__(self, host: str = "127.0.0.1", port: int = 7878, timeout: float = 5.0,
                 auth_token: bytes = b"", max_version: int = MAX_PROTOCOL_VERSION):
        self.limits = dict(DEFAULT_LIMITS)
        self.server_id = ""
        self._next_id = 1
        self._closed_by_server = None
        self._sock = socket.create_connection((host, port), timeout=timeout)
        self._sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self._sock.sendall(PREFACE + encode_hello(max_version=max_version, auth_token=auth_token))
        frame_type, _, _, _, body = self._read_frame()
        if frame_type == GOAWAY:
            status, message = decode_status_body(body)
            self.close()
            raise SeqRecError(status, message)
        if frame_type != HELLO_ACK:
            self.close()
            raise ProtocolViolation(f"expected HELLO_ACK, got frame type {frame_type}")
        self.version, self.limits, self.server_id = decode_hello_ack(body)
        if not 1 <= self.version <= max_version:
            self.close()
            raise ProtocolViolation(f"server chose version {self.version}, this client offered 1...{max_version}")

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    def close(self):
        if self._sock is not None:
            self._sock.close()
            self._sock = None

    # -- requests

    def recommend(self, session, k=10, model="", external=False, exclude_seen=False, allow=None,
                  deny=None, candidates=None, skip_unknown=False, embedding=False,
                  deadline_ms: Optional[float] = None, version: int = 0, session_key=None,
                  filters: Optional[dict] = None, diversity: Optional[dict] = None,
                  fallback: Optional[bool] = None, explain=False) -> RecommendResult:
        """Top-k for a session. deadline_ms=None uses the server default (1 s). The version 2
        options (see encode_recommend) raise ValueError on a version 1 connection, except the
        session key, which only steers routing and is dropped there (§3)."""
        request_id = self._next_id  # taken only once the frame is valid
        timeout_us = 0 if deadline_ms is None else max(1, int(deadline_ms * 1000))
        frame = encode_recommend(request_id, session, k=k, model=model, version=version, external=external,
                                 exclude_seen=exclude_seen, allow=allow, deny=deny, candidates=candidates,
                                 skip_unknown=skip_unknown, embedding=embedding, timeout_us=timeout_us,
                                 limits=self.limits, protocol_version=self.version,
                                 session_key=(session_key or b"") if self.version >= 2 else b"",
                                 filters=filters, diversity=diversity, fallback=fallback, explain=explain)
        self._take_id()
        body = self._call(request_id, frame, RECOMMEND_RESPONSE)
        return decode_recommend_response(body, self.limits, self.version)

    def health(self, service: str = "") -> str:
        """SERVING, NOT_SERVING, SERVICE_UNKNOWN or UNKNOWN."""
        request_id = self._take_id()
        body = self._call(request_id, encode_health(request_id, service), HEALTH_RESPONSE)
        if len(body) != 1 or body[0] >= len(HEALTH_NAMES):
            raise ProtocolViolation(f"bad HEALTH_RESPONSE body {body.hex()}")
        return HEALTH_NAMES[body[0]]

    def models(self, model: str = "") -> List[ModelInfo]:
        request_id = self._take_id()
        body = self._call(request_id, encode_model_info(request_id, model), MODEL_LIST)
        return decode_model_list(body, self.limits)

    def ping(self) -> float:
        """Round-trip time in seconds."""
        payload = time.monotonic_ns() & 0xFFFFFFFFFFFFFFFF
        start = time.perf_counter()
        self._send(encode_ping(payload))
        while True:
            frame_type, _, _, _, body = self._read_frame()
            if frame_type == PONG and body == struct.pack(">Q", payload):
                return time.perf_counter() - start
            self._handle_unexpected(frame_type, body)

    # -- plumbing

    def _take_id(self) -> int:
        request_id = self._next_id
        self._next_id = self._next_id % 0xFFFFFFFF + 1  # ids are 1...2^32-1, 0 is connection-level
        return request_id

    def _send(self, data: bytes):
        if self._closed_by_server:
            # After a graceful GOAWAY the server refuses new work unprocessed (§10): say so without
            # sending, so callers can retry elsewhere at once.
            raise SeqRecError(14, self._closed_by_server, not_processed=True)
        if self._sock is None:
            raise ProtocolViolation("connection is closed")
        self._sock.sendall(data)

    def _call(self, request_id: int, frame: bytes, expected_type: int) -> bytes:
        self._send(frame)
        while True:
            frame_type, flags, rid, aux, body = self._read_frame()
            if rid == request_id and frame_type == expected_type:
                return body
            if rid == request_id and frame_type == ERROR:
                status, message = decode_status_body(body, self.limits["max_message_bytes"])
                raise SeqRecError(status, message, bool(flags & FLAG_NOT_PROCESSED), aux, rid)
            self._handle_unexpected(frame_type, body)

    def _handle_unexpected(self, frame_type: int, body: bytes):
        if frame_type == GOAWAY:
            status, message = decode_status_body(body, self.limits["max_message_bytes"])
            if status in (0, 14):  # graceful: our pending request is still answered (§10)
                self._closed_by_server = f"server sent GOAWAY {STATUS_NAMES[status]}: {message}"
                return
            self.close()
            raise SeqRecError(status, f"connection closed by server: {message}")
        if frame_type in (PONG, HEALTH_RESPONSE, RECOMMEND_RESPONSE, MODEL_LIST, ERROR):
            return  # an answer to something we no longer wait for
        raise ProtocolViolation(f"unexpected frame type {frame_type}")

    def _recv_exact(self, size: int) -> bytes:
        chunks, remaining = [], size
        while remaining:
            if self._sock is None:
                raise ProtocolViolation("connection is closed")
            chunk = self._sock.recv(min(remaining, 1 << 20))
            if not chunk:
                self.close()
                raise ProtocolViolation(self._closed_by_server or "server closed the connection")
            chunks.append(chunk)
            remaining -= len(chunk)
        return b"".join(chunks)

    def _read_frame(self):
        frame_type, flags, request_id, aux, body_length = decode_header(
            self._recv_exact(HEADER_SIZE), self.limits["max_frame_length"])
        return frame_type, flags, request_id, aux, self._recv_exact(body_length)


def probe_health(host: str = "127.0.0.1", port: int = 7878, timeout: float = 2.0) -> bool:
    """What an L4 load balancer does: send the constant probe, expect the constant answer (§8)."""
    with socket.create_connection((host, port), timeout=timeout) as sock:
        sock.sendall(HEALTH_PROBE)
        answer = b""
        while len(answer) < len(HEALTH_SERVING):
            chunk = sock.recv(len(HEALTH_SERVING) - len(answer))
            if not chunk:
                break
            answer += chunk
    return answer == HEALTH_SERVING


# ---------------------------------------------------------------- CLI

def _id_list(text: Optional[str], external: bool):
    if not text:
        return None
    parts = [part.strip() for part in text.split(",") if part.strip()]
    return parts if external else [int(part) for part in parts]


def main(argv=None) -> int:
    # Connection options are accepted before or after the command. The copy after the command
    # has no defaults, so it only overrides what was given there.
    def connection_options(defaults: bool) -> argparse.ArgumentParser:
        options = argparse.ArgumentParser(add_help=False)
        unset = argparse.SUPPRESS
        options.add_argument("--host", default="127.0.0.1" if defaults else unset)
        options.add_argument("--port", type=int, default=7878 if defaults else unset)
        options.add_argument("--timeout", type=float, default=5.0 if defaults else unset,
                             help="socket timeout in seconds (default 5)")
        return options

    parser = argparse.ArgumentParser(description="SeqRec protocol client", parents=[connection_options(True)])
    connection = connection_options(False)
    commands = parser.add_subparsers(dest="command", required=True)

    def command(name, help_text):
        return commands.add_parser(name, help=help_text, parents=[connection])

    rec = command("recommend", "top-k for a session")
    rec.add_argument("--session", required=True, help="comma-separated ids, oldest first ('' with --fallback)")
    rec.add_argument("--k", type=int, default=10)
    rec.add_argument("--model", default="")
    rec.add_argument("--model-version", type=int, default=0)
    rec.add_argument("--external", action="store_true", help="ids are vocabulary tokens")
    rec.add_argument("--exclude-seen", action="store_true")
    rec.add_argument("--allow")
    rec.add_argument("--deny")
    rec.add_argument("--candidates")
    rec.add_argument("--skip-unknown", action="store_true")
    rec.add_argument("--embedding", action="store_true")
    rec.add_argument("--deadline-ms", type=float)
    rec.add_argument("--session-key", help="opaque session key (A/B routing, worker affinity)")
    rec.add_argument("--include-unavailable", action="store_true", help="filters: also unavailable/expired items")
    rec.add_argument("--categories-include", help="filters: comma-separated categories")
    rec.add_argument("--categories-exclude", help="filters: comma-separated categories")
    rec.add_argument("--max-per-category", type=int)
    rec.add_argument("--diversity", type=float, metavar="LAMBDA", help="MMR re-ranking, lambda in [0, 1]")
    rec.add_argument("--diversity-pool", type=int, default=0)
    rec.add_argument("--fallback", action="store_true", default=None, help="popularity fallback for a cold session")
    rec.add_argument("--explain", action="store_true", help="top 3 contributing session items per item")
    health = command("health", "health of the server or one model")
    health.add_argument("--service", default="")
    health.add_argument("--probe", action="store_true", help="constant-bytes probe, no handshake")
    models = command("models", "list loaded models")
    models.add_argument("--model", default="")
    command("ping", "round-trip time")
    args = parser.parse_args(argv)

    try:
        if args.command == "health" and args.probe:
            healthy = probe_health(args.host, args.port, args.timeout)
            print("SERVING" if healthy else "NOT HEALTHY")
            return 0 if healthy else 1
        with Client(args.host, args.port, args.timeout) as client:
            if args.command == "recommend":
                filters = None
                if (args.include_unavailable or args.categories_include or args.categories_exclude
                        or args.max_per_category is not None):
                    filters = {"available_only": False if args.include_unavailable else None,
                               "categories_include": _id_list(args.categories_include, True) or [],
                               "categories_exclude": _id_list(args.categories_exclude, True) or [],
                               "max_per_category": args.max_per_category or 0}
                diversity = None if args.diversity is None else {"lambda": args.diversity, "pool": args.diversity_pool}
                result = client.recommend(
                    _id_list(args.session, args.external) or [], k=args.k, model=args.model,
                    version=args.model_version, external=args.external, exclude_seen=args.exclude_seen,
                    allow=_id_list(args.allow, args.external), deny=_id_list(args.deny, args.external),
                    candidates=_id_list(args.candidates, args.external), skip_unknown=args.skip_unknown,
                    embedding=args.embedding, deadline_ms=args.deadline_ms, session_key=args.session_key,
                    filters=filters, diversity=diversity, fallback=args.fallback, explain=args.explain)
                print(json.dumps(result.__dict__))
            elif args.command == "health":
                print(client.health(args.service))
            elif args.command == "models":
                print(json.dumps([model.__dict__ for model in client.models(args.model)], indent=2))
            else:
                print(f"{client.ping() * 1e6:.0f} us")
    except SeqRecError as error:
        print(f"error: {error}", file=sys.stderr)
        return 3  # 2 is argparse's status for a bad command line
    except (ProtocolViolation, ValueError, OSError) as error:
        print(f"error: {error}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
