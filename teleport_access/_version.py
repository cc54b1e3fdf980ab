"""The installed version, read once from package metadata (pyproject.toml is the source)."""

from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("tpd")
except PackageNotFoundError:  # running from a source tree that was never installed
    __version__ = "0.0.0+unknown"
