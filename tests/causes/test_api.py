"""/api/causes: reading with scoping, editing the taxonomy and deciding on candidates."""

from __future__ import annotations

from typing import Any

from sqlalchemy.orm import Session, sessionmaker

from feedback.causes.analyze import AnalyzeOptions, analyze
from feedback.models import Role
from tests import factories
from tests.causes.corpus import texts
from tests.causes.helpers import add_responses, setup_survey

OPTIONS = AnalyzeOptions(engine="default", min_size=5)


def _analyzed(sessions: sessionmaker[Session]) -> dict[str, int]:
    survey, question, ids = setup_survey(sessions)
    add_responses(sessions, survey, question, texts("charge", 8), department_id=ids["billing"])
    add_responses(sessions, survey, question, texts("late", 8), department_id=ids["logistics"])
    analyze(sessions, OPTIONS)
    return ids


def _by_word(causes: list[dict[str, Any]], word: str) -> dict[str, Any]:
    found = [c for c in causes if word in " ".join([c["label"], *c["verbatims"]])]
    assert len(found) == 1, causes
    return found[0]


def test_a_department_head_sees_only_their_departments_causes(
    client: Any, sessions: sessionmaker[Session]
) -> None:
    _analyzed(sessions)
    admin = factories.bearer(factories.token(sessions))
    head = factories.bearer(factories.token(sessions, Role.DEPARTMENT_HEAD, "billing"))
    everything = client.get("/api/causes", headers=admin).json()
    assert {c["suggested_department"] for c in everything} == {"billing", "logistics"}
    mine = client.get("/api/causes", headers=head).json()
    assert [c["suggested_department"] for c in mine] == ["billing"]
    late = _by_word(everything, "late")
    assert client.get(f"/api/causes/{late['id']}", headers=head).status_code == 404
    charge = client.get(f"/api/causes/{mine[0]['id']}", headers=head).json()
    assert charge["cause"]["size"] == 8 and charge["ledger"][0]["count"] == 8
    assert [e["kind"] for e in charge["history"]] == ["new"]
    assert len(charge["examples"]) == 8 and len(charge["cause"]["verbatims"]) == 3
    assert client.get("/api/causes").status_code == 401
    assert client.post("/api/causes", json={"id": "x", "name": "X"}, headers=head).status_code == 403


def test_each_cause_has_a_cohesion_and_the_run_says_what_fits_no_cause(
    client: Any, sessions: sessionmaker[Session]
) -> None:
    survey, question, ids = setup_survey(sessions)
    admin = factories.bearer(factories.token(sessions))
    assert client.get("/api/causes/runs/latest", headers=admin).status_code == 404
    add_responses(sessions, survey, question, texts("charge", 8), department_id=ids["billing"])
    add_responses(sessions, survey, question, texts("late", 8), department_id=ids["logistics"])
    odd = ["the colour of the box was odd", "music on hold is too loud"]
    add_responses(sessions, survey, question, odd, department_id=ids["billing"])
    analyze(sessions, OPTIONS)
    causes = client.get("/api/causes", headers=admin).json()
    assert all(0 < c["cohesion"] <= 1 for c in causes)
    run = client.get("/api/causes/runs/latest", headers=admin).json()
    assert run["items_negative"] == 18 and run["items_clustered"] == 16
    assert run["items_unexplained"] == 2 and run["coverage"] == round(16 / 18, 4)
    assert run["summary"] == "2 negative comments fit no repeated cause (coverage 89%)"
    head = factories.bearer(factories.token(sessions, Role.DEPARTMENT_HEAD, "billing"))
    assert client.get("/api/causes/runs/latest", headers=head).status_code == 403


def test_an_admin_accepts_merges_and_dismisses_candidates(
    client: Any, sessions: sessionmaker[Session]
) -> None:
    _analyzed(sessions)
    admin = factories.bearer(factories.token(sessions))
    causes = client.get("/api/causes", headers=admin).json()
    charge, late = _by_word(causes, "charge"), _by_word(causes, "late")
    accepted = client.post(
        f"/api/causes/candidates/{charge['id']}/accept",
        json={"department": "billing", "name": "Charged twice", "id": "double-charge"},
        headers=admin,
    )
    assert accepted.status_code == 200, accepted.text
    assert accepted.json()["status"] == "active" and accepted.json()["department"] == "billing"
    merged = client.post(
        f"/api/causes/candidates/{late['id']}/merge", json={"into": "double-charge"}, headers=admin
    )
    assert merged.json()["status"] == "merged" and merged.json()["merged_into"] == "double-charge"
    # The merged candidate's items count for the cause at once, not only after the next analysis run.
    absorbed = client.get("/api/causes/double-charge", headers=admin).json()
    assert absorbed["cause"]["size"] == charge["size"] + late["size"]
    assert any("late" in text for text in absorbed["examples"])
    again = client.post(f"/api/causes/candidates/{late['id']}/dismiss", json={}, headers=admin)
    assert again.status_code == 409  # no longer a candidate
    shown = client.get("/api/causes?status=merged", headers=admin).json()
    assert [c["id"] for c in shown] == [late["id"]]
    assert client.get("/api/causes?status=nonsense", headers=admin).status_code == 400  # the schema's pattern


def test_an_admin_edits_the_taxonomy_through_the_api(client: Any, sessions: sessionmaker[Session]) -> None:
    factories.department(sessions, "logistics", "Logistics")
    admin = factories.bearer(factories.token(sessions))
    body = {"id": "late-delivery", "name": "Late delivery", "department": "logistics", "keywords": ["late"]}
    created = client.post("/api/causes", json=body, headers=admin)
    assert created.status_code == 201, created.text
    assert client.post("/api/causes", json=body, headers=admin).status_code == 409
    bad = client.post("/api/causes", json={"id": "Bad Id", "name": ""}, headers=admin)
    assert bad.status_code == 422 and {e["field"] for e in bad.json()["errors"]} == {"id", "name"}
    patched = client.patch("/api/causes/late-delivery", json={"keywords": ["late", "delayed"]}, headers=admin)
    assert patched.json()["keywords"] == ["late", "delayed"]
    assert (
        client.patch("/api/causes/late-delivery", json={"department": "nowhere"}, headers=admin).status_code
        == 422
    )
    retired = client.delete("/api/causes/late-delivery", headers=admin)
    assert retired.json()["status"] == "retired"
    history = client.get("/api/causes/late-delivery", headers=admin).json()["history"]
    assert [e["kind"] for e in history] == ["created", "updated", "retired"]
