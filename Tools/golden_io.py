"""golden.json, the schema of ../shared/fixtures/*/golden.json, read and written without torch.

    {"description": "...", "k": 100, "cases": [{"session": [ids], "top": [[id, score], ...], "scores": [...]}, ...]}

`session`: internal ids, oldest first, untruncated (the runtime truncates); `top`: the k best rows, score descending,
ties by lower id, padding row included where upstream scores it; `scores`: the full raw vector, first `n_full`
cases only. Scores are written as the shortest decimal that reads back as the same float32. Only writing needs
numpy. `seqrec convert` checks a converted file against this file (`--verify`, on by default when the folder has one).
"""
import json

from export_common import ExportError

K = 100
N_FULL = 8


def f32(x):
    """Shortest decimal that round-trips to this float32."""
    import numpy as np
    return np.format_float_positional(np.float32(x), unique=True, trim="-")


def write(path, sessions, scores, description, k=K, n_full=N_FULL):
    """scores: float32 [len(sessions), n_rows], row i = upstream's raw scores for sessions[i]."""
    import numpy as np  # here, not at the top: the exporters' checks run without numpy
    scores = np.asarray(scores, dtype=np.float32)
    if scores.ndim != 2 or scores.shape[0] != len(sessions):
        raise ValueError(f"scores shape {scores.shape} does not match {len(sessions)} sessions")
    if not np.isfinite(scores).all():
        raise ExportError("the upstream model produced non-finite scores: the checkpoint is broken")
    k = min(k, scores.shape[1])
    cases = []
    for i, session in enumerate(sessions):
        row = scores[i]
        order = np.lexsort((np.arange(len(row)), -row))[:k]  # score descending, ties: lower id first
        top = ",".join(f"[{int(j)},{f32(row[j])}]" for j in order)
        case = f'{{"session":{json.dumps([int(x) for x in session], separators=(",", ":"))},"top":[{top}]'
        if i < n_full:
            case += ',"scores":[' + ",".join(f32(v) for v in row) + "]"
        cases.append(case + "}")
    with open(path, "w", encoding="utf-8") as f:
        f.write('{"description":' + json.dumps(description) + f',"k":{k},"cases":[\n')
        f.write(",\n".join(cases))
        f.write("\n]}\n")
    return len(cases)


def read_sessions(path):
    """Sessions from a golden.json (its cases' sessions) or a JSONL file of {"session": [ids]} lines."""
    try:
        with open(path, encoding="utf-8") as f:
            text = f.read()
    except OSError as e:
        raise ExportError(f"{path}: cannot be read ({e.strerror})")
    try:
        if text.lstrip().startswith("{") and '"cases"' in text[:100000]:
            sessions = [c["session"] for c in json.loads(text)["cases"]]
        else:
            sessions = [json.loads(line)["session"] for line in text.splitlines() if line.strip()]
    except (ValueError, KeyError, TypeError) as e:
        raise ExportError(f"{path}: not a golden.json or JSONL of {{\"session\": [ids]}} lines ({e})")
    for i, s in enumerate(sessions):
        if not isinstance(s, list) or not s or not all(isinstance(x, int) and not isinstance(x, bool) for x in s):
            raise ExportError(f"{path}: session {i} is not a non-empty list of integer item ids")
    if not sessions:
        raise ExportError(f"{path}: holds no sessions")
    return sessions


def check_ids(sessions, first, last, what):
    """Every id in first..last (the model's scorable input ids); ExportError naming the first that is not."""
    for i, s in enumerate(sessions):
        for x in s:
            if not first <= x <= last:
                raise ExportError(f"golden session {i} has item {x}, outside {first}..{last} ({what})")


def pick_sessions(sequences, count=128, seed=0):
    """`count` deterministic sessions from user sequences (lists of ids, oldest first): whole sequences and
    prefixes of varied lengths (1, 2, 3, ... up to the whole), spread over the users."""
    import numpy as np
    sequences = [s for s in sequences if s]
    if not sequences:
        raise ExportError("no user sequences to take golden sessions from")
    rng = np.random.default_rng(seed)
    users = rng.permutation(len(sequences))
    sessions = []
    for i in range(count):
        seq = sequences[int(users[i % len(users)])]
        if i % 4 == 3:
            n = len(seq)  # a whole sequence
        elif i % 4 == 0:
            n = min(len(seq), 1 + i % 5)  # short prefixes: 1..5
        else:
            n = int(rng.integers(1, len(seq) + 1))
        sessions.append([int(x) for x in seq[:n]])
    return sessions
