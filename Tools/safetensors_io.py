"""Minimal safetensors reader/writer in pure Python + NumPy (no torch, no safetensors package).

Format (https://github.com/huggingface/safetensors): 8-byte little-endian header length N,
then N bytes of JSON {name: {dtype, shape, data_offsets: [begin, end]}, "__metadata__": {str: str}},
then the raw little-endian tensor bytes; offsets are relative to the end of the header.
We write tensors sorted by name, packed back to back, and pad the header with spaces to a
multiple of 8 (as the reference writer does) so data starts aligned.
"""
import json
import struct

import numpy as np

_DTYPES = {
    "F64": np.dtype("<f8"), "F32": np.dtype("<f4"), "F16": np.dtype("<f2"),
    "I64": np.dtype("<i8"), "I32": np.dtype("<i4"), "I16": np.dtype("<i2"), "I8": np.dtype("i1"),
    "U8": np.dtype("u1"), "BOOL": np.dtype("?"),
}
_NAMES = {v: k for k, v in _DTYPES.items()}


def save(path, tensors, metadata=None):
    """Write {name: ndarray} to `path`. Arrays keep their dtype (cast to float32 before calling
    if that is what you want); they are made contiguous and little-endian here."""
    header = {}
    if metadata:  # first, as the reference writer orders it
        header["__metadata__"] = {str(k): str(v) for k, v in metadata.items()}
    blobs = []
    offset = 0
    for name in sorted(tensors):
        arr = np.asarray(tensors[name])
        arr = np.ascontiguousarray(arr.astype(arr.dtype.newbyteorder("<"), copy=False))
        key = _NAMES.get(arr.dtype)
        if key is None:
            raise TypeError(f"{name}: unsupported dtype {arr.dtype}")
        raw = arr.tobytes(order="C")
        header[name] = {"dtype": key, "shape": list(arr.shape),
                        "data_offsets": [offset, offset + len(raw)]}
        blobs.append(raw)
        offset += len(raw)
    head = json.dumps(header, separators=(",", ":")).encode("utf-8")
    head += b" " * (-len(head) % 8)
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(head)))
        f.write(head)
        for raw in blobs:
            f.write(raw)


def load(path):
    """Return ({name: ndarray}, metadata dict). Arrays are copies (writable)."""
    with open(path, "rb") as f:
        data = f.read()
    (n,) = struct.unpack("<Q", data[:8])
    header = json.loads(data[8:8 + n].decode("utf-8"))
    metadata = header.pop("__metadata__", {}) or {}
    base = 8 + n
    out = {}
    for name, info in header.items():
        dt = _DTYPES[info["dtype"]]
        begin, end = info["data_offsets"]
        count = int(np.prod(info["shape"], dtype=np.int64))
        if end - begin != count * dt.itemsize:
            raise ValueError(f"{name}: byte range does not match shape {info['shape']}")
        arr = np.frombuffer(data, dtype=dt, count=count, offset=base + begin)
        out[name] = arr.reshape(info["shape"]).copy()
    return out, metadata


if __name__ == "__main__":
    # Self-check: round trip, and byte-identical re-encode of a reference file if given.
    import os
    import sys
    import tempfile

    rng = np.random.default_rng(0)
    t = {"b.weight": rng.standard_normal((3, 4)).astype(np.float32),
         "a": np.arange(5, dtype=np.int64), "c": np.zeros((2, 0), np.float32)}
    with tempfile.TemporaryDirectory() as d:
        p = os.path.join(d, "x.safetensors")
        save(p, t, {"source": "selftest"})
        back, meta = load(p)
        assert meta == {"source": "selftest"}
        assert all(np.array_equal(t[k], back[k]) and t[k].dtype == back[k].dtype for k in t)
        for ref in sys.argv[1:]:
            tensors, meta = load(ref)
            save(p, tensors, meta)
            same = open(p, "rb").read() == open(ref, "rb").read()
            print(f"{ref}: {len(tensors)} tensors, re-encoded byte-identical: {same}")
    print("safetensors_io self-check ok")
