# The torch runtime's child process (server/runtime/torch.ts starts it): loads a model folder with
# load_folder() and answers calls over two pipes, requests on --in, replies on --out.
#
# A message is a little-endian u32 header length, a JSON header, then the binary parts the header
# lists by byte length ("parts"). Request ops: generate, frame (one live frame: 8-bit RGB, and the
# image encoder's embedding or input), embed (generate + encode a batch: the pictures never leave),
# encodeText, encodeImage, close. Replies carry the request's id and either parts or an "error".
# Events ({"event": ...}, no id): ready, warn, info. Inputs are read straight into the arrays torch
# uses and outputs are written from the arrays torch made: no copies in Python besides the one from
# the device. Live frames run before queued batch work. EOF on --in ends the process.
import argparse
import json
import os
import struct
import sys
import threading
import time
from collections import deque

import numpy as np
import torch

from latentstage.folder import load_folder

HEADER = struct.Struct("<I")
LIVE_OPS = ("frame",)


def read_into(fd, view):
    got = 0
    n = len(view)
    while got < n:
        k = os.readv(fd, [view[got:]])
        if k == 0:
            raise EOFError
        got += k


def read_message(fd):
    head = bytearray(4)
    read_into(fd, memoryview(head))
    (size,) = HEADER.unpack(head)
    raw = bytearray(size)
    read_into(fd, memoryview(raw))
    header = json.loads(raw)
    parts = []
    for n in header.get("parts", []):
        buf = np.empty(n, dtype=np.uint8)
        read_into(fd, memoryview(buf))
        parts.append(buf)
    return header, parts


F_SETPIPE_SZ = 1031  # Linux: a pipe buffer of 1 MiB moves a frame in a few wake-ups, not 16 per MiB


class Writer:
    def __init__(self, fd):
        self.fd = fd
        self.lock = threading.Lock()
        try:
            import fcntl

            fcntl.fcntl(fd, F_SETPIPE_SZ, 1 << 20)
        except (ImportError, OSError):
            pass

    def send(self, header, parts=()):
        arrays = [np.ascontiguousarray(p) for p in parts]
        header = dict(header, parts=[a.nbytes for a in arrays])
        raw = json.dumps(header).encode()
        with self.lock:
            self._write(memoryview(HEADER.pack(len(raw)) + raw))
            for a in arrays:
                if a.nbytes:
                    self._write(memoryview(a).cast("B"))

    def _write(self, view):
        while len(view):
            k = os.write(self.fd, view)
            view = view[k:]


def f32(buf, shape):
    return torch.from_numpy(buf.view(np.float32).reshape(shape))


def to_host(t):
    """A contiguous CPU numpy view of t: the one copy off an accelerator, none on the CPU."""
    return t.contiguous().cpu().numpy()


class Server:
    def __init__(self, args, out):
        self.out = out
        self.requested = args.device
        self.device = self.pick_device(args.device)
        self.dtype = torch.float32
        if args.fp16:
            if self.device.type in ("cuda", "mps"):
                self.dtype = torch.float16
            else:
                self.warn("--fp16 needs a cuda or mps device: running float32 on the cpu")
        if args.threads and self.device.type == "cpu":
            torch.set_num_threads(args.threads)
        t0 = time.perf_counter()
        self.model = load_folder(args.folder, device=self.device, dtype=self.dtype)
        m = self.model.manifest
        self.zdim = m["generator"]["z"]["dim"]
        cond = m["generator"].get("condition")
        self.cdim = cond["dim"] if cond else 0
        self.range = m["generator"]["output"]["range"]
        self.image = m.get("image")
        self.gen = self.model.generate
        self.graphs = {} if args.cuda_graphs else None
        if args.cuda_graphs and self.device.type != "cuda":
            self.warn("--cuda-graphs needs a cuda device: frames run without them")
            self.graphs = None
        if args.compile:
            if not hasattr(torch, "compile"):
                self.warn(f"--compile needs PyTorch 2 (this is {torch.__version__}): running eager")
            else:
                self.gen = torch.compile(self.model.generate)
        with torch.inference_mode():
            # warm-up (and the compile, when asked): the first live frame does not pay for it
            probe = self.generate_t(torch.zeros(1, self.zdim), torch.zeros(1, self.cdim) if self.cdim else None, None)
        self.height, self.width = int(probe.shape[2]), int(probe.shape[3])
        self.info(f"torch {torch.__version__} on {self.device} ({str(self.dtype).replace('torch.', '')}) loaded in {time.perf_counter() - t0:.1f} s")

    # --- events
    def warn(self, message):
        self.out.send({"event": "warn", "message": message})

    def info(self, message):
        self.out.send({"event": "info", "message": message})

    def pick_device(self, name):
        if name == "cuda":
            if torch.cuda.is_available():
                return torch.device("cuda")
            self.warn("device cuda is not available to torch (no CUDA build or no GPU); falling back to cpu")
        elif name == "mps":
            mps = getattr(torch.backends, "mps", None)
            if mps is not None and mps.is_available():
                return torch.device("mps")
            self.warn("device mps is not available to torch; falling back to cpu")
        elif name != "cpu":
            self.warn(f"device {name} is not a torch device (cuda, mps, cpu); falling back to cpu")
        return torch.device("cpu")

    # --- computation (inputs are CPU tensors; outputs stay on the device)
    def generate_t(self, z, cond, truncation):
        z = z.to(self.device, self.dtype, non_blocking=True)
        if cond is not None:
            cond = cond.to(self.device, self.dtype, non_blocking=True)
        if self.gen is not self.model.generate:
            try:
                return self.gen(z, cond, truncation)
            except Exception as err:  # a compile failure: say so once, then run eager
                self.warn(f"torch.compile failed ({str(err).splitlines()[0] if str(err) else type(err).__name__}): running eager")
                self.gen = self.model.generate
        return self.model.generate(z, cond, truncation)

    def rgb_t(self, images):
        """[1,3,H,W] in the output range -> [H,W,3] uint8 (rounded half to even, clamped, as Node's toRgb)."""
        lo, hi = self.range
        k = 255.0 / (hi - lo)
        x = images[0].float() * k - lo * k
        return x.round_().clamp_(0, 255).to(torch.uint8).permute(1, 2, 0)

    def encoder_input_t(self, images):
        """The image encoder's input from generator pictures, as runtime/encoder-input.ts's toEncoderInput."""
        enc = self.image
        s = enc["size"]
        x = images.float()
        h, w = x.shape[2], x.shape[3]
        if (h, w) != (s, s):
            if h == w and w % s == 0:
                x = torch.nn.functional.avg_pool2d(x, w // s)
            else:
                x = torch.nn.functional.interpolate(x, size=(s, s), mode="bilinear", align_corners=False)
        glo, ghi = self.range
        elo, ehi = enc["range"]
        x = (x - glo) * ((ehi - elo) / (ghi - glo)) + elo
        if enc.get("layout") == "NHWC":
            x = x.permute(0, 2, 3, 1)
        return x

    def embed_t(self, images):
        """Embeddings when the folder has a torch image encoder, else the encoder's input (Node runs ONNX)."""
        x = self.encoder_input_t(images)
        if self.model.encode_image is None:
            return "input", x
        return "embedding", self.model.encode_image(x.to(self.dtype)).float()

    def frame_graphed(self, z, cond, truncation):
        """The live frame replayed from a captured CUDA graph (one per truncation value)."""
        key = (truncation, cond is not None)
        g = self.graphs.get(key)
        if g is None:
            if len(self.graphs) >= 4:
                self.graphs.clear()
            sz = torch.zeros(1, self.zdim, device=self.device)
            sc = torch.zeros(1, self.cdim, device=self.device) if cond is not None else None
            stream = torch.cuda.Stream()
            stream.wait_stream(torch.cuda.current_stream())
            with torch.cuda.stream(stream):
                for _ in range(3):
                    self.rgb_t(self.generate_t(sz, sc, truncation))
            torch.cuda.current_stream().wait_stream(stream)
            graph = torch.cuda.CUDAGraph()
            with torch.cuda.graph(graph):
                images = self.generate_t(sz, sc, truncation)
                rgb = self.rgb_t(images)
            g = self.graphs[key] = (graph, sz, sc, images, rgb)
        graph, sz, sc, images, rgb = g
        sz.copy_(z)
        if sc is not None:
            sc.copy_(cond)
        graph.replay()
        return images, rgb

    # --- ops: (header, parts) -> (reply header, reply parts)
    def op_generate(self, h, parts):
        b = h["batch"]
        cond = f32(parts[1], (b, self.cdim)) if self.cdim and len(parts) > 1 else None
        images = self.generate_t(f32(parts[0], (b, self.zdim)), cond, h.get("truncation"))
        return {"shape": list(images.shape)}, [to_host(images.float())]

    def op_frame(self, h, parts):
        z = f32(parts[0], (1, self.zdim))
        cond = f32(parts[1], (1, self.cdim)) if self.cdim and len(parts) > 1 else None
        truncation = h.get("truncation")
        images = rgb = None
        if self.graphs is not None:
            try:
                images, rgb = self.frame_graphed(z.to(self.device), cond.to(self.device) if cond is not None else None, truncation)
            except Exception as err:
                self.warn(f"CUDA graph capture failed ({str(err).splitlines()[0] if str(err) else type(err).__name__}): frames run without graphs")
                self.graphs = None
        if images is None:
            images = self.generate_t(z, cond, truncation)
            rgb = self.rgb_t(images)
        out = [to_host(rgb)]
        reply = {"width": int(rgb.shape[1]), "height": int(rgb.shape[0])}
        if h.get("embed") and self.image is not None:
            kind, e = self.embed_t(images)
            reply["embed"] = kind
            out.append(to_host(e))
        return reply, out

    def op_embed(self, h, parts):
        b = h["batch"]
        cond = f32(parts[1], (b, self.cdim)) if self.cdim and len(parts) > 1 else None
        images = self.generate_t(f32(parts[0], (b, self.zdim)), cond, h.get("truncation"))
        kind, e = self.embed_t(images)
        return {"embed": kind}, [to_host(e)]

    def op_encodeText(self, h, parts):
        b = h["batch"]
        ids = torch.from_numpy(parts[0].view(np.int64).reshape(b, -1)).to(self.device)
        return {}, [to_host(self.model.encode_text(ids).float())]

    def op_encodeImage(self, h, parts):
        s = self.image["size"]
        x = f32(parts[0], (h["batch"], 3, s, s)).to(self.device, self.dtype)
        return {}, [to_host(self.model.encode_image(x).float())]

    def has(self):
        return {
            "encodeText": self.model.encode_text is not None,
            "encodeImage": self.model.encode_image is not None,
            "width": self.width,
            "height": self.height,
        }


def main():
    p = argparse.ArgumentParser(description="latentstage torch runtime child (started by the server)")
    p.add_argument("folder")
    p.add_argument("--device", default="cpu")
    p.add_argument("--fp16", action="store_true")
    p.add_argument("--compile", action="store_true")
    p.add_argument("--cuda-graphs", action="store_true")
    p.add_argument("--threads", type=int, default=0)
    p.add_argument("--in", dest="fd_in", type=int, default=3)
    p.add_argument("--out", dest="fd_out", type=int, default=4)
    args = p.parse_args()
    out = Writer(args.fd_out)
    try:
        server = Server(args, out)
    except Exception as err:
        out.send({"event": "failed", "message": f"{type(err).__name__}: {err}"})
        raise
    out.send({"event": "ready", "device": server.device.type, "has": server.has(), "pid": os.getpid()})

    live, background = deque(), deque()
    cv = threading.Condition()
    state = {"eof": False}

    def reader():
        try:
            while True:
                header, parts = read_message(args.fd_in)
                if header.get("op") == "close":
                    break
                with cv:
                    (live if header.get("op") in LIVE_OPS or header.get("live") else background).append((header, parts))
                    cv.notify()
        except EOFError:
            pass
        with cv:
            state["eof"] = True
            live.clear()
            background.clear()
            cv.notify()

    threading.Thread(target=reader, daemon=True).start()
    while True:
        with cv:
            while not live and not background and not state["eof"]:
                cv.wait()
            if state["eof"]:
                break
            header, parts = live.popleft() if live else background.popleft()
        try:
            fn = getattr(server, "op_" + str(header.get("op")), None)
            if fn is None:
                raise ValueError(f"unknown op {header.get('op')!r}")
            with torch.inference_mode():
                reply, out_parts = fn(header, parts)
            out.send(dict(reply, id=header["id"]), out_parts)
        except Exception as err:
            out.send({"id": header.get("id"), "error": f"{type(err).__name__}: {err}"})
    sys.exit(0)


if __name__ == "__main__":
    main()
