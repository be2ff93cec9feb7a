"""Configuration: Hydra YAML in `conf/`, typed by `tg.config.schema`, loaded by `load_config`."""
