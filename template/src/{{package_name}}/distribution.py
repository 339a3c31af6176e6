"""Data parallel training (train --distribute): every device trains on its slice of each
global batch, and the gradients are averaged, so a step is the step of one device on the
whole batch.

- TensorFlow: `tf.distribute.MirroredStrategy` over the local devices (GPUs, else the CPU).
- JAX: `keras.distribution.DataParallel` over every device of every process. Several
  processes (hosts) follow Keras's convention: the same `train` command in each, with
  KERAS_DISTRIBUTION_JOB_ADDRESSES, KERAS_DISTRIBUTION_NUM_PROCESSES and
  KERAS_DISTRIBUTION_PROCESS_ID set. Each process's loader is then one shard of every
  batch (batching.py), so no process reads the others' samples.
- What Keras 3.15 cannot do is refused before training, in one line: several processes
  on TensorFlow (keras-team/keras#20585) and anything distributed on torch.
"""

from __future__ import annotations

import contextlib
import json
import os
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, NoReturn

import keras

if TYPE_CHECKING:
    from .batch_loader import BatchLoader

# Keras's own names for a multi-process run (keras.distribution.initialize reads them).
PROCESS_VARIABLES = (
    "KERAS_DISTRIBUTION_JOB_ADDRESSES",
    "KERAS_DISTRIBUTION_NUM_PROCESSES",
    "KERAS_DISTRIBUTION_PROCESS_ID",
)


class DistributionError(Exception):
    """Distributed training that this backend or this Keras cannot do, or asked for wrongly."""


@dataclass(frozen=True)
class Distribution:
    """How a run spreads over devices: `devices` in all, in `processes` processes, this one
    being `process_index`; `strategy` is TensorFlow's, which the model is built under."""

    processes: int = 1
    process_index: int = 0
    devices: int = 1
    strategy: Any = None

    @property
    def is_chief(self) -> bool:
        """Whether this process writes the run folder: one process does, the first."""
        return self.process_index == 0

    def loader_options(self) -> dict[str, int]:
        """The loader's share of the work: one shard per process, the batch split over every
        device."""
        return {
            "num_shards": self.processes,
            "shard_index": self.process_index,
            "devices": self.devices,
        }

    @contextlib.contextmanager
    def scope(self) -> Iterator[None]:
        """Where the model must be built: TensorFlow's strategy scope, elsewhere anywhere."""
        if self.strategy is None:
            yield
        else:
            with self.strategy.scope():
                yield

    def describe(self, batch_size: int, batches: int) -> str:
        """One line, as train prints it before training."""
        if self.processes > 1:
            local = self.devices // self.processes
            return (
                f"data parallel: {self.processes} processes x {local} "
                f"device{'s' if local > 1 else ''}, global batch {batch_size} "
                f"({batch_size // self.processes} per process), {batches:,} batches per "
                "epoch on every process"
            )
        noun = "devices" if self.devices > 1 else "device"
        return (
            f"data parallel: {self.devices} {noun}, global batch {batch_size} "
            f"({batch_size // self.devices} per device)"
        )


ONE_DEVICE = Distribution()


@contextlib.contextmanager
def alone() -> Iterator[None]:
    """For what one process does by itself, such as saving the model: under a distribution
    every Keras variable it creates (saving makes some) would wait for the other processes,
    which never come. A no-op without a distribution."""
    shared = keras.distribution.distribution() if keras.backend.backend() == "jax" else None
    if shared is None:
        yield
        return
    keras.distribution.set_distribution(None)
    try:
        yield
    finally:
        keras.distribution.set_distribution(shared)


def multi_process_variables() -> list[str]:
    """Which of Keras's multi-process variables are set."""
    return [name for name in PROCESS_VARIABLES if name in os.environ]


def start_distribution(distribute: bool) -> Distribution:
    """The run's distribution, set up: ONE_DEVICE unless `distribute`."""
    variables = multi_process_variables()
    if not distribute:
        if variables:
            raise DistributionError(
                f"{', '.join(variables)} set, but not --distribute: pass --distribute to "
                "train over several processes, or unset them to train in this one"
            )
        return ONE_DEVICE
    backend = keras.backend.backend()
    if backend == "torch":
        raise DistributionError(
            "--distribute: Keras 3.15 has no data parallel training on torch "
            "(keras.distribution supports JAX only); train on the jax backend "
            "(KERAS_BACKEND=jax, with jax installed), or on one device without --distribute"
        )
    if backend == "tensorflow":
        return _mirrored(variables)
    return _data_parallel(variables)


def _mirrored(variables: list[str]) -> Distribution:
    if variables or "TF_CONFIG" in os.environ:
        raise DistributionError(
            "--distribute over several processes fails on TensorFlow with Keras 3.15 "
            "(MultiWorkerMirroredStrategy, keras-team/keras#20585): run the processes on "
            "the jax backend (KERAS_BACKEND=jax), or one process over its local devices"
        )
    import tensorflow as tf

    strategy = tf.distribute.MirroredStrategy()
    return Distribution(devices=strategy.num_replicas_in_sync, strategy=strategy)


def _data_parallel(variables: list[str]) -> Distribution:
    import jax

    if variables:
        missing = sorted(set(PROCESS_VARIABLES) - set(variables))
        if missing:
            raise DistributionError(
                f"several processes need all of {', '.join(PROCESS_VARIABLES)}: "
                f"{', '.join(missing)} not set"
            )
        # CPU processes need a collectives library to agree on gradients; GPUs and TPUs
        # bring their own and ignore it.
        jax.config.update("jax_cpu_collectives_implementation", "gloo")
        keras.distribution.initialize()
    devices = keras.distribution.list_devices()
    # auto_shard_dataset=False: each process's loader already yields only its shard.
    keras.distribution.set_distribution(
        keras.distribution.DataParallel(devices=devices, auto_shard_dataset=False)
    )
    return Distribution(
        processes=jax.process_count(), process_index=jax.process_index(), devices=len(devices)
    )


def check_same_run(
    distribution: Distribution,
    train: BatchLoader,
    val: BatchLoader,
    *,
    resuming: bool,
    backup: Path,
) -> None:
    """DistributionError, in every process alike, unless all processes read the same
    dataset (sizes and fingerprints) and the same run folder (resumed or not, the same
    backup), or if another process stopped before it got here (see `leave_run`):
    otherwise each would train its own model, or wait for the others forever."""
    if distribution.processes == 1:
        return
    facts = {
        "training samples": train.num_samples,
        "validation samples": val.num_samples,
        "training fingerprint": train.fingerprint()[:16],
        "validation fingerprint": val.fingerprint()[:16],
        "resumes": "yes" if resuming else "no",
        "backup bytes": backup.stat().st_size if resuming else 0,
    }
    everyone = _exchange(distribution, facts)
    for process, theirs in enumerate(everyone[1:], start=1):
        differences = [
            f"{name} {_shown(everyone[0][name])} in process 0, {_shown(theirs[name])} "
            f"in process {process}"
            for name in facts
            if theirs[name] != everyone[0][name]
        ]
        if differences:
            raise DistributionError(
                f"the processes see different runs ({'; '.join(differences)}): every process "
                "must read the same dataset and the same run folder (shared storage)"
            )


def _shown(value: object) -> str:
    return f"{value:,}" if isinstance(value, int) else str(value)


# How long a process waits for the others to have read their data (image checks of a large
# dataset take minutes). One that fails meanwhile says so at once (`leave_run`).
AGREE_SECONDS = 1800
# How long process 0, stopping, waits for the others to have heard of it (see leave_run).
LEAVE_SECONDS = 30
_KEYS = f"{__package__}/train"


def _exchange(distribution: Distribution, facts: dict[str, Any]) -> list[dict[str, Any]]:
    """`facts` of every process, in process order, through JAX's coordination service.

    Not a collective (`process_allgather`): a collective waits forever for a process that
    has stopped, while the service answers, and times out.
    """
    client = _coordination_client()
    client.key_value_set(f"{_KEYS}/ready/{distribution.process_index}", json.dumps(facts))
    deadline = time.monotonic() + AGREE_SECONDS
    while True:
        reported = dict(client.key_value_dir_get(f"{_KEYS}/"))
        ready = [reported.get(f"{_KEYS}/ready/{p}") for p in range(distribution.processes)]
        if all(ready):  # even if one has stopped since: it stopped on these same facts
            return [json.loads(text) for text in ready if text]
        for key, message in sorted(reported.items()):
            if "/failed/" in key:
                process = key.rsplit("/", 1)[1]
                raise DistributionError(f"process {process} stopped: {message}")
        if time.monotonic() > deadline:
            missing = [str(p) for p, text in enumerate(ready) if not text]
            raise DistributionError(
                f"process {', '.join(missing)} did not read its data within {AGREE_SECONDS} s: "
                "is the same train command running there?"
            )
        time.sleep(0.2)


def _coordination_client() -> Any:
    # JAX's client of the service keras.distribution.initialize started (no public name).
    from jax._src import distributed

    return distributed.global_state.client


# How long a process other than 0 that fails listens for another's failure first.
HEAR_SECONDS = 2


def first_failure(message: str) -> str:
    """`message`, or, before it, the failure another process told first, which may have
    caused this one: process 0, stopping, removes the run folder it locked, and a process
    reading that folder then fails on a missing file. Process 0 tells its own at once (the
    failures it causes come after it); the others listen up to HEAR_SECONDS first."""
    import jax

    if jax.process_index() == 0:
        return message
    client = _coordination_client()
    deadline = time.monotonic() + HEAR_SECONDS
    with contextlib.suppress(Exception):  # the service may be gone with process 0
        while True:
            failed = sorted(client.key_value_dir_get(f"{_KEYS}/failed/"))
            if failed:
                key, theirs = failed[0]
                told = f"process {key.rsplit('/', 1)[1]} stopped: {theirs}"
                if theirs == message or message.startswith(told):
                    return message  # the same failure, seen here too
                return f"{told} (then here: {message})"
            if time.monotonic() > deadline:
                break
            time.sleep(0.2)
    return message


def leave_run(message: str, code: int) -> NoReturn:
    """Tell the other processes of a distributed run that this one stops, and why, and exit
    with `code` at once: JAX's exit-time barrier would wait for processes that are waiting
    for this one (a process stopped by `os._exit` makes their collectives fail instead)."""
    import jax

    client = _coordination_client()
    with contextlib.suppress(Exception):  # the service may be gone with process 0
        client.key_value_set(f"{_KEYS}/failed/{jax.process_index()}", message)
        if jax.process_index() == 0:
            # The service lives in process 0: the others abort the moment it ends, before
            # they could say why. It waits (a little) for them to have read and left.
            deadline = time.monotonic() + LEAVE_SECONDS
            while time.monotonic() < deadline:
                failed = [key for key, _ in client.key_value_dir_get(f"{_KEYS}/failed/")]
                if len(failed) == jax.process_count():
                    break
                time.sleep(0.2)
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(code)


def in_several_processes() -> bool:
    """Whether this process is one of a distributed run's several (JAX's service is up)."""
    if keras.backend.backend() != "jax":
        return False
    return _coordination_client() is not None
