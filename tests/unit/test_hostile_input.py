"""The reproducers of issue 10: each answered by a 4xx JSON error, none by a 500 or a trace."""

import logging
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from shortlink.app import StartupError, create_app
from shortlink.settings import Settings

from .conftest import ClientFactory
from .helpers import ADMIN_TOKEN

JSON = {"content-type": "application/json"}


@pytest.mark.parametrize(
    ("body", "status"),
    [
        (b'{"url":"\\ud800"}', 422),
        (b'{"url":"https://a.example/\\udfff"}', 422),
        (b"[" * 1000 + b"]" * 1000, 422),
        (b"[" * 8000 + b"]" * 8000, 422),
        (b'{"url":"https://a.example/\xff"}', 400),
        (b'{"url": {"url": {"url": "https://a.example/"}}}', 422),
    ],
    ids=["lone-surrogate", "surrogate-in-path", "nested-1000", "nested-8000", "not-utf8", "dict"],
)
def test_malformed_bodies_get_a_4xx_json_error_that_does_not_echo_them(
    client: TestClient, caplog: pytest.LogCaptureFixture, body: bytes, status: int
) -> None:
    with caplog.at_level(logging.DEBUG):
        response = client.post("/links", content=body, headers=JSON)
    assert response.status_code == status
    assert response.json()["detail"]
    assert b"a.example" not in response.content
    assert "[[[" not in response.text
    assert "a.example" not in caplog.text
    assert "[[[" not in caplog.text
    assert not [r for r in caplog.records if r.levelno >= logging.ERROR]


MARK = "QQmarkQQ"


@pytest.mark.parametrize(
    ("method", "path", "request_args"),
    [
        ("POST", "/links", {"json": {"url": f"ftp://{MARK}/"}}),
        ("POST", "/links", {"json": {"url": f"https://{MARK}\u200d.de/"}}),
        ("POST", "/links", {"json": {"url": f"https://a.example:{MARK}/"}}),
        ("POST", "/links", {"json": {"url": "https://a.example/" + MARK * 300}}),
        ("POST", "/links", {"json": {MARK: "https://a.example/"}}),
        ("POST", "/links", {"json": {"url": {MARK: MARK}}}),
        ("POST", "/links", {"content": '{"url": "' + MARK, "headers": JSON}),
        ("GET", f"/{MARK}", {}),
        ("GET", f"/links/{MARK}", {}),
        ("GET", f"/links/{MARK}/{MARK}", {}),
        ("DELETE", f"/links/{MARK}", {"headers": {"Authorization": f"Bearer {ADMIN_TOKEN}"}}),
        ("DELETE", f"/links/{MARK}", {"headers": {"Authorization": f"Bearer {MARK}"}}),
        ("PATCH", f"/{MARK}", {}),
    ],
)
def test_no_error_answer_carries_the_input_back(
    client: TestClient, method: str, path: str, request_args: dict
) -> None:
    response = client.request(method, path, **request_args)
    assert 400 <= response.status_code < 500
    assert MARK not in response.text
    assert MARK not in str(response.headers)


def test_no_log_line_holds_a_request_body_or_header(
    client: TestClient, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.DEBUG):
        client.post(
            "/links",
            json={"url": "https://secret-body.example/"},
            headers={"X-Secret": "secret-header"},
        )
        client.post("/links", content=b'{"url": "secret-body"}', headers=JSON)
    assert "secret" not in caplog.text


@pytest.mark.parametrize(
    ("given", "stored"),
    [
        ("HTTPS://A.Example/Path?Q=1", "https://a.example/Path?Q=1"),
        ("http://bücher.example/", "http://xn--bcher-kva.example/"),
        ("https://a.example/ä b", None),
        ("https://a.example/ä", "https://a.example/%C3%A4"),
        ("https://a.example/{x}", "https://a.example/%7Bx%7D"),
        (" http://a.example/", None),
        ("http://a.example/\n", None),
        ("http://a.example/\t", None),
        ("\x00http://a.example/", None),
        ("http://user:pass@a.example/", None),
        ("http://a.example:99999/", None),
        ("http://a..example/", None),
        ("http://[::1]:8080/x", "http://[::1]:8080/x"),
    ],
)
def test_the_url_stored_is_the_url_checked_and_the_url_redirected_to(
    client: TestClient, given: str, stored: str | None
) -> None:
    response = client.post("/links", json={"url": given})
    if stored is None:
        assert response.status_code == 422
        assert given not in response.text
        return
    assert response.status_code == 201, response.text
    assert response.json()["url"] == stored
    code = response.json()["code"]
    assert client.get(f"/{code}", follow_redirects=False).headers["location"] == stored


@pytest.mark.parametrize(
    ("given", "stored"),
    [
        # IDNA 2003 (Python's codec) made these strasse.de and fass.de: other domains.
        ("https://straße.de/", "https://xn--strae-oqa.de/"),
        ("https://FAß.de/x", "https://xn--fa-hia.de/x"),
        ("http://bücher.example/", "http://xn--bcher-kva.example/"),
        ("https://\uff45\uff58\uff41\uff4d\uff50\uff4c\uff45\uff0ecom/", "https://example.com/"),
        ("https://my_host.example/", "https://my_host.example/"),
    ],
)
def test_an_international_host_is_stored_as_browsers_resolve_it(
    client: TestClient, given: str, stored: str
) -> None:
    """UTS #46, nontransitional: the mapping browsers apply to a host before they look it up."""
    response = client.post("/links", json={"url": given})
    assert response.status_code == 201, response.text
    assert response.json()["url"] == stored


@pytest.mark.parametrize(
    "host",
    [
        "a\u200db.de",  # a joiner between letters: IDNA 2003 dropped it, making ab.de
        "\u0300a.de",  # a label starting with a combining mark
        "\u0661.com",  # a right-to-left digit alone: the Bidi rule
        "xn--a.de\u00e9",  # not punycode, beside a non-ASCII label
        "\u00e9" * 64 + ".de",  # a label longer than 63 once encoded
    ],
)
def test_an_international_host_idna_refuses_is_a_clear_422(client: TestClient, host: str) -> None:
    response = client.post("/links", json={"url": f"https://{host}/"})
    assert response.status_code == 422
    assert response.json()["detail"][0]["msg"].endswith("the URL's host is not a valid domain name")
    assert host not in response.text


def test_a_token_file_that_is_not_utf8_stops_the_start_with_one_clear_error(
    tmp_path: Path, data_dir: Path
) -> None:
    token = tmp_path / "token"
    token.write_bytes(b"\xff\xfe secret")
    with pytest.raises(StartupError, match=r"cannot read the admin token file .*: not UTF-8"):
        create_app(Settings(data_dir=data_dir, admin_token_file=token))


def test_a_non_ascii_token_matches_as_the_utf8_bytes_sent(
    make_client: ClientFactory, tmp_path: Path
) -> None:
    token = tmp_path / "token"
    token.write_text("gehéim-tøken\n", encoding="utf-8")
    client = make_client(admin_token_file=token)
    code = client.post("/links", json={"url": "https://a.example/"}).json()["code"]
    as_utf8 = {"Authorization": "Bearer gehéim-tøken".encode()}
    assert client.delete(f"/links/{code}", headers=as_utf8).status_code == 204


@pytest.mark.parametrize("path", ["/healthz", "/readyz", "/version", "/links/{code}", "/{code}"])
def test_head_answers_wherever_get_does(client: TestClient, path: str) -> None:
    code = client.post("/links", json={"url": "https://a.example/"}).json()["code"]
    get = client.get(path.format(code=code), follow_redirects=False)
    head = client.head(path.format(code=code), follow_redirects=False)
    assert head.status_code == get.status_code
    assert head.content == b""


@pytest.mark.parametrize(
    ("method", "path", "allowed"),
    [
        ("OPTIONS", "/links/abc1234", "DELETE, GET, HEAD"),
        ("PUT", "/links/abc1234", "DELETE, GET, HEAD"),
        ("GET", "/links", "POST"),
        ("DELETE", "/links", "POST"),
        ("POST", "/healthz", "GET, HEAD"),
        ("PATCH", "/abc1234", "GET, HEAD"),
    ],
)
def test_a_405_names_every_method_of_the_path(
    client: TestClient, method: str, path: str, allowed: str
) -> None:
    response = client.request(method, path)
    assert response.status_code == 405
    assert response.headers["allow"] == allowed
    assert response.json()["detail"]


def test_the_openapi_document_names_every_answer_and_the_url_rule(client: TestClient) -> None:
    document = client.get("/openapi.json").json()
    paths = document["paths"]
    statuses = {
        ("post", "/links"): {"200", "201", "400", "413", "422", "503", "507"},
        ("get", "/links/{code}"): {"200", "404"},
        ("head", "/links/{code}"): {"200", "404"},
        ("delete", "/links/{code}"): {"204", "401", "403", "404", "503", "507"},
        ("get", "/{code}"): {"307", "404"},
        ("get", "/readyz"): {"200", "503"},
    }
    for (method, path), expected in statuses.items():
        assert expected <= set(paths[path][method]["responses"]), (method, path)
    url = document["components"]["schemas"]["NewLink"]["properties"]["url"]
    assert url["maxLength"] == 2048
    assert url["pattern"].startswith("^[Hh][Tt][Tt][Pp]([Ss])?://")
    assert document["components"]["securitySchemes"]["HTTPBearer"]["scheme"] == "bearer"
    assert paths["/links/{code}"]["delete"]["security"] == [{"HTTPBearer": []}]


@pytest.mark.parametrize(
    ("headers", "short_url"),
    [
        ({"Host": "evil.example"}, "/{code}"),
        ({"Host": "evil.example\r\nX: y"}, "/{code}"),
        ({"Host": "localhost:8000"}, "http://localhost:8000/{code}"),
        ({"Host": "LOCALHOST"}, "http://localhost/{code}"),
    ],
)
def test_short_urls_come_only_from_an_allowed_host(
    make_client: ClientFactory, headers: dict[str, str], short_url: str
) -> None:
    client = make_client(allowed_hosts=Settings.model_fields["allowed_hosts"].default)
    link = client.post("/links", json={"url": "https://a.example/"}, headers=headers).json()
    assert link["short_url"] == short_url.format(code=link["code"])


def test_without_a_host_header_the_short_url_is_relative_not_the_server_address(
    make_client: ClientFactory,
) -> None:
    # What HTTP/1.0 without Host reaches the app as: no name, only the server's own address.
    client = make_client(allowed_hosts="*")
    link = client.post("/links", json={"url": "https://a.example/"}, headers={"Host": ""}).json()
    assert link["short_url"] == f"/{link['code']}"


def test_the_public_url_wins_over_any_host_header(make_client: ClientFactory) -> None:
    client = make_client(public_url="https://sho.rt/", allowed_hosts="*")
    link = client.post(
        "/links", json={"url": "https://a.example/"}, headers={"Host": "evil.example"}
    ).json()
    assert link["short_url"] == f"https://sho.rt/{link['code']}"


def test_a_wrong_token_is_refused_whatever_bytes_it_holds(client: TestClient) -> None:
    for token in (b"\xff\xfe", ADMIN_TOKEN.encode() + b"\x01", "é".encode() + ADMIN_TOKEN.encode()):
        response = client.delete("/links/abc1234", headers={"Authorization": b"Bearer " + token})
        assert response.status_code == 403
