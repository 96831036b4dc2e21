from __future__ import annotations

from pathlib import Path

import pytest

from voicebot.config import ConfigError, load_config


def test_flags_beat_environment_beat_file_beat_defaults(tmp_path: Path) -> None:
    path = tmp_path / "hotline.toml"
    path.write_text('[hotline]\nport = 5070\nmax_calls = 2\nasr_model = "base"\n')
    env = {"VOICEBOT_PORT": "5080", "VOICEBOT_TRANSPORTS": "udp"}
    config = load_config(path, {"port": 5090, "extension": None}, environ=env)
    assert config.port == 5090  # flag
    assert config.transports == ("udp",)  # environment
    assert config.max_calls == 2 and config.asr_model == "base"  # file
    assert config.extension == "hotline"  # default (a flag left unset does not count)


@pytest.mark.parametrize(("text", "message"), [
    ("prot = 5060\n", "unknown settings.*prot"),
    ("max_calls = 9\n", r"1\.\.4 per process"),
    ("port = 'five'\n", "setting port"),
    ("codecs = ['G729']\n", "codec 'G729'"),
    ("port = [\n", "cannot read config file"),
    ("turn_end = 'vibes'\n", "turn_end must be semantic or silence"),
    ("asr_window = 'half'\n", "asr_window must be fit or full"),
    ("min_confidence = 1.5\n", r"min_confidence must be 0\.\.1"),
    ("front_end = 'dc,echo'\n", "front_end stage 'echo' is unknown"),
    ("dsp_backend = 'gpu'\n", "dsp_backend must be one of auto, numpy, cpu, cuda"),
])
def test_bad_settings_name_the_problem(tmp_path: Path, text: str, message: str) -> None:
    path = tmp_path / "bad.toml"
    path.write_text(text)
    with pytest.raises(ConfigError, match=message):
        load_config(path, environ={})
