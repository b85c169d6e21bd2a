"""Data-parallel and multi-host training on the backends' own engines (`--distribute`).

`TrainConfig.distribute = "data_parallel"` trains one model on several devices: every device
holds a copy of the weights, each optimizer step splits the *global* batch (`batch_size`, the
paper's, unchanged) across them and averages the gradients.

- JAX: `keras.distribution.DataParallel` over the local devices (all, or the first `devices`);
  Keras shards every batch that `fit` draws along its first axis. Across hosts,
  `jax.distributed.initialize` (what `keras.distribution.initialize` calls, here with a shorter
  heartbeat) starts first, with the coordinator address, process count and process id from
  `--coordinator`, `--num-processes`, `--process-id` or Keras's environment variables
  `KERAS_DISTRIBUTION_JOB_ADDRESSES`, `KERAS_DISTRIBUTION_NUM_PROCESSES`,
  `KERAS_DISTRIBUTION_PROCESS_ID`; each process then feeds its slice of the global batch.
- TensorFlow: `tf.distribute.MirroredStrategy` on one host, `MultiWorkerMirroredStrategy` when
  `TF_CONFIG` is set; the model and optimizer are built under `strategy.scope()` and each epoch
  runs through `model.fit` over the `tf.data` pipeline, which the strategy distributes
  (`experimental_distribute_dataset`) and steps (`strategy.run`).

Only process 0 (the chief) writes the run folder (`Plan.is_chief`). `scale_lr` multiplies the
learning rate by global batch / preset batch (the linear scaling rule, Goyal et al. 2017) for
users who raise the global batch; it is off by default. docs/scaling.md has the commands.
"""

import contextlib
import dataclasses
import os

# A process that stops answering for this long stops every other process of the run (JAX's
# coordination service; its default, 100 s, leaves a dead peer unnoticed for long).
HEARTBEAT_SECONDS = int(os.environ.get("FER_KERAS_HEARTBEAT_SECONDS", "30"))
ENV = ("KERAS_DISTRIBUTION_JOB_ADDRESSES", "KERAS_DISTRIBUTION_NUM_PROCESSES",
       "KERAS_DISTRIBUTION_PROCESS_ID")


@dataclasses.dataclass
class Plan:
    """How a run is spread: the strategy, its replica and process counts, and the engine object
    (a `keras.distribution.DataParallel` or a `tf.distribute.Strategy`; None for "none")."""

    strategy: str = "none"
    replicas: int = 1
    processes: int = 1
    process_id: int = 0
    devices: tuple = ()
    engine: object = None

    @property
    def is_chief(self):
        """True in the process that writes the run folder (process 0)."""
        return self.process_id == 0

    def record(self):
        """metrics.json's `distribution` object."""
        return {"strategy": self.strategy, "replicas": self.replicas,
                "processes": self.processes, "devices": sorted(set(self.devices))}


def check_batch(batch_size, replicas, processes=1):
    """Raises ValueError when the global batch does not split evenly across the replicas."""
    if batch_size % replicas:
        raise ValueError(f"batch_size {batch_size} does not split across {replicas} replicas: "
                         f"choose a global batch divisible by {replicas} (or fewer devices "
                         "with --devices)")
    if batch_size % processes:
        raise ValueError(f"batch_size {batch_size} does not split across {processes} processes")


def scaled_learning_rate(config):
    """The learning rate the optimizer gets: `config.learning_rate`, times global batch /
    `config.reference_batch_size` (the preset's, recorded by `resolve_config`) with
    `config.scale_lr` (the linear scaling rule)."""
    if not config.scale_lr:
        return config.learning_rate
    return config.learning_rate * config.batch_size / config.reference_batch_size


def optimizer_config(config):
    """`config` with the learning rate `scaled_learning_rate` gives (itself when unscaled)."""
    lr = scaled_learning_rate(config)
    return config if lr == config.learning_rate else dataclasses.replace(config, learning_rate=lr)


_PLAN = {}


def plan(config):
    """The Plan for `config` on this backend, made once per process and strategy.

    Raises:
        ValueError: an uneven batch, too few devices, or the device engine across processes.
    """
    import keras

    key = (config.distribute, config.devices, keras.backend.backend())
    if key not in _PLAN:
        if config.distribute == "none":
            _PLAN[key] = Plan(devices=tuple(_device_kinds()))
        elif keras.backend.backend() == "jax":
            _PLAN[key] = _jax_plan(config)
        elif keras.backend.backend() == "tensorflow":
            _PLAN[key] = _tf_plan(config)
        else:
            raise ValueError(f"distribute 'data_parallel' needs the JAX or TensorFlow backend; "
                             f"the backend is {keras.backend.backend()!r}")
    result = _PLAN[key]
    check_batch(config.batch_size, result.replicas, result.processes)
    return result


def _device_kinds():
    import keras

    try:
        if keras.backend.backend() == "jax":
            import jax

            return [d.device_kind for d in jax.local_devices()][:1]
        if keras.backend.backend() == "tensorflow":
            import tensorflow as tf

            return [d.device_type for d in tf.config.list_logical_devices()][-1:]
    except Exception:  # noqa: BLE001 - informative only
        pass
    return []


def _multi_host_args(config):
    """(job addresses, process count, process id) from the options, else Keras's env vars."""
    address = config.coordinator or os.environ.get(ENV[0])
    count = config.num_processes or os.environ.get(ENV[1])
    pid = config.process_id if config.process_id is not None else os.environ.get(ENV[2])
    return address, None if count is None else int(count), None if pid is None else int(pid)


def _jax_plan(config):
    import jax
    import keras

    address, count, pid = _multi_host_args(config)
    if config.engine == "device" and (count or 1) > 1:
        raise ValueError("engine 'device' splits its batches over one host's devices; across "
                         f"{count} processes use --engine loop (or auto)")
    if address and (count or 1) > 1:
        if count is None or pid is None:
            raise ValueError(f"multi-host training with coordinator {address!r} needs the "
                             f"process count and this process's id (--num-processes, "
                             f"--process-id or {ENV[1]}, {ENV[2]})")
        _init_jax_multi_host(address, count, pid)
    local = jax.local_devices()
    if config.devices:
        if config.devices > len(local):
            raise ValueError(f"devices {config.devices} asked for, but this process sees "
                             f"{len(local)}: {[str(d) for d in local]}")
        if jax.process_count() > 1:
            raise ValueError("--devices selects local devices on one host; across hosts every "
                             "device of every process is used")
        chosen = local[:config.devices]
    else:
        chosen = jax.devices()  # every process's devices
    # every process feeds its own slice of the global batch (`local_batch`): no tf.data sharding
    engine = keras.distribution.DataParallel(devices=list(chosen), auto_shard_dataset=False)
    return Plan("data_parallel", len(chosen), jax.process_count(), jax.process_index(),
                tuple(d.device_kind for d in chosen), engine)


def _init_jax_multi_host(address, count, pid):
    """`jax.distributed.initialize` (what `keras.distribution.initialize` calls, with a shorter
    heartbeat so that a lost process stops the others within `HEARTBEAT_SECONDS`), with gloo
    collectives when the devices are CPUs. `address` may list every job's address
    ("HOST:PORT,HOST:PORT"): the first is the coordinator, as in Keras."""
    import jax

    if jax.distributed.is_initialized():
        return
    addresses = address.split(",")
    if len(addresses) > 1 and len(addresses) != count:
        raise ValueError(f"coordinator {address!r} lists {len(addresses)} job addresses, but "
                         f"num_processes is {count}")
    try:
        jax.config.update("jax_cpu_collectives_implementation", "gloo")
    except Exception:  # noqa: BLE001 - a JAX without this option (or with gloo by default)
        pass
    jax.distributed.initialize(coordinator_address=addresses[0], num_processes=count,
                               process_id=pid, heartbeat_timeout_seconds=HEARTBEAT_SECONDS)


def _tf_plan(config):
    import tensorflow as tf

    if config.engine == "loop":
        raise ValueError("engine 'loop' (train_on_batch) does not split batches across a "
                         "tf.distribute strategy: use --engine fit or auto with --distribute "
                         "data_parallel")
    if "TF_CONFIG" in os.environ:
        engine = tf.distribute.MultiWorkerMirroredStrategy()
        pid, processes = _tf_process(engine.cluster_resolver)
        devices = [d.device_type for d in tf.config.list_logical_devices()][-1:]
    else:
        logical = tf.config.list_logical_devices("GPU") or tf.config.list_logical_devices("CPU")
        if config.devices:
            if config.devices > len(logical):
                raise ValueError(f"devices {config.devices} asked for, but TensorFlow sees "
                                 f"{len(logical)}: {[d.name for d in logical]}")
            logical = logical[:config.devices]
        engine = tf.distribute.MirroredStrategy([d.name for d in logical])
        pid, processes, devices = 0, 1, [d.device_type for d in logical]
    return Plan("data_parallel", engine.num_replicas_in_sync, processes, pid, tuple(devices),
                engine)


def _tf_process(resolver):
    """(process id, process count) of a TF_CONFIG cluster: the "chief" task is process 0 when
    there is one (the workers follow it), else worker 0 is (TensorFlow's own rule)."""
    spec = resolver.cluster_spec().as_dict()
    chiefs, workers = len(spec.get("chief", ())), len(spec.get("worker", ()))
    if resolver.task_type == "chief":
        return 0, chiefs + workers
    return chiefs + int(resolver.task_id), chiefs + workers


def scope(plan_):
    """Builds and trains under the plan: the Keras distribution (JAX) or the strategy scope
    (TensorFlow); nothing for "none"."""
    if plan_.engine is None:
        return contextlib.nullcontext()
    return plan_.engine.scope()  # DataParallel.scope() sets the distribution; TF the strategy


def multi_process(config):
    """True when `config` (or Keras's environment variables) asks for more than one process."""
    return (_multi_host_args(config)[1] or 1) > 1


def device_mesh(plan_):
    """The device engine's `jax.sharding.Mesh` (axis "batch") over the plan's devices, or None
    with one replica."""
    if plan_.replicas <= 1 or plan_.engine is None:
        return None
    return plan_.engine.device_mesh.backend_mesh


def replicated(tree, mesh):
    """`tree`'s arrays put on every device of `mesh` (on the default device without one)."""
    import jax

    if mesh is None:
        return jax.device_put(tree)
    from jax.sharding import NamedSharding, PartitionSpec

    return jax.device_put(tree, NamedSharding(mesh, PartitionSpec()))


def synchronize_batch_norm(model, plan_):
    """Under a TensorFlow strategy with several replicas, makes every BatchNormalization layer
    of `model` compute its batch statistics over the global batch (`synchronized=True`).

    Both papers trained on one device, so their batch statistics are the whole batch's; with
    per-replica statistics (Keras's default under `tf.distribute`) each replica would normalise
    by its own half of the batch and the run would differ from the one-device run. Under JAX
    the `DataParallel` step is one program over the sharded batch, whose statistics are already
    global. The artifacts are saved unsynchronized (`artifacts.inference_copy`): the setting is
    TensorFlow-only and would stop model.keras loading under JAX. Returns the number of layers
    changed.
    """
    import keras

    if plan_.replicas <= 1 or keras.backend.backend() != "tensorflow" or plan_.engine is None:
        return 0
    changed = 0
    for layer in model._flatten_layers(include_self=False):  # noqa: SLF001 - every nested layer
        if isinstance(layer, keras.layers.BatchNormalization) and not layer.synchronized:
            layer.synchronized = True
            changed += 1
    return changed


def local_batch(plan_, array):
    """This process's slice of a global batch (the whole batch with one process)."""
    if plan_.processes == 1 or plan_.engine is None:
        return array
    size = len(array) // plan_.processes
    return array[plan_.process_id * size:(plan_.process_id + 1) * size]


# Words of a failed collective or coordination call whatever its exception type: JAX raises
# some as ValueError (e.g. `device_put`'s cross-process check, an all-gather over gloo, when the
# peer's socket is reset).
LOST_PEER_MARKERS = ("Gloo", "gloo", "Connection reset by peer", "Connection refused",
                     "Broken pipe", "heartbeat timeout", "coordination service")


class PeerLost(RuntimeError):
    """Another process of a multi-process run stopped; this one cannot go on alone."""


def peer_lost(err, plan_, run_dir):
    """The `PeerLost` error for `err` when it is a failed collective or coordination call of a
    multi-process run (a peer died or was killed), else None."""
    if plan_.processes <= 1:
        return None
    kind = type(err).__name__
    if kind not in ("JaxRuntimeError", "XlaRuntimeError", "UnavailableError",
                    "CancelledError", "InternalError", "AbortedError") and not any(
                        marker in str(err) for marker in LOST_PEER_MARKERS):
        return None
    first = str(err).strip().splitlines()[0] if str(err).strip() else kind
    return PeerLost(
        f"process {plan_.process_id} of {plan_.processes}: another process of this distributed "
        f"run stopped ({kind}: {first[:200]}). The chief's last checkpoint in {run_dir} is "
        "kept: start every process again with the same command to resume")


def note_resume(state, plan_):
    """Records the plan in the checkpoint state; a resume with another replica count gets a note
    (metrics.json's `distribution.notes`). The global batch is unchanged, so the optimizer
    steps are the same; only the reduction order of the gradients differs."""
    before = state.get("distribution")
    now = plan_.record()
    if before and before.get("replicas") != now["replicas"]:
        state.setdefault("distribution_notes", []).append(
            f"resumed after epoch {state['epochs_done']} on {now['replicas']} replicas; the "
            f"earlier epochs ran on {before['replicas']} (same global batch)")
    state["distribution"] = now


def metrics_entry(state, plan_):
    """metrics.json's `distribution` object, with the resume notes where there are any."""
    entry = plan_.record()
    if state.get("distribution_notes"):
        entry["notes"] = list(state["distribution_notes"])
    return {"distribution": entry}

