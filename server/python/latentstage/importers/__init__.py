"""One importer per kind (stylegan, biggan, clip); each exposes run(src, out, fp16) -> None."""
