"""Manual mode's operator channel through files: `conformance run --operator-dir DIR` (the test bed).

The run's process writes each prompt as ``DIR/prompt-N.json`` (N = 1, 2, ...) and waits, within the
operator window, for ``DIR/answer-N.json``: ``{"answer": "done"}`` (the operator made the candidate
send) or ``{"answer": "cannot"}``. The test bed's web process lists the prompts to the browser and
writes the answer a user gives (conformance/app/serve/operator_prompts.py).

Decisions:
- files, not a socket or the database: the run is a child process that may run on a worker machine
  whose only link with the web process is the run's folder (as progress.log already is), and a
  file survives either side restarting;
- a prompt is written whole or not at all: a temporary file, then a hard link to its name (which,
  unlike a rename, fails when the name is taken, so two profiles' harnesses of one run never
  overwrite each other's prompt N), then the temporary name removed;
- the answer file is untrusted here (another process wrote it): read without following a link,
  under a small cap; anything but one of the two answers is ignored (the wait goes on);
- the wait polls every ``POLL_S`` and is bounded by the prompt's window; a stopped run (SIGTERM, made
  KeyboardInterrupt by the run) ends it as it ends any other wait;
- the instruction still goes to the run's display too (``also``), so the run's log says what was
  asked, as a terminal run's would.
"""

from __future__ import annotations

import json
import os
import re
import time
import uuid
from collections.abc import Callable
from datetime import datetime, timezone
from pathlib import Path

from conformance.harness.operator import ANSWERS, Answer, Prompt
from conformance.results.safe_read import UnsafeInput, read_capped

POLL_S = 0.5
ANSWER_CAP = 4096  # {"answer": "cannot", ...} is far below
PROMPT_CAP = 4 * 1024 * 1024  # the document's XML is in it
PROMPT_NAME = re.compile(r"^prompt-([1-9][0-9]{0,5})\.json$")


def prompt_name(n: int) -> str:
    return f"prompt-{n}.json"


def answer_name(n: int) -> str:
    return f"answer-{n}.json"


def read_answer(path: Path) -> str | None:
    """The answer in ``path`` if it is one of ANSWERS; None for no file or anything else."""
    try:
        value = json.loads(read_capped(path, ANSWER_CAP).decode("utf-8"))
    except (UnsafeInput, UnicodeDecodeError, ValueError, RecursionError):
        return None
    answer = value.get("answer") if isinstance(value, dict) else None
    return answer if answer in ANSWERS else None


def shown_by(show: Callable[[str], None]) -> Callable[[Prompt], None]:
    """A channel that only shows the instruction (the terminal's display): no answer comes back."""

    def tell(prompt: Prompt) -> None:
        show(prompt.instruction)

    return tell


class FileChannel:
    """``Harness.tell_operator`` for --operator-dir: publish the prompt, wait for its answer."""

    def __init__(
        self,
        folder: Path,
        also: Callable[[str], None] | None = None,
        poll_s: float = POLL_S,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.folder = Path(folder)
        self.also, self.poll_s, self.clock = also, poll_s, clock

    def __call__(self, prompt: Prompt) -> Answer:
        if self.also is not None:
            self.also(prompt.instruction)
        n = self.publish(prompt)
        return self.wait(n, prompt.window_s)

    def publish(self, prompt: Prompt) -> int:
        """Write ``prompt`` as the next free prompt-N.json; return N."""
        self.folder.mkdir(parents=True, exist_ok=True)
        n = self._next()
        while True:
            record = {
                "n": n,
                # the path is the run's process's own (on a worker, another machine): the page offers
                # the document itself
                "instruction": prompt.instruction.replace(prompt.document_path, "(the document below)"),
                "action": prompt.action,
                "to": prompt.to,
                "document": prompt.document,
                "window_s": prompt.window_s,
                "asked": datetime.now(timezone.utc).isoformat(),
            }
            temporary = self.folder / f".prompt-{uuid.uuid4().hex}.tmp"
            descriptor = os.open(
                temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_NOFOLLOW", 0), 0o640
            )
            try:
                with os.fdopen(descriptor, "w", encoding="utf-8") as out:
                    json.dump(record, out)
                os.link(temporary, self.folder / prompt_name(n))
                return n
            except FileExistsError:
                n += 1
            finally:
                temporary.unlink(missing_ok=True)

    def _next(self) -> int:
        taken = [
            int(match.group(1)) for name in os.listdir(self.folder) if (match := PROMPT_NAME.match(name))
        ]
        return max(taken, default=0) + 1

    def wait(self, n: int, window_s: float) -> Answer:
        """The answer to prompt ``n`` once it is there, or Answer(None) after ``window_s``."""
        deadline = self.clock() + window_s
        path = self.folder / answer_name(n)
        while True:
            answer = read_answer(path)
            if answer is not None:
                return Answer(answer, datetime.now(timezone.utc))
            left = deadline - self.clock()
            if left <= 0:
                return Answer(None)
            time.sleep(min(self.poll_s, left))
