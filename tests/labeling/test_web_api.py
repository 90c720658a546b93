"""The labeling app's JSON API, every endpoint and each bad input, through FastAPI's test client."""

import sqlite3
import threading

import httpx
import pytest
import uvicorn
from fastapi.testclient import TestClient

from prefrl.labeling.queue import LabelQueue
from prefrl.labeling.web.app import MAX_BODY_BYTES, LabelSite, create_app
from prefrl.store import PreferenceStore


def make_site(run, token=None, **queue_options):
    queue = LabelQueue(PreferenceStore.open(run / "preferences.sqlite"), **queue_options)
    clip_dir = run / "clips"
    clip_dir.mkdir()
    for query_id in range(1, queue.store.count_queries() + 1):  # stand-in videos: the API never reads them
        for clip_id in (2 * query_id - 1, 2 * query_id):
            (clip_dir / f"{clip_id}.mp4").write_bytes(b"\x00\x00\x00\x18ftypmp42")
        queue.mark_rendered(query_id)
    return LabelSite(queue, clip_dir, "Move to the right.", "prefrl/Hopper-v0", budget=10, token=token)


@pytest.fixture
def client(hopper_run):
    site = make_site(hopper_run(pairs=3))
    with TestClient(create_app(site)) as client:
        client.site = site
        yield client


def snapshot(site):
    db = site.queue.store.connection
    return [db.execute(f"SELECT * FROM {table} ORDER BY 1").fetchall() for table in ("answers", "leases", "queries")]


def test_page_and_static_files(client):
    page = client.get("/")
    assert page.status_code == 200 and "static/label.js" in page.text
    assert client.get("/static/label.js").status_code == 200
    assert client.get("/static/label.css").status_code == 200


def test_stats(client):
    stats = client.get("/api/stats").json()
    assert stats["instruction"] == "Move to the right." and stats["env_id"] == "prefrl/Hopper-v0"
    assert stats["progress"] == {
        "labels": 0,
        "waiting": 3,
        "ready": 3,
        "agent_timestep": 0,
        "labelers": {},
        "budget": 10,
        "render_error": None,
        "trainer": False,
    }


def test_next_answer_undo_round(client):
    pair = client.post("/api/next", json={"labeler": "ann"}).json()["pair"]
    assert pair["query_id"] == 3 and pair["left"] == "clips/5.mp4" and pair["right"] == "clips/6.mp4"
    preloaded = client.post("/api/next", json={"labeler": "ann", "holding": [3]}).json()["pair"]
    assert preloaded["query_id"] == 2
    answered = client.post("/api/answer", json={"query_id": 3, "labeler": "ann", "preference": "left"})
    assert answered.status_code == 200 and answered.json()["progress"]["labelers"] == {"ann": 1}
    with sqlite3.connect(client.site.queue.store.path) as db:  # committed: another connection sees it
        assert db.execute("SELECT query_id, preference, labeler FROM answers").fetchall() == [(3, "left", "ann")]
    undone = client.post("/api/undo", json={"labeler": "ann"})
    assert undone.status_code == 200 and undone.json()["pair"]["query_id"] == 3
    assert client.get("/api/stats").json()["progress"]["labels"] == 0
    assert client.post("/api/answer", json={"query_id": 3, "labeler": "ann", "preference": "equal"}).status_code == 200
    stats = client.get("/api/stats").json()["progress"]
    assert (stats["labels"], stats["waiting"], stats["labelers"]) == (1, 2, {"ann": 1})


def test_no_pair_ready(client):
    for holding in ([], [3], [3, 2]):
        client.post("/api/next", json={"labeler": "ann", "holding": holding})
    empty = client.post("/api/next", json={"labeler": "bob"})
    assert empty.status_code == 200 and empty.json()["pair"] is None


BAD_BODIES = [
    # endpoint, body (str = raw bytes), status, words in the error
    ("/api/next", "{not json", 422, "JSON"),
    ("/api/next", {}, 422, "labeler"),
    ("/api/next", {"labeler": ""}, 422, "labeler"),
    ("/api/next", {"labeler": "<script>"}, 422, "labeler"),
    ("/api/next", {"labeler": "ann", "holding": "3"}, 422, "holding"),
    ("/api/next", {"labeler": "ann", "extra": 1}, 422, "extra"),
    ("/api/answer", {"query_id": 3, "labeler": "ann", "preference": "maybe"}, 422, "preference"),
    ("/api/answer", {"query_id": "3", "labeler": "ann", "preference": "left"}, 422, "query_id"),
    ("/api/answer", {"query_id": True, "labeler": "ann", "preference": "left"}, 422, "query_id"),
    ("/api/answer", {"query_id": 3, "preference": "left"}, 422, "labeler"),
    ("/api/answer", [1, 2], 422, "invalid"),
    ("/api/answer", {"query_id": 99, "labeler": "ann", "preference": "left"}, 404, "no pair 99"),
    ("/api/answer", {"query_id": 2, "labeler": "ann", "preference": "left"}, 409, "not leased"),
    ("/api/answer", {"query_id": 3, "labeler": "bob", "preference": "left"}, 409, "not leased to bob"),
    ("/api/answer", {"query_id": 1, "labeler": "ann", "preference": "left"}, 409, "already answered"),
    ("/api/answer", {"query_id": 2**64, "labeler": "ann", "preference": "left"}, 422, "query_id"),
    ("/api/answer", {"query_id": -1, "labeler": "ann", "preference": "left"}, 422, "query_id"),
    ("/api/next", {"labeler": "ann", "holding": [2**70]}, 422, "holding"),
    ("/api/next", '{"labeler": "' + "a" * MAX_BODY_BYTES + '"}', 413, "over"),
    ("/api/undo", {"labeler": "bob"}, 409, "no answer"),
    ("/api/undo", {"labeler": 7}, 422, "labeler"),
]


@pytest.mark.parametrize(("path", "body", "status", "words"), BAD_BODIES)
def test_bad_input_gets_a_json_error_and_changes_nothing(client, path, body, status, words):
    client.site.queue.store.connection.execute("UPDATE queries SET uncertainty = 10 WHERE id = 1")
    client.site.queue.store.connection.commit()
    client.post("/api/next", json={"labeler": "ann"})  # pair 1 leased to ann...
    client.post("/api/answer", json={"query_id": 1, "labeler": "ann", "preference": "right"})  # ...and answered
    client.post("/api/next", json={"labeler": "ann"})  # pair 3 leased to ann
    before = snapshot(client.site)
    raw = {"content": body, "headers": {"Content-Type": "application/json"}}
    response = client.post(path, **raw) if isinstance(body, str) else client.post(path, json=body)
    assert response.status_code == status
    assert words.lower() in response.json()["error"].lower()
    assert snapshot(client.site) == before


def test_a_streamed_body_over_the_limit_is_cut_off(client):
    def chunks():  # no Content-Length: the server counts what arrives
        for _ in range(MAX_BODY_BYTES // 1024 + 2):
            yield b"x" * 1024

    response = client.post("/api/next", content=chunks(), headers={"Content-Type": "application/json"})
    assert response.status_code == 413 and "over" in response.json()["error"]


def test_a_loopback_server_answers_only_requests_to_a_loopback_name(hopper_run):
    site = make_site(hopper_run(pairs=1))
    site.loopback_only = True
    with TestClient(create_app(site)) as client:
        for host in ("localhost:8000", "127.0.0.1", "[::1]:8000", "LOCALHOST"):
            assert client.get("/api/stats", headers={"Host": host}).status_code == 200, host
        for host in ("evil.example", "evil.example:8000", "localhost.evil.example", "127.0.0.1.nip.io", ""):
            response = client.get("/api/stats", headers={"Host": host})
            assert response.status_code == 421 and "localhost" in response.json()["error"], host


def test_a_locked_database_gets_a_503_not_a_500(hopper_run):
    run = hopper_run(pairs=2)
    site = make_site(run)
    site.queue.store.connection.execute("PRAGMA busy_timeout = 100")
    other = sqlite3.connect(run / "preferences.sqlite", isolation_level=None)
    other.execute("BEGIN EXCLUSIVE")  # another process writing for a long time
    try:
        with TestClient(create_app(site), raise_server_exceptions=False) as client:
            response = client.post("/api/next", json={"labeler": "ann"})
            assert response.status_code == 503 and "busy" in response.json()["error"]
            assert response.headers["Retry-After"] == "1"
    finally:
        other.execute("ROLLBACK")
        other.close()
    with TestClient(create_app(site)) as client:
        assert client.post("/api/next", json={"labeler": "ann"}).json()["pair"] is not None


def test_an_expired_lease_holds_until_someone_else_takes_the_pair(hopper_run):
    site = make_site(hopper_run(pairs=2), lease_seconds=0.05)
    with TestClient(create_app(site)) as client:
        first = client.post("/api/next", json={"labeler": "ann"}).json()["pair"]["query_id"]
        second = client.post("/api/next", json={"labeler": "ann", "holding": [first]}).json()["pair"]["query_id"]
        threading.Event().wait(0.1)  # ann paused longer than the lease
        answer = {"labeler": "ann", "preference": "left"}
        assert client.post("/api/answer", json={"query_id": first, **answer}).status_code == 200
        taken = client.post("/api/next", json={"labeler": "bob"}).json()["pair"]["query_id"]
        assert taken == second  # free again for others...
        before = snapshot(site)
        response = client.post("/api/answer", json={"query_id": second, **answer})
        assert response.status_code == 409 and "not leased to ann" in response.json()["error"]  # ...and then bob's
        assert snapshot(site) == before


def test_release_gives_the_pairs_to_others_at_once(client):
    held: list[int] = []
    for _ in range(2):
        held.append(client.post("/api/next", json={"labeler": "ann", "holding": held}).json()["pair"]["query_id"])
    assert client.post("/api/release", json={"labeler": "bob", "query_ids": held}).json()["released"] == 0
    response = client.post("/api/release", json={"labeler": "ann", "query_ids": held})
    assert response.status_code == 200 and response.json()["released"] == 2
    assert client.post("/api/next", json={"labeler": "bob"}).json()["pair"]["query_id"] == held[0]
    bad = client.post("/api/release", json={"labeler": "ann", "query_ids": list(range(17))})
    assert bad.status_code == 422


def test_renew_keeps_a_watched_pair_from_others(hopper_run):
    site = make_site(hopper_run(pairs=1), lease_seconds=0.2)
    with TestClient(create_app(site)) as client:
        assert client.get("/api/stats").json()["lease_seconds"] == 0.2  # the page renews at a third of it
        shown = client.post("/api/next", json={"labeler": "ann"}).json()["pair"]["query_id"]
        for _ in range(3):  # 0.3 s in all, longer than the lease
            threading.Event().wait(0.1)
            assert client.post("/api/renew", json={"labeler": "ann", "query_ids": [shown]}).json()["renewed"] == 1
        assert client.post("/api/next", json={"labeler": "bob"}).json()["pair"] is None
        bad = client.post("/api/renew", json={"labeler": "ann", "query_ids": [-1]})
        assert bad.status_code == 422


def test_undo_after_the_window_is_refused(hopper_run):
    site = make_site(hopper_run(pairs=1), undo_seconds=0.0)
    with TestClient(create_app(site)) as client:
        client.post("/api/next", json={"labeler": "ann"})
        client.post("/api/answer", json={"query_id": 1, "labeler": "ann", "preference": "left"})
        response = client.post("/api/undo", json={"labeler": "ann"})
        assert response.status_code == 409 and site.queue.store.count_answers() == 1


def test_clip_files_and_no_path_traversal(client):
    (client.site.clip_dir.parent / "secret.mp4").write_bytes(b"secret")
    video = client.get("/clips/5.mp4")
    assert video.status_code == 200 and video.headers["content-type"] == "video/mp4"
    assert client.get("/clips/5.mp4", headers={"Range": "bytes=0-3"}).status_code == 206  # seekable
    for name in [
        "99.mp4",
        "..%2Fsecret.mp4",
        "%2e%2e%2fsecret.mp4",
        "5.mp4.txt",
        "..%2Fpreferences.sqlite",
        "%2Fetc%2Fpasswd",
        "5.MP4",
        ".5.tmp.mp4",
    ]:
        response = client.get(f"/clips/{name}")
        assert response.status_code == 404, name
        assert b"secret" not in response.content and "error" in response.json()
    assert client.get("/clips/../secret.mp4").status_code == 404
    assert client.get("/nothing").json()["error"] == "Not Found"


def test_token_required_when_set(hopper_run):
    with TestClient(create_app(make_site(hopper_run(pairs=1), token="s3cret"))) as client:
        for path in ("/", "/api/stats", "/clips/1.mp4", "/static/label.js"):
            denied = client.get(path)
            assert denied.status_code == 401 and "token" in denied.json()["error"]
        assert client.get("/api/stats", headers={"X-Prefrl-Token": "wrong"}).status_code == 401
        assert client.post("/api/next", json={"labeler": "ann"}).status_code == 401
        assert client.get("/api/stats", headers={"X-Prefrl-Token": "s3cret"}).status_code == 200
        assert client.get("/?token=s3cret").status_code == 200  # the printed URL; sets a cookie...
        assert client.get("/clips/1.mp4").status_code == 200  # ...that the page's videos carry


def test_two_labelers_on_a_real_server(hopper_run):
    """Two labelers, each in their own thread and HTTP connection, drain a queue of 20 pairs."""
    site = make_site(hopper_run(pairs=20))
    server = uvicorn.Server(uvicorn.Config(create_app(site), host="127.0.0.1", port=0, log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    while not server.started:
        threading.Event().wait(0.01)
    url = f"http://127.0.0.1:{server.servers[0].sockets[0].getsockname()[1]}"
    answered: dict[str, list[int]] = {"ann": [], "bob": []}
    errors: list[int] = []

    def label(name):
        with httpx.Client(base_url=url) as http:
            holding: list[int] = []
            while True:
                pair = http.post("/api/next", json={"labeler": name, "holding": holding}).json()["pair"]
                if pair is None:
                    return
                response = http.post(
                    "/api/answer", json={"query_id": pair["query_id"], "labeler": name, "preference": "left"}
                )
                (answered[name] if response.status_code == 200 else errors).append(pair["query_id"])

    threads = [threading.Thread(target=label, args=(name,)) for name in answered]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    server.should_exit = True
    thread.join()
    assert errors == []
    assert sorted(answered["ann"] + answered["bob"]) == list(range(1, 21))
    assert answered["ann"] and answered["bob"]  # both got work
    counts = site.queue.progress().labelers
    assert counts == {name: len(ids) for name, ids in answered.items()}
