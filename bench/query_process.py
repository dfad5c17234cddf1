"""What a question's model run costs in the server's process and in a model process of its own.

    .venv/bin/python bench/query_process.py [--batch 3] [--runs 120]

Embeds new questions (bench/search_load.py's variations, each with a serial number) in batches of
--batch, timing each batch, in four settings: alone; beside a busy Python thread of the same process
(as a server's request threads are under load); beside a busy other process (the same cores taken,
but not the GIL). Once with the model in this process (EMBEDDING_QUERY_PROCESS=false) and once in
a model process (faq/model_process.py). Prints the median milliseconds a question for each.
No database is needed; nothing leaves the machine.
"""

from __future__ import annotations

import argparse
import itertools
import statistics
import subprocess
import sys
import threading
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _django import setup_django
from search_load import question_variations

_SERIAL = itertools.count(1)


def _per_question(embed, batch: int, runs: int, questions: list[str]) -> float:
    times = []
    for _ in range(runs):
        texts = [f"{questions[next(_SERIAL) % len(questions)]} {next(_SERIAL)}" for _ in range(batch)]
        started = time.perf_counter()
        embed(texts)
        times.append((time.perf_counter() - started) * 1000 / batch)
    return statistics.median(times)


class _BusyThread:
    def __enter__(self):
        self.stop = False
        self.thread = threading.Thread(target=self._spin, daemon=True)
        self.thread.start()
        return self

    def _spin(self) -> None:
        n = 0
        while not self.stop:
            n += 1

    def __exit__(self, *exc) -> None:
        self.stop = True
        self.thread.join()


class _BusyProcess:
    def __enter__(self):
        self.process = subprocess.Popen([sys.executable, "-c", "while True: pass"])
        time.sleep(0.3)
        return self

    def __exit__(self, *exc) -> None:
        self.process.kill()
        self.process.wait()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--batch", type=int, default=3)
    parser.add_argument("--runs", type=int, default=120)
    args = parser.parse_args()
    setup_django()
    from faq import embeddings

    questions = question_variations()
    in_process = embeddings.LocalBackend(query_process=False)
    own_process = embeddings.LocalBackend(query_process=True)
    kinds = {
        "in the server's process": lambda texts: in_process.embed(texts, queries=True),
        "in a model process": lambda texts: own_process.embed(texts, queries=True),
    }
    print(f"ms a question, median of {args.runs} batches of {args.batch} new questions")
    print(f"{'':26s}{'alone':>10s}{'busy thread':>14s}{'busy process':>14s}")
    for name, embed in kinds.items():
        _per_question(embed, args.batch, 10, questions)  # load and warm
        alone = _per_question(embed, args.batch, args.runs, questions)
        with _BusyThread():
            thread = _per_question(embed, args.batch, args.runs, questions)
        with _BusyProcess():
            process = _per_question(embed, args.batch, args.runs, questions)
        print(f"{name:26s}{alone:10.2f}{thread:14.2f}{process:14.2f}")
    own_process.query_process.close()


if __name__ == "__main__":
    main()
