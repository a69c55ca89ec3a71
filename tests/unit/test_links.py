import threading
from datetime import UTC, datetime, timedelta

import pytest
from fastapi.testclient import TestClient
from starlette.middleware.body_limit import RequestBodyLimitMiddleware

from shortlink.app import MAX_BODY_BYTES, MAX_URL_LENGTH

from .conftest import ADMIN_TOKEN, ClientFactory

URL = "https://example.com/some/long/path?q=1"


def create(client: TestClient, url: str = URL) -> dict:
    response = client.post("/links", json={"url": url})
    assert response.status_code == 201, response.text
    return response.json()


def test_post_creates_a_link_with_code_and_short_url(client: TestClient) -> None:
    response = client.post("/links", json={"url": URL})
    assert response.status_code == 201
    link = response.json()
    assert link["url"] == URL
    assert len(link["code"]) == 7
    assert link["code"].isalnum()
    assert link["short_url"] == f"http://testserver/{link['code']}"
    assert link["hits"] == 0
    assert response.headers["location"] == f"/links/{link['code']}"
    created = datetime.fromisoformat(link["created_at"])
    assert abs(datetime.now(UTC) - created) < timedelta(minutes=1)


def test_posting_the_same_url_twice_returns_the_same_code(client: TestClient) -> None:
    first = create(client)
    again = client.post("/links", json={"url": URL})
    assert again.status_code == 200
    assert again.json()["code"] == first["code"]


def test_short_url_uses_the_configured_public_url(make_client: ClientFactory) -> None:
    client = make_client(public_url="https://sho.rt/")
    link = create(client)
    assert link["short_url"] == f"https://sho.rt/{link['code']}"


def test_follow_redirects_to_the_target_and_counts_hits(client: TestClient) -> None:
    code = create(client)["code"]
    for _ in range(3):
        response = client.get(f"/{code}", follow_redirects=False)
        assert response.status_code == 307
        assert response.headers["location"] == URL
    assert client.get(f"/links/{code}").json()["hits"] == 3


def test_a_head_request_is_answered_as_a_click_but_not_counted_as_one(client: TestClient) -> None:
    """Link previewers and scanners send HEAD; only a GET is someone following the link."""
    code = create(client)["code"]
    for _ in range(3):
        response = client.head(f"/{code}", follow_redirects=False)
        assert response.status_code == 307
        assert response.headers["location"] == URL
    assert client.get(f"/links/{code}").json()["hits"] == 0
    client.get(f"/{code}", follow_redirects=False)
    assert client.get(f"/links/{code}").json()["hits"] == 1


def test_get_link_shows_hits_and_creation_time(client: TestClient) -> None:
    created = create(client)
    shown = client.get(f"/links/{created['code']}")
    assert shown.status_code == 200
    assert shown.json() == created


@pytest.mark.parametrize("path", ["/nope123", "/links/nope123"])
def test_unknown_code_is_a_json_404(client: TestClient, path: str) -> None:
    response = client.get(path, follow_redirects=False)
    assert response.status_code == 404
    assert response.json() == {"detail": "no link with this code"}


@pytest.mark.parametrize(
    ("method", "path"),
    [("GET", "/{code}"), ("GET", "/links/{code}"), ("DELETE", "/links/{code}")],
)
def test_a_404_does_not_echo_the_code_asked_for(client: TestClient, method: str, path: str) -> None:
    """An error never carries the input back: a 20 KB path got a 20 KB answer."""
    code = "z" * 20_000
    headers = {"Authorization": f"Bearer {ADMIN_TOKEN}"}
    response = client.request(method, path.format(code=code), headers=headers)
    assert response.status_code == 404
    assert "zzz" not in response.text
    assert len(response.content) < 100


@pytest.mark.parametrize(
    ("url", "message"),
    [
        ("ftp://example.com/file", "must start with http:// or https://"),
        ("javascript:alert(1)", "must start with http:// or https://"),
        ("example.com", "must start with http:// or https://"),
        ("https://", "must name a host"),
        ("https://example.com/" + "a" * MAX_URL_LENGTH, "at most 2048 characters"),
    ],
)
def test_bad_urls_are_refused_with_a_clear_422(client: TestClient, url: str, message: str) -> None:
    response = client.post("/links", json={"url": url})
    assert response.status_code == 422
    assert message in response.json()["detail"][0]["msg"]
    assert create(client, "https://example.com/ok")["code"]


def test_a_url_of_exactly_the_limit_is_accepted(client: TestClient) -> None:
    url = "https://example.com/" + "a" * (MAX_URL_LENGTH - len("https://example.com/"))
    assert create(client, url)["url"] == url


@pytest.mark.parametrize(
    ("body", "headers"),
    [
        ("{}", {"content-type": "application/json"}),
        ('{"link": "https://example.com"}', {"content-type": "application/json"}),
        ('{"url": ', {"content-type": "application/json"}),
        ("not json", {"content-type": "application/json"}),
        ('["https://example.com"]', {"content-type": "application/json"}),
        ('{"url": 42}', {"content-type": "application/json"}),
    ],
)
def test_missing_field_or_wrong_json_is_a_422(
    client: TestClient, body: str, headers: dict[str, str]
) -> None:
    response = client.post("/links", content=body, headers=headers)
    assert response.status_code == 422
    assert response.json()["detail"]


def test_oversized_body_is_refused_with_413(client: TestClient) -> None:
    body = '{"url": "https://example.com/' + "a" * MAX_BODY_BYTES + '"}'
    response = client.post("/links", content=body, headers={"content-type": "application/json"})
    assert response.status_code == 413
    assert "larger than 16384 bytes" in response.json()["detail"]


def test_oversized_chunked_body_is_refused_with_413(client: TestClient) -> None:
    def chunks():
        yield b'{"url": "https://example.com/'
        for _ in range(MAX_BODY_BYTES // 1024 + 1):
            yield b"a" * 1024
        yield b'"}'

    response = client.post("/links", content=chunks(), headers={"content-type": "application/json"})
    assert "content-length" not in response.request.headers
    assert response.status_code == 413
    assert "larger than 16384 bytes" in response.json()["detail"]


def test_a_streamed_body_is_counted_by_starlettes_limit_not_our_own(client: TestClient) -> None:
    layers, layer = [], client.app.middleware_stack
    while layer is not None:
        layers.append(layer)
        layer = getattr(layer, "app", None)
    limits = [layer for layer in layers if isinstance(layer, RequestBodyLimitMiddleware)]
    assert [limit.max_body_size for limit in limits] == [MAX_BODY_BYTES]


@pytest.mark.parametrize(
    ("method", "path"), [("GET", "/{code}"), ("HEAD", "/{code}"), ("DELETE", "/links/{code}")]
)
def test_an_oversized_body_is_refused_before_a_route_that_ignores_bodies_acts(
    client: TestClient, method: str, path: str
) -> None:
    code = create(client)["code"]
    response = client.request(
        method,
        path.format(code=code),
        content=b"a" * (MAX_BODY_BYTES + 1),
        headers={"Authorization": f"Bearer {ADMIN_TOKEN}"},
    )
    assert response.status_code == 413
    if method != "HEAD":
        assert "larger than 16384 bytes" in response.json()["detail"]
    link = client.get(f"/links/{code}")
    assert link.status_code == 200
    assert link.json()["hits"] == 0


def test_delete_with_the_admin_token_removes_the_link(client: TestClient) -> None:
    code = create(client)["code"]
    response = client.delete(f"/links/{code}", headers={"Authorization": f"Bearer {ADMIN_TOKEN}"})
    assert response.status_code == 204
    assert client.get(f"/links/{code}").status_code == 404
    assert client.get(f"/{code}", follow_redirects=False).status_code == 404


def test_delete_of_an_unknown_code_is_a_404(client: TestClient) -> None:
    response = client.delete("/links/nope123", headers={"Authorization": f"Bearer {ADMIN_TOKEN}"})
    assert response.status_code == 404


@pytest.mark.parametrize("authorization", [None, "", "Bearer", "Basic dXNlcjpwYXNz", ADMIN_TOKEN])
def test_delete_without_a_bearer_token_is_a_401(
    client: TestClient, authorization: str | None
) -> None:
    code = create(client)["code"]
    headers = {} if authorization is None else {"Authorization": authorization}
    response = client.delete(f"/links/{code}", headers=headers)
    assert response.status_code == 401
    assert response.headers["www-authenticate"] == "Bearer"
    assert client.get(f"/links/{code}").status_code == 200


def test_delete_with_a_wrong_token_is_a_403(client: TestClient) -> None:
    code = create(client)["code"]
    response = client.delete(f"/links/{code}", headers={"Authorization": "Bearer wrong"})
    assert response.status_code == 403
    assert response.json() == {"detail": "wrong admin token"}
    assert client.get(f"/links/{code}").status_code == 200


def test_concurrent_posts_of_distinct_urls_are_all_stored(client: TestClient) -> None:
    urls = [f"https://example.com/{thread}/{n}" for thread in range(8) for n in range(25)]
    codes: dict[str, str] = {}
    errors: list[str] = []

    def post(batch: list[str]) -> None:
        for url in batch:
            response = client.post("/links", json={"url": url})
            if response.status_code != 201:
                errors.append(response.text)
            else:
                codes[url] = response.json()["code"]

    threads = [threading.Thread(target=post, args=(urls[i::8],)) for i in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    assert len(set(codes.values())) == len(urls)
    for url, code in codes.items():
        assert client.get(f"/links/{code}").json()["url"] == url
