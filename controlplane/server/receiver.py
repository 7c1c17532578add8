"""`POST /v1/traces`: the OTLP/HTTP trace receiver.

Replies as OTLP/HTTP says: 200 with an ExportTraceServiceResponse in the request's encoding;
400 (malformed body) or 415 (unknown Content-Encoding) with a google.rpc.Status in the
request's encoding, the JSON one also carrying our `error` object; a Content-Type that is
neither protobuf nor JSON gets our plain JSON 415. A body is decoded whole before any span is
stored, then forwarded as it came if forwarding is configured.
"""

from __future__ import annotations

from aiohttp import web
from google.rpc import code_pb2, status_pb2

from controlplane.errors import InvalidInput
from controlplane.observe.otlp import (
    OtlpEncoding,
    UnsupportedEncoding,
    body_encoding,
    decode_request,
    export_response,
    media_type,
)
from controlplane.server.errors import error_document
from controlplane.server.state import STATE

__all__ = ["receive_traces"]


async def receive_traces(request: web.Request) -> web.Response:
    state = request.app[STATE]
    content_type = request.headers.get("Content-Type", "")
    encoding = body_encoding(content_type)  # UnsupportedEncoding: a JSON 415
    body = await request.read()
    content_encoding = _remaining_encoding(request)
    try:
        spans = decode_request(body, content_type, content_encoding,
                               state.settings.max_body_bytes)
    except InvalidInput as err:
        return _rejected(encoding, 415 if isinstance(err, UnsupportedEncoding) else 400, err)
    state.spans.add(spans)
    if state.forwarder is not None:
        state.forwarder.submit(body, content_type, content_encoding)
    return web.Response(body=export_response(encoding), content_type=media_type(encoding))


def _remaining_encoding(request: web.Request) -> str:
    """The Content-Encoding still on the body: none if aiohttp already inflated it (its
    default; `make_runner` turns that off so bodies are forwarded exactly as received). An
    empty body's reader lacks the attribute."""
    if getattr(request.content, "total_compressed_bytes", None) is not None:
        return ""
    return request.headers.get("Content-Encoding", "")


def _rejected(encoding: OtlpEncoding, http_status: int, err: InvalidInput) -> web.Response:
    status = status_pb2.Status(code=code_pb2.INVALID_ARGUMENT, message=str(err))
    if encoding == "protobuf":
        return web.Response(status=http_status, body=status.SerializeToString(),
                            content_type=media_type(encoding))
    document = {"code": status.code, "message": status.message,
                **error_document(str(err), err.field, err.value)}
    return web.json_response(document, status=http_status)
