"""Vector stores, their files, file batches and search."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response

from runner.server.handlers._common import answer, backend, body, page, path, query

_STATUSES = ("in_progress", "completed", "failed", "cancelled")


async def create_vector_store(request: Request) -> Response:
    return answer(backend(request).vector_stores.create(await body(request, "CreateVectorStoreRequest")))


async def list_vector_stores(request: Request) -> Response:
    return answer(backend(request).vector_stores.list_stores(page(request)))


async def get_vector_store(request: Request) -> Response:
    return answer(backend(request).vector_stores.get(path(request, "vector_store_id")))


async def modify_vector_store(request: Request) -> Response:
    payload = await body(request, "UpdateVectorStoreRequest")
    return answer(backend(request).vector_stores.modify(path(request, "vector_store_id"), payload))


async def delete_vector_store(request: Request) -> Response:
    return answer(backend(request).vector_stores.delete(path(request, "vector_store_id")))


async def create_vector_store_file(request: Request) -> Response:
    payload = await body(request, "CreateVectorStoreFileRequest")
    return answer(backend(request).vector_stores.create_file(path(request, "vector_store_id"), payload))


async def list_vector_store_files(request: Request) -> Response:
    listing = backend(request).vector_stores.list_files(
        path(request, "vector_store_id"), page(request), status=query(request, "filter", _STATUSES)
    )
    return answer(listing)


async def get_vector_store_file(request: Request) -> Response:
    found = backend(request).vector_stores.get_file(
        path(request, "vector_store_id"), path(request, "file_id")
    )
    return answer(found)


async def delete_vector_store_file(request: Request) -> Response:
    deleted = backend(request).vector_stores.delete_file(
        path(request, "vector_store_id"), path(request, "file_id")
    )
    return answer(deleted)


async def update_vector_store_file_attributes(request: Request) -> Response:
    payload = await body(request, "UpdateVectorStoreFileAttributesRequest")
    updated = backend(request).vector_stores.update_file_attributes(
        path(request, "vector_store_id"), path(request, "file_id"), payload["attributes"]
    )
    return answer(updated)


async def retrieve_vector_store_file_content(request: Request) -> Response:
    content = backend(request).vector_stores.file_content(
        path(request, "vector_store_id"), path(request, "file_id")
    )
    return answer(content)


async def create_vector_store_file_batch(request: Request) -> Response:
    payload = await body(request, "CreateVectorStoreFileBatchRequest")
    return answer(backend(request).vector_stores.create_batch(path(request, "vector_store_id"), payload))


async def get_vector_store_file_batch(request: Request) -> Response:
    found = backend(request).vector_stores.get_batch(
        path(request, "vector_store_id"), path(request, "batch_id")
    )
    return answer(found)


async def cancel_vector_store_file_batch(request: Request) -> Response:
    cancelled = backend(request).vector_stores.cancel_batch(
        path(request, "vector_store_id"), path(request, "batch_id")
    )
    return answer(cancelled)


async def list_files_in_vector_store_batch(request: Request) -> Response:
    listing = backend(request).vector_stores.list_batch_files(
        path(request, "vector_store_id"),
        path(request, "batch_id"),
        page(request),
        status=query(request, "filter", _STATUSES),
    )
    return answer(listing)


async def search_vector_store(request: Request) -> Response:
    payload = await body(request, "VectorStoreSearchRequest")
    return answer(backend(request).vector_stores.search_page(path(request, "vector_store_id"), payload))
