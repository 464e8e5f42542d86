"""The local rating web app for in-lab raters (standard library only: http.server and sqlite3).

    python -m eval.ab serve --kit results/ab_study/kit --db results/ab_study/answers.sqlite --port 8765

then open http://127.0.0.1:8765/ in a browser. A rater enters an id and is shown the kit's pairs
one at a time, two images side by side under the paper's question; a click on an image, or the
keys ArrowLeft / 1 (left) and ArrowRight / 2 (right), answers and moves on. Each rater sees the
pairs in an order of their own (a shuffle seeded by the rater id), so order effects average out
over raters, and always the first one not yet answered: closing the browser and entering the
same id again resumes where the rater stopped. A repeated answer to a pair (double click, back
button, a resent form) is stored once, the first (see :mod:`eval.ab.store`).

Routes: ``/`` (rater id form), ``/rate?rater=ID`` (next pair, or the "done" page),
POST ``/answer`` (rater, pair_id, choice, shown_at; answers 303 to the next pair),
``/images/NAME`` (the kit's images only), ``/api/progress?rater=ID`` (JSON).

To let raters on other machines of a lab network in, serve on ``--host 0.0.0.0``; there is no
authentication, so do not expose it to the internet. Answers come only from the app's own pages:
a POST whose ``Origin`` (or, without one, ``Referer``) is another site, or whose
``Sec-Fetch-Site`` says cross-site, is refused (403), so no open web page can add answers; a
``Host`` that is not this machine (an IP address, localhost, its host name, or an
``--allowed-host``) is refused (421), which closes DNS rebinding. Rater ids are trimmed and
lower-cased (Bob, bob and BOB are one rater). Many raters answering at the same instant queue
(a listen backlog of 128, a thread per request, SQLite's busy wait), and a request that stalls
is dropped after ``REQUEST_TIMEOUT_S``.
"""

from __future__ import annotations

import hashlib
import html
import ipaddress
import json
import mimetypes
import re
import socket
import sys
import time
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import parse_qs, quote, unquote, urlsplit

import numpy as np

from eval.ab import QUESTION, store
from eval.ab.kit import IMAGES, PairRow, read_pairs, read_study
from sggan.cli import UserError

RATER_PATTERN = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.@-]{0,63}")
RATER_RULE = "a rater id is 1 to 64 letters, digits, '.', '_', '-' or '@', starting with a letter or digit"
MAX_BODY = 10_000  # bytes of a POSTed form; an answer is a few hundred
MAX_RESPONSE_MS = 86_400_000  # a longer "response time" is a page left open, not a response time
REQUEST_TIMEOUT_S = 30.0  # a connection silent this long (a stalled or half-sent request) is closed
LISTEN_BACKLOG = 128  # connections waiting to be accepted; the standard library's 5 drops raters


# ------------------------------------------------------------------------------------------ study state
def rater_order(pair_ids: list[str], rater: str) -> list[str]:
    """The rater's own order of the pairs, the same every time the rater comes back."""
    seed = int.from_bytes(hashlib.sha256(rater.encode()).digest()[:8], "big")
    return [pair_ids[i] for i in np.random.default_rng(seed).permutation(len(pair_ids))]


def valid_rater(value: str | None) -> str:
    """The rater id, trimmed and lower-cased so that Bob, bob and BOB are one rater."""
    rater = (value or "").strip()
    if not RATER_PATTERN.fullmatch(rater):
        raise ValueError(f"invalid rater id {rater[:80]!r}: {RATER_RULE}")
    return rater.lower()


def split_host(host: str) -> tuple[str, int | None]:
    """(name, port) of a Host header, lower-cased, IPv6 brackets removed; ("", None) if malformed."""
    try:
        authority = urlsplit("//" + host)
        return authority.hostname or "", authority.port
    except ValueError:
        return "", None


def is_own_host(name: str, allowed: frozenset[str]) -> bool:
    """An IP address, localhost, this machine's name or an allowed name; any other name may be an
    attacker's DNS name pointed at this machine (DNS rebinding)."""
    try:
        ipaddress.ip_address(name)
        return True
    except ValueError:
        return name in allowed


class Study:
    """The kit (read once at start) and the answers database (opened per request)."""

    def __init__(self, kit: str | Path, db: str | Path):
        self.kit, self.db = Path(kit), Path(db)
        self.study = read_study(kit)
        self.rows = read_pairs(kit)
        self.by_id = {row.pair_id: row for row in self.rows}
        self.images = (self.kit / IMAGES).resolve()
        store.connect(db).close()  # creates the file and schema now, not at the first answer

    def progress(self, rater: str) -> tuple[int, int, PairRow | None]:
        """(answered, total, next pair or None when done); answers to pairs that are no longer in
        the kit do not count."""
        with store.opened(self.db) as conn:
            done = store.answered_pairs(conn, rater) & self.by_id.keys()
        order = rater_order([row.pair_id for row in self.rows], rater)
        following = next((pid for pid in order if pid not in done), None)
        return len(done), len(self.rows), self.by_id.get(following) if following else None

    def answer(self, rater: str, pair_id: str, choice: str, shown_at_ms: str | None) -> bool:
        """Store an answer; False if the rater had already answered this pair."""
        row = self.by_id.get(pair_id)
        if row is None:
            raise ValueError(f"unknown pair_id {pair_id[:200]!r}; is the page from another kit?")
        if choice not in store.CHOICES:
            raise ValueError(f"choice must be 'left' or 'right', got {choice[:20]!r}")
        answer = store.make_answer(row, rater, choice, "lab", response_ms=response_ms(shown_at_ms))
        with store.opened(self.db) as conn:
            return store.record(conn, answer)

    def image_path(self, name: str) -> Path | None:
        """The kit image ``name``, or None for anything outside ``images/`` (no path traversal)."""
        path = (self.images / name).resolve()
        if path.parent != self.images or not path.is_file():
            return None
        return path


def now_ms() -> int:
    return time.time_ns() // 1_000_000


def response_ms(shown_at_ms: str | None) -> int | None:
    """Milliseconds from showing the pair (the server's clock, sent back with the answer) to now."""
    try:
        elapsed = now_ms() - int(shown_at_ms or "")
    except ValueError:
        return None
    return elapsed if 0 <= elapsed <= MAX_RESPONSE_MS else None


# ------------------------------------------------------------------------------------------ pages
STYLE = """
  body { font-family: system-ui, sans-serif; margin: 24px; background: #fafafa; color: #222; }
  .pair { display: flex; gap: 16px; flex-wrap: wrap; }
  .pair button { padding: 6px; border: 3px solid #ccc; background: #fff; cursor: pointer; font-size: 15px; }
  .pair button:hover, .pair button:focus { border-color: #1565c0; }
  .pair img { display: block; max-width: 45vw; height: auto; margin-bottom: 6px; }
  .progress { color: #555; }
  .error { color: #b00020; }
  kbd { border: 1px solid #999; border-radius: 3px; padding: 0 4px; background: #fff; }
"""


def page(title: str, body: str) -> str:
    return (
        f'<!doctype html>\n<html lang="en"><head><meta charset="utf-8"><title>{html.escape(title)}</title>'
        f"<style>{STYLE}</style></head>\n<body>\n{body}\n</body></html>\n"
    )


def index_page(total: int) -> str:
    return page(
        "A/B study",
        f"""<h1>Image realism study</h1>
<p>You will see {total} pairs of street scenes. For each, choose the image that looks more like a
real photograph. Keys: <kbd>1</kbd> or <kbd>&larr;</kbd> left, <kbd>2</kbd> or <kbd>&rarr;</kbd> right.
If you stop, enter the same id again to continue where you left off.</p>
<form method="get" action="/rate">
  <label>Rater id <input name="rater" id="rater" required maxlength="64" pattern="[A-Za-z0-9][A-Za-z0-9_.@\\-]*" autofocus></label>
  <button type="submit" id="start">Start</button>
</form>""",
    )


def rate_page(rater: str, row: PairRow, answered: int, total: int, size: tuple[int, int]) -> str:
    h, w = size
    esc = html.escape
    sides = "".join(
        f"""  <button type="submit" name="choice" value="{side}" id="{side}">
    <img src="/images/{quote(Path(image).name)}" width="{w}" height="{h}" alt="{side} image">{label}
  </button>\n"""
        for side, image, label in (
            ("left", row.left_image, "Left (<kbd>1</kbd> / <kbd>&larr;</kbd>)"),
            ("right", row.right_image, "Right (<kbd>2</kbd> / <kbd>&rarr;</kbd>)"),
        )
    )
    return page(
        "A/B study",
        f"""<p class="progress" id="progress">{answered} of {total} answered</p>
<h1>{esc(QUESTION)}</h1>
<form method="post" action="/answer" id="answer">
<input type="hidden" name="rater" value="{esc(rater)}">
<input type="hidden" name="pair_id" value="{esc(row.pair_id)}">
<input type="hidden" name="shown_at" value="{now_ms()}">
<div class="pair">
{sides}</div>
</form>
<script>
  var sent = false;  // one answer per page, however fast the keys or clicks come
  document.getElementById("answer").addEventListener("submit", function (event) {{
    if (sent) {{ event.preventDefault(); }}
    sent = true;
  }});
  document.addEventListener("keydown", function (event) {{
    var side = {{ArrowLeft: "left", "1": "left", ArrowRight: "right", "2": "right"}}[event.key];
    if (side && !sent) {{ event.preventDefault(); document.getElementById(side).click(); }}
  }});
</script>""",
    )


def done_page(rater: str, total: int) -> str:
    return page(
        "A/B study: done",
        f"""<h1 id="done">Done, thank you!</h1>
<p class="progress" id="progress">{total} of {total} answered by {html.escape(rater)}.</p>""",
    )


def error_page(message: str) -> str:
    return page(
        "A/B study: error",
        f"""<h1>Bad request</h1><p class="error">{html.escape(message)}</p>
<p><a href="/">Back to the start</a></p>""",
    )


# ------------------------------------------------------------------------------------------ server
class Handler(BaseHTTPRequestHandler):
    server_version = "sggan-ab/1"

    @property
    def study(self) -> Study:
        return self.server.study

    def log_message(self, format, *args):  # noqa: A002 (the base class's name)
        if self.server.log_requests:
            super().log_message(format, *args)

    # ---- responses
    def _send(self, status: int, body: bytes, content_type: str, headers: dict | None = None) -> None:
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        self.send_header("X-Content-Type-Options", "nosniff")
        for key, value in (headers or {}).items():
            self.send_header(key, value)
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)

    def _html(self, text: str, status: int = HTTPStatus.OK) -> None:
        self._send(status, text.encode(), "text/html; charset=utf-8", {"Cache-Control": "no-store"})

    def _bad_request(self, message: str) -> None:
        self._html(error_page(message), HTTPStatus.BAD_REQUEST)

    def _not_found(self) -> None:
        self._send(HTTPStatus.NOT_FOUND, b"not found\n", "text/plain; charset=utf-8")

    # ---- origin checks
    def _own_host(self) -> str | None:
        """The request's Host when it names this server, else None."""
        host = self.headers.get("Host", "")
        name, port = split_host(host)
        if (
            not name
            or port not in (None, self.server.server_address[1])
            or not is_own_host(name, self.server.allowed_hosts)
        ):
            return None
        return host

    def _cross_site(self, host: str) -> str | None:
        """Why a POST does not come from this app's own pages, or None when it does."""
        if self.headers.get("Sec-Fetch-Site", "same-origin") not in ("same-origin", "none"):
            return f"Sec-Fetch-Site is {self.headers['Sec-Fetch-Site']!r}"
        for header in ("Origin", "Referer"):
            value = self.headers.get(header)
            if value:  # browsers send Origin with every POST; Referer is the fallback of older ones
                url = urlsplit(value)
                if url.scheme != "http" or url.netloc.lower() != host.lower():
                    return f"{header} {value[:200]!r} is not this app (http://{host})"
                return None
        return None  # no browser sent this (a script can send anything anyway)

    def _refused(self, status: int, message: str) -> None:
        self._send(status, f"{message}\n".encode(), "text/plain; charset=utf-8", {"Connection": "close"})
        self.close_connection = True

    # ---- routes
    def do_GET(self) -> None:  # noqa: N802 (http.server's naming)
        if self._own_host() is None:
            return self._refused(HTTPStatus.MISDIRECTED_REQUEST, "this server does not serve that host name")
        url = urlsplit(self.path)
        query = parse_qs(url.query)
        try:
            if url.path == "/":
                self._html(index_page(len(self.study.rows)))
            elif url.path == "/rate":
                self._rate(valid_rater(query.get("rater", [""])[0]))
            elif url.path == "/api/progress":
                self._progress(valid_rater(query.get("rater", [""])[0]))
            elif url.path.startswith("/images/"):
                self._image(unquote(url.path[len("/images/") :]))
            else:
                self._not_found()
        except ValueError as err:
            self._bad_request(str(err))

    do_HEAD = do_GET

    def do_POST(self) -> None:  # noqa: N802
        host = self._own_host()
        if host is None:
            return self._refused(HTTPStatus.MISDIRECTED_REQUEST, "this server does not serve that host name")
        if urlsplit(self.path).path != "/answer":
            return self._not_found()
        why = self._cross_site(host)
        if why:
            return self._refused(HTTPStatus.FORBIDDEN, f"answers are accepted only from the study's own pages ({why})")
        try:
            length = int(self.headers.get("Content-Length") or 0)
        except ValueError:
            length = -1
        if not 0 < length <= MAX_BODY:
            return self._bad_request(f"expected a form of at most {MAX_BODY} bytes")
        form = parse_qs(self.rfile.read(length).decode("utf-8", "replace"))
        field = lambda name: form.get(name, [""])[0]  # noqa: E731
        try:
            rater = valid_rater(field("rater"))
            self.study.answer(rater, field("pair_id"), field("choice"), field("shown_at"))
        except ValueError as err:
            return self._bad_request(str(err))
        self._send(HTTPStatus.SEE_OTHER, b"", "text/plain; charset=utf-8", {"Location": f"/rate?rater={quote(rater)}"})

    def _rate(self, rater: str) -> None:
        answered, total, row = self.study.progress(rater)
        if row is None:
            return self._html(done_page(rater, total))
        size = tuple(self.study.study.get("size", (256, 512)))
        self._html(rate_page(rater, row, answered, total, size))

    def _progress(self, rater: str) -> None:
        answered, total, row = self.study.progress(rater)
        body = {
            "rater": rater,
            "answered": answered,
            "total": total,
            "next_pair_id": row.pair_id if row else None,
            "done": row is None,
        }
        self._send(HTTPStatus.OK, json.dumps(body).encode(), "application/json", {"Cache-Control": "no-store"})

    def _image(self, name: str) -> None:
        path = self.study.image_path(name)
        if path is None:
            return self._not_found()
        content_type = mimetypes.guess_type(path.name)[0] or "application/octet-stream"
        self._send(HTTPStatus.OK, path.read_bytes(), content_type, {"Cache-Control": "no-cache"})


class StudyServer(ThreadingHTTPServer):
    daemon_threads = True
    request_queue_size = LISTEN_BACKLOG

    def __init__(
        self,
        address,
        study: Study,
        log_requests: bool = False,
        timeout: float = REQUEST_TIMEOUT_S,
        allowed_hosts: tuple[str, ...] = (),
    ):
        self.study = study
        self.log_requests = log_requests
        self.allowed_hosts = frozenset(
            name.lower() for name in ("localhost", socket.gethostname(), socket.getfqdn(), address[0], *allowed_hosts)
        )
        handler = type("StudyHandler", (Handler,), {"timeout": timeout})  # the socket timeout of each request
        super().__init__(address, handler)


def make_server(
    kit: str | Path,
    db: str | Path,
    host: str = "127.0.0.1",
    port: int = 8765,
    log_requests: bool = False,
    timeout: float = REQUEST_TIMEOUT_S,
    allowed_hosts: tuple[str, ...] = (),
) -> StudyServer:
    """The app, bound (``port`` 0: a free port, see ``server.server_address``) but not yet serving:
    call ``serve_forever()``, and ``shutdown()`` from another thread to stop."""
    study = Study(kit, db)
    try:
        return StudyServer((host, port), study, log_requests, timeout, allowed_hosts)
    except OSError as err:
        raise UserError(
            f"cannot listen on {host}:{port} ({err.strerror or err}); choose another --port or --host"
        ) from None


def serve(
    kit: str | Path, db: str | Path, host: str = "127.0.0.1", port: int = 8765, allowed_hosts: tuple[str, ...] = ()
) -> None:
    server = make_server(kit, db, host, port, log_requests=True, allowed_hosts=allowed_hosts)
    bound_host, bound_port = server.server_address[:2]
    print(
        f"A/B study: {len(server.study.rows)} pairs from {kit}, answers to {db}\n"
        f"open http://{bound_host}:{bound_port}/ (Ctrl-C stops; answers are kept)",
        file=sys.stderr,
    )
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server.server_close()
