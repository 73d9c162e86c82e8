"""Our own PyTorch modules for the architectures latentstage imports, loading real checkpoints by tensor name."""
