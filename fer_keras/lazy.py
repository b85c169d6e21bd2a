"""Package attributes imported on first use: the one helper behind every lazy `__init__`.

A package that must stay cheap to import (no Keras, TensorFlow or JAX until needed) declares its
public names as a table and gets its module `__getattr__` and `__dir__` from `lazy_attributes`:

    __getattr__, __dir__ = lazy_attributes(__name__, {
        "train": "fer_keras.training.loop",              # that module's attribute `train`
        "train_model": "fer_keras.training.loop:train",   # another name
        "data": "fer_keras.data",                          # the module itself
    })

"module" alone names the submodule when its last part is the name itself, else that module's
attribute of the same name; "module:attribute" is always the attribute (a function sharing its
module's name, as `fer_keras.models.builders.i_mobilenetv2:i_mobilenetv2`).
"""

import importlib
import sys


def lazy_attributes(package, table):
    """(`__getattr__`, `__dir__`) for the module `package`, resolving each name of `table`
    ({name: "module" or "module:attribute"}) on first access and caching it in the module; a
    name outside the table is the usual AttributeError."""

    def __getattr__(name):
        if name not in table:
            raise AttributeError(f"module {package!r} has no attribute {name!r}")
        module_name, _, attribute = table[name].partition(":")
        module = importlib.import_module(module_name)
        if attribute or module_name.rpartition(".")[2] != name:
            value = getattr(module, attribute or name)
        else:
            value = module  # the submodule of that name
        setattr(sys.modules[package], name, value)
        return value

    def __dir__():
        return sorted(set(vars(sys.modules[package])) | set(table))

    return __getattr__, __dir__


__all__ = ["lazy_attributes"]
