"""What the notebooks in `notebooks/` need besides figures (`fer_keras.plots` re-exports all of
it, so notebooks call `plots.find_data(...)`, `plots.demo_config()`, ...).

- `quiet.py`: `quiet_tensorflow()`, TensorFlow imported without its CPU-machine start-up lines.
- `locations.py`: `fast_mode()`, `find_data(name)`, `workdir()`, `run_folder(config)`.
- `demo.py`: `demo_config()`, `demo_photo()`, `data_source(predictor)`,
  `held_out_faces(predictor)`, `short_run_kwargs(name)`.
"""

from fer_keras.notebook.demo import (
    DEMO_EPOCHS,
    DEMO_MODEL_KWARGS,
    NARROW_WRN,
    data_source,
    demo_config,
    demo_photo,
    held_out_faces,
    short_run_kwargs,
)
from fer_keras.notebook.locations import (
    DATA_ENV,
    FAST_ENV,
    REPO_ROOT,
    WORKDIR_ENV,
    fast_mode,
    find_data,
    run_folder,
    workdir,
)
from fer_keras.notebook.quiet import quiet_tensorflow

__all__ = ["DATA_ENV", "DEMO_EPOCHS", "DEMO_MODEL_KWARGS", "FAST_ENV", "NARROW_WRN", "REPO_ROOT",
           "WORKDIR_ENV", "data_source", "demo_config", "demo_photo", "fast_mode", "find_data",
           "held_out_faces", "quiet_tensorflow", "run_folder", "short_run_kwargs", "workdir"]
