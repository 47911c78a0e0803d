"""The response templates shipped with the product (data migration 0002), in French.

Managers and SRT staff change them afterwards on the templates page; each change is a new
version. Variables are written `{{ name }}`; see `replies.services.templates.VARIABLES`.
"""

CLOSING = (
    "Nous vous prions d'agréer, {{ civility }}, l'expression de nos salutations distinguées.\n\n"
    "{{ signature }}"
)

# (title, topic or "", channel or "", subject, body)
DEFAULT_TEMPLATES = [
    (
        "Accusé de réception",
        "",
        "",
        "Votre message",
        "{{ salutation }}\n\n"
        "Nous avons bien reçu votre message et nous vous remercions de l'intérêt que vous "
        "portez à {{ brand }}. Il a été transmis au service concerné, qui l'examinera avec "
        "attention ; nous reviendrons vers vous dans les meilleurs délais.\n\n"
        "Pour tout nouvel échange, merci de rappeler la référence {{ reference }}.\n\n" + CLOSING,
    ),
    (
        "Horaires et rediffusion d'un programme",
        "programme_info",
        "",
        "Votre question sur {{ programme }}",
        "{{ salutation }}\n\n"
        "Vous nous interrogez au sujet de {{ programme }} et nous vous en remercions.\n\n"
        "Les horaires de diffusion sont publiés chaque semaine sur notre site et dans les "
        "magazines de programmes ; une éventuelle rediffusion y est annoncée une dizaine de "
        "jours à l'avance. La plupart de nos émissions restent disponibles en replay sur "
        "france.tv pendant plusieurs jours après leur diffusion.\n\n" + CLOSING,
    ),
    (
        "Replay : disponibilité limitée par les droits",
        "replay_streaming",
        "",
        "Disponibilité de {{ programme }} en replay",
        "{{ salutation }}\n\n"
        "Vous n'avez pas pu revoir {{ programme }} en replay et nous le regrettons.\n\n"
        "La durée de mise à disposition d'un programme dépend des droits négociés avec ses "
        "ayants droit (producteurs, fédérations sportives, distributeurs) : certains "
        "programmes ne peuvent être proposés que quelques jours, d'autres pas du tout, ou "
        "seulement depuis la France.\n\n" + CLOSING,
    ),
    (
        "Réception TNT : premiers conseils",
        "reception_technical",
        "",
        "Vos difficultés de réception",
        "{{ salutation }}\n\n"
        "Vous nous signalez des difficultés pour recevoir {{ brand }} et nous vous remercions "
        "de votre message.\n\n"
        "Nous vous invitons d'abord à relancer une recherche des chaînes sur votre téléviseur "
        "ou votre adaptateur TNT. Si le problème persiste, le site recevoirlatnt.fr et le "
        "centre d'appel de l'Agence nationale des fréquences (0970 818 818, appel non surtaxé) "
        "vous indiqueront s'il s'agit d'un incident sur l'émetteur de votre zone.\n\n" + CLOSING,
    ),
    (
        "Remerciements pour vos encouragements",
        "praise",
        "",
        "Merci pour votre message",
        "{{ salutation }}\n\n"
        "Nous vous remercions chaleureusement pour votre message au sujet de {{ programme }}. "
        "Vos encouragements ont été transmis à l'équipe de l'émission, qui y sera très "
        "sensible.\n\n" + CLOSING,
    ),
    (
        "Suggestion transmise aux équipes",
        "programme_request",
        "",
        "Votre suggestion",
        "{{ salutation }}\n\n"
        "Nous vous remercions pour votre suggestion. Elle a été transmise aux équipes de "
        "programmation de {{ brand }}, qui prennent connaissance avec intérêt des souhaits "
        "exprimés par les téléspectateurs, même s'il ne nous est pas possible d'y donner "
        "suite à chaque fois.\n\n" + CLOSING,
    ),
    (
        "Participation à une émission",
        "participation",
        "",
        "Votre candidature",
        "{{ salutation }}\n\n"
        "Vous souhaitez participer à {{ programme }} et nous vous remercions de votre "
        "enthousiasme. Les candidatures sont recueillies directement par la société de "
        "production de l'émission, dont les coordonnées figurent sur la page du programme "
        "sur france.tv.\n\n" + CLOSING,
    ),
    (
        "Financement de l'audiovisuel public",
        "licence_fee",
        "",
        "Le financement de l'audiovisuel public",
        "{{ salutation }}\n\n"
        "Vous nous interrogez sur le financement de l'audiovisuel public. Depuis la suppression "
        "de la contribution à l'audiovisuel public en 2022, il repose sur une fraction de la "
        "TVA affectée par la loi. Pour toute question relative à votre situation fiscale, "
        "nous vous invitons à vous adresser à votre centre des finances publiques.\n\n" + CLOSING,
    ),
    (
        "Demande relative à vos données personnelles",
        "marketing",
        "",
        "Votre demande relative à vos données personnelles",
        "{{ salutation }}\n\n"
        "Nous avons bien reçu votre demande relative à vos données personnelles "
        "(référence {{ reference }}). Elle a été transmise à notre délégué à la protection des "
        "données, qui y répondra dans le délai d'un mois prévu par le règlement général sur la "
        "protection des données.\n\n" + CLOSING,
    ),
    (
        "Demande de copie d'une émission",
        "media_request",
        "",
        "Votre demande concernant {{ programme }}",
        "{{ salutation }}\n\n"
        "Vous souhaitez obtenir une copie de {{ programme }}. Nous ne sommes malheureusement "
        "pas en mesure de fournir des enregistrements de nos programmes aux particuliers ; "
        "certaines émissions restent disponibles en replay sur france.tv, et les archives "
        "sont consultables à l'Institut national de l'audiovisuel (ina.fr).\n\n" + CLOSING,
    ),
    (
        "Réponse par courrier",
        "",
        "letter",
        "Votre courrier",
        "{{ salutation }}\n\n"
        "Nous avons bien reçu votre courrier et nous vous remercions de l'attention que vous "
        "portez à {{ brand }}.\n\n"
        "[Votre réponse ici]\n\n" + CLOSING,
    ),
]
