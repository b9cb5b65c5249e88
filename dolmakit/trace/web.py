"""The local trace page, `dolmakit trace MIX_DIR --serve`: Starlette on uvicorn, offline.

One page (page.html, no external assets) and three JSON endpoints over one open index:
`GET /api/info` (the mix), `POST /api/trace` (`{"text": ...}` -> the `--json` result) and
`GET /api/document?shard=S&row=R` (a whole output document and its provenance). The server
binds 127.0.0.1 unless told otherwise; a port in use is reported before anything starts.
"""

from __future__ import annotations

import errno
import json
import socket
from importlib import resources
from pathlib import Path
from typing import Any

from dolmakit.errors import DolmakitError
from dolmakit.trace.index import SpanIndex, open_index
from dolmakit.trace.query import TraceOptions, trace_text

INSTALL_HINT = "the trace page needs Starlette and uvicorn: pip install 'dolmakit[trace]'"


def page_html() -> bytes:
    """Return the page's HTML (a package resource)."""
    return (resources.files("dolmakit.trace") / "page.html").read_bytes()


def make_app(index: SpanIndex, options: TraceOptions) -> Any:
    """Return the Starlette application serving the page and the API over `index`."""
    try:
        from starlette.applications import Starlette
        from starlette.requests import Request
        from starlette.responses import JSONResponse, Response
        from starlette.routing import Route
    except ImportError:
        raise DolmakitError(INSTALL_HINT) from None

    numbers = {shard["path"]: n for n, shard in enumerate(index.mix.shards)}

    def error(message: str, status: int = 400) -> Any:
        return JSONResponse({"error": message}, status_code=status)

    async def home(request: Request) -> Any:
        return Response(page_html(), media_type="text/html; charset=utf-8")

    async def info(request: Request) -> Any:
        totals = index.manifest["totals"]
        return JSONResponse(
            {
                "mix": str(index.mix.mix_dir),
                "name": index.mix.name,
                "version": index.mix.version,
                "documents": totals["documents"],
                "text_bytes": totals["text_bytes"],
                "max_bytes": options.max_bytes,
            }
        )

    async def run_trace(request: Request) -> Any:
        declared = int(request.headers.get("content-length") or 0)
        if declared > 8 * options.max_bytes + 1024:
            return error(f"the output is over the limit of {options.max_bytes:,} bytes", 413)
        try:
            body = json.loads(await request.body())
            text = body["text"]
            if not isinstance(text, str):
                raise TypeError
        except (ValueError, KeyError, TypeError):
            return error('send a JSON object {"text": "..."}')
        try:
            result = trace_text(index, text, options)
        except DolmakitError as exc:
            return error(str(exc))
        return JSONResponse(result.to_json())

    async def document(request: Request) -> Any:
        shard = request.query_params.get("shard", "")
        row = request.query_params.get("row", "")
        if shard not in numbers or not row.isdigit():
            return error(f"no output document {shard}:{row} in this mix", 404)
        found = index.find_document(numbers[shard], int(row))
        if found is None:
            return error(f"no output document {shard}:{row} in this mix", 404)
        number, located = found
        where = index.provenance(number, located)
        return JSONResponse(
            {
                "text": index.text_of(number, located).decode("utf-8", "replace"),
                "shard": where.shard_path,
                "row": where.row,
                "id": where.id,
                "source": where.source,
                "path": where.path,
                "line": where.line,
                "mix": str(index.mix.mix_dir),
            }
        )

    return Starlette(
        routes=[
            Route("/", home),
            Route("/api/info", info),
            Route("/api/trace", run_trace, methods=["POST"]),
            Route("/api/document", document),
        ]
    )


def bind(host: str, port: int) -> socket.socket:
    """Return a listening socket on host:port; DolmakitError if the port is taken."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind((host, port))
    except OSError as exc:
        sock.close()
        if exc.errno == errno.EADDRINUSE:
            raise DolmakitError(
                f"port {port} on {host} is in use; choose another with --port"
            ) from None
        raise DolmakitError(f"cannot listen on {host}:{port}: {exc.strerror}") from None
    sock.listen(64)
    return sock


def serve(
    mix_dir: str | Path,
    options: TraceOptions | None = None,
    *,
    host: str = "127.0.0.1",
    port: int = 8000,
) -> None:
    """Serve the trace page for a mix until interrupted."""
    try:
        import uvicorn
    except ImportError:
        raise DolmakitError(INSTALL_HINT) from None
    options = options or TraceOptions()
    index = open_index(mix_dir)
    try:
        app = make_app(index, options)
        sock = bind(host, port)
        shown = f"[{host}]" if ":" in host else host
        print(f"tracing {index.mix.mix_dir} on http://{shown}:{port}/ (Ctrl-C stops)", flush=True)
        server = uvicorn.Server(uvicorn.Config(app, log_level="warning"))
        server.run(sockets=[sock])
    finally:
        index.close()
