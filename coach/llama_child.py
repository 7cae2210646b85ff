"""The embedded llama.cpp server's own process: `python -m coach.llama_child '<params as JSON>'`.

The app runs the model server in a child process rather than in its own, so that stopping it is a
kill: llama.cpp's server, destroyed in-process, waits for its open requests with Python's lock held
(30 s of a frozen app, measured under a streaming answer; a CI run hung there for good). A crash in
llama.cpp no longer takes the app down with it, and the model's memory is freed for certain.

The child prints one JSON line, {"address": ...} or {"error": ...}, and serves until its standard
input closes: when the app stops it, or dies.
"""

from __future__ import annotations

import json
import os
import sys


def main(argv: list[str]) -> int:
    config = json.loads(argv[0])
    try:
        import xllamacpp

        params = xllamacpp.CommonParams()
        params.model.path = config["model"]
        # One slot per request served at once, each with the whole context window. With one
        # slot every request reuses the same cache, so a stable prefix is evaluated once.
        params.n_parallel = config["parallel"]
        params.n_ctx = config["context_tokens"] * config["parallel"]
        params.cpuparams.n_threads = config["threads"]
        params.cpuparams_batch.n_threads = config["threads"]
        params.port = 0  # any free port
        params.hostnames = ["127.0.0.1"]
        params.cache_prompt = True
        params.warmup = False
        params.verbosity = -1  # llama.cpp logs nothing: prompts may contain private notes
        params.slot_save_path = config["slot_save_path"]
        server = xllamacpp.Server(params)
    except Exception as exc:  # xllamacpp raises plain RuntimeErrors
        print(json.dumps({"error": str(exc) or exc.__class__.__name__}), flush=True)
        return 1
    print(json.dumps({"address": server.listening_address}), flush=True)
    sys.stdin.buffer.read()  # returns when the app closes the pipe, or when it dies
    os._exit(0)  # the process's end frees the model; the server's destructor would wait on requests


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
