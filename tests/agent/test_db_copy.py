"""`db copy` when the target loses rows: the row-count check catches it, names the table and
exits non-zero. The loss is real: a PostgreSQL rule that silently drops some inserts."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy import create_engine, insert, text

from agent.cli import main
from agent.storage.db import normalise_url
from agent.storage.models import Equipment
from tests.conftest import require_postgres
from tests.support.db import migrate, postgres_schema

pytestmark = pytest.mark.postgres


def test_a_row_count_mismatch_fails_the_copy_and_names_the_table(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    require_postgres()
    source = tmp_path / "facility.db"
    engine = create_engine(migrate(f"sqlite:///{source}"))
    now = datetime(2026, 12, 1, tzinfo=UTC)
    with engine.begin() as conn:
        conn.execute(insert(Equipment), [{"id": i, "name": i, "kind": "fridge", "updated_at": now} for i in "abc"])
    engine.dispose()
    with postgres_schema() as url:
        target = create_engine(normalise_url(migrate(url)))
        with target.begin() as conn:
            conn.execute(text("CREATE RULE lose_b AS ON INSERT TO equipment WHERE NEW.id = 'b' DO INSTEAD NOTHING"))
        target.dispose()

        assert main(["db", "copy", "--from", str(source), "--to", url]) == 1
        err = capsys.readouterr().err
        assert "row counts differ" in err and "equipment: 3 in the source, 2 in the target" in err, err
