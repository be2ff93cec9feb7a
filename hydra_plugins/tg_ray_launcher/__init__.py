"""tg's Ray launcher for Hydra (`hydra/launcher=tg_ray`; `tg sweep --launcher ray` selects it).

Public plugin API only (`Launcher`, `run_job`, `Singleton` state handed to each task), like Hydra's own
`hydra-ray-launcher`, without its pins (cloudpickle<3) and cloud dependencies, and able to join a running cluster.
Hydra imports every module of this package when it scans for plugins, at each composition: so nothing here
imports Ray at module level (`tg.sweep.ray_runtime` does, when a sweep launches).
"""
