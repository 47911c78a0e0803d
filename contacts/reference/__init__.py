"""Reference data shipped with the product: the group's brands and programmes.

Loaded by the data migration `contacts.0002_brands_programmes` and used by `seed_demo`.
Managers change them afterwards in the configuration pages.
"""

NATIONAL_BRANDS = [
    # code, name, reply address, colour
    ("france2", "France 2", "relations.telespectateurs@france2.example.fr", "#c8102e"),
    ("france3", "France 3", "relations.telespectateurs@france3.example.fr", "#0057b8"),
    ("france5", "France 5", "relations.telespectateurs@france5.example.fr", "#00843d"),
]

FRANCE3_REGIONS = [
    ("auvergne-rhone-alpes", "Auvergne-Rhône-Alpes"),
    ("bourgogne-franche-comte", "Bourgogne-Franche-Comté"),
    ("bretagne", "Bretagne"),
    ("centre-val-de-loire", "Centre-Val de Loire"),
    ("corse", "Corse ViaStella"),
    ("grand-est", "Grand Est"),
    ("hauts-de-france", "Hauts-de-France"),
    ("normandie", "Normandie"),
    ("nouvelle-aquitaine", "Nouvelle-Aquitaine"),
    ("occitanie", "Occitanie"),
    ("paris-ile-de-france", "Paris Île-de-France"),
    ("pays-de-la-loire", "Pays de la Loire"),
    ("provence-alpes-cote-d-azur", "Provence-Alpes-Côte d'Azur"),
]

# brand code → [(programme, genre)]
PROGRAMMES = {
    "france2": [
        ("Journal de 13h", "news"),
        ("Journal de 20h", "news"),
        ("Télématin", "magazine"),
        ("Envoyé spécial", "news"),
        ("Complément d'enquête", "news"),
        ("Cash Investigation", "news"),
        ("Un si grand soleil", "fiction"),
        ("Astrid et Raphaëlle", "fiction"),
        ("Fort Boyard", "game"),
        ("N'oubliez pas les paroles", "game"),
        ("Tout le monde veut prendre sa place", "game"),
        ("Motus", "game"),
        ("Affaire conclue", "entertainment"),
        ("Taratata", "entertainment"),
        ("Le Concert de Paris", "culture"),
        ("Concours Eurovision de la chanson", "entertainment"),
        ("Téléthon", "entertainment"),
        ("Le Jour du Seigneur", "culture"),
        ("Roland-Garros", "sport"),
        ("Tour de France", "sport"),
        ("Tour de France Femmes", "sport"),
        ("Tournoi des Six Nations", "sport"),
        ("Jeux olympiques", "sport"),
        ("Jeux paralympiques", "sport"),
    ],
    "france3": [
        ("12/13", "news"),
        ("19/20", "news"),
        ("Tout le sport", "sport"),
        ("Capitaine Marleau", "fiction"),
        ("Plus belle la vie", "fiction"),
        ("Des chiffres et des lettres", "game"),
        ("Questions pour un champion", "game"),
        ("Slam", "game"),
        ("La Carte aux trésors", "game"),
        ("Des racines et des ailes", "documentary"),
        ("Faut pas rêver", "documentary"),
        ("Thalassa", "documentary"),
    ],
    "france5": [
        ("C dans l'air", "news"),
        ("C à vous", "magazine"),
        ("La Grande Librairie", "culture"),
        ("La Maison France 5", "magazine"),
        ("Le Magazine de la santé", "magazine"),
        ("Les Maternelles", "magazine"),
        ("Échappées belles", "documentary"),
        ("Des trains pas comme les autres", "documentary"),
        ("Silence, ça pousse !", "magazine"),
        ("Okoo", "youth"),
    ],
}

LETTERHEAD = (
    "Service des relations avec les téléspectateurs\n{name}\n"
    "7, esplanade Henri-de-France\n75015 Paris"
)
LEGAL_MENTIONS = (
    "France Télévisions (fictional demo) — société anonyme au capital de 347 540 000 euros — "
    "Conformément au RGPD, vous pouvez exercer vos droits d'accès, de rectification et "
    "d'effacement auprès du délégué à la protection des données."
)

# The default teams: the external call centre serves every brand at level 1; each national
# brand has its SRT at level 2 (France 3's serves its regional stations too); two mediators.
DEFAULT_TEAMS = [
    # code, name, level, external, brand codes (a national brand includes its stations)
    ("n1-call-centre", "Centre d'appels (niveau 1)", 1, True, ["france2", "france3", "france5"]),
    ("srt-france2", "SRT France 2", 2, False, ["france2"]),
    ("srt-france3", "SRT France 3", 2, False, ["france3"]),
    ("srt-france5", "SRT France 5", 2, False, ["france5"]),
    ("mediator-news", "Médiateur de l'information", 3, False, ["france2", "france3", "france5"]),
    (
        "mediator-programmes",
        "Médiateur des programmes",
        3,
        False,
        ["france2", "france3", "france5"],
    ),
]
