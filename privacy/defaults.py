"""The retention policy as shipped, each period with its source (stored data, in French: the
register shows it as managers edit it). Loaded by the data migration
`privacy 0002`; managers change the days afterwards (the register shows what is in force)."""

from __future__ import annotations

# (kind, days or None for ever, counted from, source)
DEFAULT_RETENTION: tuple[tuple[str, int | None, str, str], ...] = (
    (
        "viewer_data",
        3 * 365,
        "le dernier contact à l'initiative du téléspectateur (message, lettre ou appel)",
        "CNIL, référentiel « gestion des activités commerciales » (délibération n° 2021-131) : "
        "3 ans à compter du dernier contact à l'initiative de la personne.",
    ),
    (
        "call_numbers",
        183,
        "l'appel",
        "CNIL, référentiel relatif aux traitements de données des centres d'appels : données "
        "de trafic et numéros appelants conservés 6 mois au plus.",
    ),
    (
        "quarantine",
        30,
        "la réception de l'entrée",
        "Minimisation (RGPD art. 5-1-c et e) : un message illisible ou refusé n'est gardé "
        "que le temps d'être examiné.",
    ),
    (
        "audit",
        5 * 365,
        "l'événement",
        "Prescription de droit commun (code civil, art. 2224 : 5 ans), pour prouver qui a "
        "accédé à quoi.",
    ),
    (
        "access_exports",
        7,
        "la préparation du dossier",
        "Lien de téléchargement du dossier d'une personne : durée courte, pour limiter "
        "l'exposition (RGPD art. 32).",
    ),
    (
        "published_opinions",
        None,
        "la publication",
        "Avis publiés des médiateurs : archives publiques qui ne nomment aucun téléspectateur.",
    ),
)
