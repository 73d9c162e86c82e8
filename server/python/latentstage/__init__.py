"""latentstage's Python side: our own PyTorch models of the architectures people bring, importers
from the files they download to latentstage model folders, and the folder loader the torch runtime
and the latent bank build on. Run modules as `PYTHONPATH=server/python python3 -m latentstage.<module>`."""
