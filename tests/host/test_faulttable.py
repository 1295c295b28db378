"""The fault table: rows recorded by tests, rendered to build/faults.md at a session's end,
copied to docs/faults.md only by `make faults-doc`."""

import pytest

from camdiag_host import faulttable


@pytest.fixture
def table(tmp_path, monkeypatch):
    monkeypatch.setattr(faulttable, "ROOT", tmp_path)
    monkeypatch.setattr(faulttable, "ROWS", tmp_path / "build" / "faults")
    monkeypatch.setattr(faulttable, "BUILT", tmp_path / "build" / "faults.md")
    monkeypatch.setattr(faulttable, "DOC", tmp_path / "docs" / "faults.md")
    return tmp_path


def test_a_session_end_writes_under_build_only(table):
    faulttable.record("serial", "wrong port", "exit 2: no such port /dev/pts/7")
    assert faulttable.write_built()
    built = (table / "build" / "faults.md").read_text()
    assert "| serial | wrong port | exit 2: no such port <port> |" in built
    assert not (table / "docs").exists()


def test_faults_doc_copies_the_table_and_says_so(table, capsys):
    faulttable.record("flash files", "b", "two")
    faulttable.record("flash files", "a", "one")
    assert faulttable.main() == 0
    doc = (table / "docs" / "faults.md").read_text()
    assert doc.index("| a | one |") < doc.index("| b | two |")  # sorted, not by run order
    assert "2 rows, updated" in capsys.readouterr().out
    assert faulttable.main() == 0
    assert "unchanged" in capsys.readouterr().out


def test_faults_doc_without_rows_is_a_one_line_error(table, capsys):
    assert faulttable.main() == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and "make test" in err
    assert not (table / "docs").exists()
