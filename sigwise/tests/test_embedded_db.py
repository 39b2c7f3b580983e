from __future__ import annotations

from pathlib import Path

import psycopg

from sigwise.embedded_db import DATABASE_NAME, embedded_database, stop_embedded_database


def test_stopping_reports_that_no_embedded_server_was_running(tmp_path: Path) -> None:
    assert stop_embedded_database(tmp_path) is False


def test_the_embedded_server_starts_with_its_database_and_stops_on_request(tmp_path: Path) -> None:
    data_dir = tmp_path / "data"
    database = embedded_database(data_dir)
    try:
        assert database["NAME"] == DATABASE_NAME
        with psycopg.connect(host=database["HOST"], user=database["USER"], dbname=database["NAME"]) as conn:
            assert conn.execute("SELECT current_database()").fetchone() == (DATABASE_NAME,)
        # A second process asking for it gets the same running server.
        assert embedded_database(data_dir)["HOST"] == database["HOST"]
    finally:
        assert stop_embedded_database(data_dir) is True
    assert not (data_dir / "pgdata" / "postmaster.pid").exists()
