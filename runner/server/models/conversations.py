"""Conversations and their items (the Conversations API). Items are stored in the shapes the API serves; a
response on a conversation reads them before its input and appends its input and output items when it ends
(runner/server/responses_engine.py)."""

from __future__ import annotations

from typing import Any

from runner.server.exceptions import InvalidRequest, NotFound
from runner.server.models.common import Page, check_metadata, list_object, new_id, now
from runner.server.models.items import input_item, public_item
from runner.server.store import Store

MAX_ITEMS = 20


class ConversationNotFound(NotFound):
    def __init__(self, conversation_id: str) -> None:
        super().__init__(f"Conversation with id '{conversation_id}' not found.")


class ItemNotFound(NotFound):
    def __init__(self, item_id: str) -> None:
        super().__init__(f"Item with id '{item_id}' not found.")


class Conversations:
    def __init__(self, store: Store) -> None:
        self.store = store

    def create(self, body: dict[str, Any]) -> dict[str, Any]:
        items = body.get("items") or []
        self._check_count(items, "items")
        conversation: dict[str, Any] = {
            "id": new_id("conv"),
            "object": "conversation",
            "created_at": now(),
            "metadata": check_metadata(body.get("metadata")),
        }
        stored = [input_item(item, f"items[{i}]") for i, item in enumerate(items)]
        with self.store.transaction():
            self.store.insert("conversations", conversation)
            self.append(conversation["id"], stored)
        return conversation

    def get(self, conversation_id: str) -> dict[str, Any]:
        found = self.store.get("conversations", conversation_id)
        if found is None:
            raise ConversationNotFound(conversation_id)
        return found

    def update(self, conversation_id: str, body: dict[str, Any]) -> dict[str, Any]:
        conversation = self.get(conversation_id)
        conversation["metadata"] = check_metadata(body.get("metadata"))
        self.store.update("conversations", conversation)
        return conversation

    def delete(self, conversation_id: str) -> dict[str, Any]:
        self.get(conversation_id)
        with self.store.transaction():
            self.store.delete("conversations", conversation_id)
            for item in self.store.all("conversation_items", conversation_id=conversation_id):
                self.store.delete("conversation_items", item["id"], conversation_id=conversation_id)
        return {"id": conversation_id, "object": "conversation.deleted", "deleted": True}

    # -- items ------------------------------------------------------------------------------------------

    def _check_count(self, items: list[Any], param: str) -> None:
        if len(items) > MAX_ITEMS:
            raise InvalidRequest(
                f"Invalid '{param}': array too long. Expected an array with maximum length {MAX_ITEMS}, "
                f"but got an array with length {len(items)} instead.",
                param,
                "array_above_max_length",
            )

    def append(self, conversation_id: str, items: list[dict[str, Any]]) -> None:
        with self.store.transaction():
            for item in items:
                self.store.insert(
                    "conversation_items",
                    {**item, "created_at": item.get("created_at", now())},
                    conversation_id=conversation_id,
                )

    def items(self, conversation_id: str) -> list[dict[str, Any]]:
        """Every item, oldest first, as stored (what a response on the conversation reads)."""
        self.get(conversation_id)
        return [_strip(i) for i in self.store.all("conversation_items", conversation_id=conversation_id)]

    def create_items(self, conversation_id: str, body: dict[str, Any], include: set[str]) -> dict[str, Any]:
        self.get(conversation_id)
        given = body.get("items") or []
        self._check_count(given, "items")
        stored = [input_item(item, f"items[{i}]") for i, item in enumerate(given)]
        self.append(conversation_id, stored)
        shown = [public_item(i, include) for i in stored]
        return list_object(shown, False)

    def list_items(self, conversation_id: str, page: Page, include: set[str]) -> dict[str, Any]:
        self.get(conversation_id)
        rows, more = self.store.page(
            "conversation_items",
            {"conversation_id": conversation_id},
            limit=page.limit,
            order=page.order,
            after=page.after,
            before=None,
        )
        return list_object([public_item(_strip(r), include) for r in rows], more)

    def get_item(self, conversation_id: str, item_id: str, include: set[str]) -> dict[str, Any]:
        self.get(conversation_id)
        found = self.store.get("conversation_items", item_id, conversation_id=conversation_id)
        if found is None:
            raise ItemNotFound(item_id)
        return public_item(_strip(found), include)

    def delete_item(self, conversation_id: str, item_id: str) -> dict[str, Any]:
        conversation = self.get(conversation_id)
        if not self.store.delete("conversation_items", item_id, conversation_id=conversation_id):
            raise ItemNotFound(item_id)
        return conversation


def _strip(item: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in item.items() if k != "created_at"}
