"""Vector stores, their files and file batches, chunked and indexed synchronously for search."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from runner.server import retrieval
from runner.server.exceptions import InvalidRequest, InvalidValue, NotFound, ObjectNotFound
from runner.server.models.common import Page, check_metadata, list_object, new_id, now
from runner.server.models.files import Files
from runner.server.models.filters import matches
from runner.server.store import Store

STATUSES = ("in_progress", "completed", "failed", "cancelled")
DAY = 86400


@dataclass(frozen=True)
class SearchHit:
    file_id: str
    filename: str
    score: float
    text: str
    vector_store_id: str
    attributes: dict[str, Any]


def static_strategy(requested: dict[str, Any] | None, param: str = "chunking_strategy") -> dict[str, Any]:
    if requested is None or requested.get("type") == "auto":
        sizes = {
            "max_chunk_size_tokens": retrieval.AUTO_MAX_TOKENS,
            "chunk_overlap_tokens": retrieval.AUTO_OVERLAP_TOKENS,
        }
    else:
        sizes = dict(requested["static"])
        if sizes["chunk_overlap_tokens"] > sizes["max_chunk_size_tokens"] // 2:
            raise InvalidValue(
                "Invalid 'chunk_overlap_tokens': must not exceed half of 'max_chunk_size_tokens'.",
                f"{param}.static.chunk_overlap_tokens",
            )
        if sizes["chunk_overlap_tokens"] < 0:
            raise InvalidValue(
                "Invalid 'chunk_overlap_tokens': must not be negative.",
                f"{param}.static.chunk_overlap_tokens",
            )
    # The real API reports `auto` as the static sizes it stands for.
    return {"type": "static", "static": sizes}


class VectorStores:
    def __init__(self, store: Store, files: Files) -> None:
        self.store = store
        self.files = files

    # -- stores --------------------------------------------------------------------------------------------

    def create(self, body: dict[str, Any]) -> dict[str, Any]:
        created = now()
        vs: dict[str, Any] = {
            "id": new_id("vs"),
            "object": "vector_store",
            "created_at": created,
            "name": body.get("name"),
            "description": body.get("description"),
            "usage_bytes": 0,
            "file_counts": _counts({}),
            "status": "completed",
            "expires_after": body.get("expires_after"),
            "expires_at": None,
            "last_active_at": created,
            "metadata": check_metadata(body.get("metadata")),
        }
        file_ids = list(body.get("file_ids") or [])
        strategy = static_strategy(body.get("chunking_strategy"))
        with self.store.transaction():
            for file_id in file_ids:
                self.files.get(file_id)
            self.store.insert("vector_stores", vs)
            for file_id in file_ids:
                self._add_file(vs["id"], file_id, strategy, {}, None)
        return self.get(vs["id"])

    def get(self, vector_store_id: str) -> dict[str, Any]:
        vs = self.store.get("vector_stores", vector_store_id)
        if vs is None:
            raise ObjectNotFound("vector store", vector_store_id)
        return self._fresh(vs)

    def list_stores(self, page: Page) -> dict[str, Any]:
        items, more = self.store.page(
            "vector_stores", {}, limit=page.limit, order=page.order, after=page.after, before=page.before
        )
        return list_object([self._fresh(vs) for vs in items], more)

    def modify(self, vector_store_id: str, body: dict[str, Any]) -> dict[str, Any]:
        with self.store.transaction():
            vs = self.get(vector_store_id)
            if "name" in body:
                vs["name"] = body["name"]
            if "metadata" in body:
                vs["metadata"] = check_metadata(body["metadata"])
            if "expires_after" in body:
                vs["expires_after"] = body["expires_after"]
            self.store.update("vector_stores", vs)
        return self.get(vector_store_id)

    def delete(self, vector_store_id: str) -> dict[str, Any]:
        with self.store.transaction():
            if not self.store.delete("vector_stores", vector_store_id):
                raise ObjectNotFound("vector store", vector_store_id)
            self.store.drop_chunks(vector_store_id)
        return {"id": vector_store_id, "object": "vector_store.deleted", "deleted": True}

    def _fresh(self, vs: dict[str, Any]) -> dict[str, Any]:
        files = self.store.all("vector_store_files", vector_store_id=vs["id"])
        vs["file_counts"] = _counts(
            self.store.count("vector_store_files", "status", vector_store_id=vs["id"])
        )
        vs["usage_bytes"] = sum(f["usage_bytes"] for f in files)
        expires = vs.get("expires_after")
        vs["expires_at"] = vs["last_active_at"] + expires["days"] * DAY if expires else None
        if vs["expires_at"] is not None and vs["expires_at"] <= now():
            vs["status"] = "expired"
        elif vs["file_counts"]["in_progress"]:
            vs["status"] = "in_progress"
        else:
            vs["status"] = "completed"
        return vs

    def _touch(self, vector_store_id: str) -> None:
        vs = self.store.get("vector_stores", vector_store_id)
        if vs is not None:
            vs["last_active_at"] = now()
            self.store.update("vector_stores", vs)

    # -- files -----------------------------------------------------------------------------------------------

    def create_file(self, vector_store_id: str, body: dict[str, Any]) -> dict[str, Any]:
        strategy = static_strategy(body.get("chunking_strategy"))
        with self.store.transaction():
            self.get(vector_store_id)
            self.files.get(body["file_id"])
            vsf = self._add_file(
                vector_store_id, body["file_id"], strategy, body.get("attributes") or {}, None
            )
            self._touch(vector_store_id)
        return vsf

    def _add_file(
        self,
        vector_store_id: str,
        file_id: str,
        strategy: dict[str, Any],
        attributes: dict[str, Any],
        batch_id: str | None,
    ) -> dict[str, Any]:
        text = self.files.text(file_id)
        vsf: dict[str, Any] = {
            "id": file_id,
            "object": "vector_store.file",
            "usage_bytes": 0,
            "created_at": now(),
            "vector_store_id": vector_store_id,
            "status": "completed",
            "last_error": None,
            "chunking_strategy": strategy,
            "attributes": dict(attributes),
        }
        if text is None:
            vsf["status"] = "failed"
            vsf["last_error"] = {"code": "unsupported_file", "message": "The file is not UTF-8 text."}
            self.store.drop_chunks(vector_store_id, file_id)
        else:
            sizes = strategy["static"]
            pieces = retrieval.chunk(text, sizes["max_chunk_size_tokens"], sizes["chunk_overlap_tokens"])
            self.store.put_chunks(vector_store_id, file_id, [(p, retrieval.terms(p)) for p in pieces])
            vsf["usage_bytes"] = len(text.encode("utf-8"))
        self.store.insert(
            "vector_store_files",
            vsf,
            vector_store_id=vector_store_id,
            batch_id=batch_id,
            status=vsf["status"],
        )
        return vsf

    def get_file(self, vector_store_id: str, file_id: str) -> dict[str, Any]:
        self.get(vector_store_id)
        vsf = self.store.get("vector_store_files", file_id, vector_store_id=vector_store_id)
        if vsf is None:
            raise NotFound(f"No file found with id '{file_id}' in vector store '{vector_store_id}'.")
        return vsf

    def list_files(self, vector_store_id: str, page: Page, status: str | None = None) -> dict[str, Any]:
        self.get(vector_store_id)
        items, more = self.store.page(
            "vector_store_files",
            {"vector_store_id": vector_store_id, "status": status},
            limit=page.limit,
            order=page.order,
            after=page.after,
            before=page.before,
        )
        return list_object(items, more)

    def delete_file(self, vector_store_id: str, file_id: str) -> dict[str, Any]:
        with self.store.transaction():
            self.get_file(vector_store_id, file_id)
            self.store.delete("vector_store_files", file_id, vector_store_id=vector_store_id)
            self.store.drop_chunks(vector_store_id, file_id)
        return {"id": file_id, "object": "vector_store.file.deleted", "deleted": True}

    def update_file_attributes(
        self, vector_store_id: str, file_id: str, attributes: dict[str, Any] | None
    ) -> dict[str, Any]:
        with self.store.transaction():
            vsf = self.get_file(vector_store_id, file_id)
            vsf["attributes"] = dict(attributes or {})
            self.store.update("vector_store_files", vsf, vector_store_id=vector_store_id)
        return vsf

    def file_content(self, vector_store_id: str, file_id: str) -> dict[str, Any]:
        self.get_file(vector_store_id, file_id)
        chunks = self.store.chunks([vector_store_id], file_id)
        text = self.files.text(file_id) if chunks else None
        data = [{"type": "text", "text": text}] if text is not None else []
        return {
            "object": "vector_store.file_content.page",
            "data": data,
            "has_more": False,
            "next_page": None,
        }

    # -- batches ---------------------------------------------------------------------------------------------

    def create_batch(self, vector_store_id: str, body: dict[str, Any]) -> dict[str, Any]:
        if "files" in body and "file_ids" in body:
            raise InvalidRequest("'file_ids' and 'files' are mutually exclusive: send one of them.", "files")
        if "files" in body:
            entries = [
                (
                    f["file_id"],
                    static_strategy(f.get("chunking_strategy"), f"files[{i}].chunking_strategy"),
                    f.get("attributes") or {},
                )
                for i, f in enumerate(body["files"])
            ]
        else:
            strategy = static_strategy(body.get("chunking_strategy"))
            entries = [(file_id, strategy, body.get("attributes") or {}) for file_id in body["file_ids"]]
        batch: dict[str, Any] = {
            "id": new_id("vsfb"),
            "object": "vector_store.file_batch",
            "created_at": now(),
            "status": "completed",
            "vector_store_id": vector_store_id,
            "file_counts": _counts({}),
        }
        with self.store.transaction():
            self.get(vector_store_id)
            for file_id, _, _ in entries:
                self.files.get(file_id)
            self.store.insert("file_batches", batch, vector_store_id=vector_store_id)
            for file_id, strategy, attributes in entries:
                self._add_file(vector_store_id, file_id, strategy, attributes, batch["id"])
            self._touch(vector_store_id)
        return self.get_batch(vector_store_id, batch["id"])

    def get_batch(self, vector_store_id: str, batch_id: str) -> dict[str, Any]:
        self.get(vector_store_id)
        batch = self.store.get("file_batches", batch_id, vector_store_id=vector_store_id)
        if batch is None:
            raise ObjectNotFound("vector store file batch", batch_id)
        batch["file_counts"] = _counts(self.store.count("vector_store_files", "status", batch_id=batch_id))
        return batch

    def cancel_batch(self, vector_store_id: str, batch_id: str) -> dict[str, Any]:
        batch = self.get_batch(vector_store_id, batch_id)
        if batch["status"] != "in_progress":
            # Files are processed while the batch is created, so there is never anything left to cancel.
            raise InvalidRequest(f"Cannot cancel a vector store file batch with status '{batch['status']}'.")
        return batch  # pragma: no cover - see above

    def list_batch_files(
        self, vector_store_id: str, batch_id: str, page: Page, status: str | None = None
    ) -> dict[str, Any]:
        self.get_batch(vector_store_id, batch_id)
        items, more = self.store.page(
            "vector_store_files",
            {"vector_store_id": vector_store_id, "batch_id": batch_id, "status": status},
            limit=page.limit,
            order=page.order,
            after=page.after,
            before=page.before,
        )
        # Files listed from a batch come without usage_bytes, chunking_strategy and attributes (recordings).
        keep = ("id", "object", "created_at", "vector_store_id", "status", "last_error")
        return list_object([{k: f[k] for k in keep} for f in items], more)

    # -- search ----------------------------------------------------------------------------------------------

    def search(
        self,
        vector_store_ids: list[str],
        queries: list[str],
        max_results: int = 10,
        filters: dict[str, Any] | None = None,
        score_threshold: float = 0.0,
    ) -> list[SearchHit]:
        files: dict[tuple[str, str], dict[str, Any]] = {}
        for vs_id in vector_store_ids:
            self.get(vs_id)
            for vsf in self.store.all("vector_store_files", vector_store_id=vs_id, status="completed"):
                if filters is None or matches(filters, vsf["attributes"]):
                    files[(vs_id, vsf["id"])] = vsf
        pool = [
            retrieval.Indexed(c.vector_store_id, c.file_id, c.idx, c.text, c.terms)
            for c in self.store.chunks(vector_store_ids)
            if (c.vector_store_id, c.file_id) in files
        ]
        hits = retrieval.rank(pool, queries, max_results, score_threshold)
        names: dict[str, str] = {}
        for hit in hits:
            if hit.file_id not in names:
                file = self.store.get("files", hit.file_id)
                names[hit.file_id] = file["filename"] if file else hit.file_id
        return [
            SearchHit(
                h.file_id,
                names[h.file_id],
                h.score,
                h.text,
                h.vector_store_id,
                files[(h.vector_store_id, h.file_id)]["attributes"],
            )
            for h in hits
        ]

    def search_page(self, vector_store_id: str, body: dict[str, Any]) -> dict[str, Any]:
        queries = [body["query"]] if isinstance(body["query"], str) else list(body["query"])
        options = body.get("ranking_options") or {}
        hits = self.search(
            [vector_store_id],
            queries,
            body.get("max_num_results", 10),
            body.get("filters"),
            float(options.get("score_threshold", 0.0)),
        )
        with self.store.transaction():
            self._touch(vector_store_id)
        return {
            "object": "vector_store.search_results.page",
            "search_query": queries,
            "data": [
                {
                    "file_id": h.file_id,
                    "filename": h.filename,
                    "score": h.score,
                    "attributes": h.attributes,
                    "content": [{"type": "text", "text": h.text}],
                }
                for h in hits
            ],
            "has_more": False,
            "next_page": None,
        }


def _counts(by_status: dict[str, int]) -> dict[str, int]:
    counts = {s: by_status.get(s, 0) for s in STATUSES}
    return {**counts, "total": sum(counts.values())}
