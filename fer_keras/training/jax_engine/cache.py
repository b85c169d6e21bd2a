"""JAX's persistent compilation cache, so a program compiled once is reused by later runs."""

import os
from pathlib import Path


def enable_compilation_cache(path=None):
    """Turns the cache on at `path`, `$FER_KERAS_JAX_CACHE` or ~/.cache/fer_keras/jax (kept
    when JAX is already configured with one); returns the folder, or None where the JAX version
    has no persistent cache."""
    import jax

    try:
        current = jax.config.jax_compilation_cache_dir
        if current:
            return current
        folder = Path(path or os.environ.get("FER_KERAS_JAX_CACHE")
                      or Path.home() / ".cache" / "fer_keras" / "jax")
        folder.mkdir(parents=True, exist_ok=True)
        jax.config.update("jax_compilation_cache_dir", str(folder))
        jax.config.update("jax_persistent_cache_min_compile_time_secs", 1.0)
    except (AttributeError, OSError):
        return None
    return str(folder)
