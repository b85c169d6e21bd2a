"""`train_members`: the device engine's counterpart of `keras_engine.train_fold`, for K folds.

The folds' states are stacked and trained by one compiled program (`step.Program`): each round
runs every unfinished member's next epoch (its own order, seeds, class weights and learning
rate), then, per member, validation on the device and `Fold.end_epoch` (the finiteness check,
the best epoch on validation, the checkpoint, history.csv, TensorBoard scalars and the epoch
line, as for every engine); the time limit and the NaN stop act after the round. Each member
starts and finishes with `Fold.start` and `Fold.finish` (`fer_keras.training.fold`).
"""

import dataclasses
import time

import numpy as np

from fer_keras.training import distribution, epoch_eval, finite, stop_request
from fer_keras.training.fold import past as _past
from fer_keras.training.jax_engine import data as device_data
from fer_keras.training.jax_engine.members import (
    Member, Template, initial_variables, member_values, scheduled_learning_rate, stack_states,
)


# Compiled programs by what they are compiled for (see `_program`): later runs in the same
# process (the folds of `--models-together 1`, a resumed run, tests) reuse them.
_PROGRAMS = {}


def _log(verbose, *lines):
    if verbose:
        print(*lines, sep="\n", flush=True)


def open_member(config, ds, split, fold_dir, verbose):
    """A Member for the fold, or its metrics dict when the fold is already finished."""
    return Member.open(config, ds, split, fold_dir, verbose)


def _check_together(members):
    key = members[0].config.run_key
    for m in members[1:]:
        same = dataclasses.replace(m.config, seed=members[0].config.seed)
        if same.run_key() != key() or m.ds is not members[0].ds:
            raise ValueError(f"fold {m.split.fold} cannot be trained together with fold "
                             f"{members[0].split.fold}: models trained together differ only "
                             "in their fold and seed")


def _build_template(members, mixed, jit):
    """The Template and every member's initial variables (one build per distinct seed)."""
    import keras

    from fer_keras.training.model_setup import (
        build_model, class_weights, drop_remainder, logits_model,
    )
    from fer_keras.training.optimizers import make_optimizer

    config, ds = members[0].config, members[0].ds
    initial, template = {}, None
    for m in members:
        n = len(m.split.train)
        m.drop_remainder = drop_remainder(config, n, jit)
        m.steps = device_data.steps_per_epoch(n, config.batch_size, m.drop_remainder)
        weights = class_weights(config, ds.labels[m.split.train], ds.num_classes)
        m.class_weights = (np.ones(ds.num_classes) if weights is None else weights)
        if m.config.seed not in initial:
            keras.utils.set_random_seed(m.config.seed)
            model = build_model(m.config, ds)
            trainer = logits_model(model)
            initial[m.config.seed] = initial_variables(trainer)
            if template is None:
                constant = dataclasses.replace(config, lr_schedule="step", lr_decay_epochs=0)
                template = Template(model, trainer, make_optimizer(config, m.steps),
                                    make_optimizer(constant, m.steps), config.label_smoothing)
    return template, initial


def _start_member(template, member, initial, verbose):
    """Loads the member's checkpoint (or recovers it, or starts it fresh) into the template and
    returns its values. The learning rate needs no restoring: each epoch's rate comes from the
    configuration (`scheduled_learning_rate`), a post-divergence change included."""
    template.start(initial[member.config.seed])
    member.start(template.model, template.trainer, member.steps, "device engine", verbose)
    return template.read()


def _epoch_round(program, state, device, members, num_layers):
    """Every training member's next epoch; returns the state and per member (sum of losses,
    correct, examples, index of the first non-finite batch or None), None for idle members."""
    import jax
    import jax.numpy as jnp

    b = members[0].config.batch_size
    plans, rests = [], []
    for m in members:
        if m.training:
            idx, seeds, rest = device_data.epoch_batches(
                m.split.train, b, m.config.seed, m.state["epochs_done"], num_layers,
                m.drop_remainder)
        else:
            idx, seeds, rest = (np.zeros((0, b), np.int32),
                                np.zeros((0, b, max(num_layers, 1)), np.int32), None)
        plans.append((idx, seeds))
        rests.append(rest)
    idx, seeds, active = device_data.stack_epochs(plans)
    lr = np.array([scheduled_learning_rate(m.config, m.state["epochs_done"]) for m in members],
                  np.float32)
    opt = list(state[2])
    opt[program.lr_pos] = jnp.asarray(lr).astype(opt[program.lr_pos].dtype)
    cw = jnp.asarray(np.stack([m.class_weights for m in members]).astype(np.float32))
    state, (losses, corrects) = program.epoch((state[0], state[1], opt), device.images,
                                              device.labels, device.boxes, cw, idx, seeds,
                                              active)
    losses, corrects = np.asarray(losses, np.float64), np.asarray(corrects)
    out = []
    for k, m in enumerate(members):
        if not m.training:
            out.append(None)
            continue
        n_full = len(plans[k][0])
        batch_losses = list(losses[:n_full, k] * b)
        correct, seen = int(corrects[:n_full, k].sum()), n_full * b
        if rests[k] is not None:
            sub = jax.tree.map(lambda a: a[k], state)
            sub, loss, right = program.step_one(sub, device.images, device.labels, device.boxes,
                                                cw[k], rests[k][0], rests[k][1], True)
            state = jax.tree.map(lambda a, v: a.at[k].set(v), state, sub)
            batch_losses.append(float(loss) * len(rests[k][0]))
            correct, seen = correct + int(right), seen + len(rests[k][0])
        bad = [i for i, v in enumerate(batch_losses) if not np.isfinite(v)]
        out.append((float(np.sum(batch_losses)), correct, seen, bad[0] if bad else None,
                    float(lr[k])))
    return state, out


def _predictions(program, state, device, members, name):
    """Each member's class probabilities on its split `name` ("val" or "test"), computed on the
    device in one call for all members (None for a member with no such examples)."""
    sets = [getattr(m.split, name) for m in members]
    if not any(len(i) for i in sets):
        return [None] * len(members)
    idx, lengths = device_data.prediction_batches(sets)
    probs = np.asarray(program.predict(state[0], state[1], device.images, idx), np.float32)
    probs = probs.reshape(len(members), -1, probs.shape[-1])
    return [probs[k, :n] if n else None for k, n in enumerate(lengths)]


def _epoch_figures(program, state, device, members):
    """Each member's per-epoch row entries (`epoch_eval.epoch_figures`: val_*, test_* if asked),
    from predictions made on the device."""
    val = _predictions(program, state, device, members, "val")
    test = (_predictions(program, state, device, members, "test")
            if members[0].config.test_each_epoch else [None] * len(members))
    figures = []
    for m, v, t in zip(members, val, test):
        def predict(idx, m=m, v=v, t=t):
            return v if idx is m.split.val else t

        figures.append(epoch_eval.epoch_figures(predict, m.config, m.ds, m.split))
    return figures


def _finish_epoch(template, values, member, result, figures, time_s, verbose):
    """One member's end of an epoch (`Fold.end_epoch`), with its values in the template."""
    total, correct, seen, _, lr = result
    template.write(values)
    member.end_epoch({"loss": total / seen, "accuracy": correct / seen, **figures,
                      "time_s": time_s, "learning_rate": lr}, template.trainer, template.weights,
                     verbose)


def train_epochs(program, state, device, members, template, verbose=1, deadline=None):
    """Rounds of epochs until every member is done, the deadline passes or a member diverges
    (a NaN loss, or a non-finite metric or variable: `finite.TrainingDiverged`, raised after the
    other members' epoch is saved)."""
    import jax

    num_layers = len(program.layers)
    while any(m.training for m in members):
        start = time.perf_counter()
        state, results = _epoch_round(program, state, device, members, num_layers)
        figures = _epoch_figures(program, state, device, members)
        elapsed = time.perf_counter() - start
        host = jax.device_get(state)  # one transfer for every member's checkpoint
        diverged, non_finite = [], []
        for k, m in enumerate(members):
            if results[k] is None:
                continue
            if results[k][3] is not None:
                m.stopped = True
                diverged.append((m, results[k]))
                continue
            try:
                _finish_epoch(template, member_values(host, k), m, results[k], figures[k],
                              elapsed, verbose)
            except finite.TrainingDiverged as err:
                m.stopped = True
                non_finite.append(err)
        if non_finite:
            raise non_finite[0]
        if diverged:
            m, (_, _, _, step, lr) = diverged[0]
            finite.raise_diverged(float("nan"), m.state["epochs_done"], m.ckpt_path, lr, step)
        if _past(deadline) and any(m.training for m in members):
            _log(verbose, f"{stop_request.reason(members[0].config.time_limit)}; writing "
                          "the artifacts of each fold's best epoch so far (run the same command "
                          "again to resume)")
            break
    return state


def _write_member(template, host_state, k, member, verbose):
    template.write(member_values(host_state, k))
    return member.finish(template.model, verbose)


def _program(template, config, ds, layers, has_boxes, num_models, mixed, mesh=None):
    """The Program of this architecture, optimizer, augmentation and K (shapes are jit's);
    built from `template`, or an identical one compiled before in this process."""
    import json

    from fer_keras.training.jax_engine.step import Program

    key = json.dumps([config.model, config.model_kwargs, list(ds.image_shape), ds.num_classes,
                      config.channels, config.optimizer, config.momentum, config.weight_decay,
                      config.augment, config.label_smoothing, has_boxes, num_models, mixed,
                      template.trainer is not template.model,
                      None if mesh is None else [str(d) for d in mesh.devices.flat]],
                     sort_keys=True, default=str)
    if key not in _PROGRAMS:
        _PROGRAMS[key] = Program(template.trainer, template.update_optimizer,
                                 template.trainer is not template.model, layers,
                                 config.channels, has_boxes, num_models, template.lr_pos, mesh)
    return _PROGRAMS[key]


def train_group(members, verbose=1, deadline=None):
    """Trains the members together (one compiled program) and writes each one's artifacts;
    returns their metrics dicts."""
    import jax
    import keras

    from fer_keras.data.pipeline import resolve_augment
    from fer_keras.training.device import resolve_auto
    from fer_keras.training.jax_engine.cache import enable_compilation_cache

    _check_together(members)
    enable_compilation_cache()
    config = members[0].config
    mixed, jit = resolve_auto(config)
    policy = keras.config.dtype_policy().name
    keras.config.set_dtype_policy("float32")
    layers = resolve_augment(config.augment)  # float32, as the reference pipeline's
    keras.config.set_dtype_policy("mixed_bfloat16" if mixed else "float32")
    try:
        template, initial = _build_template(members, mixed, jit)
        values = [_start_member(template, m, initial, verbose) for m in members]
        mesh = distribution.device_mesh(distribution.plan(config))
        device = device_data.DeviceData(members[0].ds, mesh)
        program = _program(template, config, members[0].ds, layers, device.has_boxes,
                           len(members), mixed, mesh)
        _log(verbose, f"device engine: {len(members)} model(s) together, mixed precision "
                      f"{'bfloat16' if mixed else 'off'}"
                      + (f", batches split over {mesh.size} devices" if mesh else ""))
        state = train_epochs(program, distribution.replicated(stack_states(values), mesh),
                             device, members, template, verbose, deadline)
        host = jax.device_get(state)
        return [_write_member(template, host, k, m, verbose) for k, m in enumerate(members)]
    finally:
        keras.config.set_dtype_policy(policy)


def models_together(together, num_members):
    """How many folds one compiled program trains: `together` (0: all `num_members`); None is
    all of them on a GPU and one at a time on CPU, where XLA runs the vmapped step slower than
    one model's and compiles it into far more memory (I-MobileNetV2, batch 20, 2026-12-04: two
    models 1.8 images/s against one's 6.9; ten past 23 GiB while compiling)."""
    from fer_keras.training.device import has_gpu

    if together is None:
        together = 0 if has_gpu() else 1
    return together or num_members


def train_members(config, ds, splits, folds, run_dir, verbose=1, deadline=None, together=None):
    """The device engine's `train` body: the selected folds, `models_together(together, ...)` at a
    time (`together` defaults to `config.models_together`) among the folds that share a
    dataset, each into `run_dir/fold_K`; returns their metrics in fold order (folds not
    started before the deadline are left out, as in the loop)."""
    together = config.models_together if together is None else together
    results, groups = {}, {}
    for fold in folds:
        opened = open_member(config, ds, splits[fold], run_dir / f"fold_{fold}", verbose)
        if isinstance(opened, dict):
            results[fold] = opened
        else:
            groups.setdefault(id(opened.ds), []).append(opened)
    for members in groups.values():
        size = models_together(together, len(members))
        for start in range(0, len(members), size):
            chunk = members[start:start + size]
            if _past(deadline):
                _log(verbose, f"{stop_request.reason(config.time_limit)}: folds "
                              f"{[m.split.fold for m in chunk]} were not started")
                break
            for m, metrics in zip(chunk, train_group(chunk, verbose, deadline)):
                results[m.split.fold] = metrics
    return [results[f] for f in folds if f in results]
