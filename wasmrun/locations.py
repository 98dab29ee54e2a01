"""Where wasmrun keeps its files: platformdirs locations, or all under ``WASMRUN_HOME``.

Kept free of heavy imports: ``--version`` and ``--help`` pass through here.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import NamedTuple

APP_NAME = "wasmrun"


class Locations(NamedTuple):
    """wasmrun's directories. None is created until something is written there."""

    config_dir: Path  # config.toml
    data_dir: Path  # installed plugins
    cache_dir: Path  # build cache, compiled modules
    state_dir: Path  # records of running dev servers

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
