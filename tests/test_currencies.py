"""The CLDR symbol table is made once per machine and kept under KB_HOME; a damaged copy is made again."""

from __future__ import annotations

import json

from pipeline import currencies


def _cache_files(home):
    return sorted((home / "cache").glob("currency-symbols-*.json"))


def test_the_symbol_table_is_kept_under_kb_home_and_read_back(monkeypatch, tmp_path):
    monkeypatch.setenv("KB_HOME", str(tmp_path))
    made = currencies._local_symbols()
    [kept] = _cache_files(tmp_path)
    assert {"SEK", "NOK", "DKK"} <= made["kr"]
    kept.write_text(json.dumps({"kr": ["SEK"]}), "utf-8")  # what is read is the file, not a new table
    assert currencies._local_symbols() == {"kr": {"SEK"}}


def test_a_damaged_table_file_is_made_again(monkeypatch, tmp_path):
    monkeypatch.setenv("KB_HOME", str(tmp_path))
    currencies._local_symbols()
    [kept] = _cache_files(tmp_path)
    kept.write_text("{not json", "utf-8")
    assert "Kč" in currencies._local_symbols()
    assert "Kč" in json.loads(kept.read_text("utf-8"))
