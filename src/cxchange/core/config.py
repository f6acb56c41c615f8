"""Settings from the environment (CXCHANGE_*), overridable per command with --db."""

from __future__ import annotations

from functools import lru_cache

from pydantic_settings import BaseSettings, SettingsConfigDict


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="CXCHANGE_", extra="ignore")

    database_url: str = "sqlite:///cxchange.db"
    # Rows handed to the database per executemany / COPY round trip: large enough to amortise the
    # round trip, small enough to keep memory flat.
    import_chunk_rows: int = 50_000
    min_n: int = 30
    # Score SQLite feedback from a Parquet copy kept beside the database file (measure/columnar.py).
    columnar: bool = True
    # Dask scheduler address for `cxchange analyze` (empty: run in this process or a LocalCluster).
    dask_scheduler: str | None = None
    # Comments per analysis partition (one Dask task, one database write).
    analyze_partition_rows: int = 5_000


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    return Settings()
