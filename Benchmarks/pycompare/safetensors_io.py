"""Minimal float32 safetensors reader/writer (numpy only), for fixture weights and synthetic tables.

Layout: u64 little-endian header length, JSON header {name: {dtype, shape, data_offsets}}, data.
"""
import json
import struct

import numpy as np


def read_safetensors(path):
    """Return {name: float32 ndarray} for every tensor of the file (metadata is skipped)."""
    with open(path, "rb") as handle:
        blob = handle.read()
    if len(blob) < 8:
        raise ValueError(f"{path}: shorter than the 8-byte header length")
    (header_length,) = struct.unpack("<Q", blob[:8])
    if header_length > len(blob) - 8:
        raise ValueError(f"{path}: header length {header_length} runs past the end of the file")
    header = json.loads(blob[8:8 + header_length])
    data = memoryview(blob)[8 + header_length:]
    tensors = {}
    for name, entry in header.items():
        if name == "__metadata__":
            continue
        if entry["dtype"] != "F32":
            raise ValueError(f"{path}: tensor {name} has dtype {entry['dtype']}, expected F32")
        start, end = entry["data_offsets"]
        if not 0 <= start <= end <= len(data):
            raise ValueError(f"{path}: tensor {name} data_offsets {start}..{end} outside the data")
        array = np.frombuffer(data[start:end], dtype="<f4").reshape(entry["shape"])
        tensors[name] = array.copy()
    return tensors


def write_safetensors(path, tensors, metadata=None):
    """Write {name: ndarray} as contiguous little-endian float32, names sorted."""
    header = {}
    offset = 0
    ordered = []
    for name in sorted(tensors):
        array = np.ascontiguousarray(tensors[name], dtype="<f4")
        header[name] = {"dtype": "F32", "shape": list(array.shape),
                        "data_offsets": [offset, offset + array.nbytes]}
        offset += array.nbytes
        ordered.append(array)
    if metadata:
        header["__metadata__"] = {key: str(value) for key, value in metadata.items()}
    encoded = json.dumps(header, separators=(",", ":")).encode()
    encoded += b" " * (-len(encoded) % 8)
    with open(path, "wb") as handle:
        handle.write(struct.pack("<Q", len(encoded)))
        handle.write(encoded)
        for array in ordered:
            handle.write(array.tobytes())
