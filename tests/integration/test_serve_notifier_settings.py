"""``motcua serve`` runs the dispatcher in a thread: a notifier setting that cannot work stops the command before it
serves, as it stops ``motcua worker`` — the thread died building its notifier, and the server answered requests
while no timer fired and no notice left, a traceback on its standard error the only sign."""

from __future__ import annotations

import contextlib
import os
import queue
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from tests.servers import free_port

MOTCUA = [sys.executable, "-c", "from motcua.entrypoints.cli.main import main; main()"]


@pytest.mark.parametrize(("settings", "variable"), [
    ({"MOTCUA_SMTP_HOST": "127.0.0.1", "MOTCUA_SMTP_PORT": "hai mươi lăm"}, "MOTCUA_SMTP_PORT"),
    ({"MOTCUA_SMTP_HOST": "127.0.0.1", "MOTCUA_SMTP_STARTTLS": "yes"}, "MOTCUA_SMTP_STARTTLS"),
    ({"MOTCUA_WEBHOOK_URL": "one-stop.example.vn/hook", "MOTCUA_WEBHOOK_SECRET": "khoa-bi-mat"}, "MOTCUA_WEBHOOK_URL"),
], ids=["port", "starttls", "webhook-url"])
def test_serve_refuses_to_start_on_a_notifier_setting_that_cannot_work(
    tmp_path: Path, settings: dict[str, str], variable: str
) -> None:
    env = {**{k: v for k, v in os.environ.items() if not k.startswith("MOTCUA_")}, **settings}
    command = [*MOTCUA, "serve", "--db", f"sqlite:///{tmp_path / 'motcua.db'}", "--port", str(free_port())]
    process = subprocess.Popen(command, cwd=tmp_path, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    try:
        _, stderr = process.communicate(timeout=20)
    except subprocess.TimeoutExpired:
        process.kill()
        _, stderr = process.communicate()
        pytest.fail(f"the server started: {stderr.decode('utf-8', 'replace')[-800:]}")
    text = stderr.decode("utf-8", "replace")
    assert process.returncode == 2, text[-800:]
    assert f"error: {variable}" in text, text[-800:]
    assert "Traceback" not in text


def test_serve_says_when_its_broker_does_not_answer(tmp_path: Path) -> None:
    """``motcua serve --broker`` dispatching to a Redis that does not answer logs it (``dispatch.send_failed``), as
    ``motcua worker`` does; before, its dispatcher had no one to tell, and it was silent while no timer was sent."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("MOTCUA_")}
    command = [*MOTCUA, "serve", "--db", f"sqlite:///{tmp_path / 'motcua.db'}", "--port", str(free_port()),
               "--broker", f"redis://127.0.0.1:{free_port()}/0"]
    process = subprocess.Popen(command, cwd=tmp_path, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    assert process.stdout is not None
    lines: queue.Queue[bytes] = queue.Queue()
    reader = threading.Thread(target=lambda: [lines.put(line) for line in process.stdout or ()], daemon=True)
    reader.start()
    seen: list[bytes] = []
    deadline = time.monotonic() + 90  # a loaded CI machine starts Python slowly: wait for the line, not a fixed time
    try:
        while not any(b"dispatch.send_failed" in line for line in seen) and time.monotonic() < deadline:
            with contextlib.suppress(queue.Empty):
                seen.append(lines.get(timeout=0.5))
            if process.poll() is not None and not reader.is_alive() and lines.empty():
                break  # the process ended and every line it wrote was read
    finally:
        process.terminate()
        process.wait(timeout=20)
        reader.join(timeout=20)  # the pipe ends with the process
        process.stdout.close()
    while not lines.empty():  # what it wrote last, before it ended
        seen.append(lines.get_nowait())
    output = b"".join(seen)
    assert b"dispatch.send_failed" in output, output[-800:]
