"""`chimera up` as a new user runs it: one command, the default SQLite data dir, Ctrl-C to stop."""

from __future__ import annotations

import asyncio
import contextlib
import os
import re
import signal
import sys
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from services.common.net import free_port, http_ok
from tests.support.client import Api, Member, auth, resume

pytestmark = pytest.mark.e2e

CHIMERA = Path(sys.executable).parent / "chimera"
START_TIMEOUT_S = 60.0
STOP_TIMEOUT_S = 30.0
URL_LINE = re.compile(r"Chimera is up: (http://\S+)")
SERVING_LINE = re.compile(r"chimera\.up: (.+?) is serving \(pid (\d+)\)")


class ChimeraUp:
    """`chimera up` in its own process group (as a terminal runs it), its output recorded."""

    def __init__(self, data_dir: Path, port: int) -> None:
        self.data_dir = data_dir
        self.port = port
        self.process: asyncio.subprocess.Process | None = None
        self.lines: list[str] = []
        self._changed = asyncio.Event()
        self._reader: asyncio.Task[None] | None = None
        self._exited: asyncio.Task[int] | None = None

    async def start(self) -> str:
        """Run `chimera up`; return the URL it prints once /readyz answers 200."""
        # A new user's environment: nothing configured, so the default SQLite store is used.
        env = {k: v for k, v in os.environ.items() if not k.startswith("CHIMERA_")}
        env["PYTHONUNBUFFERED"] = "1"
        # Except models: no weights or provider can be reached from tests, so none are listed.
        models = self.data_dir.parent / "models.toml"
        models.write_text("models = []\n")
        env["CHIMERA_MODELS"] = str(models)
        self.process = await asyncio.create_subprocess_exec(
            str(CHIMERA),
            "up",
            "--port",
            str(self.port),
            "--data-dir",
            str(self.data_dir),
            env=env,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.STDOUT,
            start_new_session=True,
        )
        self._reader = asyncio.create_task(self._read(self.process))
        self._exited = asyncio.create_task(self.process.wait())
        url = (await self.wait_for_line(URL_LINE, timeout=START_TIMEOUT_S)).group(1)
        await wait_ready(url)
        return url

    async def _read(self, process: asyncio.subprocess.Process) -> None:
        assert process.stdout is not None
        async for raw in process.stdout:
            self.lines.append(raw.decode(errors="replace").rstrip("\n"))
            self._changed.set()

    async def wait_for_line(
        self, pattern: re.Pattern[str], start: int = 0, timeout: float = START_TIMEOUT_S
    ) -> re.Match[str]:
        """The first output line (from index `start`) matching `pattern`, waiting if needed."""
        assert self._exited is not None
        async with asyncio.timeout(timeout):
            index = start
            while True:
                while index < len(self.lines):
                    if match := pattern.search(self.lines[index]):
                        return match
                    index += 1
                if self._exited.done():
                    raise AssertionError(
                        f"chimera up exited {self._exited.result()}:\n{self.log()}"
                    )
                self._changed.clear()
                changed = asyncio.ensure_future(self._changed.wait())
                try:
                    await asyncio.wait({changed, self._exited}, return_when=asyncio.FIRST_COMPLETED)
                finally:
                    changed.cancel()

    def child_pids(self) -> dict[str, int]:
        """The newest pid of each child, as `chimera up` reported it."""
        return {
            m.group(1): int(m.group(2)) for line in self.lines if (m := SERVING_LINE.search(line))
        }

    def all_child_pids(self) -> set[int]:
        """Every pid `chimera up` ever reported for a child (restarts included)."""
        return {int(m.group(2)) for line in self.lines if (m := SERVING_LINE.search(line))}

    async def stop(self, sig: int) -> int:
        """Send `sig` to the process group, as a terminal's Ctrl-C does; return the exit code."""
        assert self.process is not None
        os.killpg(self.process.pid, sig)
        async with asyncio.timeout(STOP_TIMEOUT_S):
            code = await self.process.wait()
        return code

    async def close(self) -> None:
        """Make sure nothing is left behind, whatever the test did."""
        if self.process is not None and self.process.returncode is None:
            self.process.kill()
            await self.process.wait()
        for pid in self.all_child_pids():
            if running(pid):
                with contextlib.suppress(ProcessLookupError):
                    os.kill(pid, signal.SIGKILL)
        for task in (self._reader, self._exited):
            if task is not None:
                task.cancel()
                await asyncio.gather(task, return_exceptions=True)

    def log(self) -> str:
        return "\n".join(self.lines)


def running(pid: int) -> bool:
    """True while `pid` is a live process (a zombie counts as gone)."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except (FileNotFoundError, ProcessLookupError):
        return False
    return stat.rsplit(")", 1)[1].split()[0] != "Z"


async def wait_ready(url: str, timeout: float = START_TIMEOUT_S) -> None:
    """Wait until GET /readyz answers 200."""
    async with asyncio.timeout(timeout):
        while True:
            if await http_ok(f"{url}/readyz"):
                return
            await asyncio.sleep(0.1)  # an HTTP probe: nothing to wait on but the next try


@pytest.fixture
async def up(tmp_path: Path) -> AsyncIterator[ChimeraUp]:
    """A `chimera up` on a fresh data dir and a free port (not started yet)."""
    chimera = ChimeraUp(tmp_path / "data", free_port("127.0.0.1"))
    try:
        yield chimera
    except BaseException:
        print(chimera.log())
        raise
    finally:
        await chimera.close()


def ws_url(base_url: str, room_id: str) -> str:
    return f"{base_url.replace('http://', 'ws://', 1)}/ws/room/{room_id}"


async def stop_cleanly(up: ChimeraUp, sig: int) -> None:
    """`sig` stops the whole stack: exit 0, every child stopped by it, none left running."""
    children = up.all_child_pids()
    assert {"room service", "gateway"} <= set(up.child_pids())
    assert await up.stop(sig) == 0, up.log()
    assert [pid for pid in children if running(pid)] == []
    assert not any("killing it" in line for line in up.lines), up.log()


async def test_up_serves_stops_on_sigterm_and_ctrl_c_and_keeps_everything(up: ChimeraUp) -> None:
    url = await up.start()
    api = Api(url)
    try:
        ana, ana_token = await api.session("Ana")
        _, ben_token = await api.session("Ben")
        room = await api.create_room(ana_token, "General")
        ana_ws = Member(ws_url(url, room["id"]), ana_token)
        ben_ws = Member(ws_url(url, room["id"]), ben_token)
        await ana_ws.connect()
        await ben_ws.connect()

        await ana_ws.send({"type": "send", "content": "hi over WebSocket", "client_msg_id": "a1"})
        ack = await ana_ws.wait_for(lambda f: f["type"] == "ack")
        seen = await ben_ws.wait_for(lambda f: f["type"] == "message")
        assert seen["message"]["id"] == ack["message_id"]
        assert seen["message"]["content"] == "hi over WebSocket"

        posted = await api.http.post(
            f"/api/rooms/{room['id']}/messages",
            json={"content": "hi over REST"},
            headers=auth(ben_token),
        )
        assert posted.status_code == 201, posted.text
        live = await ana_ws.wait_for(lambda f: f["type"] == "message" and f["message"]["seq"] == 2)
        assert live["message"] == posted.json()
        before = await api.all_messages(ana_token, room["id"])
        assert [(m["seq"], m["content"]) for m in before] == [
            (1, "hi over WebSocket"),
            (2, "hi over REST"),
        ]

        await stop_cleanly(up, signal.SIGTERM)
        # Members still connected are told to come back (1012: service restart), not left hanging.
        assert await ana_ws.wait_closed() == 1012
        assert await ben_ws.wait_closed() == 1012
    finally:
        await api.close()

    restarted = ChimeraUp(up.data_dir, up.port)
    try:
        assert await restarted.start() == url
        api = Api(url)
        try:
            # The token issued before the restart still signs Ana in.
            rooms = (await api.http.get("/api/rooms", headers=auth(ana_token))).json()["rooms"]
            assert [r["id"] for r in rooms] == [room["id"]]
            assert await api.all_messages(ana_token, room["id"]) == before

            ana_ws = Member(ws_url(url, room["id"]), ana_token)
            welcome = await ana_ws.connect(last_seq=0)
            assert welcome["resumed"] is True and welcome["user"]["id"] == ana["id"]
            await ana_ws.wait_until(lambda: len(ana_ws.messages()) == len(before))
            assert ana_ws.messages() == before
            await ana_ws.send({"type": "send", "content": "still here", "client_msg_id": "a2"})
            ack = await ana_ws.wait_for(lambda f: f["type"] == "ack" and f["client_msg_id"] == "a2")
            assert ack["seq"] == 3 and ack["duplicate"] is False
            # The client_msg_id sent before the restart is still remembered: no second copy.
            await ana_ws.send({"type": "send", "content": "again", "client_msg_id": "a1"})
            dup = await ana_ws.wait_for(lambda f: f["type"] == "ack" and f["client_msg_id"] == "a1")
            assert dup["message_id"] == before[0]["id"] and dup["duplicate"] is True
            await ana_ws.close()
            assert [m["seq"] for m in await api.all_messages(ana_token, room["id"])] == [1, 2, 3]
        finally:
            await api.close()
        await stop_cleanly(restarted, signal.SIGINT)
    except BaseException:
        print(restarted.log())
        raise
    finally:
        await restarted.close()


async def kill_and_wait_for_restart(up: ChimeraUp, child: str) -> None:
    """kill -9 one child; `chimera up` must say so and start a new one that serves."""
    dead = up.child_pids()[child]
    mark = len(up.lines)
    os.kill(dead, signal.SIGKILL)
    await up.wait_for_line(re.compile(rf"{child} exited unexpectedly with code -9"), start=mark)
    restarted = await up.wait_for_line(re.compile(rf"{child} is serving \(pid (\d+)\)"), start=mark)
    assert int(restarted.group(1)) != dead
    assert running(int(restarted.group(1)))


async def test_up_reports_and_restarts_a_child_that_dies(up: ChimeraUp) -> None:
    url = await up.start()
    api = Api(url)
    try:
        _, token = await api.session("Ana")
        room = await api.create_room(token, "General")
        member = Member(ws_url(url, room["id"]), token)
        await member.connect()

        async def say(cmid: str) -> dict[str, Any]:
            await member.send({"type": "send", "content": cmid, "client_msg_id": cmid})
            return await member.wait_for(
                lambda f: f["type"] == "ack" and f["client_msg_id"] == cmid
            )

        await say("before-1")
        await say("before-2")

        await kill_and_wait_for_restart(up, "room service")
        await wait_ready(url)
        # The member's socket stayed open across the room service's restart and still works.
        assert (await say("after-room"))["seq"] == 3

        await kill_and_wait_for_restart(up, "gateway")
        await wait_ready(url)
        # Its socket died with the gateway; it resumes from what it had seen, token still valid.
        await member.wait_closed()
        assert (await resume(member, last_seq=member.last_seq()))["resumed"] is True
        assert (await say("after-gateway"))["seq"] == 4

        history = await api.all_messages(token, room["id"])
        assert [m["content"] for m in history] == [
            "before-1",
            "before-2",
            "after-room",
            "after-gateway",
        ]
        assert member.messages() == history
        await member.close()
    finally:
        await api.close()
    await stop_cleanly(up, signal.SIGTERM)
