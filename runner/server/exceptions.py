"""Errors the API answers with. Each knows its HTTP status and serialises to OpenAI's error body."""

from __future__ import annotations

from typing import Any


class ApiError(Exception):
    status = 500
    type = "server_error"
    code: str | None = None

    def __init__(self, message: str, param: str | None = None, code: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.param = param
        if code is not None:
            self.code = code

    def body(self) -> dict[str, Any]:
        return {"error": {"message": self.message, "type": self.type, "param": self.param, "code": self.code}}

    def headers(self) -> dict[str, str]:
        return {}


class InvalidRequest(ApiError):
    status = 400
    type = "invalid_request_error"


class MissingParameter(InvalidRequest):
    code = "missing_required_parameter"

    def __init__(self, param: str) -> None:
        super().__init__(f"Missing required parameter: '{param}'.", param=param)


class InvalidType(InvalidRequest):
    code = "invalid_type"


class InvalidValue(InvalidRequest):
    code = "invalid_value"


class UnknownParameter(InvalidRequest):
    def __init__(self, param: str) -> None:
        super().__init__(f"Unknown parameter: '{param}'.", param=param, code="unknown_parameter")


class InvalidJson(InvalidRequest):
    def __init__(self) -> None:
        super().__init__(
            "We could not parse the JSON body of your request. (HINT: This likely means you aren't "
            "using your HTTP library correctly. The OpenAI API expects a JSON payload, but what was sent "
            "was not valid JSON. If you have trouble figuring out how to fix this, please contact us "
            "through our help center at help.openai.com.)"
        )


class InvalidBeta(InvalidRequest):
    code = "invalid_beta"


class RequestTimeout(ApiError):
    status = 408
    type = "invalid_request_error"
    code = "request_timeout"

    def __init__(self, seconds: float) -> None:
        super().__init__(f"The request body was not received within {seconds:g} seconds.")


class AuthenticationFailed(ApiError):
    status = 401
    type = "invalid_request_error"


class MissingApiKey(AuthenticationFailed):
    def __init__(self) -> None:
        super().__init__(
            "You didn't provide an API key. You need to provide your API key in an Authorization header "
            "using Bearer auth (i.e. Authorization: Bearer YOUR_KEY)."
        )


class IncorrectApiKey(AuthenticationFailed):
    code = "invalid_api_key"

    def __init__(self, presented: str) -> None:
        super().__init__(f"Incorrect API key provided: {mask_key(presented)}.")


class NotFound(ApiError):
    status = 404
    type = "invalid_request_error"


class ObjectNotFound(NotFound):
    # The real API names the kind of object in its own words: "No assistant found with id 'asst_x'."
    def __init__(self, kind: str, object_id: str) -> None:
        super().__init__(f"No {kind} found with id '{object_id}'.")


class FileNotFound(NotFound):
    def __init__(self, file_id: str) -> None:
        super().__init__(f"No such File object: {file_id}", param="id")


class RouteNotFound(NotFound):
    def __init__(self, method: str, path: str) -> None:
        super().__init__(f"Invalid URL ({method} {path})")


class MethodNotAllowed(ApiError):
    status = 405
    type = "invalid_request_error"


class PayloadTooLarge(ApiError):
    status = 413
    type = "invalid_request_error"
    code = "request_too_large"

    def __init__(self, size: int | None, limit: int, what: str = "Request") -> None:
        told = f" ({size} bytes)" if size is not None else ""
        super().__init__(f"{what} too large{told}: the limit is {limit} bytes.")


class RateLimited(ApiError):
    status = 429
    type = "requests"
    code = "rate_limit_exceeded"

    def __init__(self, message: str, retry_after: float) -> None:
        super().__init__(message)
        self.retry_after = retry_after

    def headers(self) -> dict[str, str]:
        return {"retry-after": f"{self.retry_after:g}"}


class InternalError(ApiError):
    def __init__(self) -> None:
        super().__init__(
            "The server had an error while processing your request. Sorry about that! You can retry your "
            "request, or contact us through our help center at help.openai.com if the error persists."
        )


def mask_key(key: str) -> str:
    # Like the real API: enough of the key to recognise it, never the whole of it.
    if len(key) <= 8:
        return "*" * len(key)
    return f"{key[:3]}{'*' * (len(key) - 7)}{key[-4:]}"
