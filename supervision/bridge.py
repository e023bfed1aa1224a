"""`TrioBridge`: await actor replies from trio without ever blocking the trio thread (DESIGN §3).

A reply future's done-callback, running in the actor thread, wakes the waiting trio task through
`TrioToken.run_sync_soon`. Timeouts use trio's clock (`trio.move_on_after`), and a cancelled trio task simply
stops waiting: the late reply is dropped on the floor of a dead `trio.Event`.
"""

# ruff: noqa: ASYNC109 -- `timeout=` is the bridge API (DESIGN §3); it maps to trio.move_on_after inside
from __future__ import annotations

from typing import TYPE_CHECKING, Any, TypeVar, overload

import pykka
import structlog
import trio

from supervision.asks import Ask
from supervision.errors import ActorUnavailable, AskTimeout

if TYPE_CHECKING:
    from supervision.future import ReplyFuture
    from supervision.ref import ChildRef
    from supervision.spec import Spec
    from supervision.tree import SupervisionTree

__all__ = ["TrioBridge"]

T = TypeVar("T")

log = structlog.get_logger(__name__)


class TrioBridge:
    """Trio-side helpers; construct it inside the trio thread (it captures the current `TrioToken`)."""

    def __init__(self) -> None:
        self._token = trio.lowlevel.current_trio_token()

    @property
    def token(self) -> trio.lowlevel.TrioToken:
        """Return the captured trio token."""
        return self._token

    @overload
    async def ask(self, ref: ChildRef, message: Ask[T], *, timeout: float) -> T: ...
    @overload
    async def ask(self, ref: ChildRef, message: object, *, timeout: float) -> Any: ...
    async def ask(self, ref: ChildRef, message: object, *, timeout: float) -> Any:
        """Ask a child and await its reply.

        Raises:
            AskTimeout: no reply within `timeout` seconds of trio time.
            ActorUnavailable: the child is not available or stopped before handling the message.
            Exception: whatever the child's handler raised.
        """
        return await self.wait(ref.ask_future(message), timeout=timeout, what=ref.path)

    async def wait(self, future: ReplyFuture[Any], *, timeout: float, what: str = "actor") -> Any:
        """Await a `ReplyFuture` (from `ChildRef.ask_future`, `tree.add_child_future`, ...)."""
        done = trio.Event()
        token = self._token

        def wake() -> None:
            done.set()  # runs in the trio thread; Event.set cannot raise

        def on_done(_future: ReplyFuture[Any]) -> None:
            # Runs in the actor thread; nothing may escape into pykka's loop.
            try:
                token.run_sync_soon(wake)
            except trio.RunFinishedError:
                log.debug("reply after trio finished", target=what)
            except Exception:  # boundary: never let a wake-up failure kill the replying actor
                log.exception("trio wake-up failed", target=what)

        future.add_done_callback(on_done)
        with trio.move_on_after(timeout):
            await done.wait()
        if not done.is_set():
            raise AskTimeout(f"expected a reply from {what} within {timeout}s, got none")
        try:
            return future.get(timeout=0)
        except pykka.ActorDeadError as exc:
            raise ActorUnavailable(f"expected {what} to handle the ask, got a stopped actor") from exc

    async def wait_settled(self, tree: SupervisionTree, *, timeout: float) -> bool:
        """Wait until the tree is settled (no child starting, restarting or stopping); never polls.

        The tree's change that settles it wakes this task through `TrioToken.run_sync_soon`.

        Returns:
            True once the tree is settled, False when `timeout` seconds of trio time passed first.
        """
        settled = trio.Event()
        token = self._token

        def wake() -> None:
            # Runs in the actor thread whose change settled the tree; nothing may escape (DESIGN §3).
            try:
                token.run_sync_soon(settled.set)
            except trio.RunFinishedError:
                log.debug("tree settled after trio finished")
            except Exception:  # boundary: never let a wake-up failure break the actor thread
                log.exception("trio wake-up failed", target="settled")

        waiter = tree.on_settled(wake)
        try:
            with trio.move_on_after(timeout):
                await settled.wait()
        finally:
            waiter.cancel()
        return settled.is_set()

    async def add_child(
        self, tree: SupervisionTree, parent_path: str, spec: Spec, *, timeout: float
    ) -> ChildRef:
        """Add and start a child at run time, awaited from trio."""
        ref: ChildRef = await self.wait(
            tree.add_child_future(parent_path, spec), timeout=timeout, what=parent_path
        )
        return ref

    async def remove_child(self, tree: SupervisionTree, path: str, *, timeout: float) -> None:
        """Stop and forget a child at run time, awaited from trio."""
        await self.wait(tree.remove_child_future(path), timeout=timeout, what=path)

    async def stop_tree(self, tree: SupervisionTree, *, timeout: float = 30.0) -> None:
        """Stop a tree from trio: the blocking stop runs in a worker thread, the trio thread stays free."""
        await trio.to_thread.run_sync(tree.stop, timeout)
