"""Models: features, labels, networks, ensemble, forecaster, calibration, artifacts, evaluation."""
