"""Per-format importers: run(src, out, fp16) turns downloaded checkpoints into a model folder."""
