# latentstage's Python side: model code, import, fixtures and the torch runtime's child process.
