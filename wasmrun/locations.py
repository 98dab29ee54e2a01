"""Where wasmrun keeps its files: platformdirs locations, or all under ``WASMRUN_HOME``.

Kept free of heavy imports: ``--version`` and ``--help`` pass through here.
"""

from __future__ import annotations

import os
from pathlib import Path

APP_NAME = "wasmrun"


class Locations:
    """wasmrun's directories. None is created until something is written there. (A plain class:
    the typer-free road to a cached build passes here and imports no typing.)"""

    __slots__ = ("cache_dir", "config_dir", "data_dir", "state_dir")

    def __init__(self, config_dir: Path, data_dir: Path, cache_dir: Path, state_dir: Path) -> None:
        self.config_dir = config_dir  # config.toml
        self.data_dir = data_dir  # installed plugins
        self.cache_dir = cache_dir  # build cache, compiled modules
        self.state_dir = state_dir  # records of running dev servers

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Locations) and self.as_dict() == other.as_dict()

    def __hash__(self) -> int:
        return hash(tuple(self.as_dict().values()))

    def __repr__(self) -> str:
        return (f"Locations(config_dir={self.config_dir!r}, data_dir={self.data_dir!r}, "
                f"cache_dir={self.cache_dir!r}, state_dir={self.state_dir!r})")

    @property
    def config_file(self) -> Path:
        return self.config_dir / "config.toml"

    @property
    def plugins_dir(self) -> Path:
        return self.data_dir / "plugins"

    @classmethod
    def from_environment(cls, environ: dict[str, str] | None = None) -> Locations:
        """``WASMRUN_HOME`` moves everything under one directory; otherwise platformdirs decides."""
        env = os.environ if environ is None else environ
        home = env.get("WASMRUN_HOME")
        if home:
            root = Path(home).expanduser().absolute()
            return cls(root / "config", root / "data", root / "cache", root / "state")
        import platformdirs

        dirs = platformdirs.PlatformDirs(APP_NAME, appauthor=False)
        return cls(
            Path(dirs.user_config_dir),
            Path(dirs.user_data_dir),
            Path(dirs.user_cache_dir),
            Path(dirs.user_state_dir),
        )

    def as_dict(self) -> dict[str, str]:
        return {
            "config_file": str(self.config_file),
            "config_dir": str(self.config_dir),
            "data_dir": str(self.data_dir),
            "plugins_dir": str(self.plugins_dir),
            "cache_dir": str(self.cache_dir),
            "state_dir": str(self.state_dir),
        }
