"""Missing weights are fetched into the hub cache and verified — from a local HTTP server only.

The conftest forbids every connection and sets GANBENCH_OFFLINE=1; these tests lift both for
127.0.0.1 alone and point real resources (``dataclasses.replace``) at a server in a thread.
"""
from __future__ import annotations

import hashlib
import pickle
import socket
import threading
from dataclasses import dataclass, field, replace
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Iterator

import pytest
import torch

from ganbench.errors import GanbenchError, MissingResourceError, WeightsDigestError
from ganbench.features.fidelity_extra import DINOV2_REPO, VGG16_WEIGHTS, clip_weights, dinov2_weights
from ganbench.features.inception import inception_weights
from ganbench.features.weights import (PROGRESS_MIN_BYTES, LocalResource, fetch, file_sha256, hub_hash_prefix,
                                       is_offline, resolve, set_offline)

_REAL_CONNECT = socket.socket.connect  # taken at import, before the conftest's fixture replaces it
GOOD = b"pretend weights " * 1000
GOOD_SHA = hashlib.sha256(GOOD).hexdigest()


@dataclass
class Server:
    """A local server: ``routes`` maps a path to (body, declared Content-Length); ``requests`` logs paths."""

    port: int
    routes: dict[str, tuple[bytes, int]] = field(default_factory=dict)
    requests: list[str] = field(default_factory=list)

    def url(self, path: str) -> str:
        return f"http://127.0.0.1:{self.port}{path}"


@pytest.fixture(autouse=True)
def online(offline: None, monkeypatch: pytest.MonkeyPatch) -> None:
    """Undo the conftest's ban for loopback addresses only; no proxy may reroute them."""
    def loopback_only(sock: socket.socket, address) -> None:
        if address[0] not in ("127.0.0.1", "::1"):
            raise AssertionError(f"a weights test tried to reach {address}")
        return _REAL_CONNECT(sock, address)

    monkeypatch.setattr(socket.socket, "connect", loopback_only)
    monkeypatch.delenv("GANBENCH_OFFLINE", raising=False)
    for var in ("http_proxy", "HTTP_PROXY", "https_proxy", "HTTPS_PROXY", "all_proxy", "ALL_PROXY"):
        monkeypatch.delenv(var, raising=False)


@pytest.fixture
def server() -> Iterator[Server]:
    state: Server

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            state.requests.append(self.path)
            if self.path not in state.routes:
                self.send_error(404)
                return
            body, length = state.routes[self.path]
            self.send_response(200)
            self.send_header("Content-Length", str(length))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args) -> None:
            pass

    httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    httpd.daemon_threads = True
    state = Server(port=httpd.server_address[1])
    thread = threading.Thread(target=httpd.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    yield state
    httpd.shutdown()
    httpd.server_close()
    thread.join()


def serve(server: Server, path: str, body: bytes, length: int | None = None) -> str:
    server.routes[path] = (body, len(body) if length is None else length)
    return server.url(path)


def checkpoints() -> Path:
    return Path(torch.hub.get_dir()) / "checkpoints"


def cached_files() -> list[str]:
    folder = checkpoints()
    return sorted(p.name for p in folder.iterdir()) if folder.exists() else []


@pytest.mark.parametrize("check", ["sha256", "sha256-prefix"])
def test_missing_weights_are_fetched_verified_and_then_read_from_the_cache(server: Server, check: str) -> None:
    name = f"weights-test-2015-12-05-{GOOD_SHA[:8]}.pth"
    digest = GOOD_SHA if check == "sha256" else hub_hash_prefix(name)
    resource = replace(inception_weights(), url=serve(server, "/good", GOOD), file_name=name, sha256=digest)
    assert resource.check == check
    path = resolve(resource, {})
    assert path == checkpoints() / name and path.read_bytes() == GOOD and file_sha256(path) == GOOD_SHA
    assert cached_files() == [name]  # no temporary file left beside it
    assert resolve(resource, {}) == path
    assert server.requests == ["/good"]  # the second call read the cache


def test_corrupted_download_is_deleted_and_the_error_names_file_and_both_digests(server: Server) -> None:
    corrupt = b"X" + GOOD[1:]
    resource = replace(VGG16_WEIGHTS, url=serve(server, "/bad", corrupt), file_name="vgg16-test.pth", sha256=GOOD_SHA)
    with pytest.raises(WeightsDigestError) as caught:
        resolve(resource, {})
    message, actual = str(caught.value), hashlib.sha256(corrupt).hexdigest()
    for needle in ("vgg16-test.pth", GOOD_SHA, actual, server.url("/bad")):
        assert needle in message
    assert (caught.value.file_name, caught.value.expected, caught.value.actual) == ("vgg16-test.pth", GOOD_SHA, actual)
    assert cached_files() == []
    with pytest.raises(WeightsDigestError):  # nothing was cached: the next call fetches (and fails) again
        resolve(resource, {})
    assert server.requests == ["/bad", "/bad"]


def test_a_full_digest_is_checked_to_its_last_digit(server: Server) -> None:
    expected = GOOD_SHA[:63] + ("0" if GOOD_SHA[63] != "0" else "1")  # the published prefix would pass
    resource = replace(VGG16_WEIGHTS, url=serve(server, "/good", GOOD), file_name="w.pth", sha256=expected)
    with pytest.raises(WeightsDigestError, match=expected):
        resolve(resource, {})
    assert cached_files() == []


def test_the_real_inception_resource_checks_the_prefix_in_its_file_name(server: Server) -> None:
    real = inception_weights()
    resource = replace(real, url=serve(server, "/inception", GOOD))  # same name and prefix, wrong bytes
    with pytest.raises(WeightsDigestError, match="SHA-256 prefix") as caught:
        resolve(resource, {})
    assert caught.value.expected == "6726825d" and real.file_name in str(caught.value)
    assert cached_files() == []


def test_a_download_shorter_than_its_content_length_leaves_nothing(server: Server) -> None:
    resource = replace(dinov2_weights("dinov2-vit-s-14", "dinov2_vits14"),
                       url=serve(server, "/short", GOOD, length=len(GOOD) + 100))
    with pytest.raises(MissingResourceError, match="100 bytes before the end"):
        resolve(resource, {})
    assert cached_files() == []


def test_an_unreachable_server_gives_the_missing_file_message_and_the_reason() -> None:
    with socket.socket() as probe:  # a port that was free a moment ago and is now closed
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    url = f"http://127.0.0.1:{port}/weights.pth"
    resource = replace(inception_weights(), url=url)
    with pytest.raises(MissingResourceError) as caught:
        resolve(resource, {})
    message = str(caught.value)
    for needle in (url, "Connection refused", str(resource.hub_path()), "GANBENCH_INCEPTION_WEIGHTS",
                   "--inception-weights", "On a machine with internet"):
        assert needle in message
    assert cached_files() == []


def test_an_http_error_is_named(server: Server) -> None:
    with pytest.raises(MissingResourceError, match="HTTP 404"):
        resolve(replace(VGG16_WEIGHTS, url=server.url("/nowhere")), {})
    assert cached_files() == []


def test_a_server_that_never_answers_times_out() -> None:
    with socket.socket() as silent:  # accepts connections into its backlog, never replies
        silent.bind(("127.0.0.1", 0))
        silent.listen(1)
        resource = replace(VGG16_WEIGHTS, url=f"http://127.0.0.1:{silent.getsockname()[1]}/w.pth")
        with pytest.raises(MissingResourceError, match="timed out"):
            fetch(resource, timeout=0.3)
    assert cached_files() == []


def test_offline_never_makes_a_request(server: Server, monkeypatch: pytest.MonkeyPatch) -> None:
    resource = replace(inception_weights(), url=serve(server, "/good", GOOD))
    monkeypatch.setenv("GANBENCH_OFFLINE", "1")
    with pytest.raises(MissingResourceError) as caught:
        resolve(resource, {})
    for needle in ("GANBENCH_OFFLINE=1", "never downloads", resource.url, str(resource.hub_path())):
        assert needle in str(caught.value)
    monkeypatch.delenv("GANBENCH_OFFLINE")
    set_offline()  # what the CLI's --offline calls
    with pytest.raises(MissingResourceError, match="GANBENCH_OFFLINE"):
        resolve(resource, {})
    assert server.requests == [] and cached_files() == []


def test_offline_switch_values(monkeypatch: pytest.MonkeyPatch) -> None:
    assert not is_offline()  # unset: online
    for value, expected in (("1", True), ("TRUE", True), ("yes", True), ("0", False), ("false", False), ("", False)):
        monkeypatch.setenv("GANBENCH_OFFLINE", value)
        assert is_offline() is expected, value
    set_offline(False)
    assert not is_offline()
    set_offline(True)
    assert is_offline()
    monkeypatch.setenv("GANBENCH_OFFLINE", "sometimes")
    with pytest.raises(GanbenchError, match="GANBENCH_OFFLINE='sometimes'.*set it to 1"):
        is_offline()


def test_a_repository_is_never_fetched_even_online(server: Server) -> None:
    with pytest.raises(MissingResourceError) as caught:
        resolve(replace(DINOV2_REPO, url=serve(server, "/repo", GOOD)), {})
    assert "not repositories" in str(caught.value) and "git clone" in str(caught.value)
    assert server.requests == []


def test_an_explicit_path_that_does_not_exist_is_not_fetched(server: Server, tmp_path: Path) -> None:
    resource = replace(inception_weights(), url=serve(server, "/good", GOOD))
    with pytest.raises(MissingResourceError, match="nope.pth"):
        resolve(resource, {"weights": str(tmp_path / "nope.pth")})
    assert server.requests == [] and cached_files() == []


def test_a_file_without_published_digest_is_fetched_and_its_digest_printed(server: Server,
                                                                           capsys: pytest.CaptureFixture) -> None:
    resource = replace(dinov2_weights("dinov2-vit-s-14", "dinov2_vits14"), url=serve(server, "/dino", GOOD))
    assert resource.check == "none"
    assert resolve(resource, {}).read_bytes() == GOOD
    err = capsys.readouterr().err
    assert "not verified" in err and GOOD_SHA in err and "%|" not in err  # small: no progress bar


def test_a_big_download_shows_progress(server: Server, capsys: pytest.CaptureFixture) -> None:
    big = bytes(PROGRESS_MIN_BYTES + 1)
    resource = replace(VGG16_WEIGHTS, url=serve(server, "/big", big), file_name="big.pth",
                       sha256=hashlib.sha256(big).hexdigest())
    resolve(resource, {})
    err = capsys.readouterr().err
    assert "big.pth" in err and "100%|" in err and "not verified" not in err


def test_declared_resources_carry_their_published_digests() -> None:
    from torch_fidelity.feature_extractor_clip import MODEL_METADATA

    inception = inception_weights()
    assert (inception.check, inception.sha256) == ("sha256-prefix", "6726825d")
    assert (VGG16_WEIGHTS.check, VGG16_WEIGHTS.sha256) == ("sha256-prefix", "397923af")
    for variant, meta in MODEL_METADATA.items():
        clip = clip_weights(variant)
        assert clip.check == "sha256" and clip.sha256 == meta["hash"] and clip.sha256 in clip.url
    assert dinov2_weights("dinov2-vit-s-14", "dinov2_vits14").check == "none"
    assert DINOV2_REPO.check == "none"


def test_hub_hash_prefix_follows_torch_hub() -> None:
    assert hub_hash_prefix("weights-inception-2015-12-05-6726825d.pth") == "6726825d"
    assert hub_hash_prefix("vgg16-397923af.pth") == "397923af"
    assert hub_hash_prefix("dinov2_vits14_pretrain.pth") == ""


@pytest.mark.parametrize("bad", ["XYZ", "ABCDEF12", "a" * 65])
def test_a_malformed_digest_is_refused_at_declaration(bad: str) -> None:
    with pytest.raises(ValueError, match="sha256"):
        LocalResource(extractor="x", what="x", file_name="x.pth", url="http://x", sha256=bad)


def test_a_repository_cannot_declare_a_file_digest() -> None:
    with pytest.raises(ValueError, match="repository"):
        replace(DINOV2_REPO, sha256="abcd")


def test_digest_error_survives_pickling() -> None:
    err = WeightsDigestError("bad file", file_name="f.pth", expected="ab", actual="cd")
    back = pickle.loads(pickle.dumps(err))
    assert (str(back), back.file_name, back.expected, back.actual) == ("bad file", "f.pth", "ab", "cd")
