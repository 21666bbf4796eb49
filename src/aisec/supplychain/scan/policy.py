"""Allowlist-led classification of the callables a pickle imports.

Order of the decision (documented in docs/scanner.md):

1. a name on the **denylist** (or any name that reaches a dunder attribute) is ``dangerous``
   (SCN-001, critical);
2. a name on the **allowlist** of data-only reconstruction callables is ``safe`` (no finding);
3. a class (CamelCase last component) from a **known ML library** namespace is ``library``
   (SCN-003, low): instantiating it runs only its ``__new__``/``__setstate__``;
4. anything else is ``unknown`` (SCN-002, high): a callable that is not known safe is never clean.
"""

from __future__ import annotations

import enum


def _words(text: str) -> frozenset[str]:
    return frozenset(text.split())


class Verdict(enum.StrEnum):
    """Classification of one imported name."""

    SAFE = "safe"
    LIBRARY = "library"
    UNKNOWN = "unknown"
    DANGEROUS = "dangerous"


#: Exact ``module.name`` callables that only rebuild data (tensors, arrays, containers).
ALLOWLIST: frozenset[str] = frozenset(
    [
        # builtins that construct plain data
        *(
            f"builtins.{n}"
            for n in (
                "set",
                "frozenset",
                "list",
                "dict",
                "tuple",
                "bytearray",
                "bytes",
                "complex",
                "slice",
                "range",
                "int",
                "float",
                "str",
                "bool",
                "object",
                "NoneType",
                # pure functions of their arguments: they reach nothing the stack lacks
                "len",
                "abs",
                "min",
                "max",
                "sum",
                "round",
                "divmod",
                "ord",
                "chr",
                "all",
                "any",
                "sorted",
                "reversed",
                "enumerate",
                "zip",
                "bin",
                "oct",
                "hex",
                "hash",
                "isinstance",
                "issubclass",
                "callable",
            )
        ),
        # compiler feature flags: inert _Feature objects, not callables that run anything
        *(
            f"__future__.{n}"
            for n in (
                "annotations",
                "division",
                "absolute_import",
                "print_function",
                "unicode_literals",
                "generator_stop",
                "nested_scopes",
                "generators",
                "with_statement",
            )
        ),
        *(
            f"__builtin__.{n}"
            for n in (
                "set",
                "frozenset",
                "list",
                "dict",
                "tuple",
                "bytearray",
                "bytes",
                "complex",
                "slice",
                "range",
                "xrange",
                "int",
                "float",
                "str",
                "bool",
                "object",
                "unicode",
                "long",
            )
        ),
        "copyreg._reconstructor",
        "copy_reg._reconstructor",
        "copyreg.__newobj__",
        "_codecs.encode",
        "collections.OrderedDict",
        "collections.defaultdict",
        "collections.deque",
        "collections.Counter",
        "datetime.datetime",
        "datetime.date",
        "datetime.time",
        "datetime.timedelta",
        "datetime.timezone",
        "decimal.Decimal",
        "fractions.Fraction",
        "uuid.UUID",
        "pathlib.PosixPath",
        "pathlib.WindowsPath",
        "pathlib.PurePosixPath",
        # numpy
        *(
            f"{m}.{n}"
            for m in ("numpy.core.multiarray", "numpy._core.multiarray")
            for n in ("_reconstruct", "scalar")
        ),
        "numpy.ndarray",
        "numpy.dtype",
        "numpy.ma.core._mareconstruct",
        "numpy.core.numeric._frombuffer",
        "numpy._core.numeric._frombuffer",
        *(
            f"numpy.{n}"
            for n in (
                "float16",
                "float32",
                "float64",
                "int8",
                "int16",
                "int32",
                "int64",
                "uint8",
                "uint16",
                "uint32",
                "uint64",
                "bool_",
                "complex64",
                "complex128",
                "str_",
                "bytes_",
                "void",
            )
        ),
        *(
            f"numpy.dtypes.{n}"
            for n in (
                "Float16DType",
                "Float32DType",
                "Float64DType",
                "Int8DType",
                "Int16DType",
                "Int32DType",
                "Int64DType",
                "UInt8DType",
                "UInt16DType",
                "UInt32DType",
                "UInt64DType",
                "BoolDType",
                "Complex64DType",
                "Complex128DType",
                "StrDType",
                "BytesDType",
                "VoidDType",
                "ObjectDType",
            )
        ),
        "numpy.random._pickle.__randomstate_ctor",
        "numpy.random._pickle.__generator_ctor",
        "numpy.random._pickle.__bit_generator_ctor",
        "numpy.random._mt19937.MT19937",
        "numpy.random._pcg64.PCG64",
        "numpy.random.mtrand.RandomState",
        # torch (the set torch.load(weights_only=True) accepts)
        *(
            f"torch._utils.{n}"
            for n in (
                "_rebuild_tensor",
                "_rebuild_tensor_v2",
                "_rebuild_tensor_v3",
                "_rebuild_parameter",
                "_rebuild_parameter_with_state",
                "_rebuild_qtensor",
                "_rebuild_sparse_tensor",
                "_rebuild_nested_tensor",
                "_rebuild_device_tensor_from_numpy",
                "_rebuild_meta_tensor_no_storage",
                "_rebuild_wrapper_subclass",
                "_rebuild_device_tensor_from_cpu_tensor",
            )
        ),
        "torch._tensor._rebuild_from_type_v2",
        "torch.serialization._get_layout",
        "torch.nn.parameter.Parameter",
        "torch.Size",
        "torch.device",
        "torch.Tensor",
        "torch.storage.UntypedStorage",
        "torch.storage.TypedStorage",
        *(
            f"torch.jit._pickle.{n}"
            for n in (
                "build_intlist",
                "build_tensorlist",
                "build_doublelist",
                "build_boollist",
                "build_tensor_from_id",
                "restore_type_tag",
            )
        ),
        *(
            f"torch.{n}Storage"
            for n in (
                "Float",
                "Double",
                "Half",
                "BFloat16",
                "Long",
                "Int",
                "Short",
                "Char",
                "Byte",
                "Bool",
                "ComplexFloat",
                "ComplexDouble",
                "QInt8",
                "QUInt8",
                "QInt32",
                "Untyped",
            )
        ),
        *(
            f"torch.{n}"
            for n in (
                "float32",
                "float64",
                "float16",
                "bfloat16",
                "int64",
                "int32",
                "int16",
                "int8",
                "uint8",
                "bool",
                "complex64",
                "complex128",
                "float8_e4m3fn",
                "float8_e5m2",
                "qint8",
                "quint8",
                "qint32",
                "strided",
                "sparse_coo",
                "sparse_csr",
                "per_tensor_affine",
                "per_channel_affine",
                "contiguous_format",
                "channels_last",
                "preserve_format",
            )
        ),
        # pandas reconstruction helpers
        "pandas._libs.internals._unpickle_block",
        "pandas.core.indexes.base._new_Index",
        "pandas._libs.tslibs.timestamps._unpickle_timestamp",
        "pandas._libs.tslibs.timedeltas._timedelta_unpickle",
        "pandas.core.internals.blocks.new_block",
        "pandas._libs.tslibs.nattype._nat_unpickle",
        "pandas._libs.tslibs.period._period_unpickle",
        # joblib wrappers that carry array metadata only
        "joblib.numpy_pickle.NumpyArrayWrapper",
        "joblib.numpy_pickle.NDArrayWrapper",
        "sklearn.externals.joblib.numpy_pickle.NumpyArrayWrapper",
    ]
)

#: Modules whose every callable is dangerous (process, files, network, code, import machinery,
#: nested deserialisation, debuggers and profilers that run code).
DENY_MODULES: frozenset[str] = _words(
    """
    os posix nt posixpath ntpath subprocess _posixsubprocess _winapi pty tty socket socketserver
    ssl select selectors ctypes _ctypes cffi multiprocessing concurrent threading _thread signal
    asyncio sys importlib imp zipimport pkgutil runpy code codeop compileall py_compile
    idlelib ensurepip pip setuptools distutils venv site sysconfig cProfile profile pstats pdb
    bdb trace timeit tracemalloc faulthandler webbrowser http urllib urllib2 urllib3 requests
    httpx aiohttp ftplib smtplib poplib imaplib telnetlib nntplib xmlrpc shutil tempfile glob
    fileinput io _io builtins_io pickle _pickle cPickle pickletools dill cloudpickle marshal
    shelve dbm sqlite3 joblib.load pydoc doctest lib2to3 ensurepip zipfile tarfile gzip bz2 lzma
    platform pwd grp resource gc inspect types operator _operator functools itertools copy
    weakref ctypes.util uuid._popen logging.config mmap fcntl termios readline rlcompleter
    code ensurepip turtle tkinter numpy.f2py numpy.distutils numpy.testing torch.hub
    torch.utils.cpp_extension torch.jit torch.package torch.classes torch.ops torch._dynamo
    torch._inductor torch.distributed torch.multiprocessing torch.utils.data.datapipes
    torch.utils._config_module
    tensorflow keras jinja2 mako yaml
    """
)

#: Individual callables that are dangerous although their module is not denied as a whole.
DENY_NAMES: frozenset[str] = _words(
    """
    builtins.eval builtins.exec builtins.compile builtins.__import__ builtins.getattr
    builtins.setattr builtins.delattr builtins.open builtins.breakpoint builtins.input
    builtins.globals builtins.locals builtins.vars builtins.help builtins.memoryview
    builtins.type builtins.super builtins.classmethod builtins.staticmethod builtins.property
    builtins.exit builtins.quit builtins.print builtins.dir builtins.__build_class__
    __builtin__.eval __builtin__.execfile __builtin__.file __builtin__.open
    __builtin__.__import__ __builtin__.getattr __builtin__.compile __builtin__.apply
    torch.load torch.serialization.load torch.storage._load_from_bytes torch._load_global_deps
    torch.save torch.from_file torch._C numpy.load numpy.lib.npyio.load numpy.save
    numpy.fromfile numpy.tofile numpy.memmap numpy.loadtxt numpy.genfromtxt
    numpy.lib.format.read_array numpy.ctypeslib pandas.read_pickle pandas.io.pickle.read_pickle
    pandas.read_csv joblib.load joblib.dump sklearn.datasets
    """
)
# Python 2 pickles (protocol 2 ``torch.save`` files among them) name builtins ``__builtin__``.
DENY_NAMES = DENY_NAMES | frozenset(
    "__builtin__." + n.split(".", 1)[1] for n in DENY_NAMES if n.startswith("builtins.")
)

#: Top-level packages whose *classes* count as known ML library code (rule SCN-003).
LIBRARY_NAMESPACES: frozenset[str] = _words(
    """
    sklearn scipy numpy torch torchvision pandas xgboost lightgbm catboost statsmodels
    transformers tokenizers collections datetime joblib
    """
)


#: Classes of known libraries whose names are not CamelCase (rule SCN-003).
LIBRARY_NAMES: frozenset[str] = frozenset(
    f"scipy.sparse._{fmt}.{fmt}_{kind}"
    for fmt in ("csr", "csc", "coo", "bsr", "dia", "dok", "lil")
    for kind in ("matrix", "array")
)


def _is_class_name(name: str) -> bool:
    last = name.rsplit(".", 1)[-1]
    return bool(last) and last[0].isupper()


def classify(module: str, name: str) -> Verdict:
    """Classify ``module.name`` as imported by a pickle ``GLOBAL``/``STACK_GLOBAL``/``INST``."""
    full = f"{module}.{name}"
    parts = full.split(".")
    if any(p.startswith("__") and p.endswith("__") and p != "__newobj__" for p in parts[1:]):
        return Verdict.DANGEROUS
    if full in ALLOWLIST:
        return Verdict.SAFE
    if full in DENY_NAMES:
        return Verdict.DANGEROUS
    for i in range(1, len(parts) + 1):
        prefix = ".".join(parts[:i])
        if prefix in DENY_MODULES or prefix in DENY_NAMES:
            return Verdict.DANGEROUS
    if parts[0] == "__torch__":
        # TorchScript class names, resolved from the archive's compiled code, not imported.
        return Verdict.LIBRARY
    # Attribute paths that walk through a module bound inside another one
    # (``torch.serialization`` + ``pickle.loads``) reach the denied module all the same.
    name_parts = name.split(".")
    for i in range(len(name_parts) - 1):
        if name_parts[i] in DENY_MODULES:
            return Verdict.DANGEROUS
    if module in ("builtins", "__builtin__"):
        return Verdict.UNKNOWN
    if (
        parts[0] in LIBRARY_NAMESPACES
        and "." not in name
        and (_is_class_name(name) or name.startswith("__pyx_unpickle_") or full in LIBRARY_NAMES)
    ):
        # Cython ``__pyx_unpickle_<Class>`` helpers only rebuild an instance of <Class>.
        return Verdict.LIBRARY
    return Verdict.UNKNOWN
