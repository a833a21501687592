"""The local executor: every seed, then each of its records, in this process, in order."""
from __future__ import annotations

from pathlib import Path
from typing import Iterator

from erasure.execution import Event, ModelsReady, RecordDone, RecordStarted
from erasure.execution.units import run_record, save_trained_models
from erasure.experiment import Session
from erasure.plan import Plan


def events(plan: Plan, work: dict[int, list[int]], folder: Path) -> Iterator[Event]:
    for seed, indices in work.items():
        session = Session(plan, seed)
        data = session.load_data()
        session.train_models()
        save_trained_models(session, folder)
        yield ModelsReady(seed, str(session.device), data.sizes(), session.timings, session.models)
        for index in indices:
            yield RecordStarted(seed, index)
            yield RecordDone(seed, index, run_record(session, index, folder))
