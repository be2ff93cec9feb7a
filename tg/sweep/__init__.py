"""`tg sweep`: train and evaluate fanned out over Hydra's own multirun (the override grammar, sweepers and
launchers), one job per config point or universe shard.

- `plan`: what the overrides sweep (the keys that vary, how many jobs, what every job shares)
- `multirun`: Hydra's multirun from the compose API, leaving the working directory and Hydra's state as found
- `job`: the task function each job runs (the command's own function) and its `JobResult`
- `results`: `results.jsonl`, the summary table and the best point
- `progress`: the progress line on stderr while jobs finish
- `ray_runtime`: the one place tg starts or joins Ray
- `parallel`: per-symbol work inside a job in chunks (Ray tasks, else joblib threads, else serial)

The `tg_ray` Hydra launcher plugin lives in `hydra_plugins/tg_ray_launcher/` (where Hydra discovers plugins).
"""
