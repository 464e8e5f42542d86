"""The local A/B rating app: HTTP-level checks, and raters driven end to end by headless Chromium.

The browser test needs /usr/bin/chromium (or chromium on PATH) and the playwright package; it
never downloads a browser. Without them only the browser test is skipped, except under CI=true,
where that skip fails the run (see conftest.py).
"""

import csv
import http.client
import importlib.util
import json
import shutil
import socket
import threading
import time
from urllib.parse import urlencode

import cv2
import numpy as np
import pytest

from eval import table1
from eval.ab import app, store
from eval.ab.kit import Pair, build_kit, read_pairs

CHROMIUM = shutil.which("chromium")
HAVE_PLAYWRIGHT = importlib.util.find_spec("playwright") is not None
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
GREY = {"sggan-2k": 30, "cyclegan-2k": 130, "dualgan-2k": 230}
PAIRS = [Pair("sggan-2k", "cyclegan-2k", 79.2), Pair("sggan-2k", "dualgan-2k", 93.4)]
SIZE = (24, 48)


@pytest.fixture
def kit(tmp_path):
    lines = ["id\timage\tlabel"]
    for method, grey in GREY.items():
        (tmp_path / method).mkdir()
        for i in range(3):
            cv2.imwrite(str(tmp_path / method / f"f{i}.png"), np.full((12, 24, 3), grey, np.uint8))
    lines += [f"f{i}\tsrc/f{i}.png\tlabels/f{i}.png" for i in range(3)]
    (tmp_path / "frames.tsv").write_text("\n".join(lines) + "\n")
    kit = tmp_path / "kit"
    build_kit(tmp_path / "frames.tsv", {m: tmp_path / m for m in GREY}, PAIRS, 3, SIZE, 11, kit)
    return kit


@pytest.fixture
def server(kit, tmp_path):
    """The app on a free port in a background thread; yields (server, base URL)."""
    srv = app.make_server(kit, tmp_path / "answers.sqlite", "127.0.0.1", 0)
    thread = threading.Thread(target=srv.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    yield srv, f"http://127.0.0.1:{srv.server_address[1]}"
    srv.shutdown()
    srv.server_close()
    thread.join(5)


def _request(srv, method, path, body=None, headers=None, timeout=5):
    conn = http.client.HTTPConnection("127.0.0.1", srv.server_address[1], timeout=timeout)
    headers = {**({"Content-Type": "application/x-www-form-urlencoded"} if body is not None else {}), **(headers or {})}
    conn.request(method, path, body=urlencode(body) if body is not None else None, headers=headers)
    response = conn.getresponse()
    result = response.status, dict(response.getheaders()), response.read()
    conn.close()
    return result


def test_http_routes_validate_input_and_guard_the_kit(server, kit, tmp_path):
    srv, _ = server
    rows = read_pairs(kit)
    status, headers, body = _request(srv, "GET", "/")
    assert status == 200 and b'name="rater"' in body
    status, headers, body = _request(srv, "GET", "/images/" + rows[0].left_image.split("/")[-1])
    assert status == 200 and headers["Content-Type"] == "image/png" and body == (kit / rows[0].left_image).read_bytes()
    for path in (
        "/images/../study.json",
        "/images/%2e%2e/study.json",
        "/images/..%2fstudy.json",
        "/images/%2e%2e%2f%2e%2e%2fanswers.sqlite",
        "/images/",
        "/images/nothere.png",
        "/study.json",
        "/pairs.csv",
        "/nowhere",
    ):
        assert _request(srv, "GET", path)[0] == 404, path
    for path in (
        "/rate",
        "/rate?rater=",
        "/rate?rater=%3Cscript%3E",
        "/rate?rater=" + "x" * 65,
        "/api/progress?rater=a%2Fb",
    ):
        status, _, body = _request(srv, "GET", path)
        assert status == 400 and b"rater id" in body and b"<script>" not in body, path

    status, _, body = _request(srv, "GET", "/api/progress?rater=r1")
    progress = json.loads(body)
    assert status == 200 and progress["answered"] == 0 and progress["total"] == 6 and not progress["done"]
    assert progress["next_pair_id"] == app.rater_order([r.pair_id for r in rows], "r1")[0]

    good = {"rater": "r1", "pair_id": rows[0].pair_id, "choice": "left", "shown_at": "0"}
    for bad, message in (
        ({"choice": "up"}, b"choice"),
        ({"pair_id": "nope"}, b"unknown pair_id"),
        ({"rater": ""}, b"rater id"),
    ):
        status, _, body = _request(srv, "POST", "/answer", {**good, **bad})
        assert status == 400 and message in body
    assert _request(srv, "POST", "/elsewhere", good)[0] == 404
    status, headers, _ = _request(srv, "POST", "/answer", good)
    assert status == 303 and headers["Location"] == "/rate?rater=r1"
    with store.opened(tmp_path / "answers.sqlite") as conn:
        [answer] = store.answers_of(conn)
    assert answer.response_ms is None  # a "shown_at" of 0 is not a response time
    assert json.loads(_request(srv, "GET", "/api/progress?rater=r1")[2])["answered"] == 1


def _stored(tmp_path):
    with store.opened(tmp_path / "answers.sqlite") as conn:
        return store.answers_of(conn)


def test_fifty_raters_answering_at_the_same_instant_lose_nothing(server, kit, tmp_path):
    srv, base = server
    pair_id = read_pairs(kit)[0].pair_id
    start = threading.Barrier(50)
    statuses = [None] * 50

    def rater(i):
        start.wait()
        statuses[i] = _request(
            srv,
            "POST",
            "/answer",
            {"rater": f"r{i}", "pair_id": pair_id, "choice": "left"},
            {"Origin": base},
            timeout=30,
        )[0]

    threads = [threading.Thread(target=rater, args=(i,)) for i in range(50)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    assert statuses == [303] * 50
    assert sorted(a.rater for a in _stored(tmp_path)) == sorted(f"r{i}" for i in range(50))


def test_only_the_study_pages_may_post_answers(server, kit, tmp_path):
    srv, base = server
    answer = {"rater": "eve", "pair_id": read_pairs(kit)[0].pair_id, "choice": "left"}
    for headers in (
        {"Origin": "http://evil.example"},
        {"Origin": "null"},
        {"Origin": f"https://127.0.0.1:{srv.server_address[1]}"},
        {"Referer": "http://evil.example/form.html"},
        {"Sec-Fetch-Site": "cross-site"},
        {"Origin": base, "Sec-Fetch-Site": "same-site"},
    ):
        status, _, body = _request(srv, "POST", "/answer", answer, headers)
        assert status == 403 and b"only from the study's own pages" in body, headers
    assert _stored(tmp_path) == []
    assert (
        _request(
            srv,
            "POST",
            "/answer",
            answer,
            {"Origin": base, "Sec-Fetch-Site": "same-origin", "Referer": base + "/rate?rater=eve"},
        )[0]
        == 303
    )
    assert len(_stored(tmp_path)) == 1


def test_a_spoofed_host_is_refused(server):
    srv, _ = server
    port = srv.server_address[1]
    for host in ("evil.example", f"evil.example:{port}", f"127.0.0.1:{port + 1}", ""):
        assert _request(srv, "GET", "/", headers={"Host": host})[0] == 421, host
    for host in (f"127.0.0.1:{port}", f"localhost:{port}", f"LOCALHOST:{port}", "127.0.0.1"):
        assert _request(srv, "GET", "/", headers={"Host": host})[0] == 200, host


def test_a_stalled_request_times_out_and_others_are_served(kit, tmp_path):
    srv = app.make_server(kit, tmp_path / "answers.sqlite", "127.0.0.1", 0, timeout=0.5)
    thread = threading.Thread(target=srv.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    try:
        stalled = socket.create_connection(("127.0.0.1", srv.server_address[1]), timeout=10)
        stalled.sendall(b"POST /answer HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: 100\r\n\r\nrater=")
        assert _request(srv, "GET", "/")[0] == 200  # served meanwhile
        started = time.monotonic()
        assert stalled.recv(1000) == b""  # the server closed the stalled connection
        assert time.monotonic() - started < 5
        stalled.close()
    finally:
        srv.shutdown()
        srv.server_close()
        thread.join(5)


def test_rater_ids_are_trimmed_and_case_folded(server, kit, tmp_path):
    srv, _ = server
    pair_id = read_pairs(kit)[0].pair_id
    statuses = [
        _request(srv, "POST", "/answer", {"rater": name, "pair_id": pair_id, "choice": choice})
        for name, choice in (("Bob", "left"), (" bob ", "right"), ("BOB", "right"))
    ]
    assert [status for status, _, _ in statuses] == [303] * 3
    assert statuses[0][1]["Location"] == "/rate?rater=bob"
    assert [(a.rater, a.choice) for a in _stored(tmp_path)] == [("bob", "left")]  # one rater, first answer
    assert json.loads(_request(srv, "GET", "/api/progress?rater=BoB")[2])["answered"] == 1


def test_rater_orders_are_own_and_stable():
    ids = [f"p{i}" for i in range(30)]
    assert app.rater_order(ids, "alice") == app.rater_order(ids, "alice")
    assert app.rater_order(ids, "alice") != app.rater_order(ids, "bob")
    assert sorted(app.rater_order(ids, "bob")) == sorted(ids)


@pytest.mark.required_in_ci
@pytest.mark.skipif(
    CHROMIUM is None or not HAVE_PLAYWRIGHT,
    reason="needs chromium on PATH and the playwright package (apt-get install chromium; "
    "pip install playwright); no browser is downloaded",
)
def test_scripted_raters_in_chromium(server, kit, tmp_path):
    from playwright.sync_api import sync_playwright

    srv, base = server
    db = tmp_path / "answers.sqlite"
    rows = {row.pair_id: row for row in read_pairs(kit)}
    chosen = {}  # (rater, pair_id) -> side, as the script answered

    def progress(rater):
        return json.loads(_request(srv, "GET", f"/api/progress?rater={rater}")[2])

    def shown(page):
        return page.input_value("input[name=pair_id]")

    def answer(page, rater, how):
        """Answer the pair on the page by a key press or a click; record which side was chosen."""
        pair_id = shown(page)
        assert pair_id == progress(rater)["next_pair_id"]
        with page.expect_navigation():
            if how.startswith("click:"):
                page.click(f"#{how[6:]}")
            else:
                page.keyboard.press(how)
        side = {"ArrowLeft": "left", "1": "left", "ArrowRight": "right", "2": "right"}.get(how, how[6:])
        chosen[(rater, pair_id)] = side

    def start(page, rater):
        page.goto(base + "/")
        page.fill("#rater", rater)
        with page.expect_navigation():
            page.press("#rater", "Enter")

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            page = browser.new_page()
            page.set_default_timeout(5000)
            start(page, "alice")
            assert page.inner_text("#progress") == "0 of 6 answered"
            assert "Which image is more realistic?" in page.inner_text("h1")
            # the images load, at the kit's size, and show the sides recorded in pairs.csv
            row = rows[shown(page)]
            assert page.eval_on_selector("#left img", "img => img.naturalWidth") == SIZE[1]
            assert page.get_attribute("#left img", "src") == "/images/" + row.left_image.split("/")[-1]

            answer(page, "alice", "ArrowLeft")
            answer(page, "alice", "ArrowRight")
            answer(page, "alice", "click:right")
            assert page.inner_text("#progress") == "3 of 6 answered"
            waiting = shown(page)

            # leave, come back with the same id: resumes at the first unanswered pair
            page.close()
            page = browser.new_page()
            page.set_default_timeout(5000)
            start(page, "alice")
            assert shown(page) == waiting and page.inner_text("#progress") == "3 of 6 answered"

            # a replayed answer to an answered pair (the other side this time) is not counted again
            first_pair = next(pid for (r, pid) in chosen if r == "alice")
            replay = page.request.post(
                base + "/answer", form={"rater": "alice", "pair_id": first_pair, "choice": "right", "shown_at": "1"}
            )
            assert replay.ok
            assert progress("alice")["answered"] == 3
            page.reload()
            assert shown(page) == waiting and page.inner_text("#progress") == "3 of 6 answered"

            answer(page, "alice", "1")
            answer(page, "alice", "2")
            answer(page, "alice", "ArrowLeft")
            assert page.inner_text("#done") == "Done, thank you!"
            assert page.inner_text("#progress").startswith("6 of 6 answered")
            assert progress("alice")["done"]

            bob = browser.new_page()
            bob.set_default_timeout(5000)
            start(bob, "bob")
            for key in ("2", "2", "1", "ArrowRight", "ArrowLeft", "click:left"):
                answer(bob, "bob", key)
            assert bob.inner_text("#done") == "Done, thank you!"
        finally:
            browser.close()

    # what is stored is what the script chose, once per rater and pair
    with store.opened(db) as conn:
        answers = store.answers_of(conn)
    assert {(a.rater, a.pair_id): a.choice for a in answers} == chosen
    assert all(a.source == "lab" and a.response_ms is not None and a.response_ms >= 0 for a in answers)

    # Table 1 from the database, against a tally made here from pairs.csv's left/right mapping
    out_csv, out_md = tmp_path / "table1.csv", tmp_path / "table1.md"
    assert table1.main(["--kit", str(kit), "--db", str(db), "--out-csv", str(out_csv), "--out-md", str(out_md)]) == 0
    with open(out_csv, newline="") as f:
        table = list(csv.DictReader(f))
    for pair, cells in zip(PAIRS, table):
        picks = [
            (rater, rows[pid].left_method if side == "left" else rows[pid].right_method)
            for (rater, pid), side in chosen.items()
            if rows[pid].method_b == pair.b
        ]
        prefer_a = sum(method == pair.a for _, method in picks)
        low, high = table1.wilson_interval(prefer_a, len(picks))
        assert len(picks) == 6
        assert cells == {
            "method_a": pair.a,
            "method_b": pair.b,
            "prefer_a_percent": f"{100 * prefer_a / 6:.1f}",
            "ci95_low": f"{100 * low:.1f}",
            "ci95_high": f"{100 * high:.1f}",
            "answers": "6",
            "raters": "2",
            "paper_percent": f"{pair.paper_percent:.1f}",
        }
