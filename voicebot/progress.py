"""Progress bars for long work on the command line (model preparation, training, benchmarks)."""

from __future__ import annotations

from collections.abc import Callable

from tqdm import tqdm


def progress_bar(unit: str = "B") -> Callable[[int, str], Callable[[int], None]]:
    """A factory of bars: (total, description) -> advance(n); bytes are shown scaled."""

    def start(total: int, description: str) -> Callable[[int], None]:
        bar = tqdm(total=total, desc=description, unit=unit, unit_scale=unit == "B",
                   leave=False)

        def advance(n: int) -> None:
            bar.update(n)
            if bar.n >= total:
                bar.close()
        return advance
    return start
