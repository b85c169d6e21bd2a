"""Figures and tables for the notebooks in `notebooks/`.

Every figure function returns a matplotlib `Figure` built without pyplot, so it works under any
backend and shows in Jupyter as a cell's value (after `%matplotlib inline`); every table
function returns a pandas `DataFrame`. Nothing here writes files: the training runs and exports
the notebooks start write under `workdir()`.

The notebooks' other needs (finding the data, demo runs and photos, a quiet TensorFlow) live in
`fer_keras.notebook` and are re-exported here, so a notebook imports `plots` alone.

Modules: `model_tables` (summaries, blocks, parameters and MACs), `folds` (samples and protocol
splits), `ablations` (Table 2 and Table 5 variants), `predictions` (what `Predictor` returns),
`exports` (the export report) and `canvas` (the figure, axes and patches they share).
"""

from fer_keras.notebook import (  # noqa: F401 - re-exported for the notebooks
    DATA_ENV,
    DEMO_EPOCHS,
    DEMO_MODEL_KWARGS,
    FAST_ENV,
    NARROW_WRN,
    REPO_ROOT,
    WORKDIR_ENV,
    data_source,
    demo_config,
    demo_photo,
    fast_mode,
    find_data,
    held_out_faces,
    quiet_tensorflow,
    run_folder,
    short_run_kwargs,
    workdir,
)
from fer_keras.plots.ablations import (  # noqa: F401 - one import for the notebooks
    TABLE_NAMES,
    ablation_frame,
    ablation_models,
    plot_ablation,
)
from fer_keras.plots.exports import export_frame, plot_export  # noqa: F401
from fer_keras.plots.folds import fold_frame, plot_folds, show_samples  # noqa: F401
from fer_keras.plots.model_tables import (  # noqa: F401
    block_table,
    model_frame,
    paper_figure,
    plot_model_table,
    summary_text,
)
from fer_keras.plots.predictions import (  # noqa: F401
    plot_probabilities,
    records_frame,
    show_faces,
    show_gradcam,
    show_predictions,
)
