"""Surveys in the customer's language: survey translations, the page's choice of language, the catalogues."""

from __future__ import annotations

import gettext
import re
from pathlib import Path

from babel.messages.extract import extract_from_dir
from babel.messages.pofile import read_po
from sqlalchemy import select

from feedback.i18n import LOCALE_DIR, accepted, best_match, catalogue_languages, choose_language
from feedback.models import Invitation, Response
from tests import factories

ROOT = Path(__file__).resolve().parents[2]
HTML = {"Accept": "text/html"}
PORTUGUESE = {
    "title": "Como correu?",
    "intro": "Duas perguntas sobre a sua chamada.",
    "thank_you": "Obrigado pela sua ajuda!",
    "questions": {
        "nps": {
            "prompt": "Recomendaria a nossa empresa a um amigo?",
            "low_label": "Nada provável",
            "high_label": "Extremamente provável",
        },
        "csat": {"prompt": "Ficou satisfeito com a ajuda que recebeu?"},
        "ces": {"prompt": "A empresa facilitou a resolução do meu problema."},
        "reason": {"prompt": "Sobre o que foi?", "choices": ["Faturação", "Entrega", "Outro"]},
        "comment": {"prompt": "O que podemos melhorar?"},
    },
}


def translated_survey(sessions) -> None:  # type: ignore[no-untyped-def]
    factories.survey(sessions, translations={"pt": PORTUGUESE})


def test_every_marked_string_is_in_each_catalogue_translated_and_compiled() -> None:
    with open(ROOT / "babel.cfg") as cfg:
        from babel.messages.frontend import parse_mapping_cfg

        method_map, options_map = parse_mapping_cfg(cfg)
    marked = {
        message if isinstance(message, str) else message[0]
        for _, _, message, _, _ in extract_from_dir(str(ROOT), method_map, options_map)
    }
    assert "Send my answers" in marked and "Thanks, your %(score)s is saved. Anything to add?" in marked
    assert set(catalogue_languages()) >= {"en", "pt", "de"}
    for language in ("pt", "de"):
        po_path = LOCALE_DIR / language / "LC_MESSAGES" / "messages.po"
        with po_path.open("rb") as po_file:
            catalogue = read_po(po_file, locale=language)
        entries = {m.id: m for m in catalogue if m.id}
        assert set(entries) == marked, f"{language}: run pybabel extract/update (src/feedback/i18n.py)"
        assert all(m.string and "fuzzy" not in m.flags for m in entries.values()), language
        compiled = gettext.GNUTranslations((po_path.with_suffix(".mo")).open("rb"))
        stale = [key for key, m in entries.items() if compiled.gettext(str(key)) != m.string]
        assert stale == [], f"{language}: run pybabel compile -d src/feedback/locale"
        for key, m in entries.items():  # placeholders survive translation
            assert re.findall(r"%\(\w+\)s", str(key)) == re.findall(r"%\(\w+\)s", str(m.string)), key


def test_accept_language_is_read_by_preference_and_matched_by_primary_subtag() -> None:
    assert accepted("de-CH;q=0.5, pt-BR, en;q=0.8, fr;q=0") == ["pt-br", "en", "de-ch"]
    assert best_match(["pt-br"], ["en", "pt"]) == "pt"
    assert best_match(["pt"], ["en", "pt-BR"]) == "pt-BR"
    assert choose_language(["en", "pt"], "en", "pt", "en-US") == "pt"  # the invitation wins
    assert choose_language(["en", "pt"], "en", "ja", "pt-PT,en") == "pt"  # not offered: the browser's
    assert choose_language(["en", "pt"], "en", None, "ja, fr") == "en"  # neither: the survey's default


def test_the_invitation_language_picks_the_page_language_and_the_response_keeps_it(client, sessions) -> None:
    translated_survey(sessions)
    [pt_token, browser_token] = factories.invite(
        sessions, [{"email": "ana@example.com", "language": "pt"}, {"email": "bob@example.com"}]
    )
    page = client.get(f"/s/{pt_token}", headers=HTML | {"Accept-Language": "en-US,en"})
    html = page.text
    assert '<html lang="pt">' in html
    for text in ("Como correu?", "Recomendaria a nossa empresa a um amigo?", "Nada provável", "Entrega",
                 "Enviar as minhas respostas", "(obrigatório)", "Até 500 caracteres"):  # fmt: skip
        assert text in html, text
    assert "Send my answers" not in html and "How did we do?" not in html
    assert 'name="reason" value="Delivery"' in html  # the stored value stays the survey's own

    missing = client.post(f"/s/{pt_token}", data={"comment": "Olá", "lang": "pt"}, headers=HTML)
    assert missing.status_code == 422 and "é necessária uma resposta" in missing.text
    done = client.post(f"/s/{pt_token}", data={"nps": "9", "reason": "Delivery", "lang": "pt"})
    assert done.status_code == 200 and "Obrigado pela sua ajuda!" in done.text
    assert '<html lang="pt">' in done.text

    english = client.get(f"/s/{browser_token}", headers=HTML | {"Accept-Language": "en-GB"})
    assert '<html lang="en">' in english.text and "How did we do?" in english.text
    portuguese = client.get(f"/s/{browser_token}", headers=HTML | {"Accept-Language": "pt-BR,pt;q=0.9"})
    assert '<html lang="pt">' in portuguese.text and "Como correu?" in portuguese.text
    client.post(f"/s/{browser_token}", data={"nps": "3", "lang": "pt"})
    with sessions() as session:
        stored = dict(session.execute(select(Response.nps, Response.language)).all())
        languages = dict(session.execute(select(Invitation.email, Invitation.language)).all())
    assert stored == {9: "pt", 3: "pt"}
    assert languages == {"ana@example.com": "pt", "bob@example.com": None}


def test_fixed_strings_follow_the_language_where_the_survey_has_no_translation(client, sessions) -> None:
    factories.survey(sessions, language="de")
    [token] = factories.invite(sessions, [{"email": "ann@example.com"}])
    page = client.get(f"/s/{token}", headers=HTML | {"Accept-Language": "fr, en;q=0.5"})
    assert '<html lang="de">' in page.text and "Antworten senden" in page.text


def test_translations_through_the_api_and_every_problem_named(client, sessions) -> None:
    factories.department(sessions)
    admin = factories.bearer(factories.token(sessions))
    spec = factories.survey_spec(language="en", translations={"pt": PORTUGUESE})
    created = client.post("/api/surveys", json=spec, headers=admin)
    assert created.status_code == 201, created.text
    assert created.json()["translations"]["pt"]["title"] == "Como correu?"
    assert created.json()["language"] == "en"
    bad = factories.survey_spec(
        translations={
            "en": {"title": "Same"},
            "pt": {"questions": {"nope": {"prompt": "x"}, "reason": {"choices": ["Só uma"]}}},
        }
    )
    refused = client.post("/api/surveys", json=bad, headers=admin)
    assert refused.status_code == 422
    fields = {e["field"] for e in refused.json()["errors"]}
    assert fields == {
        "translations.en",
        "translations.pt.questions.nope",
        "translations.pt.questions.reason.choices",
    }
    wrong_tag = client.post("/api/surveys", json=factories.survey_spec(language="Portuguese"), headers=admin)
    assert wrong_tag.status_code in (400, 422) and "language" in wrong_tag.text


def test_invitations_carry_a_language_through_the_api_and_a_bad_one_is_named(client, sessions) -> None:
    factories.survey(sessions)
    admin = factories.bearer(factories.token(sessions))
    ok = client.post(
        "/api/surveys/support-followup/invitations",
        json={"invitations": [{"email": "ana@example.com", "language": "pt-BR"}]},
        headers=admin,
    )
    assert ok.status_code == 201, ok.text
    bad = client.post(
        "/api/surveys/support-followup/invitations",
        json={"invitations": [{"email": "bo@example.com", "language": "Portuguese"}]},
        headers=admin,
    )
    assert bad.status_code in (400, 422) and "invitations[0].language" in bad.text
    with sessions() as session:
        assert session.scalars(select(Invitation.language)).all() == ["pt-BR"]
