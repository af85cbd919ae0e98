"""Progress for long loops: a bar on a terminal, a periodic log line (rate, ETA) otherwise."""
from __future__ import annotations

import sys
import time
from typing import Iterable, Iterator, TypeVar

T = TypeVar("T")


def _fmt_seconds(s: float) -> str:
    s = int(max(s, 0))
    return f"{s // 3600:d}:{s % 3600 // 60:02d}:{s % 60:02d}"


class Progress:
    """`with Progress(total, "training") as p: ... p.update(1, loss=0.1)`.

    On a terminal it draws a tqdm bar; in a log (pipe, SLURM, CI) it prints one line every
    `every` seconds with count, rate and ETA, so a long run is never silent.
    """

    def __init__(self, total: int | None, desc: str = "", unit: str = "it", every: float = 10.0, stream=None):
        self.total, self.desc, self.unit, self.every = total, desc, unit, every
        self.stream = stream or sys.stderr
        self.count = self._shown = 0
        self.start = self._last = time.monotonic()
        self._bar = None
        if getattr(self.stream, "isatty", lambda: False)():
            from tqdm import tqdm

            self._bar = tqdm(total=total, desc=desc, unit=unit, file=self.stream, dynamic_ncols=True)

    def set_total(self, total: int | None) -> None:
        """A new total (a run that learns its length as it goes: GD that halves its lr)."""
        self.total = total
        if self._bar is not None:
            self._bar.total = total
            self._bar.refresh()

    def update(self, n: int = 1, **postfix) -> None:
        self.count += n
        if self._bar is not None:
            self._bar.update(n)
            if postfix:
                self._bar.set_postfix({k: _short(v) for k, v in postfix.items()}, refresh=False)
            return
        now = time.monotonic()
        if now - self._last >= self.every or (self.total is not None and self.count >= self.total):
            self._write(now, postfix)

    def _write(self, now: float, postfix: dict) -> None:
        self._last, self._shown = now, self.count
        self.stream.write(self.line(now, postfix) + "\n")
        self.stream.flush()

    def line(self, now: float, postfix: dict | None = None) -> str:
        elapsed = max(now - self.start, 1e-9)
        rate = self.count / elapsed
        done = f"{self.count}/{self.total}" if self.total else f"{self.count}"
        eta = ""
        if self.total and rate > 0:
            eta = f" eta {_fmt_seconds((self.total - self.count) / rate)}"
        extra = "".join(f" {k}={_short(v)}" for k, v in (postfix or {}).items())
        return f"[{self.desc}] {done} {self.unit} {rate:.3g} {self.unit}/s elapsed {_fmt_seconds(elapsed)}{eta}{extra}"

    def close(self) -> None:
        """Closes the bar; in a log, prints the final count unless the last line already showed it."""
        if self._bar is not None:
            self._bar.close()
        elif self.count != self._shown:
            self._write(time.monotonic(), {})

    def __enter__(self) -> "Progress":
        return self

    def __exit__(self, *exc) -> None:
        self.close()


def _short(v) -> str:
    return f"{v:.4g}" if isinstance(v, float) else str(v)


def progress(iterable: Iterable[T], total: int | None = None, desc: str = "", unit: str = "it") -> Iterator[T]:
    """Wrap an iterable with Progress."""
    if total is None and hasattr(iterable, "__len__"):
        total = len(iterable)  # type: ignore[arg-type]
    with Progress(total, desc, unit) as p:
        for item in iterable:
            yield item
            p.update(1)
