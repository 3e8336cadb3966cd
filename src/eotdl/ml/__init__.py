"""Learning from datasets: :func:`~eotdl.ml.dataset.open_dataset` (also ``eotdl.open_dataset``)
turns a dataset of a lab, a site or any STAC catalog into samples (:mod:`~eotdl.ml.samples`,
targets from the label extension in :mod:`~eotdl.ml.labels`, rasters read from paths, HTTP or S3
in :mod:`~eotdl.ml.rasters`) for PyTorch, NumPy/scikit-learn and TensorFlow."""
