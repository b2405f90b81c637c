r"""Discovery of claim modules: no hand-kept list anywhere.

A *claim module* is a Python module that defines, at module level,

* ``ID``: the claim's id, ``"<family><n>.<name>"`` (``"C3.averaging_radius"``);
* ``derive()``: returns the :class:`featavg.theory.Claim` (its SymPy half: statement, steps,
  predictions). It must build without the simulator: import :mod:`featavg.simulate` only inside
  check and figure functions;
* ``ORDER`` (optional): a tuple that sorts the claim among the others (ours: the claim number of
  ``docs/science.md`` §2, then the position within it); user claims without it come after ours,
  in the order they were given;
* its evidence: any number of :class:`featavg.evidence.Check`, :class:`featavg.evidence.Figure`
  and :class:`featavg.evidence.Fault` objects bound to module-level names, found by scanning the
  module (checks and figures keep their definition order). A check's id is ``ID`` or
  ``ID + "." + suffix``.

Discovery imports every module of the package :mod:`featavg.claims` (``pkgutil``), plus each
``--claims PATH`` (a ``.py`` file, a directory of them, or an importable module name). A module
that cannot be loaded or breaks the protocol becomes a :class:`LoadError`, reported by
``featavg verify`` as a failed row of its own, and every other claim still runs.
"""

import functools
import hashlib
import importlib
import importlib.util
import os
import pkgutil
import sys
import traceback
from dataclasses import dataclass, field
from types import ModuleType

from featavg._errors import ClaimDefinitionError, ClaimFileError, UnknownClaim
from featavg.evidence import Check, Fault, Figure, register_fault

__all__ = ["ClaimEntry", "LoadError", "Registry", "discover", "default_registry", "get_claim",
           "all_claims", "claim_ids", "load_source"]

#: sort key of claims without ``ORDER`` (user claims): after every built-in claim
_USER_ORDER = (10 ** 9,)


@dataclass
class ClaimEntry:
    """One discovered claim: its module and its evidence; the SymPy half is built on demand.

    Attributes
    ----------
    id : str
    order : tuple
    module : module
    source : str
        ``"featavg.claims.<name>"`` for ours, the file path or module name for a user's.
    checks : tuple of Check
    figures : tuple of Figure
    builtin : bool
    """

    id: str
    order: tuple
    module: ModuleType
    source: str
    checks: tuple = ()
    figures: tuple = ()
    builtin: bool = True
    _claim: object = field(default=None, repr=False)

    def claim(self):
        """The claim's SymPy half (``module.derive()``), built once.

        Raises
        ------
        ClaimDefinitionError
            If ``derive`` raises or returns something else than a Claim with this id.
        """
        if self._claim is None:
            from featavg.theory import Claim

            try:
                c = self.module.derive()
            except Exception as exc:
                raise ClaimDefinitionError(f"claim {self.id!r} ({self.source}): derive() raised "
                                           f"{type(exc).__name__}: {exc}") from exc
            if not isinstance(c, Claim):
                raise ClaimDefinitionError(f"claim {self.id!r} ({self.source}): derive() returned "
                                           f"{type(c).__name__}, not featavg.theory.Claim")
            if c.id != self.id:
                raise ClaimDefinitionError(f"claim module {self.source} has ID = {self.id!r} but derive() "
                                           f"returned a claim with id {c.id!r}")
            self._claim = c
        return self._claim


@dataclass(frozen=True)
class LoadError:
    """A claim source that could not be used: reported as a failed row, never raised.

    Attributes
    ----------
    source : str
    claim : str or None
        The claim id when known.
    message : str
        One line: what is wrong and how to fix it.
    """

    source: str
    claim: str | None
    message: str


@dataclass
class Registry:
    """The discovered claims in order, and what could not be loaded."""

    entries: dict = field(default_factory=dict)
    errors: list = field(default_factory=list)

    def ids(self):
        return list(self.entries)

    def __iter__(self):
        return iter(self.entries.values())

    def __len__(self):
        return len(self.entries)

    def get(self, claim_id):
        """The :class:`ClaimEntry` of ``claim_id``; raises :class:`UnknownClaim` listing the ids."""
        try:
            return self.entries[claim_id]
        except KeyError:
            raise UnknownClaim(f"claim_id={claim_id!r} is not a known claim; known: "
                               f"{', '.join(self.entries)}") from None

    def claim(self, claim_id):
        """The SymPy :class:`featavg.theory.Claim` of ``claim_id``."""
        return self.get(claim_id).claim()

    def checks(self):
        """Every numeric check, claim by claim."""
        return [c for e in self for c in e.checks]

    def figures(self):
        return [f for e in self for f in e.figures]


def _module_order(module, index):
    order = getattr(module, "ORDER", None)
    if order is None:
        return _USER_ORDER + (index,)
    return tuple(order) if isinstance(order, (tuple, list)) else (order,)


def _entry_from_module(module, source, builtin, index):
    """Validate a module against the protocol; return a :class:`ClaimEntry`."""
    claim_id = getattr(module, "ID", None)
    if not isinstance(claim_id, str) or not claim_id or " " in claim_id or "." not in claim_id:
        raise ClaimDefinitionError(f"{source}: a claim module needs a module-level ID such as "
                                   f"'U1.my_claim' (got ID={claim_id!r})")
    if not callable(getattr(module, "derive", None)):
        raise ClaimDefinitionError(f"{source}: claim {claim_id!r} needs a module-level function derive() "
                                   "returning its featavg.theory.Claim")
    checks, figures = [], []
    for name, value in vars(module).items():
        if isinstance(value, Check):
            if value.id != claim_id and not value.id.startswith(claim_id + "."):
                if getattr(value.measure, "__module__", None) != module.__name__:
                    continue  # another claim's check, imported into this module
                raise ClaimDefinitionError(f"{source}: check {value.id!r} is not under its claim {claim_id!r}: "
                                           f"name it {claim_id!r} or {claim_id + '.<suffix>'!r}")
            if value.claim not in (None, claim_id):
                raise ClaimDefinitionError(f"{source}: check {value.id!r} names claim {value.claim!r}, "
                                           f"not this module's {claim_id!r}")
            checks.append(_with_claim(value, claim_id))
        elif isinstance(value, Figure):
            value = value if value.claims else _with_claims(value, claim_id)
            if value.claims[0] == claim_id:  # owned by its first claim; elsewhere it is an import
                figures.append(value)
        elif isinstance(value, Fault):
            register_fault(value)
    ids = [c.id for c in checks]
    if len(set(ids)) != len(ids):
        raise ClaimDefinitionError(f"{source}: claim {claim_id!r} defines check ids twice: {ids}")
    if not checks:
        raise ClaimDefinitionError(f"{source}: claim {claim_id!r} defines no featavg.evidence.Check: a claim "
                                   "needs evidence (at least one numeric check with its rivals)")
    return ClaimEntry(id=claim_id, order=_module_order(module, index), module=module, source=source,
                      checks=tuple(checks), figures=tuple(figures), builtin=builtin)


def _with_claims(figure, claim_id):
    import dataclasses

    return dataclasses.replace(figure, claims=(claim_id,))


def _with_claim(check, claim_id):
    if check.claim == claim_id:
        return check
    import dataclasses

    return dataclasses.replace(check, claim=claim_id)


def _short_error(exc):
    """``Type: message (file:line)`` of the innermost frame in the user's code."""
    tb = traceback.extract_tb(exc.__traceback__)
    where = f" ({os.path.basename(tb[-1].filename)}:{tb[-1].lineno})" if tb else ""
    return f"{type(exc).__name__}: {exc}{where}"


def _load_file(path):
    """Import a claim file under a unique private module name (its path's hash)."""
    path = os.path.abspath(path)
    digest = hashlib.sha1(path.encode()).hexdigest()[:10]
    stem = os.path.splitext(os.path.basename(path))[0]
    name = f"featavg_user_claims.{stem}_{digest}"
    if name in sys.modules:
        return sys.modules[name]
    spec = importlib.util.spec_from_file_location(name, path)
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    try:
        spec.loader.exec_module(module)
    except BaseException:
        del sys.modules[name]
        raise
    return module


def load_source(source):
    """The modules of one ``--claims`` source, as ``(label, module or exception)`` pairs.

    Raises
    ------
    ClaimFileError
        If ``source`` is neither an existing ``.py`` file, a directory, nor an importable module
        name (a usage error: exit 2).
    """
    text = os.fspath(source)
    if os.path.isdir(text):
        files = sorted(os.path.join(text, f) for f in os.listdir(text)
                       if f.endswith(".py") and not f.startswith("_"))
        if not files:
            raise ClaimFileError(f"--claims {text!r}: the directory holds no .py claim file")
        return [pair for f in files for pair in load_source(f)]
    if text.endswith(".py") or os.sep in text:
        if not os.path.isfile(text):
            raise ClaimFileError(f"--claims {text!r}: no such file (give a .py file, a directory of them, "
                                 "or an importable module name such as mypkg.claims)")
        try:
            return [(text, _load_file(text))]
        except Exception as exc:  # the user's code raised on import: a failed row, not a crash
            return [(text, exc)]
    try:
        spec = importlib.util.find_spec(text)
    except (ImportError, ValueError):
        spec = None
    if spec is None:
        raise ClaimFileError(f"--claims {text!r}: not a file and not an importable module (a module name "
                             "must be on sys.path; a file must end in .py)")
    try:
        return [(text, importlib.import_module(text))]
    except Exception as exc:
        return [(text, exc)]


def _builtin_modules():
    import featavg.claims as pkg

    out = []
    for info in sorted(pkgutil.iter_modules(pkg.__path__), key=lambda i: i.name):
        if info.name.startswith("_"):
            continue
        name = f"{pkg.__name__}.{info.name}"
        try:
            out.append((name, importlib.import_module(name)))
        except Exception as exc:  # pragma: no cover - a broken built-in claim is a failed row too
            out.append((name, exc))
    return out


def _build(pairs):
    """A :class:`Registry` from ``(source, module or exception, builtin)`` triples."""
    reg = Registry()
    entries = []
    for index, (source, module, builtin) in enumerate(pairs):
        if isinstance(module, BaseException):
            reg.errors.append(LoadError(source, None, f"cannot import: {_short_error(module)}"))
            continue
        try:
            entry = _entry_from_module(module, source, builtin, index)
        except ClaimDefinitionError as exc:
            reg.errors.append(LoadError(source, getattr(module, "ID", None), str(exc)))
            continue
        if any(e.id == entry.id for e in entries):
            first = next(e for e in entries if e.id == entry.id)
            reg.errors.append(LoadError(source, entry.id, f"duplicate claim id {entry.id!r}: already "
                                        f"defined by {first.source}; rename the module's ID"))
            continue
        entries.append(entry)
    entries.sort(key=lambda e: (e.order, e.id))
    reg.entries = {e.id: e for e in entries}
    return reg


@functools.lru_cache(maxsize=1)
def default_registry():
    """The built-in claims of :mod:`featavg.claims` (discovered once per process)."""
    return _build([(s, m, True) for s, m in _builtin_modules()])


def discover(sources=()):
    """The built-in claims plus those of ``sources`` (``--claims`` values), in order.

    Raises
    ------
    ClaimFileError
        For a source that names no file, directory or importable module.
    """
    if not sources:
        return default_registry()
    pairs = [(s, m, True) for s, m in _builtin_modules()]
    for src in sources:
        pairs += [(label, m, False) for label, m in load_source(src)]
    return _build(pairs)


def get_claim(claim_id, registry=None):
    """The SymPy claim ``claim_id`` (:class:`featavg.theory.Claim`); :class:`UnknownClaim` if none."""
    return (registry or default_registry()).claim(claim_id)


def all_claims(registry=None):
    """Every claim's SymPy half, in order."""
    return [e.claim() for e in (registry or default_registry())]


def claim_ids(registry=None):
    return (registry or default_registry()).ids()
