"""paperdb: turn Hugging Face "Daily Papers" listing dumps into one searchable SQLite file."""


def __getattr__(name):
    # Looked up on first use, not at import: `import paperdb` stays instant, which keeps the
    # window in which Ctrl-C can interrupt an import before the command handles it small.
    if name == "__version__":
        from importlib.metadata import PackageNotFoundError, version

        try:
            found = version("paperdb")
        except PackageNotFoundError:  # running from a checkout without installing
            found = "0.0.0+checkout"
        globals()["__version__"] = found
        return found
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
