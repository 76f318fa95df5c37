"""paperdb: turn Hugging Face "Daily Papers" listing dumps into one searchable SQLite file.

The library, in three calls (each raises a PaperdbError subclass on bad input):

    import paperdb
    result = paperdb.build(["data/seeds"], "papers.db")    # a BuildResult
    hits = paperdb.search(paperdb.open_database("papers.db"), "state space models")  # [Hit]
    problems = paperdb.check("papers.db")                   # [] when healthy

Every name is looked up on first use, not at import: `import paperdb` stays instant, which
keeps the window in which Ctrl-C can interrupt an import before the command handles it small
(console.py), and imports neither click nor sqlite-utils.

`build`, `search` and `check` are also the names of submodules, and Python binds a loaded
submodule on its package under its name. So `paperdb.build` is the module paperdb/build.py,
made callable as its main function: `paperdb.build(...)` calls `paperdb.build.build(...)`,
while `import paperdb.build`, `paperdb.build.BuildResult` and monkeypatching its globals
keep working as for any module.
"""

import sys
import types

# name -> (submodule, attribute) of everything `import paperdb` offers
_EXPORTS = {
    "BuildResult": ("build", "BuildResult"),
    "BuildWarning": ("build", "BuildWarning"),
    "Hit": ("search", "Hit"),
    "open_database": ("database", "open_database"),
    "PaperdbError": ("errors", "PaperdbError"),
    "InputError": ("errors", "InputError"),
    "BuildError": ("errors", "BuildError"),
    "DatabaseError": ("errors", "DatabaseError"),
    "SearchError": ("errors", "SearchError"),
    "TaxonomyError": ("errors", "TaxonomyError"),
    "ServeError": ("errors", "ServeError"),
}
# submodule -> the function it is called as
_CALLABLE = {"build": "build", "search": "search", "check": "check_database"}

__all__ = ["build", "search", "check", *_EXPORTS]


class _CallableModule(types.ModuleType):
    """A submodule that can be called as its main function."""

    def __call__(self, *args, **kwargs):
        return self.__wrapped__(*args, **kwargs)

    @property
    def __wrapped__(self):
        # Looked up on each call, so a monkeypatched function is the one called; also what
        # inspect.signature() and help tools follow to show the function's parameters.
        return getattr(self, _CALLABLE[self.__name__.rpartition(".")[2]])


class _Package(types.ModuleType):
    def __setattr__(self, name, value):
        # The import system binds each submodule here once it is loaded, however it was
        # imported (`import paperdb.build`, `from .build import build`, ...).
        if name in _CALLABLE and type(value) is types.ModuleType:
            value.__class__ = _CallableModule
        super().__setattr__(name, value)


sys.modules[__name__].__class__ = _Package


def __getattr__(name):
    import importlib

    if name in _CALLABLE:
        module = importlib.import_module(f"{__name__}.{name}")
        setattr(sys.modules[__name__], name, module)  # as the import does on first load
        return module
    if name in _EXPORTS:
        module, attribute = _EXPORTS[name]
        value = getattr(importlib.import_module(f"{__name__}.{module}"), attribute)
        globals()[name] = value
        return value
    if name == "__version__":
        from importlib.metadata import PackageNotFoundError, version

        try:
            found = version("paperdb")
        except PackageNotFoundError:  # running from a checkout without installing
            found = "0.0.0+checkout"
        globals()["__version__"] = found
        return found
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def __dir__():
    return sorted({*globals(), *__all__, "__version__"})
