"""Files: multipart upload, list, retrieve, delete, content."""

from __future__ import annotations

from typing import Any

from starlette.datastructures import FormData, UploadFile
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import Response

from runner.server.exceptions import InvalidRequest, MissingParameter, PayloadTooLarge
from runner.server.handlers._common import answer, backend, page, path, query
from runner.server.parsing import MAX_INT_DIGITS, check_servable
from runner.server.validation import validate


async def create_file(request: Request) -> Response:
    limits = request.app.state.limits
    if not request.headers.get("content-type", "").startswith("multipart/form-data"):
        raise InvalidRequest("Expected a multipart/form-data body with the fields 'file' and 'purpose'.")
    try:
        async with request.form(max_files=1, max_fields=10) as form:
            return await _create_from(request, form)
    except HTTPException as refused:
        # Not a real multipart upload: only an upload gets more room than a JSON body.
        length = request.headers.get("content-length", "")
        if length.isdigit() and int(length) > limits.max_body_bytes:
            raise PayloadTooLarge(int(length), limits.max_body_bytes) from None
        raise InvalidRequest(f"Invalid multipart/form-data body: {refused.detail}") from None


async def _create_from(request: Request, form: FormData) -> Response:
    limits = request.app.state.limits
    upload = form.get("file")
    if not isinstance(upload, UploadFile):
        raise MissingParameter("file")
    # The name is kept as data only: it never becomes a path on this machine.
    filename = upload.filename or "upload"
    content = await upload.read(limits.max_upload_bytes + 1)
    if len(content) > limits.max_upload_bytes:
        raise PayloadTooLarge(None, limits.max_upload_bytes, "File")
    # Form fields are flat strings; rebuild the JSON shape the request schema describes.
    body: dict[str, Any] = {"file": filename}
    for name, value in form.items():
        if not isinstance(value, str):
            continue
        if name.startswith("expires_after["):
            key = name.removeprefix("expires_after[").removesuffix("]")
            # ASCII digits only: "²".isdigit() is true, and int() refuses it.
            number = value.isascii() and value.isdigit() and len(value) <= MAX_INT_DIGITS
            body.setdefault("expires_after", {})[key] = int(value) if number else value
        else:
            body[name] = value
    check_servable(body)
    checked = validate("CreateFileRequest", body)
    created = backend(request).files.create(
        filename, content, checked["purpose"], checked.get("expires_after")
    )
    return answer(created)


async def list_files(request: Request) -> Response:
    listing = backend(request).files.list_files(
        page(request, max_limit=10000, default_limit=10000), purpose=query(request, "purpose")
    )
    return answer(listing)


async def retrieve_file(request: Request) -> Response:
    return answer(backend(request).files.get(path(request, "file_id")))


async def delete_file(request: Request) -> Response:
    return answer(backend(request).files.delete(path(request, "file_id")))


async def download_file(request: Request) -> Response:
    content = backend(request).files.content(path(request, "file_id"))
    return Response(content, media_type="application/octet-stream")
