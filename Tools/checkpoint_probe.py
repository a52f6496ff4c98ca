#!/usr/bin/env python3
"""Look inside a PyTorch checkpoint without torch and without running any of its code.

    python3 Tools/checkpoint_probe.py FILE.pth        # prints kind, model, tensors

`torch.save` writes a zip archive (`<name>/data.pkl` + one member per storage). This module reads the pickle with an
unpickler that builds inert stand-ins for every class it names (nothing is imported, nothing executed), so an
exporter can check a file before trusting it to `torch.load(weights_only=False)`: that it is complete (every zip
member's CRC, every storage long enough for its tensors), what kind of checkpoint it is (RecBole Trainer dict,
pmixer state dict, official GRU4Rec object or state dict), the tensor names and shapes, and a RecBole checkpoint's
stored config (`final_config_dict`). Needs only the standard library, so its checks run in CI.
"""
import collections
import io
import pickle
import sys
import zipfile

from export_common import ExportError

DTYPE_BYTES = {"FloatStorage": 4, "DoubleStorage": 8, "HalfStorage": 2, "BFloat16Storage": 2,
               "LongStorage": 8, "IntStorage": 4, "ShortStorage": 2, "CharStorage": 1, "ByteStorage": 1,
               "BoolStorage": 1, "UntypedStorage": 1}


class Stub:
    """An instance of a class the pickle names; keeps its constructor arguments and state, runs nothing."""
    module = name = "?"

    def __new__(cls, *args, **kwargs):  # pickle's NEWOBJ calls __new__ only
        obj = object.__new__(cls)
        obj.args, obj.kwargs, obj.state, obj.items = args, kwargs, None, {}
        return obj

    def __init__(self, *args, **kwargs):
        pass

    def __setstate__(self, state):
        self.state = state

    def __setitem__(self, key, value):  # dict subclasses pickle their items with SETITEMS
        self.items[key] = value

    def append(self, value):  # list subclasses pickle with APPENDS
        self.items[len(self.items)] = value

    def extend(self, values):
        for v in values:
            self.append(v)

    @property
    def qualname(self):
        return f"{self.module}.{self.name}"

    def attributes(self):
        """The object's __dict__ as pickled (state, or the dict half of a (dict, slots) state)."""
        state = self.state
        if isinstance(state, tuple) and len(state) == 2:
            state = state[0] or {}
        return state if isinstance(state, dict) else {}

    def __repr__(self):
        return f"<{self.qualname}>"


class Storage:
    def __init__(self, dtype, key, numel):
        self.dtype, self.key, self.numel = dtype, str(key), int(numel)


class Tensor:
    def __init__(self, storage, offset, shape, stride=None):
        self.storage, self.offset, self.shape = storage, int(offset), tuple(int(s) for s in shape)
        self.stride = tuple(int(s) for s in stride) if stride is not None else None

    @property
    def numel(self):
        n = 1
        for s in self.shape:
            n *= s
        return n

    def __repr__(self):
        return f"Tensor{list(self.shape)}"


def _rebuild_tensor(storage, offset, size, stride, *rest):
    return Tensor(storage, offset, size, stride)


def _rebuild_parameter(data, *rest):
    return data


def _reconstructor(cls, base, state):
    return cls()


_SAFE = {("collections", "OrderedDict"): collections.OrderedDict,
         ("builtins", "set"): set, ("builtins", "frozenset"): frozenset, ("builtins", "slice"): slice,
         ("torch._utils", "_rebuild_tensor_v2"): _rebuild_tensor,
         ("torch._utils", "_rebuild_tensor"): _rebuild_tensor,
         ("torch._utils", "_rebuild_parameter"): _rebuild_parameter,
         ("copyreg", "_reconstructor"): _reconstructor}


class InertUnpickler(pickle.Unpickler):
    def __init__(self, data):
        super().__init__(io.BytesIO(data))
        self.storages = {}
        self.classes = set()

    def find_class(self, module, name):
        self.classes.add(f"{module}.{name}")
        if (module, name) in _SAFE:
            return _SAFE[(module, name)]
        if module == "torch" and name.endswith("Storage"):
            return name  # storage type tag inside persistent ids
        return type(name, (Stub,), {"module": module, "name": name})

    def persistent_load(self, pid):
        if not (isinstance(pid, tuple) and len(pid) >= 5 and pid[0] == "storage"):
            raise pickle.UnpicklingError(f"unexpected persistent id {pid!r}")
        dtype = pid[1] if isinstance(pid[1], str) else getattr(pid[1], "name", str(pid[1]))
        storage = self.storages.setdefault(str(pid[2]), Storage(dtype, pid[2], pid[4]))
        return storage


class Probe:
    """What a checkpoint holds. kind is one of: recbole-trainer, pmixer-state-dict, gru4rec-official-object,
    gru4rec-official-state-dict, recbole-state-dict, unknown."""

    def __init__(self, path, root, classes):
        self.path, self.root, self.classes = path, root, classes
        self.config = None
        self.tensors = {}
        self.kind = "unknown"
        if isinstance(root, dict) and "state_dict" in root and isinstance(root.get("config"), Stub):
            self.kind = "recbole-trainer"
            cfg = root["config"].attributes()
            self.config = cfg.get("final_config_dict") if isinstance(cfg.get("final_config_dict"), dict) else {}
            self.tensors = _tensors(root["state_dict"])
        elif isinstance(root, Stub) and root.qualname == "gru4rec_pytorch.GRU4Rec":
            self.kind = "gru4rec-official-object"
            model = root.attributes().get("model")
            if isinstance(model, Stub):
                self.tensors = _module_tensors(model)
        elif isinstance(root, dict):
            state = root["state_dict"] if isinstance(root.get("state_dict"), dict) else root
            self.tensors = _tensors({k[7:] if k.startswith("module.") else k: v for k, v in state.items()})
            names = set(self.tensors)
            if {"item_emb.weight", "pos_emb.weight", "last_layernorm.weight"} <= names:
                self.kind = "pmixer-state-dict"
            elif {"Wy.weight", "By.weight"} <= names:
                self.kind = "gru4rec-official-state-dict"
            elif any(n.startswith("item_embedding.") for n in names):
                self.kind = "recbole-state-dict"

    @property
    def model(self):
        return (self.config or {}).get("model")


def _tensors(mapping):
    if not isinstance(mapping, dict):
        return {}
    return {str(k): v for k, v in mapping.items() if isinstance(v, Tensor)}


def _module_tensors(module, prefix=""):
    """Parameters of a pickled nn.Module stand-in (its _parameters and _buffers, recursively through _modules)."""
    attrs = module.attributes()
    out = {}
    for group in ("_parameters", "_buffers"):
        for k, v in (attrs.get(group) or {}).items():
            if isinstance(v, Tensor):
                out[prefix + k] = v
    for k, child in (attrs.get("_modules") or {}).items():
        if isinstance(child, Stub):
            out.update(_module_tensors(child, f"{prefix}{k}."))
    return out


def probe(path):
    """Checks that `path` is a complete torch zip checkpoint and returns a Probe; ExportError otherwise."""
    try:
        with open(path, "rb") as f:
            head = f.read(4)
    except FileNotFoundError:
        raise ExportError(f"{path}: no such file")
    except IsADirectoryError:
        raise ExportError(f"{path}: is a directory, expected a .pth/.pt checkpoint file")
    except OSError as e:
        raise ExportError(f"{path}: cannot be read ({e.strerror})")
    if not head:
        raise ExportError(f"{path}: is empty")
    if head != b"PK\x03\x04":
        if head[:1] == b"\x80":
            raise ExportError(f"{path}: is a legacy (pre-1.6) torch file, which this tool does not read; "
                              "re-save it with a current torch: torch.save(torch.load(f), f)")
        raise ExportError(f"{path}: is not a PyTorch checkpoint (torch.save writes a zip archive)")
    try:
        with zipfile.ZipFile(path) as z:
            bad = z.testzip()
            if bad is not None:
                raise ExportError(f"{path}: damaged (checksum of {bad} does not match): copy it again")
            names = z.namelist()
            pkl = [n for n in names if n.endswith("/data.pkl") or n == "data.pkl"]
            if len(pkl) != 1:
                raise ExportError(f"{path}: zip archive without one data.pkl: not a torch.save file")
            prefix = pkl[0][:-len("data.pkl")]
            unpickler = InertUnpickler(z.read(pkl[0]))
            try:
                root = unpickler.load()
            except (pickle.UnpicklingError, EOFError, ValueError, TypeError, AttributeError, IndexError,
                    KeyError) as e:
                raise ExportError(f"{path}: its pickle cannot be read ({type(e).__name__}: {e}): damaged file?")
            sizes = {n[len(prefix) + len("data/"):]: z.getinfo(n).file_size
                     for n in names if n.startswith(prefix + "data/")}
    except zipfile.BadZipFile:
        raise ExportError(f"{path}: truncated or damaged (not a complete zip archive): copy or save it again")
    except (zipfile.LargeZipFile, EOFError, OSError) as e:
        raise ExportError(f"{path}: cannot be read as a zip archive ({e}): truncated?")
    for key, storage in unpickler.storages.items():
        need = storage.numel * DTYPE_BYTES.get(storage.dtype, 1)
        if sizes.get(key, -1) < need:
            raise ExportError(f"{path}: storage {key} holds {sizes.get(key, 0)} bytes, its tensors need {need}: "
                              "damaged file")
    return Probe(path, root, unpickler.classes)


EXPORTER_OF = {"recbole-trainer": "Tools/export_recbole.py",
               "pmixer-state-dict": "Tools/export_pmixer.py",
               "gru4rec-official-object": "Tools/export_gru4rec_official.py",
               "gru4rec-official-state-dict": "Tools/export_gru4rec_official.py"}


def describe(p):
    if p.kind == "recbole-trainer":
        return f"a RecBole Trainer checkpoint of {p.model or 'an unnamed model'}"
    return {"pmixer-state-dict": "a pmixer/SASRec.pytorch state dict",
            "gru4rec-official-object": "an official GRU4Rec saved model",
            "gru4rec-official-state-dict": "an official GRU4Rec state dict",
            "recbole-state-dict": "a bare RecBole state dict without the Trainer's config",
            }.get(p.kind, "a checkpoint of unknown kind")


def require_kind(p, kinds, tool):
    """ExportError naming the right exporter when `p` is not one of `kinds`."""
    if p.kind in kinds:
        return
    where = EXPORTER_OF.get(p.kind)
    hint = f"use {where}" if where else ("export from the RecBole Trainer's saved .pth (it holds the config)"
                                         if p.kind == "recbole-state-dict" else
                                         f"{tool} reads {', '.join(kinds)}")
    some = ", ".join(sorted(p.tensors)[:4])
    raise ExportError(f"{p.path}: is {describe(p)}" + (f" (tensors {some}, ...)" if p.kind == "unknown" and some
                                                        else "") + f"; {hint}")


def main():
    from export_common import run
    def go():
        for path in sys.argv[1:]:
            p = probe(path)
            print(f"{path}: {describe(p)}; {len(p.tensors)} tensors")
            for k, t in p.tensors.items():
                print(f"  {k} {list(t.shape)} {t.storage.dtype}")
    run(go, "checkpoint_probe")


if __name__ == "__main__":
    main()
