"""Ensemble members: gradient boosting (`gbm`), linear (`linear`), a small GRU (`gru`)."""
