"""Strict keyword options: an option a function does not take is an error that names it.

Protocols (`make_splits(..., **options)`), dataset loaders (`load_dataset(..., **options)`) and
model builders (`create_model(..., **kwargs)`, `--model-kwargs`) take their options as keyword
arguments. `check_options` reads the accepted names from the function's signature, so an option
added as a keyword parameter is accepted with no further code, and a misspelt one
(`num_fold=3`) stops with the accepted names listed instead of being ignored.
"""

import inspect


def accepted_options(*functions, skip=()):
    """The keyword parameters the functions take together, minus `skip`, in signature order.

    A `**kwargs` catch-all adds nothing: options it would swallow are not accepted.
    """
    names = []
    for fn in functions:
        for p in inspect.signature(fn).parameters.values():
            if p.kind in (p.POSITIONAL_OR_KEYWORD, p.KEYWORD_ONLY) and p.name not in skip \
                    and p.name not in names:
                names.append(p.name)
    return names


def check_options(options, functions, what, skip=()):
    """Raises ValueError naming every option in `options` that none of `functions` accepts.

    Args:
        options: the mapping given by the user.
        functions: a callable or a tuple of callables whose keyword parameters are accepted.
        what: how the message names the option's owner, e.g. "protocol 'subject_kfold'".
        skip: parameters that are not options (filled in by the caller, e.g. `ds`, `seed`).
    """
    functions = functions if isinstance(functions, tuple) else (functions,)
    accepted = accepted_options(*functions, skip=skip)
    unknown = [k for k in options if k not in accepted]
    if unknown:
        listed = ", ".join(accepted) if accepted else "none"
        raise ValueError(f"unknown option{'s' if len(unknown) > 1 else ''} "
                         f"{', '.join(map(repr, unknown))} for {what}; accepted: {listed}")
