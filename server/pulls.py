"""The pulls of one server process: one pull to Ollama per model however many calls ask for it
(single flight), each run in the lifespan's task group rather than in the call that started it,
so a background pull outlives its call and its client, and the server's shutdown ends it.

Who stops a pull:
* `cancel_pull`, always;
* the server's shutdown, always (recorded as cancelled, and written down);
* a foreground caller that cancels its call, only when no one else is on that pull: no other
  foreground caller still waiting, and no `background` request (which pins the pull until it
  ends). A caller that shares a pull just stops following it.

Each change of phase (started, verifying, ended) is told to clients as an update of
`ollama://pulls`; a success also as a change of the model list.

With replicas (`--state-url`), one pull per model runs in all the replicas and records live in
Redis (`server.replicas.pulls`): a replica asked for a model another replica is pulling follows
that pull's record (a "remote" pull here) instead of asking Ollama.
"""

from __future__ import annotations

import logging
import time
import uuid
from collections import deque
from collections.abc import AsyncGenerator, AsyncIterator, Awaitable, Callable
from contextlib import aclosing, asynccontextmanager

import anyio
from anyio.abc import TaskGroup
from mcp.server.mcpserver.exceptions import ToolError

from server.errors import error_text
from server.notifications import MODELS_URI, PULLS_URI, STATUS_URI, Broadcast, model_uri
from server.progress import LayeredTotals, ProgressReporter, heartbeat, human_bytes
from server.pull_records import IN_FLIGHT, PullHistory, PullRecord, PullState, now
from server.replicas.pulls import SharedPulls
from server.tools_api import ProgressResponse, SharedStateUnavailable, parse_model_name

OpenStream = Callable[[str, bool], AsyncGenerator[ProgressResponse]]
OnEnd = Callable[[str], Awaitable[None]]

RATE_WINDOW = 10.0  # seconds of progress the rate is measured over
ENDING_TIMEOUT = 10.0  # seconds to write down and announce a pull's end
VERIFYING_LINES = ("verifying", "writing manifest", "removing unused layers")
CANCELLED_BY_TOOL = "cancelled with cancel_pull"
CANCELLED_BY_CALLER = "cancelled: its caller cancelled the call, and no one else was waiting"
CANCELLED_BY_SHUTDOWN = "cancelled: the server shut down"

logger = logging.getLogger(__name__)


def describe_line(line: ProgressResponse) -> str:
    """`pulling 3f2a1b4c5d6e 45% of 2.0 GB`, or Ollama's own status ("verifying sha256 digest")."""
    if line.digest and line.total:
        short = line.digest.removeprefix("sha256:")[:12]
        percent = 100 * (line.completed or 0) // line.total
        verb = line.status.split(" ", 1)[0] if line.status else "layer"
        return f"{verb} {short} {percent}% of {human_bytes(line.total)}"
    return line.status


def pull_key(name: str) -> tuple[str, str, str, str, str]:
    """Names that Ollama treats as one model share one pull (`llama3` and `llama3:latest`)."""
    parsed = parse_model_name(name)
    return (*parsed.match_key, parsed.source or "")


def display_name(name: str) -> str:
    parsed = parse_model_name(name)
    return parsed.shortest if parsed.source is None else name.strip()


class Pull:
    """One pull in flight: its record, its progress, who waits on it, and how it ended."""

    def __init__(self, name: str, insecure: bool, background: bool) -> None:
        self.name = name.strip()
        self.insecure = insecure
        self.record = PullRecord(
            id=uuid.uuid4().hex,
            model=display_name(name),
            status="pulling",
            background=background,
            started_at=now(),
        )
        self.followers = 0
        self.totals = LayeredTotals()
        self.scope = anyio.CancelScope()
        self.finished = anyio.Event()
        self.changed = anyio.Event()
        self.error: Exception | None = None
        self.cancel_reason: str | None = None
        self.remote = False  # run by another replica: this one follows its record
        self._samples: deque[tuple[float, int]] = deque()

    @property
    def background(self) -> bool:
        """Whether a `background` request pinned this pull until it ends."""
        return self.record.background

    def cancel(self, reason: str) -> None:
        if self.cancel_reason is None:
            self.cancel_reason = reason
        self.scope.cancel()

    def take(self, line: ProgressResponse) -> bool:
        """Fold one progress line into the record; whether the phase changed."""
        record = self.record
        if line.digest:
            self.totals.update(line.digest, line.completed, line.total)
        record.bytes_done = self.totals.done
        record.bytes_total = self.totals.total
        record.layers = self.totals.parts
        record.message = describe_line(line)
        moved = record.status == "pulling" and line.status.startswith(VERIFYING_LINES)
        if moved:
            record.status = "verifying"
        self._measure()
        self.bump()
        return moved

    def end(self, status: PullState, error: str | None = None) -> None:
        record = self.record
        record.status = status
        record.error = error
        record.ended_at = now()
        record.eta_seconds = None
        if status == "success":
            record.message = "success"
        self.bump()

    def _measure(self) -> None:
        record = self.record
        clock = time.monotonic()
        self._samples.append((clock, record.bytes_done))
        while len(self._samples) > 2 and clock - self._samples[0][0] > RATE_WINDOW:
            self._samples.popleft()
        first_time, first_done = self._samples[0]
        if clock <= first_time or record.status != "pulling":
            record.eta_seconds = None
            return
        rate = (record.bytes_done - first_done) / (clock - first_time)
        record.bytes_per_second = round(rate, 1)
        left = record.bytes_total - record.bytes_done
        record.eta_seconds = round(left / rate, 1) if rate > 0 and left >= 0 else None

    def bump(self) -> None:
        """Wake whoever follows this pull (an anyio event fires once: swap in a new one)."""
        changed, self.changed = self.changed, anyio.Event()
        changed.set()


class PullRegistry:
    def __init__(
        self,
        *,
        open_stream: OpenStream,
        on_end: OnEnd,
        history: PullHistory,
        broadcast: Broadcast,
        shared: SharedPulls | None = None,
    ) -> None:
        self._open_stream = open_stream
        self.shared = shared
        if shared is not None:
            shared.on_cancel(self._cancel_owned)
        self._on_end = on_end
        self.history = history
        self.broadcast = broadcast
        self._active: dict[tuple[str, ...], Pull] = {}
        self._finished: dict[str, PullRecord] = {}  # by id
        self._unsaved: dict[str, PullRecord] = {}  # ends Redis has not taken yet, by id
        self._group: TaskGroup | None = None
        self._closing = False

    @asynccontextmanager
    async def running(self) -> AsyncIterator[PullRegistry]:
        """Pulls run while this is open; leaving it cancels each (recorded as cancelled) and
        waits until every record is written down."""
        if self.shared is None:  # the replicas' records are in Redis
            loaded = await anyio.to_thread.run_sync(self.history.load)
            self._finished = {r.id: r for r in loaded}
        async with anyio.create_task_group() as group:
            self._group = group
            try:
                yield self
            finally:
                self._closing = True
                for pull in list(self._active.values()):
                    pull.cancel(CANCELLED_BY_SHUTDOWN)
        self._group = None

    # --- starting and following ---------------------------------------------------------------
    async def start(self, name: str, *, insecure: bool, background: bool) -> tuple[Pull, bool]:
        """The pull of `name`: the one in flight (joined: True), else a new one. A joiner's
        `insecure` is not used: the pull already talks to the registry the first caller chose.
        With replicas the pull is written down (or found running elsewhere) before this returns;
        without Redis it raises `SharedStateUnavailable`."""
        if self._group is None or self._closing:
            raise ToolError("the server is shutting down: pull again once it is back")
        key = pull_key(name)
        pull = self._active.get(key)
        if pull is not None:
            if background and not pull.background:
                pull.record.background = True
            return pull, True
        pull = Pull(name, insecure, background)
        self._active[key] = pull  # before any wait: a second caller here joins this one
        if self.shared is not None:
            try:
                remote = await self.shared.claim(self.shared.lock_name(key), pull.record)
            except BaseException as exc:
                self._active.pop(key, None)
                pull.error = exc if isinstance(exc, Exception) else None
                pull.end("failed", error_text(exc, "pull_model"))
                pull.finished.set()
                raise
            if remote is not None:
                pull.record, pull.remote = remote, True
        assert self._group is not None
        self._group.start_soon(self._run, key, pull, name=f"pull {pull.record.model}")
        return pull, pull.remote

    async def follow(self, pull: Pull, reporter: ProgressReporter) -> PullRecord:
        """Wait for `pull` to end, relaying its progress; its outcome as the caller's: the
        record on success, else the pull's error. Cancelling this stops the pull only when
        no one else is on it."""
        pull.followers += 1
        following = True
        try:
            async with heartbeat(
                reporter, lambda s: f"pulling {pull.record.model}: still working ({s:.0f} s)"
            ):
                while True:
                    changed, record = pull.changed, pull.record
                    if record.message:
                        await reporter.report(
                            record.bytes_done, record.bytes_total or None, record.message
                        )
                    if pull.finished.is_set():
                        break
                    await changed.wait()
        except anyio.get_cancelled_exc_class():
            pull.followers -= 1
            following = False
            if pull.followers == 0 and not pull.background:
                pull.cancel(CANCELLED_BY_CALLER)
            raise
        finally:
            if following:
                pull.followers -= 1
        if pull.error is not None:
            raise pull.error
        if pull.record.status == "cancelled":
            raise ToolError(f"the pull of {pull.record.model} was {pull.record.error}")
        return pull.record

    # --- reading and cancelling -------------------------------------------------------------
    async def records(self, name: str | None = None) -> list[PullRecord]:
        """Pulls in flight and those finished within the history window, oldest first;
        only those of `name` when given. With replicas, the replicas' (from Redis)."""
        if self.shared is not None:
            for record in list(self._unsaved.values()):
                await self.shared.save(record, force=True)
                del self._unsaved[record.id]
            found = await self.shared.records()
        else:
            self._forget_old()
            found = [*self._finished.values(), *(p.record for p in self._active.values())]
        if name is not None:
            key = pull_key(name)
            found = [r for r in found if pull_key(r.model) == key]
        return sorted(found, key=lambda r: r.started_at)

    def in_flight(self, name: str) -> Pull | None:
        return self._active.get(pull_key(name))

    async def cancel(self, name: str) -> PullRecord:
        """Stop the pull of `name` and return its record once it has stopped."""
        pull = self.in_flight(name)
        if pull is None and self.shared is not None:
            return await self._cancel_elsewhere(name)
        if pull is None:
            raise await self._nothing_to_cancel(name)
        if pull.remote:
            assert self.shared is not None
            await self.shared.ask_cancel(pull.record.id)
        else:
            pull.cancel(CANCELLED_BY_TOOL)
        await pull.finished.wait()
        return pull.record

    async def _nothing_to_cancel(self, name: str) -> ToolError:
        ended = await self.records(name)
        if ended:
            last = ended[-1]
            return ToolError(
                f"no pull of {last.model} is running: the last one ended {last.status} at "
                f"{last.ended_at:%Y-%m-%d %H:%M:%S} UTC; pull_status shows it"
            )
        return ToolError(
            f"no pull of {name.strip()} is running or ended in the last "
            f"{self.history.keep.total_seconds():.0f} s: pull_status lists the pulls"
        )

    async def _cancel_elsewhere(self, name: str) -> PullRecord:
        """Ask the replica that runs the pull of `name` to stop it; its record once ended."""
        assert self.shared is not None
        holder = await self.shared.locks.holder(self.shared.lock_name(pull_key(name)))
        record = await self.shared.read(holder) if holder else None
        if record is None or record.finished:
            raise await self._nothing_to_cancel(name)
        await self.shared.ask_cancel(record.id)
        while record.status in IN_FLIGHT:
            await self.shared.wait_change(record.id)
            record = await self.shared.read(record.id) or record
        return record

    def _cancel_owned(self, record_id: str) -> None:
        for pull in self._active.values():
            if pull.record.id == record_id and not pull.remote:
                pull.cancel(CANCELLED_BY_TOOL)

    def _forget_old(self) -> None:
        stale = [key for key, r in self._finished.items() if not self.history.fresh(r)]
        for key in stale:
            del self._finished[key]

    # --- the pull itself ----------------------------------------------------------------------
    async def _run(self, key: tuple[str, ...], pull: Pull) -> None:
        if pull.remote:
            await self._follow_remote(key, pull)
            return
        async with anyio.create_task_group() as keeper:
            if self.shared is not None:  # hold the replicas' lock while this pull runs
                keeper.start_soon(self.shared.keep_lock, self.shared.lock_name(key), pull.record.id)
            try:
                await self._run_here(key, pull)
            finally:
                keeper.cancel_scope.cancel()

    async def _run_here(self, key: tuple[str, ...], pull: Pull) -> None:
        await self._announce(pull, success=False)
        try:
            with pull.scope:
                async with aclosing(self._open_stream(pull.name, pull.insecure)) as stream:
                    async for line in stream:
                        if pull.take(line):
                            await self._announce(pull, success=False)
                        if self.shared is not None:
                            await self.shared.save(pull.record)
                pull.end("success")
            if pull.scope.cancelled_caught:
                pull.end("cancelled", pull.cancel_reason or CANCELLED_BY_TOOL)
        except anyio.get_cancelled_exc_class():
            pull.end("cancelled", pull.cancel_reason or CANCELLED_BY_SHUTDOWN)
            raise
        except Exception as exc:
            pull.error = exc
            pull.end("failed", error_text(exc, "pull_model"))
        finally:
            # Shielded, so a shutdown still writes the end down; bounded, so it cannot hang one.
            with anyio.CancelScope(shield=True, deadline=anyio.current_time() + ENDING_TIMEOUT):
                await self._ended(key, pull)
            pull.finished.set()  # whoever waits is woken, even if writing the end down timed out
            pull.bump()

    async def _follow_remote(self, key: tuple[str, ...], pull: Pull) -> None:
        """Mirror the record of a pull another replica runs until it ends. Cancelling this
        (the last caller here left, or shutdown) stops following, not the pull."""
        assert self.shared is not None
        try:
            with pull.scope:
                while not pull.record.finished:
                    await self.shared.wait_change(pull.record.id)
                    found = await self.shared.read(pull.record.id)
                    if found is None:
                        pull.end(
                            "failed", "the record of this pull expired; pull_status shows the pulls"
                        )
                        break
                    pull.record = found
                    pull.bump()
            if pull.scope.cancelled_caught and not pull.record.finished:
                pull.end("cancelled", pull.cancel_reason or CANCELLED_BY_CALLER)
            elif pull.record.status == "failed":
                pull.error = ToolError(
                    f"the pull of {pull.record.model} failed: {pull.record.error}"
                )
        except SharedStateUnavailable as exc:
            pull.error = exc
            pull.end("failed", error_text(exc, "pull_model"))
        finally:
            self._active.pop(key, None)
            pull.finished.set()
            pull.bump()

    async def _ended(self, key: tuple[str, ...], pull: Pull) -> None:
        """Write the end down, then tell caches and clients (`_run` then wakes whoever waits)."""
        if pull.record.ended_at is None:  # ended by something not foreseen above
            pull.end("failed", "the pull stopped unexpectedly; the server log has details")
        self._active.pop(key, None)
        self._finished[pull.record.id] = pull.record
        try:
            await self._on_end(pull.record.model)
        except Exception:
            logger.warning("could not refresh the cache after a pull", exc_info=True)
        if self.shared is None:
            await self.history.save_async(list(self._finished.values()))
        else:
            await self._save_end(key, pull.record)
        if not self._closing:
            await self._announce(pull, success=pull.record.status == "success")

    async def _save_end(self, key: tuple[str, ...], record: PullRecord) -> None:
        """The end in Redis, then the lock let go (in that order: a reader that finds the lock
        gone reads the end)."""
        assert self.shared is not None
        self._finished.pop(record.id, None)
        try:
            await self.shared.save(record, force=True)
        except SharedStateUnavailable:
            # Kept here and written once Redis answers again (the next read of the records).
            logger.warning("could not write the end of the pull of %s to Redis", record.model)
            self._unsaved[record.id] = record
        await self.shared.release(self.shared.lock_name(key), record.id)

    async def _announce(self, pull: Pull, *, success: bool) -> None:
        try:
            if success:
                model = pull.record.model
                await self.broadcast.updated(
                    PULLS_URI, MODELS_URI, STATUS_URI, model_uri(model), list_changed=True
                )
            else:
                await self.broadcast.updated(PULLS_URI)
        except Exception:  # telling clients is a courtesy; the pull goes on regardless
            logger.warning("could not notify clients of a pull", exc_info=True)
