"""The survey tour, as its users meet it: an admin sets up stores and surveys, respondents answer the
public links in a real browser and over plain HTTP, and the analyst looks for the answers everywhere.

A fresh SQLite store in a temporary folder with its own org (not the demo): two regions of two stores,
an NPS survey with a link per store, a CSAT, a CES, a CSAT with the user's own question YAML, an NPS in
French and an ADKAR pulse on an initiative. Contacts are invited over a local SMTP server (a thread of
this process; no mail leaves the machine), reminders asked for, a survey closed. Respondents answer with
and without a comment, on a 390 px viewport with the keyboard only, twice from one address, after the
close, with a tampered token, with HTML in the comment, with a very long comment and in French. Every
expected count and score is worked out here by hand from the answers given, then compared with what
`scores`, `feedback`, `survey show`, `readiness report`, the Overview page and the executive report say.

    python eval/tour_surveys.py [--out eval/results/tour_surveys.json]
"""

from __future__ import annotations

import argparse
import csv
import email
import email.policy
import html
import io
import json
import os
import re
import shutil
import socket
import sqlite3
import subprocess
import sys
import tempfile
import time
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import httpx

from cxchange.testing import local_smtp_server

HERE = Path(__file__).resolve().parent
CX = str(Path(sys.executable).with_name("cxchange"))
CHROMIUM = "/usr/bin/chromium"
# Two regions of two stores under the company CO: region code -> (name, {store code: store name}).
REGIONS = {"R-N": ("North", {"N1": "Leeds", "N2": "York"}), "R-S": ("South", {"S1": "Bath", "S2": "Exeter"})}
PEOPLE = [("Ada Admin", "ada@acme.test", "CO", "exec"), ("Ben Lead", "ben@acme.test", "CO", "change lead")]
SCRIPT = '<script>alert("x")</script><b>rude</b> & slow'
FORMULA = '=HYPERLINK("http://evil.test","refund")'
LONG = ("The fitting rooms were closed and nobody could say when they would open again. " * 70)[:4900]
# NPS answers per store over plain HTTP: (score, comment); the browser adds one on S2 (below).
NPS_ANSWERS = {
    "N1": [(10, "Lovely staff, quick checkout"), (9, None), (6, "The queue was long at the till")],
    "N2": [(3, SCRIPT), (8, None)],
    "S1": [(9, LONG), (0, "Charged twice and no refund yet"), (5, FORMULA)],
}
BROWSER_NPS = ("S2", 7, "Ok visit, parking was hard")
# The pulse's answers (awareness, desire, knowledge, ability, reinforcement): three from N1, three from N2.
ADKAR_SCORES = [
    (4, 4, 3, 2, 3),
    (5, 4, 4, 3, 4),
    (3, 3, 2, 2, 2),
    (4, 5, 3, 3, 3),
    (5, 5, 4, 4, 4),
    (2, 3, 2, 1, 2),
]


def cx(
    env: dict[str, str], *args: str, ok: bool = True, stdin: str | None = None
) -> subprocess.CompletedProcess[str]:
    done = subprocess.run([CX, *args], env=env, capture_output=True, text=True, input=stdin, check=False)
    if "Traceback" in done.stderr or (ok and done.returncode != 0):
        raise SystemExit(f"cxchange {' '.join(args)} failed ({done.returncode}): {done.stderr[-800:]}")
    return done


def cxj(env: dict[str, str], *args: str) -> Any:
    return json.loads(cx(env, *args, "--format", "json").stdout)


def mail_text(raw: str) -> str:
    """The text of a message as the local SMTP server received it (headers and body)."""
    message = email.message_from_string(raw, policy=email.policy.default)
    body = message.get_body(("plain",)) if message.is_multipart() else message
    return str(body.get_content()) if body is not None else raw  # type: ignore[union-attr]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def nps(scores: list[int]) -> float:
    return round(100 * (sum(s >= 9 for s in scores) - sum(s <= 6 for s in scores)) / len(scores), 1)


def write_files(work: Path) -> dict[str, Path]:
    files = {name: work / name for name in ("units.csv", "people.csv", "contacts.csv", "csat_own.yaml")}
    units = ["code,name,parent,level", "CO,Acme Retail,,company"]
    for region, (name, stores) in REGIONS.items():
        units += [f"{region},{name},CO,region", *(f"{c},{n},{region},store" for c, n in stores.items())]
    files["units.csv"].write_text("\n".join(units) + "\n")
    files["people.csv"].write_text("name,email,unit,role\n" + "".join(",".join(p) + "\n" for p in PEOPLE))
    files["contacts.csv"].write_text(
        "email,unit,customer_id,name\nmia@example.test,N1,C-1,Mia\nleo@example.test,S1,C-2,Leo\n"
        "zoe@example.test,S2,C-3,\n"
    )
    files["csat_own.yaml"].write_text(
        'question: "How did you find our fitting rooms today?"\n'
        'comment_prompt: "What should we change in the fitting rooms?"\n'
        'scale: {low: "Awful", high: "Great"}\n'
    )
    return files


class Respondent:
    """A browser without JavaScript over HTTP: GET the link, POST the form it shows."""

    def __init__(self, base: str) -> None:
        self.base = base

    def path(self, url: str) -> str:
        return url[url.index("/s/") :]

    def open(self, url: str, address: str = "198.51.100.1") -> httpx.Response:
        return httpx.get(self.base + self.path(url), headers={"X-Forwarded-For": address}, timeout=60)

    def answer(
        self, url: str, fields: dict[str, str], address: str = "198.51.100.1", token: str | None = None
    ) -> httpx.Response:
        page = self.open(url, address)
        if token is None:
            found = re.search(r'name="form_token" value="([^"]+)"', page.text)
            token = found[1] if found else ""
        return httpx.post(self.base + self.path(url), data={"form_token": token, **fields},
                          headers={"X-Forwarded-For": address}, timeout=60)  # fmt: skip


def serve(env: dict[str, str], port: int, log: Path) -> subprocess.Popen[bytes]:
    server = subprocess.Popen([CX, "serve", "--port", str(port)], env=env, stdout=log.open("wb"),
                              stderr=subprocess.STDOUT)  # fmt: skip
    for _ in range(120):
        try:
            if httpx.get(f"http://127.0.0.1:{port}/api/health").status_code == 200:
                return server
        except httpx.TransportError:
            time.sleep(0.5)
    raise SystemExit(f"the server did not start: {log.read_text()[-800:]}")


def browser_visits(base: str, links: dict[str, str], result: dict[str, Any]) -> None:
    """Chromium at 390 px, keyboard only, on the NPS link of S2 and on the French survey's link."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"])
        context = browser.new_context(
            base_url=base,
            viewport={"width": 390, "height": 800},
            extra_http_headers={"X-Forwarded-For": "203.0.113.9"},
        )
        page = context.new_page()
        unit, score, comment = BROWSER_NPS
        page.goto(links[unit][links[unit].index("/s/") :])
        fits = page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")
        page.keyboard.press("Tab")  # the first radio of the scale
        for _ in range(score):
            page.keyboard.press("ArrowRight")
        page.keyboard.press("Tab")
        page.keyboard.type(comment)
        page.keyboard.press("Tab")
        page.keyboard.press("Enter")
        page.wait_for_url(lambda u: u.endswith("/thanks"), timeout=30_000)
        result["phone_keyboard"] = {"fits_390px": fits, "thanks": "Thank you" in page.content()}
        fr = links["fr"]
        page.goto(fr[fr.index("/s/") :])
        shown = {
            "lang": page.evaluate("document.documentElement.lang"),
            "button": page.inner_text("button[type=submit]"),
            "intro": page.inner_text(".intro"),
        }
        page.click("label[for=score-9]")
        page.fill("#comment", "Très bon accueil, merci à Léa")
        page.click("button[type=submit]")
        page.wait_for_url(lambda u: u.endswith("/thanks"), timeout=30_000)
        shown["thanks_lang"] = page.evaluate("document.documentElement.lang")
        shown["thanks_title"] = page.inner_text("h1")
        result["french_page"] = shown
        browser.close()


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--out", default=str(HERE / "results" / "tour_surveys.json"))
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="cx-survey-tour-"))
    result: dict[str, Any] = {"load_average_at_start": os.getloadavg()}
    checks: dict[str, bool] = {}
    server = None
    started = time.perf_counter()
    try:
        with local_smtp_server() as smtp:
            port = free_port()
            base = f"http://127.0.0.1:{port}"
            env = {**os.environ, "CXCHANGE_DATABASE_URL": f"sqlite:///{work / 'cx.db'}", "NO_COLOR": "1",
                   "COLUMNS": "200", "CXCHANGE_ADMIN_PASSWORD": "tour-admin-pass",
                   "CXCHANGE_SECRET_KEY": "tour-secret", "CXCHANGE_SMTP_HOST": "127.0.0.1",
                   "CXCHANGE_SMTP_PORT": str(smtp.server_address[1]), "CXCHANGE_PUBLIC_URL": base,
                   "CXCHANGE_TRUSTED_PROXIES": "127.0.0.1"}  # fmt: skip
            files = write_files(work)

            # --- the admin / CX analyst sets up ----------------------------------------------------
            cx(env, "org", "import", str(files["units.csv"]), "--people", str(files["people.csv"]))
            today = date.today().isoformat()
            cx(env, "initiative", "create", "--name", "Faster tills", "--framework", "adkar",
               "--sponsor", "ada@acme.test", "--owner", "ben@acme.test", "--units", "R-N,R-S",
               "--start", today)  # fmt: skip
            made = {
                "nps": cxj(env, "survey", "create", "--name", "Store visit", "--kind", "nps",
                           "--units", "N1,N2,S1,S2"),
                "csat": cxj(env, "survey", "create", "--name", "Checkout", "--kind", "csat",
                            "--units", "N1,S1"),
                "ces": cxj(env, "survey", "create", "--name", "Returns desk", "--kind", "ces"),
                "own": cxj(env, "survey", "create", "--name", "Fitting rooms", "--kind", "csat",
                           "--units", "N2", "--definition", str(files["csat_own.yaml"])),
                "fr": cxj(env, "survey", "create", "--name", "Visite FR", "--kind", "nps",
                          "--units", "S2", "--language", "fr"),
                "adkar": cxj(env, "survey", "create", "--name", "Tills pulse", "--kind", "adkar",
                             "--units", "N1,N2", "--initiative", "Faster tills"),
            }  # fmt: skip
            links = {link["unit"]: link["url"] for link in made["nps"]["links"]}
            links["fr"] = made["fr"]["links"][0]["url"]
            result["created"] = {k: [link["unit"] for link in v["links"]] for k, v in made.items()}
            checks["links start with CXCHANGE_PUBLIC_URL"] = all(
                link["url"].startswith(base + "/s/") for v in made.values() for link in v["links"]
            )
            # What the admin is refused: exit 1 and one line naming what to fix, nothing created.
            bad_yaml, bad_contacts = work / "bad.yaml", work / "bad_contacts.csv"
            bad_yaml.write_text("question: Rate us\nscale: {min: 1, max: 7}\n")
            bad_contacts.write_text("email,unit\nok@example.test,N1\nnot-an-address,N2\n")
            asks = {
                "--language de": ("survey", "create", "--name", "Besuch", "--kind", "nps",
                                  "--language", "de"),
                "--definition with a 1-7 scale": ("survey", "create", "--name", "Seven", "--kind", "csat",
                                                  "--definition", str(bad_yaml)),
                "--definition missing": ("survey", "create", "--name", "Gone", "--kind", "csat",
                                         "--definition", str(work / "nowhere.yaml")),
                "--units unknown": ("survey", "create", "--name", "Where", "--kind", "ces", "--units", "N9"),
                "contacts with a bad address": ("survey", "invite", "Checkout", "--file", str(bad_contacts)),
            }  # fmt: skip
            admin_refusals = {}
            for ask, argv in asks.items():
                done = cx(env, *argv, ok=False)
                lines = [line for line in done.stderr.splitlines() if line.strip()]
                admin_refusals[ask] = {"code": done.returncode, "message": lines[-1][:200] if lines else ""}
            result["admin_refusals"] = admin_refusals
            checks["admin refusals: exit 1, one line"] = all(
                v["code"] == 1 and v["message"] for v in admin_refusals.values()
            ) and all(
                len(cx(env, *argv, ok=False).stderr.strip().splitlines()) == 1 for argv in asks.values()
            )
            checks["nothing created by a refusal"] = len(cxj(env, "survey", "list")) == len(made)
            invited = cxj(env, "survey", "invite", "Checkout", "--file", str(files["contacts.csv"]))
            reminded = cxj(env, "survey", "remind", "Checkout")
            mails = list(smtp.messages)
            result["invite"] = {"invite": invited, "remind": reminded, "mails_received": len(mails)}
            checks["one mail per contact"] = invited["sent"] == 3 and len(mails) == 3
            checks["remind right after invite says when reminders fall due"] = (
                reminded["due"] == 0 and reminded.get("next_due") is not None
            )
            checks["no links note once CXCHANGE_PUBLIC_URL is set"] = all(
                v.get("links_note") is None for v in made.values()
            )

            server = serve(env, port, work / "server.log")
            r = Respondent(base)

            # --- respondents ----------------------------------------------------------------------
            statuses: dict[str, int] = {}
            for n, (unit, answers) in enumerate(NPS_ANSWERS.items()):
                for i, (score, comment) in enumerate(answers):
                    fields = {"score": str(score), **({"comment": comment} if comment else {})}
                    # N1's first two answers come from one address and link (a shared kiosk).
                    address = "198.51.100.1" if unit == "N1" and i < 2 else f"198.51.100.{10 + 3 * n + i}"
                    statuses[f"nps {unit} {score}"] = r.answer(links[unit], fields, address).status_code
            csat_links = {link["unit"]: link["url"] for link in made["csat"]["links"]}
            for unit, score, address in (
                ("N1", 5, "192.0.2.1"),
                ("N1", 4, "192.0.2.2"),
                ("S1", 2, "192.0.2.3"),
            ):
                statuses[f"csat {unit} {score}"] = r.answer(
                    csat_links[unit], {"score": str(score)}, address
                ).status_code
            for score, address in ((5, "192.0.2.4"), (3, "192.0.2.5")):
                statuses[f"ces {score}"] = r.answer(
                    made["ces"]["links"][0]["url"], {"score": str(score)}, address
                ).status_code
            own_page = r.open(made["own"]["links"][0]["url"]).text
            statuses["own 4"] = r.answer(
                made["own"]["links"][0]["url"], {"score": "4"}, "192.0.2.6"
            ).status_code
            adkar_links = {link["unit"]: link["url"] for link in made["adkar"]["links"]}
            for i, five in enumerate(ADKAR_SCORES):
                unit = "N1" if i < 3 else "N2"
                fields = dict(zip(("awareness", "desire", "knowledge", "ability", "reinforcement"),
                                  map(str, five), strict=True))  # fmt: skip
                if i == 0:
                    fields["comment"] = "Train us before the new tills arrive"
                statuses[f"adkar {i}"] = r.answer(adkar_links[unit], fields, f"192.0.2.{20 + i}").status_code
            # One invitation answered from its e-mailed one-time link.
            mia = next((mail_text(m) for m in mails if "Hello Mia" in mail_text(m)), "")
            mailed = re.search(r"(https?://\S+/s/[A-Za-z0-9._-]+)", mia)
            result["mailed_link_found"] = bool(mailed)
            if mailed:
                statuses["invitation"] = r.answer(mailed[1], {"score": "3"}, "192.0.2.30").status_code
                statuses["invitation again"] = r.open(mailed[1], "192.0.2.30").status_code
            result["answer_statuses"] = statuses
            checks["every answer accepted (303)"] = all(
                v == 303 for k, v in statuses.items() if k != "invitation again"
            )

            # Refusals a respondent meets.
            page = r.open(links["N1"], "198.51.100.99").text
            token = re.search(r'name="form_token" value="([^"]+)"', page)[1]  # type: ignore[index]
            first = r.answer(links["N1"], {"score": "10"}, "198.51.100.99", token=token)
            replay = r.answer(links["N1"], {"score": "10"}, "198.51.100.99", token=token)
            tampered_url = links["N1"][:-3] + ("AAA" if not links["N1"].endswith("AAA") else "BBB")
            refusals = {
                "same form sent twice": replay.status_code,
                "tampered token": r.open(tampered_url).status_code,
                "score 11": r.answer(links["N1"], {"score": "11"}, "198.51.100.98").status_code,
                "no score": r.answer(links["N1"], {"comment": "no score"}, "198.51.100.97").status_code,
                "comment of 5001 characters": r.answer(
                    links["N1"], {"score": "5", "comment": "x" * 5001}, "198.51.100.96"
                ).status_code,
            }
            statuses["nps N1 10 (replayed)"] = first.status_code
            burst = [
                r.answer(links["S1"], {"score": "oops"}, "198.51.100.200").status_code for _ in range(21)
            ]
            refusals["21st post a minute from one address"] = burst[-1]
            refusals["the 20 before it"] = sorted(set(burst[:-1]))
            browser_visits(base, links, result)
            cx(env, "survey", "close", "Returns desk")
            ces_url = made["ces"]["links"][0]["url"]
            refusals["closed survey, GET"] = r.open(ces_url, "192.0.2.40").status_code
            closed_post = httpx.post(base + r.path(ces_url), data={"score": "4"},
                                     headers={"X-Forwarded-For": "192.0.2.40"}, timeout=60)  # fmt: skip
            refusals["closed survey, POST"] = closed_post.status_code
            result["refusals"] = refusals
            checks["refusals: 409 replay, 404 tampered, 400s, 429, 410"] = (
                refusals["same form sent twice"] == 409
                and refusals["tampered token"] == 404
                and refusals["score 11"] == 400
                and refusals["no score"] == 400
                and refusals["comment of 5001 characters"] == 400
                and refusals["21st post a minute from one address"] == 429
                and refusals["closed survey, GET"] == 410
                and refusals["closed survey, POST"] == 410
            )

            # --- the analyst again ----------------------------------------------------------------
            time.sleep(3)  # the answers' after-commit work (search index, columnar copy) runs soon after
            expected_nps = {u: [s for s, _ in a] for u, a in NPS_ANSWERS.items()}
            expected_nps["N1"].append(10)  # the replayed form's first post
            expected_nps["S2"] = [BROWSER_NPS[1]]
            shown = cxj(env, "survey", "show", "Store visit")
            by_unit = {row["unit"]: row["n"] for row in shown["by_unit"]}
            result["survey_show_store_visit"] = {"responses": shown["responses"], "by_unit": by_unit,
                                                 "by_day": shown["by_day"]}  # fmt: skip
            checks["survey show counts by unit"] = by_unit == {u: len(s) for u, s in expected_nps.items()}
            utc_day = datetime.now(UTC).date().isoformat()
            checks["survey show counts by day"] = shown["by_day"] == [
                {"day": utc_day, "n": shown["responses"]}
            ]
            listed = {s["name"]: s for s in cxj(env, "survey", "list")}
            result["survey_list"] = {k: (v["status"], v["responses"]) for k, v in listed.items()}
            checkout = {row["unit"]: row["n"] for row in cxj(env, "survey", "show", "Checkout")["by_unit"]}
            checks["the invitation's answer is Mia's unit (N1)"] = checkout == {"N1": 3, "S1": 1}
            checks["survey list counts"] = (
                listed["Checkout"]["responses"] == 4 and listed["Returns desk"]["responses"] == 2
                and listed["Fitting rooms"]["responses"] == 1 and listed["Visite FR"]["responses"] == 1
                and listed["Tills pulse"]["responses"] == 6 and listed["Returns desk"]["status"] == "closed"
            )  # fmt: skip

            all_nps = [s for scores in expected_nps.values() for s in scores] + [9]  # + the French answer
            per_store = cxj(env, "scores", "--metric", "nps", "--by", "org:store", "--min-n", "1")
            by_store = {row["group"]["org:store"]: row["n"] for row in per_store}
            # Exeter (S2): the browser's answer and the French survey's, both on S2 links.
            checks["NPS n by store by hand"] = by_store == {"Leeds": 4, "York": 2, "Bath": 3, "Exeter": 2}
            overall_nps = cxj(env, "scores", "--metric", "nps")[0]
            result["scores_nps"] = {"overall": overall_nps, "by_store": by_store,
                                    "expected_overall": nps(all_nps), "expected_n": len(all_nps)}  # fmt: skip
            checks["NPS overall by hand"] = overall_nps["n"] == len(all_nps) and round(
                float(overall_nps["score"]), 1
            ) == nps(all_nps)
            csat = cxj(env, "scores", "--metric", "csat")[0]
            ces = cxj(env, "scores", "--metric", "ces")[0]
            result["scores_csat"], result["scores_ces"] = csat, ces
            csat_scores = [5, 4, 2, 3, 4]  # Checkout 5, 4, 2, the invitation's 3, Fitting rooms 4
            result["expected_csat"] = {"n": len(csat_scores), "top2_share": 3 / 5, "mean": 18 / 5}
            checks["CSAT n by hand"] = csat["n"] == len(csat_scores)
            checks["CES n by hand"] = ces["n"] == 2

            feedback = cxj(env, "feedback", "--limit", "200")
            texts = [row.get("text") or "" for row in feedback]
            checks["script comment stored as typed"] = SCRIPT in texts
            checks["long comment stored whole"] = LONG in texts
            checks["French comment stored"] = "Très bon accueil, merci à Léa" in texts
            cx(env, "analyze")
            result["readiness"] = cxj(env, "readiness", "report", "Faster tills")
            # The pulse comment is kept without its unit: nothing in the store may join it back to the
            # pulse answer (unit and five scores) it came with.
            with sqlite3.connect(work / "cx.db") as db:
                joined = db.execute(
                    "SELECT count(*) FROM pulse_answer p JOIN feedback f"
                    " ON f.external_id = p.nonce OR f.received_at = p.received_at"
                ).fetchone()[0]
            checks["the pulse comment cannot be joined to its scores"] = joined == 0
            checks["ADKAR pulse in readiness (6 answers)"] = "6" in json.dumps(result["readiness"])

            cx(env, "user", "add", "ada@acme.test", "--role", "analyst", "--password-stdin",
               stdin="a-long-passphrase-1\n")  # fmt: skip
            bearer = re.search(r"cxt_[A-Za-z0-9_-]+", cx(env, "token", "create", "ada@acme.test").stdout)
            headers = {"Authorization": f"Bearer {bearer[0] if bearer else ''}"}
            pages = {
                "overview": "/",
                "feedback": "/feedback",
                "feedback N2": "/feedback?unit=N2",
                "feedback.csv": "/feedback.csv",
                "survey": f"/surveys/{made['nps']['id']}",
                "initiative": "/initiatives/1",
            }
            seen: dict[str, Any] = {}
            for name, path in pages.items():
                got = httpx.get(base + path, headers=headers, timeout=300)
                escaped = html.escape(SCRIPT) in got.text or "&lt;script&gt;" in got.text
                seen[name] = {
                    "status": got.status_code,
                    "raw_script": SCRIPT in got.text,
                    "escaped_script": escaped,
                }
                if name == "overview":
                    card = re.search(r"n = (\d+)", got.text)
                    seen[name]["first_card_n"] = int(card[1]) if card else None
                if name == "feedback.csv":
                    rows = list(csv.reader(io.StringIO(got.text)))
                    cells = [c for row in rows for c in row if "HYPERLINK" in c]
                    seen[name]["formula_cells"] = cells
                    seen[name]["formula_cell_guarded"] = bool(cells) and not any(
                        c.startswith("=") for c in cells
                    )
                    seen[name]["csv_rows"] = len(rows) - 1
                if name == "initiative":
                    seen[name]["pulse_answers_shown"] = "Tills pulse" in got.text
            result["pages"] = seen
            checks["no page shows the comment's raw HTML"] = not any(v["raw_script"] for v in seen.values())
            checks["CSV export guards a formula comment"] = bool(
                seen["feedback.csv"].get("formula_cell_guarded")
            )
            checks["every page answers 200"] = all(v["status"] == 200 for v in seen.values())
            report = work / "report.html"
            cx(env, "report", "--output", str(report))
            report_html = report.read_text(encoding="utf-8")
            checks["report never shows the comment's raw HTML"] = SCRIPT not in report_html
            body = re.sub(r"<style.*?</style>", " ", report_html, flags=re.S)
            text = re.sub(r"\s+", " ", html.unescape(re.sub(r"<[^>]+>", " ", body)))
            result["report_excerpt"] = text[:900]
            result["own_definition_page_has_question"] = "fitting rooms today" in own_page
            fr_page = result.get("french_page", {})
            checks["French survey: page and thank-you in French"] = (
                fr_page.get("lang") == "fr" and fr_page.get("button") == "Envoyer"
                and fr_page.get("thanks_lang") == "fr" and fr_page.get("thanks_title") == "Merci"
            )  # fmt: skip
            result["load_average_at_end"] = os.getloadavg()
    finally:
        if server is not None:
            server.terminate()
            server.wait(timeout=30)
        result["seconds"] = round(time.perf_counter() - started, 1)
        result["checks"] = checks
        keep = os.environ.get("TOUR_KEEP")
        if keep:
            shutil.copytree(work, keep, dirs_exist_ok=True)
        shutil.rmtree(work, ignore_errors=True)
    Path(args.out).write_text(json.dumps(result, indent=2, default=str) + "\n")
    print(json.dumps(result, indent=2, default=str))


if __name__ == "__main__":
    main()
