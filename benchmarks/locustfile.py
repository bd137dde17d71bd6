"""The load generator's users: the API benchmark's (bulk enrolment, member reads) and the load scenario's.

Name the users to run on the command line; `python -m benchmarks` and `python -m benchmarks.load` do,
after seeding a database and starting gunicorn. By hand, against a server that has a partner key and
member logins:

    python -m locust -f benchmarks/locustfile.py --headless -u 50 -r 5 -t 5m --host http://127.0.0.1:8000 \\
        --api-key "<key>" --member-phones 13900000000:500 --member-password "<password>" \\
        MemberBrowser PartnerClient

- BulkEnroller: POST /api/v1/members/bulk/ with --bulk-size new people each, --bulk-batches in all, then
  the run ends.
- MemberReader: GET /api/v1/members/{id}/ of the partner's members, with no pause.
- MemberBrowser (load scenario): logs in with a phone and password, then reads the household, claims,
  notices and periods pages, pausing between pages like a person.
- PartnerClient (load scenario): enrols people one by one and reads members, lists, the plan and periods.

Every request's start and duration go to --timings-file at the end (see timings.py), where the figures are
computed from the raw numbers.
"""

from __future__ import annotations

import random
import re
import time
from datetime import date
from pathlib import Path
from typing import Any, NoReturn
from urllib.parse import urlencode

import gevent  # type: ignore[import-untyped]
from locust import FastHttpUser, constant, events, task
from locust.env import Environment
from locust.exception import StopUser

from benchmarks.people import PersonSource
from benchmarks.timings import Timings

TIMINGS = Timings()
PEOPLE = PersonSource.random()
CSRF_INPUT = re.compile(r'name="csrfmiddlewaretoken" value="([^"]+)"')
PERIOD_LINK = re.compile(r'href="[^"]*/periods/(\d+)/"')
# The partner's members a reader picks from: the first page of its list, at the largest page size.
READ_PAGE_SIZE = 500
# A partner's back office pages through the first LIST_PAGES pages of its list.
LIST_PAGE_SIZE = 50
LIST_PAGES = 5


@events.init_command_line_parser.add_listener
def _options(parser: Any) -> None:
    group = parser.add_argument_group("mutualaid")
    group.add_argument("--timings-file", default="", help="write every request's timing here (JSON) at the end")
    group.add_argument("--api-key", default="", env_var="LOAD_API_KEY", help="a partner's API key")
    group.add_argument("--bulk-size", type=int, default=1000, help="people per bulk request")
    group.add_argument("--bulk-batches", type=int, default=20, help="bulk requests in all, then the run ends")
    group.add_argument(
        "--member-phones", default="", env_var="LOAD_MEMBER_PHONES", help="FIRST:COUNT, consecutive phone numbers"
    )
    group.add_argument("--member-password", default="", env_var="LOAD_MEMBER_PASSWORD", help="their password")
    group.add_argument("--think-min", type=float, default=1.0, help="load scenario: least pause between pages (s)")
    group.add_argument("--think-max", type=float, default=3.0, help="load scenario: longest pause (s)")


@events.request.add_listener
def _record(request_type: str, name: str, response_time: float, exception: Exception | None, **kw: Any) -> None:
    start = kw.get("start_time") or time.time() - response_time / 1000
    TIMINGS.record(f"{request_type} {name}", start=start, ms=response_time, error=_describe(exception))


def _describe(exception: Exception | None) -> str | None:
    if exception is None:
        return None
    return f"{type(exception).__name__}: {exception}"


@events.test_stop.add_listener
def _save(environment: Environment, **_kw: Any) -> None:
    options = environment.parsed_options
    if options is not None and options.timings_file:
        TIMINGS.save(Path(options.timings_file))


def _options_of(user: FastHttpUser) -> Any:
    options = user.environment.parsed_options
    if options is None:
        _give_up("the locustfile's options are missing: run it with the locust command")
    return options


def _give_up(reason: str) -> NoReturn:
    """Stop this user, and count it as a failure: a user that cannot start must not pass unnoticed."""
    TIMINGS.record("SETUP user", start=time.time(), ms=0.0, error=reason)
    raise StopUser()


class PartnerUser(FastHttpUser):
    """A partner's program: its key on every request, and the plan's questions read once."""

    abstract = True
    questions: list[str]

    def on_start(self) -> None:
        key = _options_of(self).api_key
        if not key:
            _give_up("--api-key (or LOAD_API_KEY) is required for the partner users")
        self.headers = {"Authorization": f"Api-Key {key}", "Accept": "application/json"}
        with self.client.get("/api/v1/plan/", name="/api/v1/plan/", headers=self.headers, catch_response=True) as r:
            if r.status_code != 200:
                r.failure(f"plan: {r.status_code}")
                _give_up("the plan could not be read")
            self.questions = [q["code"] for q in r.json()["health_questions"]]

    def member_ids(self, name: str) -> tuple[list[int], int]:
        """The ids of the first page of the partner's members (at the largest page size), and their count."""
        path = f"/api/v1/members/?page_size={READ_PAGE_SIZE}"
        with self.client.get(path, name=name, headers=self.headers, catch_response=True) as response:
            if response.status_code != 200:
                response.failure(f"members list: {response.status_code}")
                return [], 0
            body = response.json()
            return [member["id"] for member in body["results"]], int(body["count"])


# --- the API benchmark -----------------------------------------------------------------------------------------


class BulkState:
    """The batches still to send, shared by the bulk users of this process (greenlets: no lock needed)."""

    left: int | None = None
    running: int = 0


class BulkEnroller(PartnerUser):
    wait_time = constant(0)
    # A request of a thousand people may take a while: the server's worker timeout is the limit, not ours.
    network_timeout = 600.0
    connection_timeout = 600.0

    @task
    def enrol_batch(self) -> None:
        options = _options_of(self)
        if BulkState.left is None:
            BulkState.left = options.bulk_batches
        if BulkState.left <= 0:
            self._finish()
        BulkState.left -= 1
        BulkState.running += 1
        try:
            self._send(options.bulk_size)
        finally:
            BulkState.running -= 1
        if BulkState.left <= 0:
            self._finish()

    def _send(self, size: int) -> None:
        batch = PEOPLE.batch(size, today=date.today(), questions=self.questions)
        with self.client.post(
            "/api/v1/members/bulk/",
            name="/api/v1/members/bulk/",
            json={"members": batch},
            headers=self.headers,
            catch_response=True,
        ) as response:
            if response.status_code != 200:
                response.failure(f"bulk: {response.status_code} {(response.text or '')[:200]}")
                return
            results = response.json()["results"]
            enrolled = sum(1 for item in results if item["status"] == 201)
            TIMINGS.count("enrolled", enrolled)
            TIMINGS.count("refused", len(results) - enrolled)
            if enrolled != size:
                refused = next(item for item in results if item["status"] != 201)
                response.failure(f"{size - enrolled} of {size} refused, e.g. {refused}")

    def _finish(self) -> None:
        # The last batch answered: end the whole run from outside the users' greenlets.
        if BulkState.running == 0 and self.environment.runner is not None:
            gevent.spawn(self.environment.runner.quit)
        raise StopUser()


class MemberReader(PartnerUser):
    wait_time = constant(0)
    ids: list[int]

    def on_start(self) -> None:
        super().on_start()
        self.ids, _count = self.member_ids("/api/v1/members/ (reader setup)")
        if not self.ids:
            _give_up("the partner has no members to read")

    @task
    def read_member(self) -> None:
        member = random.choice(self.ids)  # noqa: S311
        self.client.get(f"/api/v1/members/{member}/", name="/api/v1/members/{id}/", headers=self.headers)


# --- the load scenario -------------------------------------------------------------------------------------------


class Logins:
    """Hands each browsing member the next phone of the range (round and round)."""

    next_index = 0

    @classmethod
    def phone(cls, phones: str) -> str:
        first, _sep, count = phones.partition(":")
        if not first.isdigit() or not count.isdigit() or int(count) < 1:
            raise RuntimeError(f"--member-phones must be FIRST:COUNT, e.g. 13900000000:500, not {phones!r}")
        index, cls.next_index = cls.next_index, cls.next_index + 1
        return str(int(first) + index % int(count))


def _think(user: FastHttpUser) -> float:
    options = _options_of(user)
    return random.uniform(options.think_min, options.think_max)  # noqa: S311


class MemberBrowser(FastHttpUser):
    """A member on a phone: logs in once, then looks at the household, claims, notices and periods."""

    weight = 4
    period_ids: list[int]

    def wait_time(self) -> float:
        return _think(self)

    def on_start(self) -> None:
        options = _options_of(self)
        self.period_ids = []
        phone = Logins.phone(options.member_phones)
        page = self.client.get("/login/", name="/login/")
        token = CSRF_INPUT.search(page.text or "")
        if token is None:
            _give_up("the login page has no CSRF token")
        form = {"username": phone, "password": options.member_password, "csrfmiddlewaretoken": token.group(1)}
        with self.client.post(
            "/login/",
            name="/login/",
            data=urlencode(form),
            headers={"Content-Type": "application/x-www-form-urlencoded"},
            allow_redirects=False,
            catch_response=True,
        ) as response:
            # A good login redirects to the household; a bad one shows the form again (200).
            if response.status_code != 302:
                response.failure(f"login of {phone} refused: {response.status_code}")
                _give_up(f"could not log in as {phone}")

    def page(self, path: str, name: str | None = None) -> Any:
        with self.client.get(path, name=name or path, catch_response=True, allow_redirects=False) as response:
            if response.status_code != 200:
                response.failure(f"{response.status_code} (a redirect here means the session was lost)")
            return response

    @task(4)
    def household(self) -> None:
        self.page("/household/")

    @task(2)
    def claims(self) -> None:
        self.page("/claims/")

    @task(2)
    def notices(self) -> None:
        self.page("/notices/")

    @task(2)
    def periods(self) -> None:
        response = self.page("/periods/")
        self.period_ids = [int(found) for found in PERIOD_LINK.findall(response.text or "")]

    @task(1)
    def period(self) -> None:
        if self.period_ids:
            self.page(f"/periods/{random.choice(self.period_ids)}/", name="/periods/{id}/")  # noqa: S311


class PartnerClient(PartnerUser):
    """A partner's back office: enrols people as they sign up with it, and reads what it has."""

    weight = 1
    ids: list[int]
    pages: int
    has_periods: bool

    def wait_time(self) -> float:
        return _think(self)

    def on_start(self) -> None:
        super().on_start()
        self.ids, count = self.member_ids("/api/v1/members/")
        self.pages = max(1, min(LIST_PAGES, -(-count // LIST_PAGE_SIZE)))
        # Periods are read only where the server has them (they came after the members endpoints): a 404
        # here is an answer, not a failure.
        with self.client.get(
            "/api/v1/periods/", name="/api/v1/periods/", headers=self.headers, catch_response=True
        ) as probe:
            self.has_periods = probe.status_code == 200
            if probe.status_code == 404:
                probe.success()

    @task(1)
    def enrol(self) -> None:
        person = PEOPLE.batch(1, today=date.today(), questions=self.questions, ref_prefix="load")[0]
        with self.client.post(
            "/api/v1/members/", name="/api/v1/members/", json=person, headers=self.headers, catch_response=True
        ) as response:
            if response.status_code != 201:
                response.failure(f"enrol: {response.status_code} {(response.text or '')[:200]}")
                return
            self.ids.append(response.json()["id"])

    @task(4)
    def read_member(self) -> None:
        if self.ids:
            member = random.choice(self.ids)  # noqa: S311
            self.client.get(f"/api/v1/members/{member}/", name="/api/v1/members/{id}/", headers=self.headers)

    @task(2)
    def list_members(self) -> None:
        self.client.get(
            f"/api/v1/members/?page={random.randint(1, self.pages)}&page_size={LIST_PAGE_SIZE}",  # noqa: S311
            name="/api/v1/members/",
            headers=self.headers,
        )

    @task(1)
    def plan(self) -> None:
        self.client.get("/api/v1/plan/", name="/api/v1/plan/", headers=self.headers)

    @task(1)
    def periods(self) -> None:
        if self.has_periods:
            self.client.get("/api/v1/periods/", name="/api/v1/periods/", headers=self.headers)
