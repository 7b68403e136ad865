"""The sandbox's extensions plug in through one base class, whose hooks default to nothing."""

from __future__ import annotations

from mmtui.sandbox.core.extension import Extension
from mmtui.sandbox.core.protocol import AwsRequest, AwsResponse
from mmtui.sandbox.core.server import Sandbox


def test_every_extension_of_the_sandbox_subclasses_extension(sandbox: Sandbox) -> None:
    names = [extension.name for extension in sandbox.extensions]
    assert len(names) == len(set(names)), "each extension's state is saved under its own name"
    assert [e for e in sandbox.extensions if not isinstance(e, Extension)] == []


def test_an_extension_that_overrides_nothing_changes_nothing() -> None:
    class Bare(Extension):
        name = "bare"

    bare = Bare()
    request = AwsRequest.from_environ(
        {"REQUEST_METHOD": "GET", "PATH_INFO": "/", "HTTP_HOST": "127.0.0.1"}, b""
    )
    response = AwsResponse(200, b"<ok/>", {})
    assert bare.serve_raw({}, lambda *args: None) is None
    assert bare.before(request) is None
    assert bare.after(request, response) is response
    assert bare.get_state() is None
    assert bare.export_account("111111111111") is None
    assert bare.resolve_map() == {}
    bare.set_state(None)
    bare.import_account("111111111111", None)
    bare.drop_account("111111111111")
    bare.on_start()
    bare.close()
