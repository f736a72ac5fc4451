"""schemathesis hooks for scripts/schemathesis (loaded with SCHEMATHESIS_HOOKS).

- `POST /api/v1/email/inbound` takes a raw email (`message/rfc822`), a media
  type schemathesis has no serializer for: the generated text is sent as it
  is, UTF-8 encoded, so the route is tested like any other.
- `POST /widget/v1/shutdown` ends the widget session it is sent with. The
  run shares one session (fetched from boot) across the widget API, so a
  shutdown sent with it would end it for every operation after: each
  shutdown gets a session of its own, booted for it, instead.
- U+0000 (NUL) is refused in every text the API takes, with a 422 naming
  the field, on both backends (PostgreSQL stores it in neither text nor
  JSON; see `has_escaped_nul` in crates/rapport-server/src/extract.rs and
  the hostile suite's `the_nul_character_is_refused_alike_on_both_databases`).
  The document's string schemas do not spell that rule yet, so generated
  cases holding a NUL are left out here rather than reported as
  schema-valid requests rejected.
"""

import json
import os
import urllib.request

import schemathesis


@schemathesis.serializer("message/rfc822")
def rfc822(ctx, value):
    if value is None:
        return None
    if isinstance(value, bytes):
        return value
    if isinstance(value, str):
        return value.encode("utf-8")
    # A negative case may generate another type: send its JSON text.
    return json.dumps(value).encode("utf-8")


SHUTDOWN = "/widget/v1/shutdown"


def _own_session(base_url):
    request = urllib.request.Request(
        base_url.rstrip("/") + "/widget/v1/boot",
        data=json.dumps({"app_id": os.environ["RAPPORT_ST_APP_ID"]}).encode(),
        headers={"Content-Type": "application/json"},
        method="POST",
    )
    with urllib.request.urlopen(request, timeout=10) as response:
        return json.load(response)["session"]


def _is_shared_session(value):
    return isinstance(value, str) and value.startswith("Bearer wst_")


@schemathesis.hook
def before_call(context, case, kwargs):
    if case.operation.path != SHUTDOWN:
        return
    for headers in (case.headers, kwargs.get("headers")):
        if headers and _is_shared_session(headers.get("Authorization")):
            headers["Authorization"] = "Bearer " + _own_session(os.environ["RAPPORT_ST_BASE_URL"])


def _holds_nul(value):
    if isinstance(value, str):
        return "\x00" in value
    if isinstance(value, bytes):
        return b"\x00" in value
    if isinstance(value, dict):
        return any(_holds_nul(k) or _holds_nul(v) for k, v in value.items())
    if isinstance(value, (list, tuple)):
        return any(_holds_nul(v) for v in value)
    return False


@schemathesis.hook
def filter_case(context, case):
    return not any(
        _holds_nul(part) for part in (case.body, case.query, case.path_parameters)
    )
