"""Pure tests of the triage decision (no database, no Django).

Run before the Django settings exist with:
    .venv/bin/python -m pytest tests/routing/test_rules.py -p no:django

The messages below were written for these tests; none comes from the data set.
"""

from __future__ import annotations

import json
import time
from pathlib import Path

import pytest

from routing.default_policy import DEFAULT_POLICY, default_policy
from routing.rules import (
    Actions,
    Conditions,
    Decision,
    Facts,
    Policy,
    Rule,
    decide,
    national_brand,
    policy_from_dict,
    policy_to_dict,
    rule_from_dict,
    rule_to_dict,
)

DATA = Path(__file__).resolve().parent.parent / "data" / "triage_examples.jsonl"
NEWS_PROGRAMMES = {
    "Journal de 20h",
    "Journal de 13h",
    "Journal de 20 heures",
    "Journal de 13 heures",
    "19/20",
    "12/13",
    "Télématin",
    "Envoyé spécial",
    "Complément d'enquête",
    "Cash Investigation",
    "C dans l'air",
}


@pytest.fixture(scope="module")
def policy() -> Policy:
    return default_policy()


def triage(policy: Policy, body: str, **facts: object) -> Decision:
    values = {"channel": "web", "brand": "france2", "subject": ""} | facts
    return decide(facts=Facts(body=body, **values), policy=policy)


# --- every default rule, with a message that should trigger it -------------------------------

# (rule code, facts, expected fields of the decision)
CASES: list[tuple[str, dict, dict]] = [
    (
        "rgpd-demande",
        {
            "brand": "unknown",
            "body": "En application du RGPD, je demande la suppression de mes données "
            "personnelles et de l'historique associé à mon adresse.",
        },
        {"level": 2, "topic": "marketing", "priority": "high", "team": "srt-france2"},
    ),
    (
        "contestation-reponse",
        {
            "body": "Votre réponse du 3 mars sur le documentaire ne m'a pas convaincue. "
            "Je conteste cette réponse et je souhaite un réexamen sérieux.",
        },
        {"level": 3, "topic": "service_relationship"},
    ),
    (
        "grief-info-programme",
        {
            "programme": "Journal de 20h",
            "programme_is_news": True,
            "body": "Le sujet de mardi était totalement partial : une seule version des faits.",
        },
        {"level": 3, "topic": "editorial_news", "team": "mediator-news"},
    ),
    (
        "grief-info",
        {
            "brand": "france3",
            "body": "Dans le reportage du journal régional sur la grève des agriculteurs, "
            "aucun syndicat n'a été interrogé : c'est de la désinformation.",
        },
        {"level": 3, "topic": "editorial_news", "team": "mediator-news"},
    ),
    (
        "grief-sport",
        {
            "body": "Pendant le match de rugby, vous avez montré en boucle et au ralenti les "
            "images violentes de la blessure du joueur. C'est indigne d'une chaîne publique.",
        },
        {"level": 3, "topic": "sport", "team": "mediator-programmes"},
    ),
    (
        "grief-sport-commentaire",
        {
            "body": "Pendant l'étape, le consultant a commenté deux fois le physique des "
            "hôtesses du podium, sous les rires du commentateur. En 2026 !",
        },
        {"level": 3, "topic": "sport", "team": "mediator-programmes"},
    ),
    (
        "sport-autre",
        {
            "brand": "france2",
            "body": "Le Tournoi des Six Nations féminin sera-t-il sur France 2 l'an prochain ? "
            "Les joueuses le méritent.",
        },
        {"level": 2, "topic": "sport", "team": "srt-france2"},
    ),
    (
        "site-moderation",
        {
            "brand": "france3",
            "body": "Sous l'article sur le camp de migrants, des commentaires appellent à la "
            "violence depuis hier. Personne ne modère ?",
        },
        {"level": 2, "topic": "website_app", "priority": "high"},
    ),
    (
        "grief-programmes",
        {
            "brand": "france5",
            "body": "Le téléfilm de dimanche enchaîne les clichés racistes sur les gens du "
            "voyage, à une heure où les enfants regardent.",
        },
        {"level": 3, "topic": "editorial_programmes", "team": "mediator-programmes"},
    ),
    (
        "sport-couverture",
        {
            "brand": "france3",
            "body": "Pourquoi avoir basculé l'étape du Tour de France sur une autre chaîne à "
            "vingt kilomètres de l'arrivée ? Chez nous elle ne passe pas.",
        },
        {"level": 2, "topic": "sport", "team": "srt-france3"},
    ),
    (
        "langue",
        {
            "body": "Vos journalistes multiplient les anglicismes : « briefing », « timing », "
            "« feedback ». La langue française a des mots pour ça.",
        },
        {"level": 2, "topic": "language", "team": "srt-france2"},
    ),
    (
        "accessibilite",
        {
            "brand": "france5",
            "body": "Les sous-titres pour sourds et malentendants étaient absents pendant tout "
            "le documentaire d'hier soir.",
        },
        {"level": 2, "topic": "accessibility", "team": "srt-france5"},
    ),
    (
        "regional-station",
        {
            "brand": "france3-normandie",
            "body": "Notre village organise une fête des battages le 15 août. Une équipe "
            "pourrait-elle venir faire un sujet ?",
        },
        {"level": 2, "topic": "regional", "team": "srt-france3"},
    ),
    (
        "regional",
        {
            "brand": "unknown",
            "body": "Dans le journal régional, vous ne parlez jamais de notre vallée, sauf "
            "quand il y a un accident.",
        },
        {"level": 2, "topic": "regional"},
    ),
    (
        "relation-service",
        {
            "body": "Je vous ai déjà écrit deux fois en janvier et toujours pas de réponse. "
            "C'est ça le service public ?",
        },
        {"level": 2, "topic": "service_relationship"},
    ),
    (
        "reception",
        {
            "brand": "france3",
            "body": "Depuis ce matin France 3 pixelise sur ma TNT, les autres chaînes vont "
            "bien. Que dois-je faire ?",
        },
        {"level": 1, "topic": "reception_technical", "team": "n1-call-centre"},
    ),
    (
        "replay",
        {"body": "Combien de temps la série reste-t-elle disponible en replay sur france.tv ?"},
        {"level": 1, "topic": "replay_streaming"},
    ),
    (
        "site-appli",
        {"body": "Je n'arrive plus à me connecter, le mot de passe est refusé sur le site."},
        {"level": 1, "topic": "website_app"},
    ),
    (
        "horaires",
        {
            "body": "Pourquoi votre jeu de l'après-midi a-t-il changé d'horaire ? Il passe trop "
            "tard maintenant."
        },
        {"level": 1, "topic": "schedule_programming"},
    ),
    (
        "info-programme",
        {"body": "Qui présente le magazine du dimanche midi depuis la rentrée ?"},
        {"level": 1, "topic": "programme_info", "priority": "low"},
    ),
    (
        "avis-programme",
        {"body": "La nouvelle formule du jeu du soir ne me plaît pas du tout."},
        {"level": 1, "topic": "editorial_programmes"},
    ),
    (
        "remerciements",
        {"body": "Un grand merci pour la soirée consacrée à la chanson française, bravo !"},
        {"level": 1, "topic": "praise", "priority": "low"},
    ),
    (
        "copies-musiques-objets",
        {"body": "Quelle est la musique du générique de fin de votre série policière ?"},
        {"level": 1, "topic": "media_request"},
    ),
    (
        "participation",
        {
            "body": "Comment s'inscrire au casting de votre jeu télévisé ? Je voudrais être "
            "candidate."
        },
        {"level": 1, "topic": "participation"},
    ),
    (
        "suggestions",
        {"body": "Suggestion : rediffusez les anciens feuilletons l'été, les anciens adorent."},
        {"level": 1, "topic": "programme_request"},
    ),
    (
        "redevance",
        {
            "brand": "unknown",
            "body": "Dois-je encore payer la redevance pour ma maison de "
            "campagne ? Où demander un remboursement ?",
        },
        {"level": 1, "topic": "licence_fee"},
    ),
    (
        "institutionnel",
        {
            "brand": "unknown",
            "body": "Étudiant en audiovisuel, je cherche un stage de "
            "montage de trois mois. À qui envoyer mon CV ?",
        },
        {"level": 1, "topic": "institutional"},
    ),
    (
        "club-invitations",
        {
            "brand": "unknown",
            "body": "Comment recevoir la newsletter et les invitations du "
            "club des téléspectateurs ?",
        },
        {"level": 1, "topic": "marketing"},
    ),
    (
        "question-pratique",
        {
            "brand": "unknown",
            "body": "Comment activer les sous-titres sur ma télévision ? "
            "C'est pour mon père qui est malentendant.",
        },
        {"level": 1, "topic": "accessibility"},
    ),
    (
        "remarque-amicale",
        {
            "body": "Petite remarque amicale sur la grammaire : on dit « pallier un "
            "problème ». Ce n'est pas grave, bonne continuation à toute l'équipe !"
        },
        {"level": 1, "topic": "language"},
    ),
    (
        "annonce-non-diffusee",
        {
            "brand": "france5",
            "body": "Le guide des programmes annonçait un documentaire "
            "inédit sur les volcans samedi soir, et à la place vous avez passé une rediffusion.",
        },
        {"level": 2, "topic": "schedule_programming", "team": "srt-france5"},
    ),
    (
        "panne-collective",
        {
            "brand": "france3-occitanie",
            "body": "Plus d'image sur la TNT depuis trois jours, "
            "tout le village a le même problème depuis les travaux sur l'émetteur.",
        },
        {"level": 2, "topic": "reception_technical", "team": "srt-france3"},
    ),
    (
        "incident-en-cours",
        {
            "channel": "phone",
            "brand": "france3-bretagne",
            "body": "Appel 20h05 - écran noir sur "
            "la TNT en plein journal, troisième appel du même secteur, incident non répertorié.",
        },
        {"level": 2, "priority": "urgent"},
    ),
    (
        "defaut-plateforme",
        {
            "body": "Le replay de l'émission de jeudi s'arrête à la 12e minute. Testé sur "
            "ordinateur, téléphone et tablette : même problème partout."
        },
        {"level": 2, "topic": "replay_streaming"},
    ),
    (
        "securite-moderation",
        {
            "brand": "unknown",
            "body": "Mon compte a été piraté : quelqu'un a changé mon mot "
            "de passe et mon adresse de connexion.",
        },
        {"level": 2, "topic": "website_app", "priority": "high"},
    ),
    (
        "donnees-exposees",
        {
            "brand": "unknown",
            "body": "En ouvrant l'appli je tombe sur le compte de quelqu'un "
            "d'autre, avec son nom et son adresse mail.",
        },
        {"level": 2, "priority": "urgent"},
    ),
    (
        "rgpd",
        {
            "brand": "unknown",
            "body": "Je vous demande, au titre du droit d'accès, la copie "
            "des informations que vous détenez sur moi.",
        },
        {"level": 2, "priority": "high"},
    ),
    (
        "menace-juridique",
        {
            "body": "Vous avez diffusé ma maison sans autorisation dans votre émission de "
            "décoration. J'ai contacté mon avocat."
        },
        {"level": 2, "priority": "high"},
    ),
    (
        "menace-presse",
        {
            "channel": "letter",
            "body": "Sans réponse de votre part sous huit jours, je "
            "transmettrai ce dossier à la presse locale.",
        },
        {"level": 2, "priority": "high"},
    ),
    (
        "expediteur-institutionnel",
        {
            "channel": "letter",
            "brand": "unknown",
            "body": "Madame, Monsieur,\n\nPourriez-vous "
            "m'indiquer le calendrier de vos tournages dans notre commune ?\n\nLe Maire",
        },
        {"level": 2, "priority": "high"},
    ),
    (
        "contacts-repetes",
        {"body": "Quand sera rediffusé le concert de samedi ?", "repeat_contacts_same_subject": 2},
        {"level": 2},
    ),
    (
        "temoin-evenement",
        {
            "brand": "france3-nouvelle-aquitaine",
            "channel": "phone",
            "body": "Appel - témoin "
            "d'une inondation en cours à Dax, a des vidéos, veut les transmettre à la rédaction.",
        },
        {"level": 2, "topic": "regional", "priority": "high"},
    ),
    (
        "personne-identifiable",
        {
            "brand": "france3",
            "body": "Dans le reportage de ce soir ma fille de 12 ans est "
            "parfaitement reconnaissable, visage non flouté, alors qu'elle est victime.",
        },
        {"level": 3, "priority": "urgent"},
    ),
    (
        "propos-haineux-danger",
        {
            "body": "Une invitée a conseillé d'arrêter les vaccins sans aucune contradiction. "
            "C'est dangereux pour les téléspectateurs."
        },
        {"level": 3, "priority": "high"},
    ),
    (
        "contestation-reponse-envoyee",
        {"body": "Je ne suis pas convaincu par ce que vous m'avez écrit.", "earlier_answers": 1},
        {"level": 3},
    ),
    (
        "contestation-reponse-texte",
        {"body": "Je fais appel de votre réponse concernant le reportage sur les retraites."},
        {"level": 3},
    ),
    (
        "mediateur",
        {"brand": "france5", "body": "Je souhaite que le médiateur examine ma demande."},
        {"level": 3, "team": "mediator-programmes"},
    ),
    (
        "mediateur-info",
        {"body": "Je saisis la médiatrice de l'information au sujet du journal de 13h."},
        {"level": 3, "team": "mediator-news"},
    ),
    (
        "mediateur-programmes",
        {"body": "Je m'adresse au médiateur des programmes à propos du jeu de 18h."},
        {"level": 3, "team": "mediator-programmes"},
    ),
]


@pytest.mark.parametrize(("code", "facts", "expected"), CASES, ids=[c[0] for c in CASES])
def test_each_default_rule_applies_to_a_realistic_message(
    policy: Policy, code: str, facts: dict, expected: dict
) -> None:
    values = dict(facts)
    decision = triage(policy, values.pop("body"), **values)
    assert code in decision.matched_rules, decision.explanation
    for field, value in expected.items():
        assert getattr(decision, field) == value, (field, decision.explanation)


def test_every_default_rule_has_a_case() -> None:
    codes = {rule["code"] for rule in DEFAULT_POLICY["rules"]}
    assert codes == {code for code, _, _ in CASES}


# --- layering and precedence -----------------------------------------------------------------


def test_explicit_mediator_request_lifts_an_information_question_to_level_3(
    policy: Policy,
) -> None:
    decision = triage(
        policy,
        "Trois fois que je demande la date de rediffusion du documentaire. "
        "Je demande maintenant le médiateur.",
    )
    assert decision.level == 3
    assert decision.explanation.startswith("Niveau 3 — règle « Demande explicite du médiateur »")


def test_legal_threat_raises_a_level_1_topic_to_level_2_high(policy: Policy) -> None:
    decision = triage(
        policy,
        "Votre concours m'a attribué un lot jamais reçu. Je vais porter plainte.",
    )
    assert decision.topic == "participation"
    assert (decision.level, decision.priority) == (2, "high")


def test_floor_beats_cap_for_a_how_to_question_with_a_legal_threat(policy: Policy) -> None:
    decision = triage(
        policy,
        "Comment activer l'audiodescription ? Si personne ne m'aide je saisis la CNIL.",
        brand="unknown",
    )
    assert decision.topic == "accessibility"
    assert decision.level == 2


def test_legal_threat_does_not_lower_an_editorial_dispute(policy: Policy) -> None:
    decision = triage(
        policy,
        "Votre reportage au journal télévisé est mensonger et diffamatoire, le montage est "
        "trompeur. Mon avocat vous écrira.",
    )
    assert decision.level == 3
    assert decision.priority == "high"


def test_plain_unsubscribe_is_not_a_gdpr_request(policy: Policy) -> None:
    decision = triage(policy, "Merci de me désabonner de votre newsletter.", brand="unknown")
    assert (decision.topic, decision.level) == ("marketing", 1)


def test_praise_that_negates_a_grievance_word_stays_level_1(policy: Policy) -> None:
    decision = triage(
        policy,
        "Merci pour ce documentaire sans voyeurisme et sans aucune vulgarité, bravo.",
        brand="france5",
    )
    assert (decision.topic, decision.level) == ("praise", 1)


def test_topic_with_more_evidence_wins_over_earlier_rule(policy: Policy) -> None:
    # Reception (order 70) is named once; replay (order 71) three times over.
    decision = triage(
        policy,
        "Le replay plante sur la box, le direct aussi sur france.tv, et le replay de la veille "
        "ne se lance plus : impossible de revoir l'émission.",
    )
    assert decision.topic == "replay_streaming"


def test_decisive_rule_stops_the_topic_competition() -> None:
    words = Conditions(words_any=["colis"])
    rules = [
        Rule(code="a", name="A", order=1, conditions=words, actions=Actions(topic="x"), stop=True),
        Rule(
            code="b",
            name="B",
            order=2,
            weight=10,
            conditions=Conditions(words_any=["colis", "livraison"]),
            actions=Actions(topic="y"),
        ),
    ]
    decision = decide(
        facts=Facts(channel="web", body="Colis et livraison"),
        policy=Policy(version="t", rules=rules),
    )
    assert decision.topic == "x"
    assert decision.matched_rules == ("a",)


def test_equal_scores_go_to_the_lower_order() -> None:
    rules = [
        Rule(
            code=code,
            name=code,
            order=order,
            conditions=Conditions(words_any=["colis"]),
            actions=Actions(topic=code),
        )
        for code, order in (("late", 20), ("early", 10))
    ]
    decision = decide(
        facts=Facts(channel="web", body="colis"), policy=Policy(version="t", rules=rules)
    )
    assert decision.topic == "early"


def test_disabled_rule_is_ignored() -> None:
    rule = Rule(
        code="a",
        name="A",
        enabled=False,
        conditions=Conditions(words_any=["colis"]),
        actions=Actions(topic="x", level=2),
    )
    decision = decide(
        facts=Facts(channel="web", body="colis"), policy=Policy(version="t", rules=[rule])
    )
    assert (decision.topic, decision.level, decision.source) == (None, 1, "default")


def test_modifier_limited_to_topics_does_not_fire_elsewhere(policy: Policy) -> None:
    # "même problème" escalates reception faults, not a question about a game show.
    decision = triage(policy, "Même problème que ma voisine : comment devenir candidat au jeu ?")
    assert decision.level == 1
    assert "panne-collective" not in decision.matched_rules


def test_history_based_appeal_needs_an_earlier_answer(policy: Policy) -> None:
    body = "Je ne suis pas convaincu, je conteste."
    assert triage(policy, body).level < 3
    assert triage(policy, body, earlier_answers=1).level == 3


def test_escalated_case_is_never_low_priority(policy: Policy) -> None:
    decision = triage(policy, "Qui présente le jeu de 18h ? Je veux le médiateur.")
    assert decision.level == 3
    assert decision.priority == "normal"


# --- explanation -----------------------------------------------------------------------------


def test_explanation_names_rule_words_history_and_team(policy: Policy) -> None:
    decision = triage(
        policy,
        "Réponse insatisfaisante : je demande que le médiateur réexamine mon dossier.",
        repeat_contacts_same_subject=1,
    )
    text = decision.explanation
    assert text.startswith("Niveau 3 — règle « Contestation d'une réponse » : mots")
    assert "« réponse insatisfaisante »" in text
    assert "« médiateur »" in text
    assert "2e contact sur ce sujet" in text
    assert "Équipe mediator-programmes" in text
    assert decision.policy_version == "2026.2"
    assert decision.source == "rules"


def test_explanation_quotes_the_viewers_words_not_the_stems(policy: Policy) -> None:
    decision = triage(policy, "Les SOUS-TITRAGES du journal sont décalés depuis lundi.")
    assert "« sous-titrages »" in decision.explanation


def test_explanation_does_not_quote_a_phrase_inside_a_longer_one(policy: Policy) -> None:
    decision = triage(policy, "Je conteste votre réponse du 3 mars.")
    text = decision.explanation
    assert "« je conteste votre réponse »" in text.lower()
    assert "« conteste votre réponse »" not in text


def test_default_decision_explains_itself(policy: Policy) -> None:
    decision = triage(policy, "Bonjour.", brand="unknown")
    assert decision.source == "default"
    assert decision.topic is None
    assert (decision.level, decision.team) == (1, "n1-call-centre")
    assert "aucune règle de sujet ne s'applique" in decision.explanation


def test_decision_as_dict_is_json_serialisable(policy: Policy) -> None:
    decision = triage(policy, "Je saisis le médiateur.")
    data = json.loads(json.dumps(decision.as_dict()))
    assert data["level"] == 3
    assert data["policy_version"] == "2026.2"


# --- matching --------------------------------------------------------------------------------


def _words_policy(*terms: str) -> Policy:
    return Policy(
        version="t",
        rules=[
            Rule(
                code="r",
                name="R",
                conditions=Conditions(words_any=list(terms)),
                actions=Actions(topic="x"),
            )
        ],
    )


@pytest.mark.parametrize(
    ("term", "text"),
    [
        ("médiateur", "JE VEUX LES MEDIATEURS"),
        ("médiatrice", "la mediatrice des programmes"),
        ("rediffusée", "sera-t-elle rediffusee ?"),
        ("réponse insatisfaisante", "Une RÉPONSE INSATISFAISANTE, vraiment."),
        ("sous-titr*", "les sous-titrages sont absents"),
        ("sous-titr*", "pas de sous titres"),
        ("journal de 20h", "au Journal de 20H hier"),
        ("œuvre", "une oeuvre magnifique"),
        ("droit d'accès", "j'exerce mon droit d’accès"),
    ],
)
def test_matching_ignores_case_accents_and_inflection(term: str, text: str) -> None:
    decision = decide(facts=Facts(channel="web", body=text), policy=_words_policy(term))
    assert decision.topic == "x"


@pytest.mark.parametrize(
    ("term", "text"),
    [
        ("pas de son", "ce n'était pas son problème"),  # a phrase needs consecutive words
        ('"fautes"', "il faut le voir"),  # an exact word is not stemmed
        ("réponse insatisfaisante", "réponse très insatisfaisante"),
        ("journal de 20h", "journal du soir à 20h"),
    ],
)
def test_matching_does_not_overreach(term: str, text: str) -> None:
    decision = decide(facts=Facts(channel="web", body=text), policy=_words_policy(term))
    assert decision.topic is None


def test_subject_is_read_as_well_as_body() -> None:
    facts = Facts(channel="email", subject="Saisine du médiateur", body="Voir pièce jointe.")
    assert decide(facts=facts, policy=_words_policy("médiateur")).topic == "x"


def test_phrase_does_not_span_subject_and_body() -> None:
    facts = Facts(channel="email", subject="Question pas", body="de son dans le film")
    assert decide(facts=facts, policy=_words_policy("pas de son")).topic is None


def test_words_all_words_none_and_lexicons() -> None:
    policy = Policy(
        version="t",
        lexicons={"sport": ["match", "étape"]},
        rules=[
            Rule(
                code="r",
                name="R",
                conditions=Conditions(
                    words_all=["@sport", "coupé|interrompu"], words_none=["merci pour"]
                ),
                actions=Actions(topic="sport"),
            )
        ],
    )

    def topic(body: str) -> str | None:
        return decide(facts=Facts(channel="web", body=body), policy=policy).topic

    assert topic("Le match a été interrompu avant la fin") == "sport"
    assert topic("Le match était superbe") is None
    assert topic("Merci pour le match, même interrompu") is None


# --- brands and teams ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("wanted", "brand", "matches"),
    [
        ("france3", "france3", True),
        ("france3", "france3-bretagne", True),
        ("france3", "france2", False),
        ("france3-*", "france3-occitanie", True),
        ("france3-*", "france3", False),
        ("france3-bretagne", "france3-corse", False),
        ("unknown", "", True),
        ("unknown", "unknown", True),
        ("unknown", "france5", False),
    ],
)
def test_brand_conditions_cover_regional_stations(wanted: str, brand: str, matches: bool) -> None:
    policy = Policy(
        version="t",
        rules=[
            Rule(
                code="r",
                name="R",
                conditions=Conditions(brands=[wanted]),
                actions=Actions(topic="x"),
            )
        ],
    )
    decision = decide(facts=Facts(channel="web", brand=brand, body="texte"), policy=policy)
    assert (decision.topic == "x") is matches


def test_national_brand_of_a_station() -> None:
    assert national_brand("france3-paris-ile-de-france") == "france3"
    assert national_brand("france5") == "france5"
    assert national_brand("unknown") is None
    assert national_brand("") is None


@pytest.mark.parametrize(
    ("brand", "body", "team"),
    [
        ("france3-corse", "", "srt-france3"),
        ("france5", "", "srt-france5"),
        ("unknown", "", "srt-france2"),
        ("unknown", "Sur France 3 ", "srt-france3"),  # the text names one channel
        ("unknown", "France 2 ou France 5 ", "srt-france2"),  # two channels: fallback
    ],
)
def test_level_2_team_follows_the_national_brand(
    policy: Policy, brand: str, body: str, team: str
) -> None:
    decision = triage(policy, body + "le journal n'a aucun sous-titre depuis lundi.", brand=brand)
    assert decision.level == 2
    assert decision.team == team


def test_level_3_goes_to_the_news_mediator_for_a_news_programme(policy: Policy) -> None:
    decision = triage(
        policy,
        "Je demande l'avis du médiateur sur ce numéro.",
        programme="Envoyé spécial",
        programme_is_news=True,
    )
    assert decision.team == "mediator-news"


def test_rule_team_is_ignored_when_it_does_not_serve_the_final_level() -> None:
    rules = [
        Rule(
            code="t",
            name="T",
            conditions=Conditions(words_any=["avis"]),
            actions=Actions(topic="x", level=1, team="srt-france5"),
        ),
        Rule(
            code="m",
            name="M",
            conditions=Conditions(words_any=["médiateur"]),
            actions=Actions(min_level=3),
        ),
    ]
    policy = Policy(version="t", rules=rules)
    low = decide(facts=Facts(channel="web", body="un avis"), policy=policy)
    high = decide(facts=Facts(channel="web", body="un avis pour le médiateur"), policy=policy)
    assert low.team == "n1-call-centre"
    assert high.team == "mediator-programmes"


# --- sender lists ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    "facts",
    [
        {"sender_kind": "lawyer"},
        {"sender_email": "cabinet@contact.avocat.fr"},
        {"sender_email": "j.martin@assemblee-nationale.fr"},
        {"body": "Pourriez-vous me répondre ?\n\nSophie Martin\nRédactrice en chef, L'Écho"},
    ],
)
def test_institutional_senders_are_recognised(policy: Policy, facts: dict) -> None:
    values = {"body": "Pourriez-vous me dire quand passe le magazine ?"} | facts
    decision = triage(policy, values.pop("body"), **values)
    assert "expediteur-institutionnel" in decision.matched_rules
    assert decision.level == 2


def test_a_title_in_the_middle_of_a_long_letter_is_not_a_signature(policy: Policy) -> None:
    filler = "Je regarde votre émission tous les jours avec plaisir. " * 10
    body = filler + "Le maire de mon village y est passé. " + filler
    decision = triage(policy, body)
    assert "expediteur-institutionnel" not in decision.matched_rules


# --- classifier hook -------------------------------------------------------------------------


class FakeClassifier:
    def __init__(self, topic: str, level: int, confidence: float) -> None:
        self.answer = (topic, level, confidence)
        self.calls: list[str] = []

    def predict(self, text: str) -> tuple[str, int, float]:
        self.calls.append(text)
        return self.answer


def test_classifier_is_not_consulted_when_a_topic_rule_matched(policy: Policy) -> None:
    fake = FakeClassifier("licence_fee", 2, 0.99)
    decision = decide(
        facts=Facts(channel="web", body="Un grand merci pour ce beau documentaire."),
        policy=policy,
        classifier=fake,
    )
    assert fake.calls == []
    assert (decision.topic, decision.source) == ("praise", "rules")


def test_confident_classifier_supplies_topic_and_level_when_no_rule_matched(
    policy: Policy,
) -> None:
    fake = FakeClassifier("programme_info", 1, 0.82)
    decision = decide(
        facts=Facts(channel="web", subject="Question", body="Et le vieux feuilleton ?"),
        policy=policy,
        classifier=fake,
    )
    assert fake.calls == ["Question\nEt le vieux feuilleton ?"]
    assert (decision.topic, decision.level, decision.source) == ("programme_info", 1, "classifier")
    assert decision.confidence == 0.82
    assert "classifieur statistique : sujet « Information sur un programme » (confiance 0,82)" in (
        decision.explanation
    )


def test_unconfident_classifier_is_ignored(policy: Policy) -> None:
    fake = FakeClassifier("programme_info", 2, 0.10)
    decision = decide(
        facts=Facts(channel="web", body="Et le vieux feuilleton ?"), policy=policy, classifier=fake
    )
    assert fake.calls
    assert (decision.topic, decision.level, decision.source) == (None, 1, "default")


def test_modifiers_still_apply_on_top_of_the_classifier(policy: Policy) -> None:
    fake = FakeClassifier("programme_info", 1, 0.9)
    decision = decide(
        facts=Facts(channel="web", body="Et le vieux feuilleton ? Mon avocat attend."),
        policy=policy,
        classifier=fake,
    )
    assert (decision.topic, decision.level, decision.source) == ("programme_info", 2, "classifier")


class SecondOpinion(FakeClassifier):
    """A classifier that also says how likely level 3 is."""

    def __init__(self, level3: float) -> None:
        super().__init__("programme_info", 1, 0.0)
        self.level3 = level3

    def level_probability(self, text: str, level: int) -> float:
        return self.level3 if level == 3 else (1.0 - self.level3) / 2


@pytest.fixture
def reviewing(policy: Policy) -> Policy:
    """The default policy with the second opinion on, as a manager would set it."""
    data = policy_to_dict(policy)
    data["defaults"]["review_threshold"] = 0.3
    return policy_from_dict(data)


# Rules leave it at level 1 (a programme question); nothing in it names a grievance.
INDIRECT = (
    "Trois personnes interrogées dans la rue, trois personnes ravies. "
    "Vous êtes allés les chercher où ?"
)


def test_second_opinion_sends_a_likely_mediator_case_for_review_at_level_2(
    reviewing: Policy,
) -> None:
    assert triage(reviewing, INDIRECT).level == 1
    decision = decide(
        facts=Facts(channel="web", brand="france2", body=INDIRECT),
        policy=reviewing,
        classifier=SecondOpinion(0.62),
    )
    assert (decision.level, decision.team) == (2, "srt-france2")
    assert "second-avis" in decision.tags
    assert decision.explanation.startswith(
        "Niveau 2 — second avis du classifieur statistique : saisine de niveau 3 probable "
        "(probabilité 0,62), relecture au niveau 2."
    )


def test_second_opinion_below_its_threshold_changes_nothing(reviewing: Policy) -> None:
    decision = decide(
        facts=Facts(channel="web", brand="france2", body=INDIRECT),
        policy=reviewing,
        classifier=SecondOpinion(0.29),
    )
    assert decision.level == 1
    assert "second-avis" not in decision.tags


def test_second_opinion_respects_a_how_to_cap_and_is_off_in_the_default_policy(
    policy: Policy, reviewing: Policy
) -> None:
    how_to = "Comment activer les sous-titres sur ma télévision ?"
    assert triage(reviewing, how_to).level == 1
    capped = decide(
        facts=Facts(channel="web", brand="france2", body=how_to),
        policy=reviewing,
        classifier=SecondOpinion(0.9),
    )
    assert capped.level == 1
    # Shipped off: the classifier decides only where no rule did.
    assert policy.defaults.review_threshold is None
    without = decide(
        facts=Facts(channel="web", brand="france2", body=INDIRECT),
        policy=policy,
        classifier=SecondOpinion(0.9),
    )
    assert without.level == 1


def test_second_opinion_can_send_straight_to_the_mediators(reviewing: Policy) -> None:
    data = policy_to_dict(reviewing)
    data["defaults"]["review_level"] = 3
    decision = decide(
        facts=Facts(channel="web", brand="france2", body=INDIRECT),
        policy=policy_from_dict(data),
        classifier=SecondOpinion(0.5),
    )
    assert decision.level == 3
    assert decision.team.startswith("mediator-")
    data["defaults"]["review_level"] = 1
    with pytest.raises(ValueError):
        policy_from_dict(data)


def test_trained_classifier_round_trips_and_predicts() -> None:
    from routing import classifier as clf

    texts = [
        "quand sera rediffusé le film",
        "à quelle heure passe le jeu",
        "qui présente le journal",
        "date de rediffusion du documentaire",
        "le replay ne marche pas",
        "impossible de lire la vidéo en replay",
        "le replay s'arrête",
        "replay bloqué sur l'appli",
    ]
    topics = ["programme_info"] * 4 + ["replay_streaming"] * 4
    levels = [1, 1, 1, 1, 1, 2, 1, 2]
    model = clf.train(texts=texts, topics=topics, levels=levels)
    topic, level, confidence = model.predict("le replay bloque encore")
    assert topic == "replay_streaming"
    assert level in (1, 2)
    assert 0.0 < confidence <= 1.0
    restored = clf.loads(model.dumps())
    assert restored.predict("le replay bloque encore") == (topic, level, confidence)
    chances = [model.level_probability("le replay bloque encore", n) for n in (1, 2, 3)]
    assert chances[2] == 0.0  # never seen at level 3
    assert sum(chances) == pytest.approx(1.0)
    scores = clf.cross_validate(texts=texts * 3, topics=topics * 3, levels=levels * 3, folds=3)
    assert 0.0 <= scores["topic_accuracy"] <= 1.0
    with pytest.raises(ValueError):
        clf.loads(b"\x80\x04N.")  # a pickled None is not a model


# --- (de)serialisation -----------------------------------------------------------------------


def test_rule_round_trips_through_json() -> None:
    rule = Rule(
        code="r",
        name="Règle",
        order=5,
        enabled=False,
        stop=True,
        weight=2.0,
        conditions=Conditions(
            channels=["letter"],
            brands=["france3"],
            words_any=["avocat"],
            min_repeat_contacts=2,
            has_attachments=True,
            skip_negated=True,
        ),
        actions=Actions(min_level=2, priority="high", tags=["juridique"]),
    )
    data = json.loads(json.dumps(rule_to_dict(rule)))
    assert rule_from_dict(data) == rule
    assert data["conditions"] == {
        "channels": ["letter"],
        "brands": ["france3"],
        "words_any": ["avocat"],
        "min_repeat_contacts": 2,
        "has_attachments": True,
        "skip_negated": True,
    }


def test_default_policy_round_trips_and_decides_the_same(policy: Policy) -> None:
    data = json.loads(json.dumps(policy_to_dict(policy)))
    again = policy_from_dict(data)
    assert again == policy
    body = "Le journal de 20h était partial, je saisis le médiateur de l'information."
    facts = Facts(channel="email", brand="france2", body=body)
    assert decide(facts=facts, policy=again) == decide(facts=facts, policy=policy)


@pytest.mark.parametrize(
    "data",
    [
        {"code": "r", "name": "R", "conditions": {"word_any": ["typo"]}},
        {"code": "r", "name": "R", "conditions": {"words_any": "not a list"}},
        {"code": "r", "name": "R", "conditions": {"channels": ["fax"]}},
        {"code": "r", "name": "R", "actions": {"level": 4}},
        {"code": "r", "name": "R", "actions": {"priority": "asap"}},
        {"code": "r", "name": "R", "actions": {"team": "somebody"}},
        {"code": "r", "name": "R", "actions": {"topic": "x"}, "conditions": {"topics": ["y"]}},
        {"code": "", "name": "R"},
    ],
)
def test_invalid_rule_data_is_refused(data: dict) -> None:
    with pytest.raises(ValueError):
        rule_from_dict(data)


def test_policy_refuses_unknown_lexicons_and_sender_lists() -> None:
    with pytest.raises(ValueError, match="unknown lexicon"):
        policy_from_dict(
            {
                "version": "t",
                "rules": [{"code": "r", "name": "R", "conditions": {"words_any": ["@nope"]}}],
            }
        )
    with pytest.raises(ValueError, match="unknown sender lists"):
        policy_from_dict(
            {
                "version": "t",
                "rules": [{"code": "r", "name": "R", "conditions": {"sender_lists": ["nope"]}}],
            }
        )
    with pytest.raises(ValueError, match="duplicate"):
        policy_from_dict(
            {"version": "t", "rules": [{"code": "r", "name": "R"}, {"code": "r", "name": "R2"}]}
        )


# --- quality on the fixed test split and speed -------------------------------------------------


def _labelled(name: str) -> list[dict]:
    with (DATA.parent / name).open(encoding="utf-8") as handle:
        return [json.loads(line) for line in handle if line.strip()]


def _decisions(policy: Policy, rows: list[dict]) -> list[Decision]:
    return [
        decide(
            facts=Facts(
                channel=r["channel"],
                brand=r["brand"],
                subject=r["subject"],
                body=r["body"],
                programme=r["programme"],
                programme_is_news=r["programme"] in NEWS_PROGRAMMES,
            ),
            policy=policy,
        )
        for r in rows
    ]


def _split_decisions(policy: Policy) -> tuple[list[dict], list[Decision]]:
    test = [r for r in _labelled(DATA.name) if r["id"][-1] in "05"]
    return test, _decisions(policy, test)


def _level_figures(policy: Policy) -> tuple[float, float]:
    rows, decisions = _split_decisions(policy)
    accuracy = sum(r["level"] == d.level for r, d in zip(rows, decisions, strict=True)) / len(rows)
    level3 = [d.level == 3 for r, d in zip(rows, decisions, strict=True) if r["level"] == 3]
    return accuracy, sum(level3) / len(level3)


@pytest.mark.xfail(
    reason="product targets not reached honestly: policy 2026.2 measures 0.875 level accuracy "
    "and 6/7 level-3 recall on the test split (rules tuned on train and the dev sets only)",
    strict=False,
)
def test_policy_reaches_product_targets_on_the_test_split(policy: Policy) -> None:
    accuracy, level3_recall = _level_figures(policy)
    assert accuracy >= 0.90
    assert level3_recall >= 0.95


def test_policy_does_not_regress_on_the_test_split(policy: Policy) -> None:
    # Measured for policy 2026.2: 63/72 and 6/7 (2026.1: 64/72 and 6/7). 2026.2 was tuned on
    # two development sets written independently of the rules; on the one held out while
    # tuning on the other, it lifted level accuracy from 0.900 to 0.913 and level-3 recall from
    # 0.667 to 0.741, and cost one test message. A change that lowers these needs a reason.
    accuracy, level3_recall = _level_figures(policy)
    assert accuracy >= 0.87
    assert level3_recall >= 0.85


@pytest.mark.parametrize("name", ["triage_dev_a.jsonl", "triage_dev_b.jsonl", "triage_dev_c.jsonl"])
def test_policy_keeps_its_figures_on_the_development_sets(policy: Policy, name: str) -> None:
    # The rules were tuned on these sets (after they were written, by other authors who read
    # only the labelling conventions): this guards against regressions, it is not a measure.
    rows = _labelled(name)
    decisions = _decisions(policy, rows)
    pairs = list(zip(rows, decisions, strict=True))
    accuracy = sum(r["level"] == d.level for r, d in pairs) / len(pairs)
    level3 = [d.level == 3 for r, d in pairs if r["level"] == 3]
    assert accuracy >= 0.95
    assert sum(level3) / len(level3) >= 0.95


def test_decisions_are_fast(policy: Policy) -> None:
    rows, _ = _split_decisions(policy)
    facts = [Facts(channel=r["channel"], brand=r["brand"], body=r["body"]) for r in rows]
    started = time.perf_counter()
    for _ in range(5):
        for item in facts:
            decide(facts=item, policy=policy)
    rate = 5 * len(facts) / (time.perf_counter() - started)
    # Thousands per second on a developer machine; the bound leaves room for slow CI runners.
    assert rate > 300


def test_a_title_after_the_salutation_names_someone_else_not_the_sender(policy: Policy) -> None:
    letterhead = "Le Maire de Saint-Quentin\nHôtel de ville\n\nMadame, Monsieur,\n"
    about_someone = (
        "Madame, Monsieur,\nLe journal de lundi a annoncé le décès de M. Vasseur, ancien maire "
        "de notre commune. Il est bien vivant. Aucun rectificatif n'a été diffusé depuis.\n"
    )
    tail = (
        "La famille a reçu des dizaines d'appels de condoléances, et mon père, qui a 97 ans, "
        "l'a appris par son petit-fils devant la télévision. Vous comprendrez notre émotion. "
        "Je vous saurais gré de me dire quand et comment l'erreur sera reconnue à l'antenne, "
        "et de transmettre ce courrier à la rédaction concernée.\n\n"
        "Recevez, Madame, Monsieur, mes salutations.\nDanièle Vasseur"
    )
    sender = triage(policy, letterhead + tail, channel="letter")
    other = triage(policy, about_someone + tail, channel="letter")
    assert "expediteur-institutionnel" in sender.matched_rules
    assert "expediteur-institutionnel" not in other.matched_rules
