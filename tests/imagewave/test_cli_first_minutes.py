"""The first ten minutes with the `imagewave` command (issue 16): version, help, one-line
errors naming the option, labelled output, stage chaining, `submit` in odd terminals and
`keys` finding the stack's embedded Redis. Real processes, real files, a real stack."""

from __future__ import annotations

import fcntl
import os
import struct
import subprocess
import sys
import termios
import time
from pathlib import Path

import numpy as np
import pretty_midi
import pytest
import soundfile as sf

from tests.conftest import Served

pytestmark = pytest.mark.slow  # every test runs the command as a process


def imagewave(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "imagewave.cli", *args], capture_output=True,
                          text=True, timeout=300, env=env)


def test_version_and_help_name_engines_plainly_with_their_defaults():
    result = imagewave("--version")
    assert result.returncode == 0 and result.stdout.startswith("imagewave "), result
    for command, expected in (("compose", ["{lite,vllm,transformers}", "{procedural,audioldm2}",
                                           "(default: 30.0)", "(default: 0)"]),
                              ("describe", ["{lite,vllm,transformers}", "(default: lite)"]),
                              ("sfx", ["(default: procedural)", "(default: 4.0)"]),
                              ("timbre", ["{dsp,rave}", "(default: dsp)"]),
                              ("serve", ["(default: 8000)", "(default: 2)"]),
                              ("submit", ["(default: http://127.0.0.1:8000)", "(default: 30)"])):
        text = imagewave(command, "--help").stdout
        assert "EngineName" not in text, (command, text)
        for piece in expected:
            assert piece in " ".join(text.split()), (command, piece, text)
    # What help shows is what the command takes.
    assert imagewave("describe", "--engine", "lite", "/nonexistent.png").returncode == 2


@pytest.mark.parametrize("args, option", [
    (["compose", "examples/seaside.jpg", "-o", "OUT", "--seconds", "0"], "--seconds"),
    (["compose", "examples/seaside.jpg", "-o", "OUT", "--seed", "-3"], "--seed"),
    (["submit", "examples/seaside.jpg", "--seconds", "1"], "--seconds"),
    (["submit", "examples/seaside.jpg", "--sfx-seconds", "99"], "--sfx-seconds"),
    (["submit", "examples/seaside.jpg", "--server", "http://127.0.0.1:8799x"], "--server"),
    (["submit", "examples/seaside.jpg", "--server", "http://127.0.0.1:9"], "--server"),
    (["render", "x.mid", "--instruments", "EMPTY", "-o", "x.wav"], "--instruments"),
])
def test_a_user_error_is_one_line_exit_2_naming_the_option(tmp_path, args, option):
    (tmp_path / "EMPTY").mkdir()
    args = [str(tmp_path / a) if a in ("OUT", "EMPTY") else a for a in args]
    result = imagewave(*args)
    assert result.returncode == 2, result
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith(f"imagewave: error: {option}"), result.stderr
    assert "Traceback" not in result.stderr and not (tmp_path / "OUT").exists()


def test_the_client_reports_a_bad_option_as_its_own_api_error():
    from imagewave.client import ApiError, Client

    with Client("http://127.0.0.1:9") as client:  # nothing listens: no request is made
        with pytest.raises(ApiError) as caught:
            client.submit(b"\x89PNG", options={"audio_length_in_s": 1})
    assert caught.value.status_code == 422
    assert caught.value.field == "options.audio_length_in_s"


def test_compose_prints_the_song_length_and_the_time_it_took_labelled(tmp_path):
    result = imagewave("compose", "examples/seaside.jpg", "-o", str(tmp_path / "song"),
                       "--seconds", "6")
    assert result.returncode == 0, result.stderr
    line = result.stdout.strip().splitlines()[-1]
    assert "length " in line and "made in " in line, line
    length_s = float(line.split("length ")[1].split(" s")[0])
    mix = sf.info(str(tmp_path / "song" / "mix.wav"))
    assert abs(length_s - mix.duration) < 0.06 and length_s >= 6, (line, mix.duration)


def test_instruments_then_render_chain_through_one_directory(tmp_path):
    rate = 48_000
    t = np.arange(int(1.5 * rate)) / rate
    voice = 0.5 * np.sin(2 * np.pi * 110 * t) * np.exp(-2 * t)
    sf.write(tmp_path / "voice.wav", voice.astype(np.float32), rate)
    result = imagewave("instruments", str(tmp_path / "voice.wav"), "--role", "bass", "-o",
                       str(tmp_path / "st" / "inst"))
    assert result.returncode == 0, result.stderr
    assert (tmp_path / "st" / "inst" / "bass" / "bass.sfz").is_file()

    midi = pretty_midi.PrettyMIDI()
    bass = pretty_midi.Instrument(program=33)
    bass.notes += [pretty_midi.Note(100, 40 + i % 5, i * 0.5, i * 0.5 + 0.4) for i in range(8)]
    midi.instruments.append(bass)
    midi.write(str(tmp_path / "song.mid"))
    result = imagewave("render", str(tmp_path / "song.mid"), "--instruments",
                       str(tmp_path / "st" / "inst"), "-o", str(tmp_path / "song.wav"))
    assert result.returncode == 0, result.stderr
    song, song_rate = sf.read(tmp_path / "song.wav")
    assert len(song) / song_rate >= 4.0 and np.abs(song).max() > 0.01


def _run_in_terminal(args: list[str], columns: int, timeout_s: float = 180) -> tuple[int, str]:
    """Run the command with stderr on a pseudo-terminal `columns` wide; (exit status, what the
    terminal got)."""
    primary, secondary = os.openpty()
    fcntl.ioctl(secondary, termios.TIOCSWINSZ, struct.pack("HHHH", 24, columns, 0, 0))
    env = {k: v for k, v in os.environ.items() if k != "COLUMNS"}
    process = subprocess.Popen([sys.executable, "-m", "imagewave.cli", *args],
                               stdout=subprocess.PIPE, stderr=secondary, env=env)
    os.close(secondary)
    received = bytearray()
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        try:
            chunk = os.read(primary, 65536)
        except OSError:  # the command closed the terminal: it ended
            break
        if not chunk:
            break
        received += chunk
    process.wait(timeout=30)
    os.close(primary)
    return process.returncode, received.decode(errors="replace")


@pytest.mark.parametrize("columns", [0, 100])
def test_submit_progress_has_no_http_log_lines_and_no_blank_lines(served: Served, tmp_path,
                                                                   photo: Path, columns: int):
    status, terminal = _run_in_terminal(
        ["submit", str(photo), "--server", served.url, "--seconds", "5", "--sfx-seconds", "1",
         "-o", str(tmp_path)], columns)
    assert status == 0, terminal
    assert "HTTP Request" not in terminal and " INFO " not in terminal, terminal
    lines = terminal.replace("\r\n", "\n").split("\n")
    assert not [line for line in lines[:-1] if not line.strip()], repr(terminal)
    if columns == 0:  # plain lines, no cursor movement of bars
        assert "[imagewave] render: succeeded" in terminal and "\x1b[A" not in terminal
    assert list(tmp_path.glob("imagewave-*.wav"))


def test_keys_finds_the_embedded_redis_of_a_running_serve(served: Served):
    data_dir = Path(served.redis_url.removeprefix("unix://")).parent.parent
    env = {k: v for k, v in os.environ.items() if k != "REDIS_URL"}
    created = imagewave("keys", "create", "first-ten-minutes", "--data-dir", str(data_dir),
                        env=env)
    assert created.returncode == 0, created.stderr
    listed = imagewave("keys", "list", env=env | {"IMAGEWAVE_DATA_DIR": str(data_dir)})
    assert listed.returncode == 0 and "first-ten-minutes" in listed.stdout, listed
    key_id = next(line.split("\t")[0] for line in listed.stdout.splitlines()
                  if "first-ten-minutes" in line)
    assert imagewave("keys", "revoke", key_id, "--data-dir", str(data_dir), env=env).returncode == 0

    nowhere = imagewave("keys", "list", env=env | {"IMAGEWAVE_DATA_DIR": str(data_dir / "no")})
    assert nowhere.returncode != 0 and "REDIS_URL" in nowhere.stderr, nowhere
