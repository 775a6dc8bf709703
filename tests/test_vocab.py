"""The vocabulary files: validated when loaded (errors name the file and the entry), extendable from a user
folder, and part of the extractor version, so a changed word list re-extracts stored documents."""

from __future__ import annotations

import re
import shutil

import pytest

from flows.ingest import Runtime, run_sources
from pipeline import vocab
from pipeline.errors import VocabularyError
from pipeline.extract import extractor_fingerprint
from pipeline.vocab import BUILT_IN, load_vocabulary


@pytest.fixture
def folder(tmp_path):
    """A copy of the built-in vocabulary to break."""
    return shutil.copytree(BUILT_IN, tmp_path / "vocabulary")


@pytest.fixture
def fresh_vocabulary():
    """The process's vocabulary is read again from the environment, and restored afterwards."""
    vocab.vocabulary.cache_clear()
    yield
    vocab.vocabulary.cache_clear()


def _replace(path, old: str, new: str) -> None:
    text = path.read_text(encoding="utf-8")
    assert old in text
    path.write_text(text.replace(old, new, 1), encoding="utf-8")


def test_the_built_in_vocabulary_is_valid_and_its_hash_depends_on_its_content(folder):
    assert load_vocabulary().digest == load_vocabulary(folder).digest
    _replace(folder / "skills.toml", '"Julia",', '"Julia", "Zig",')
    assert "Zig" in load_vocabulary(folder).skills.category()
    assert load_vocabulary(folder).digest != load_vocabulary().digest


@pytest.mark.parametrize(
    "file, old, new, entry",
    [
        ("skills.toml", '"k8s" = "Kubernetes"', '"k8s" = "Kubernetis"', "'Kubernetis': not a skill"),
        ("skills.toml", "soft = [", "people = [", "'people': not a skill category"),
        ("cues.toml", "'^\\s*SYSTEM\\s*:'", "'SYSTEM ('", "steering.2: Value error, not a valid regular expression"),
        ("currencies.toml", '"€" = "EUR"', '"€" = "Euro"', "markers.€: Value error, 'Euro' is not an ISO 4217"),
        ("multipliers.toml", "K = 1e3", "K = 1e4", "'K' is worth 10000.0 here and 1000.0 elsewhere"),
        ("multipliers.toml", 'units = ["k",', 'units = ["grand",', "'grand': not a multiplier (in lower case)"),
        ("multipliers.toml", "digits = [2, 3]", "digits = [0, 3]", "shorthand.digits.0: Input should be greater"),
        ("multipliers.toml", "digits = [2, 3]", "digits = [3, 2]", "digits [3, 2]: the fewest must come first"),
        ("multipliers.toml", "words = ['TC',", "phrases = ['TC',", "shorthand.words: Field required"),
        ("levels.toml", 'name = "junior"', 'name = "novice"', "'novice': not a level"),
        ("cues.toml", 'kind = "change"', 'kind = "delta"', "'delta': not a figure kind"),
        ("thresholds.toml", "lookback_chars = 60", "lookback_chars = 0", "lookback_chars: Input should be greater"),
        ("periods.toml", "units = [", "unit_words = [", "unit_words: Extra inputs are not permitted"),
        ("certifications.toml", 'names = ["Huawei"]', 'needs = ["Huawei"]', "family 'Huawei' lists no names"),
        ("claims.toml", 'name = "other"', 'name = "misc"', "the metrics must include 'other'"),
        ("claims.toml", 'name = "job_growth"', 'name = "salary_growth"', "'salary_growth': listed as a metric more"),
        ("claims.toml", 'unit = "multiple"', 'unit = "fold"', "'fold': not a unit listed under [units]"),
        ("claims.toml", "'(?P<who>an? ", "'(?P<source>an? ", "not a pattern with a (?P<who>...) group"),
    ],
)
def test_a_bad_entry_fails_naming_the_file_and_the_entry(folder, file, old, new, entry):
    _replace(folder / file, old, new)
    with pytest.raises(VocabularyError) as caught:
        load_vocabulary(folder)
    assert file in str(caught.value) and entry in str(caught.value)


def test_a_file_that_is_not_toml_fails_naming_it(folder):
    (folder / "regions.toml").write_text("[regions\nUS = 1", encoding="utf-8")
    with pytest.raises(VocabularyError, match="regions.toml.*cannot read it"):
        load_vocabulary(folder)


def test_a_user_folder_adds_entries_to_the_built_in_ones(tmp_path):
    extra = tmp_path / "mine"
    extra.mkdir()
    (extra / "skills.toml").write_text('[skills]\ntool = ["dbt"]\n[aliases]\n"data build tool" = "dbt"\n')
    (extra / "certifications.toml").write_text('[[certification]]\nname = "Databricks Certified ML Associate"\n')
    words = load_vocabulary(BUILT_IN, extra)
    assert words.skills.category()["dbt"] == "tool" and words.skills.category()["Python"] == "language"
    assert words.skills.aliases["data build tool"] == "dbt" and words.skills.aliases["rag"]
    names = [c.name for c in words.certifications.certification]
    assert names[-1] == "Databricks Certified ML Associate" and len(names) > 1
    with pytest.raises(VocabularyError, match="not a folder"):
        load_vocabulary(BUILT_IN, tmp_path / "missing")


def test_a_changed_word_list_re_extracts_a_stored_document_on_the_next_run(
    settings, llm_env, tmp_path, monkeypatch, fresh_vocabulary
):
    page = tmp_path / "notes.md"
    page.write_text("# Pay\nJunior engineers earn $80,000 to $95,000 a year.\n", encoding="utf-8")
    run_sources([str(page)], Runtime.create(settings), "test")
    calls, before = llm_env.count, extractor_fingerprint("m")
    assert run_sources([str(page)], Runtime.create(settings), "test").outcomes[0].status == "unchanged"
    extra = tmp_path / "mine"
    extra.mkdir()
    (extra / "skills.toml").write_text('[skills]\ntool = ["dbt"]\n', encoding="utf-8")
    monkeypatch.setenv(vocab.EXTRA_ENV, str(extra))
    vocab.vocabulary.cache_clear()
    assert extractor_fingerprint("m") != before
    again = run_sources([str(page)], Runtime.create(settings), "test").outcomes[0]
    assert again.status == "ok" and llm_env.count > calls


def test_the_readme_examples_of_a_user_folder_load(tmp_path):
    readme = (BUILT_IN.parent.parent / "README.md").read_text(encoding="utf-8")
    blocks = re.findall(r"```toml\n# \$KB_VOCABULARY_DIR/(\w+\.toml)\n(.*?)```", readme, re.S)
    assert {name for name, _ in blocks} == {"skills.toml", "certifications.toml"}
    for name, body in blocks:
        (tmp_path / name).write_text(body, encoding="utf-8")
    words = load_vocabulary(BUILT_IN, tmp_path)
    assert words.skills.aliases["data build tool"] == "dbt"
    assert words.certifications.certification[-1].aliases == ["Databricks ML Associate"]


def test_kb_stops_with_one_clear_message_on_a_bad_user_vocabulary(tmp_path, monkeypatch, fresh_vocabulary):
    from click.testing import CliRunner

    from pipeline.cli import main

    (tmp_path / "skills.toml").write_text('[skills]\nhobbies = ["chess"]\n', encoding="utf-8")
    monkeypatch.setenv(vocab.EXTRA_ENV, str(tmp_path))
    result = CliRunner().invoke(main, ["query", "select 1", "--db", str(tmp_path / "kb.sqlite")])
    assert result.exit_code == 1
    assert "skills.toml" in result.output and "'hobbies': not a skill category" in result.output
