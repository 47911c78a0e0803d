"""Who may reach every route of the product: the permission matrix, one row per route.

Read a row as "this request, made by each role, gets this answer". Columns, left to right:
anonymous, agent (call centre, France 2 and 3), mailroom, srt (France 2), mediator, manager
(France 2), admin. `{name}` in a URL is filled from the objects of `tests/security/world.py`
(`t1`/`t2`: level-1/level-2 tickets of France 2, `other`: France 5's, `t3`: a level-3 ticket
that went straight to the mediators, with its case and a confidential note, `t3srt`: one the
SRT escalated to them, ...).

**Adding a route? Add a row here** (`tests/security/test_route_matrix.py` fails for any URL
pattern no row reaches, and tells you which). A route taking an object may have several rows,
one per object that matters (a level-1 and a level-2 ticket...). GET rows state the page's
answer; POST rows state who may act (`ALLOWED`: anything but a refusal) and who is refused;
the GET of a POST-only route must then refuse everyone (checked, no row needed).

Besides the answers, every text response is searched for the secrets planted in the world
(`world.SECRETS`): a page that shows a role what it may not see fails, whatever its status.
"""

# The answers.
OK = 200
MOVED = 302  # a redirect that is not to a login page (after a form, a short URL)
LOGIN = "login"  # 302 to /login/?next=...: sign in first
ALOGIN = "admin-login"  # 302 to /admin/login/?next=...: the configuration's sign-in
UNAUTH = 401  # the API and webhooks: no credentials
DENIED = 403  # you are known, and may not
HIDDEN = 404  # you may not even know it exists (out of your level or brands)
NO_GET = 405
ALLOWED = "allowed"  # a POST the role may make: any answer but 401/403/404/405 or a login
ENROL = "enrol"  # 302 to the second factor's enrolment: add an authenticator first
VERIFY = "verify"  # 302 to the second step of sign-in: type a code first

REFUSALS = frozenset({LOGIN, ALOGIN, UNAUTH, DENIED, HIDDEN, NO_GET, ENROL, VERIFY})
ROLES = ("anonymous", "agent", "mailroom", "srt", "mediator", "manager", "admin")


class Row:
    def __init__(self, method: str, url: str, *answers, data: dict | None = None):
        assert len(answers) == len(ROLES), f"{url}: one answer per role, {len(ROLES)} of them"
        self.method, self.url, self.data = method, url, data or {}
        self.answers = dict(zip(ROLES, answers, strict=True))

    def __repr__(self) -> str:
        return f"{self.method} {self.url}"


def get(url: str, *answers) -> Row:
    return Row("GET", url, *answers)


def post(url: str, *answers, data: dict | None = None) -> Row:
    """A POST, with an empty form unless `data` (for when the input is checked before the
    permission: a refusal must then come from the permission, not from the empty form)."""
    return Row("POST", url, *answers, data=data)


# Holes known today and fixed on another branch: the row above states what must be; here,
# what is, so the matrix passes meanwhile. When the fix lands the cell answers as its row says
# and the test asks you to delete the entry. (url, role) -> what it answers today.
KNOWN_HOLES: dict[tuple[str, str], object] = {}

# Texts a route shows by design to whoever holds its link (url -> secrets it may show).
SHOWN_BY_DESIGN: dict[str, frozenset[str]] = {
    # The department asked for its comment reads what the case is about (its title, from the
    # viewer's subject): the mediator sent them the link for that.
    "/mediateur/reponse/{case_ref}/{answer_token}/": frozenset({"MESSAGE-DIRECT-MEDIATEUR"}),
}

# Forms: a decision on a role grant, a legal hold, an extension of a GDPR request's deadline.
REJECT = {"decision": "reject", "reason": "Contrôle des droits"}
HOLD = {"kind": "legal_hold", "reason": "Contrôle des droits"}
EXTEND = {"months": 1, "reason": "Contrôle des droits"}
CLOSE = {"outcome": "Contrôle des droits"}

# Forms for the moves between levels: a reason (and a level for a re-route).
MOVE = {"reason": "Contrôle des droits"}
TO_LEVEL_1 = {"reason": "Contrôle des droits", "level": 1}

# fmt: off
ROUTES: list[Row] = [
    #     url                                                     anon     agent    mailroom srt      mediator manager  admin
    # --- Project pages: home, health, sign-in, language ----------------------------------------------
    get(  "/",                                                    LOGIN,   OK,      OK,      OK,      OK,      OK,      OK),
    get(  "/healthz",                                             OK,      OK,      OK,      OK,      OK,      OK,      OK),
    get(  "/favicon.ico",                                         OK,      OK,      OK,      OK,      OK,      OK,      OK),
    # The demonstration's caught mail: managers' page, absent (404) unless DEMO_MAIL_CATCHER.
    get(  "/demo/mail/",                                          LOGIN,   DENIED,  DENIED,  DENIED,  DENIED,  HIDDEN,  HIDDEN),
    get(  "/login/",                                              OK,      MOVED,   MOVED,   MOVED,   MOVED,   MOVED,   MOVED),
    post( "/i18n/setlang/",                                       ALLOWED, ALLOWED, ALLOWED, ALLOWED, ALLOWED, ALLOWED, ALLOWED),
    # --- The integrations API (DRF router) and its schema --------------------------------------------
    get(  "/api/v1/",                                             UNAUTH,  OK,      OK,      OK,      OK,      OK,      OK),
    get(  "/api/v1/.json",                                        UNAUTH,  OK,      OK,      OK,      OK,      OK,      OK),
    get(  "/api/v1/tickets/",                                     UNAUTH,  OK,      OK,      OK,      OK,      OK,      OK),
    get(  "/api/v1/tickets.json",                                 UNAUTH,  OK,      OK,      OK,      OK,      OK,      OK),
    get(  "/api/v1/tickets/?level=3",                             UNAUTH,  OK,      OK,      OK,      OK,      OK,      OK),
    get(  "/api/v1/tickets/?viewer={viewer}",                     UNAUTH,  OK,      OK,      OK,      OK,      OK,      OK),
    get(  "/api/v1/tickets/{t1}/",                                UNAUTH,  OK,      HIDDEN,  OK,      OK,      OK,      OK),
    get(  "/api/v1/tickets/{t2}/",                                UNAUTH,  HIDDEN,  HIDDEN,  OK,      OK,      OK,      OK),
    get(  "/api/v1/tickets/{other}/",                             UNAUTH,  HIDDEN,  HIDDEN,  HIDDEN,  OK,      HIDDEN,  OK),
    get(  "/api/v1/tickets/{t3}/",                                UNAUTH,  HIDDEN,  HIDDEN,  HIDDEN,  OK,      OK,      OK),
    get(  "/api/v1/tickets/{t1}.json",                            UNAUTH,  OK,      HIDDEN,  OK,      OK,      OK,      OK),
    post( "/api/v1/contacts/",                                    UNAUTH,  UNAUTH,  UNAUTH,  UNAUTH,  UNAUTH,  UNAUTH,  UNAUTH),
    post( "/api/v1/contacts.json",                                UNAUTH,  UNAUTH,  UNAUTH,  UNAUTH,  UNAUTH,  UNAUTH,  UNAUTH),
    post( "/api/v1/calls/",                                       UNAUTH,  UNAUTH,  UNAUTH,  UNAUTH,  UNAUTH,  UNAUTH,  UNAUTH),
    post( "/api/v1/calls.json",                                   UNAUTH,  UNAUTH,  UNAUTH,  UNAUTH,  UNAUTH,  UNAUTH,  UNAUTH),
    post( "/api/v1/ticket-workflow/take-next/",                   UNAUTH,  ALLOWED, DENIED,  ALLOWED, ALLOWED, ALLOWED, ALLOWED),
    post( "/api/v1/ticket-workflow/take-next.json",               UNAUTH,  ALLOWED, DENIED,  ALLOWED, ALLOWED, ALLOWED, ALLOWED),
    post( "/api/v1/ticket-workflow/{esc}/escalate/",              UNAUTH,  OK,      HIDDEN,  OK,      DENIED,  OK,      OK,      data=MOVE),
    post( "/api/v1/ticket-workflow/{esc_json}/escalate.json",     UNAUTH,  OK,      HIDDEN,  OK,      DENIED,  OK,      OK,      data=MOVE),
    post( "/api/v1/ticket-workflow/{other}/escalate/",            UNAUTH,  HIDDEN,  HIDDEN,  HIDDEN,  DENIED,  HIDDEN,  OK,      data=MOVE),
    post( "/api/v1/ticket-workflow/{reroute}/reroute/",           UNAUTH,  HIDDEN,  HIDDEN,  OK,      DENIED,  OK,      OK,      data=TO_LEVEL_1),
    post( "/api/v1/ticket-workflow/{reroute_json}/reroute.json",  UNAUTH,  HIDDEN,  HIDDEN,  OK,      DENIED,  OK,      OK,      data=TO_LEVEL_1),
    post( "/api/v1/ticket-workflow/{back}/send-back/",            UNAUTH,  HIDDEN,  HIDDEN,  OK,      DENIED,  OK,      OK,      data=MOVE),
    post( "/api/v1/ticket-workflow/{t3}/send-back/",              UNAUTH,  HIDDEN,  HIDDEN,  HIDDEN,  ALLOWED, ALLOWED, ALLOWED),
    post( "/api/v1/ticket-workflow/{back_json}/send-back.json",   UNAUTH,  HIDDEN,  HIDDEN,  OK,      DENIED,  OK,      OK,      data=MOVE),
    get(  "/api/schema/",                                         OK,      OK,      OK,      OK,      OK,      OK,      OK),
    get(  "/api/docs/",                                           OK,      OK,      OK,      OK,      OK,      OK,      OK),
    get(  "/api/redoc/",                                          OK,      OK,      OK,      OK,      OK,      OK,      OK),
    # --- Public pages (no account): web form, mediators' opinions, signed links ----------------------
    get(  "/vous-et-nous/france2/",                               OK,      OK,      OK,      OK,      OK,      OK,      OK),
    get(  "/vous-et-nous/france2/merci/",                         OK,      OK,      OK,      OK,      OK,      OK,      OK),
    post( "/intake/mail-gateway/nope/",                           UNAUTH,  UNAUTH,  UNAUTH,  UNAUTH,  UNAUTH,  UNAUTH,  UNAUTH),
    get(  "/mediateur/commentaire/confirmer/{confirm_token}/",    OK,      OK,      OK,      OK,      OK,      OK,      OK),
    get(  "/mediateur/commentaire/confirmer/not-a-token/",        HIDDEN,  HIDDEN,  HIDDEN,  HIDDEN,  HIDDEN,  HIDDEN,  HIDDEN),
    get(  "/mediateur/reponse/{case_ref}/{answer_token}/",        OK,      OK,      OK,      OK,      OK,      OK,      OK),
    get(  "/mediateur/reponse/{case_ref}/not-a-token/",           HIDDEN,  HIDDEN,  HIDDEN,  HIDDEN,  HIDDEN,  HIDDEN,  HIDDEN),
    get(  "/mediateur/france2/",                                  OK,      OK,      OK,      OK,      OK,      OK,      OK),
    get(  "/mediateur/france2/rss/",                              OK,      OK,      OK,      OK,      OK,      OK,      OK),
    get(  "/mediateur/france2/atom/",                             OK,      OK,      OK,      OK,      OK,      OK,      OK),
    get(  "/mediateur/france2/{opinion}-avis-publie/",            OK,      OK,      OK,      OK,      OK,      OK,      OK),
    get(  "/satisfaction/{survey_token}/",                        OK,      OK,      OK,      OK,      OK,      OK,      OK),
    get(  "/satisfaction/not-a-token/",                           HIDDEN,  HIDDEN,  HIDDEN,  HIDDEN,  HIDDEN,  HIDDEN,  HIDDEN),
    get(  "/reset/{reset_uid}/{reset_token}/",                    MOVED,   MOVED,   MOVED,   MOVED,   MOVED,   MOVED,   MOVED),
    get(  "/reset/{reset_uid}/not-a-token/",                      OK,      OK,      OK,      OK,      OK,      OK,      OK),
    get(  "/reset/done/",                                         OK,      OK,      OK,      OK,      OK,      OK,      OK),
    get(  "/donnees/telechargement/{download_token}/",            OK,      OK,      OK,      OK,      OK,      OK,      OK),
    get(  "/donnees/telechargement/{revoked_token}/",             HIDDEN,  HIDDEN,  HIDDEN,  HIDDEN,  HIDDEN,  HIDDEN,  HIDDEN),
    get(  "/donnees/telechargement/{expired_token}/",             HIDDEN,  HIDDEN,  HIDDEN,  HIDDEN,  HIDDEN,  HIDDEN,  HIDDEN),
    get(  "/donnees/telechargement/not-a-token/",                 HIDDEN,  HIDDEN,  HIDDEN,  HIDDEN,  HIDDEN,  HIDDEN,  HIDDEN),
    get(  "/donnees/desabonnement/{unsubscribe_token}/",          OK,      OK,      OK,      OK,      OK,      OK,      OK),
    get(  "/donnees/desabonnement/not-a-token/",                  HIDDEN,  HIDDEN,  HIDDEN,  HIDDEN,  HIDDEN,  HIDDEN,  HIDDEN),
    post( "/donnees/desabonnement/{unsubscribe_token}/",          OK,      OK,      OK,      OK,      OK,      OK,      OK),
    # --- Call desk, mailroom, quarantine -------------------------------------------------------------
    get(  "/calls/",                                              LOGIN,   OK,      DENIED,  OK,      DENIED,  OK,      OK),
    get(  "/calls/?q=Lefebvre",                                   LOGIN,   OK,      DENIED,  OK,      DENIED,  OK,      OK),
    get(  "/mailroom/",                                           LOGIN,   DENIED,  OK,      OK,      DENIED,  OK,      OK),
    get(  "/mailroom/letters/{scan}/",                            LOGIN,   HIDDEN,  OK,      OK,      HIDDEN,  OK,      OK),
    get(  "/mailroom/letters/{scan}/scan/",                       LOGIN,   HIDDEN,  OK,      OK,      HIDDEN,  OK,      OK),
    get(  "/mailroom/letters/{scan5}/",                           LOGIN,   HIDDEN,  HIDDEN,  HIDDEN,  HIDDEN,  HIDDEN,  OK),
    post( "/mailroom/letters/{scan}/ocr/",                        LOGIN,   HIDDEN,  MOVED,   MOVED,   HIDDEN,  MOVED,   MOVED),
    post( "/mailroom/letters/{scan5}/ocr/",                       LOGIN,   HIDDEN,  HIDDEN,  HIDDEN,  HIDDEN,  HIDDEN,  MOVED),
    get(  "/quarantine/",                                         LOGIN,   DENIED,  DENIED,  DENIED,  DENIED,  OK,      OK),
    get(  "/quarantine/{quarantine}/",                            LOGIN,   HIDDEN,  HIDDEN,  HIDDEN,  HIDDEN,  OK,      OK),
    get(  "/quarantine/{quarantine}/raw/",                        LOGIN,   HIDDEN,  HIDDEN,  HIDDEN,  HIDDEN,  OK,      OK),
    get(  "/quarantine/{quarantine5}/",                           LOGIN,   HIDDEN,  HIDDEN,  HIDDEN,  HIDDEN,  HIDDEN,  OK),
    get(  "/quarantine/{quarantine5}/raw/",                       LOGIN,   HIDDEN,  HIDDEN,  HIDDEN,  HIDDEN,  HIDDEN,  OK),
    post( "/quarantine/{quarantine}/action/",                     LOGIN,   DENIED,  DENIED,  DENIED,  DENIED,  ALLOWED, ALLOWED),
    post( "/quarantine/{quarantine5}/action/",                    LOGIN,   DENIED,  DENIED,  DENIED,  DENIED,  HIDDEN,  ALLOWED),
    # --- The ticket page and its actions, replies, raw inputs ----------------------------------------
    get(  "/tickets/{t1}/",                                       LOGIN,   OK,      HIDDEN,  OK,      OK,      OK,      OK),
    get(  "/tickets/{t2}/",                                       LOGIN,   HIDDEN,  HIDDEN,  OK,      OK,      OK,      OK),
    get(  "/tickets/{other}/",                                    LOGIN,   HIDDEN,  HIDDEN,  HIDDEN,  OK,      HIDDEN,  OK),
    get(  "/tickets/{t3}/",                                       LOGIN,   HIDDEN,  HIDDEN,  HIDDEN,  OK,      OK,      OK),
    get(  "/tickets/{t3srt}/",                                    LOGIN,   HIDDEN,  HIDDEN,  OK,      OK,      OK,      OK),
    post( "/tickets/{t1}/notes/",                                 LOGIN,   ALLOWED, HIDDEN,  ALLOWED, DENIED,  ALLOWED, ALLOWED),
    post( "/tickets/{t2}/notes/",                                 LOGIN,   HIDDEN,  HIDDEN,  ALLOWED, DENIED,  ALLOWED, ALLOWED),
    post( "/tickets/{t3srt}/notes/",                              LOGIN,   HIDDEN,  HIDDEN,  DENIED,  ALLOWED, ALLOWED, ALLOWED),
    post( "/tickets/{t3}/notes/",                                 LOGIN,   HIDDEN,  HIDDEN,  HIDDEN,  ALLOWED, ALLOWED, ALLOWED),
    post( "/tickets/{t1}/status/",                                LOGIN,   ALLOWED, HIDDEN,  ALLOWED, DENIED,  ALLOWED, ALLOWED),
    post( "/tickets/{t1}/resolve/",                               LOGIN,   ALLOWED, HIDDEN,  ALLOWED, DENIED,  ALLOWED, ALLOWED),
    post( "/tickets/{t1}/take/",                                  LOGIN,   ALLOWED, HIDDEN,  ALLOWED, DENIED,  ALLOWED, ALLOWED),
    post( "/tickets/{other}/take/",                               LOGIN,   HIDDEN,  HIDDEN,  HIDDEN,  DENIED,  HIDDEN,  ALLOWED),
    post( "/tickets/{t1}/merge/",                                 LOGIN,   DENIED,  HIDDEN,  ALLOWED, DENIED,  ALLOWED, ALLOWED),
    post( "/tickets/{t1}/phone-score/",                           LOGIN,   ALLOWED, HIDDEN,  ALLOWED, DENIED,  ALLOWED, ALLOWED),
    get(  "/tickets/{t1}/presence/",                              LOGIN,   OK,      HIDDEN,  OK,      OK,      OK,      OK),
    post( "/tickets/{t1}/presence/leave/",                        LOGIN,   ALLOWED, HIDDEN,  ALLOWED, ALLOWED, ALLOWED, ALLOWED),
    get(  "/contacts/{contact}/raw/",                             LOGIN,   OK,      HIDDEN,  OK,      OK,      OK,      OK),
    get(  "/contacts/{contact2}/raw/",                            LOGIN,   HIDDEN,  HIDDEN,  OK,      OK,      OK,      OK),
    get(  "/contacts/{contact2}/html/",                           LOGIN,   HIDDEN,  HIDDEN,  OK,      OK,      OK,      OK),
    get(  "/contacts/{contact}/html/",                            LOGIN,   HIDDEN,  HIDDEN,  HIDDEN,  HIDDEN,  HIDDEN,  HIDDEN),
    get(  "/attachments/{attachment}/",                           LOGIN,   OK,      HIDDEN,  OK,      OK,      OK,      OK),
    get(  "/attachments/{attachment3}/",                          LOGIN,   HIDDEN,  HIDDEN,  HIDDEN,  OK,      OK,      OK),
    post( "/tickets/{t1}/reply/",                                 LOGIN,   ALLOWED, HIDDEN,  ALLOWED, DENIED,  ALLOWED, ALLOWED),
    post( "/tickets/{t3}/reply/",                                 LOGIN,   HIDDEN,  HIDDEN,  HIDDEN,  ALLOWED, ALLOWED, ALLOWED),
    post( "/tickets/{t1}/reply/preview/",                         LOGIN,   ALLOWED, HIDDEN,  ALLOWED, DENIED,  ALLOWED, ALLOWED),
    get(  "/tickets/{t1}/reply/preview/{preview_token}/",         LOGIN,   HIDDEN,  HIDDEN,  OK,      DENIED,  HIDDEN,  HIDDEN),
    get(  "/tickets/{t1}/reply/templates/",                       LOGIN,   OK,      HIDDEN,  OK,      DENIED,  OK,      OK),
    get(  "/tickets/{t1}/reply/templates/{template}/",            LOGIN,   OK,      HIDDEN,  OK,      DENIED,  OK,      OK),
    get(  "/tickets/{t1}/reply/templates/{template5}/",           LOGIN,   HIDDEN,  HIDDEN,  HIDDEN,  DENIED,  HIDDEN,  HIDDEN),
    post( "/replies/{failed_reply}/retry/",                       LOGIN,   ALLOWED, HIDDEN,  ALLOWED, DENIED,  ALLOWED, ALLOWED),
    post( "/replies/{failed_reply2}/retry/",                      LOGIN,   HIDDEN,  HIDDEN,  ALLOWED, DENIED,  ALLOWED, ALLOWED),
    # --- Viewers -------------------------------------------------------------------------------------
    get(  "/viewers/",                                            LOGIN,   OK,      OK,      OK,      OK,      OK,      OK),
    get(  "/viewers/?q=Lefebvre",                                 LOGIN,   OK,      OK,      OK,      OK,      OK,      OK),
    get(  "/viewers/{viewer}/",                                   LOGIN,   OK,      OK,      OK,      OK,      OK,      OK),
    get(  "/viewers/{viewer}/edit/",                              LOGIN,   OK,      OK,      OK,      DENIED,  OK,      OK),
    post( "/viewers/{viewer}/consents/",                          LOGIN,   ALLOWED, ALLOWED, ALLOWED, DENIED,  ALLOWED, ALLOWED),
    post( "/viewers/{viewer}/emails/{viewer_email}/working/",     LOGIN,   ALLOWED, ALLOWED, ALLOWED, DENIED,  ALLOWED, ALLOWED),
    post( "/viewers/{viewer}/emails/{others_email}/working/",     LOGIN,   HIDDEN,  HIDDEN,  HIDDEN,  HIDDEN,  HIDDEN,  HIDDEN),
    get(  "/viewers/{viewer}/merge/",                             LOGIN,   DENIED,  DENIED,  OK,      DENIED,  OK,      OK),
    post( "/viewers/merges/{merge}/undo/",                        LOGIN,   DENIED,  DENIED,  ALLOWED, DENIED,  ALLOWED, ALLOWED),
    # --- Queues and moves between levels -------------------------------------------------------------
    get(  "/queue/",                                              LOGIN,   OK,      DENIED,  OK,      OK,      OK,      OK),
    get(  "/queue/?team=all",                                     LOGIN,   OK,      DENIED,  OK,      OK,      OK,      OK),
    get(  "/queue/?team=all&level=3",                             LOGIN,   OK,      DENIED,  OK,      OK,      OK,      OK),
    post( "/queue/take-next/",                                    LOGIN,   ALLOWED, DENIED,  ALLOWED, ALLOWED, ALLOWED, ALLOWED),
    post( "/queue/tickets/{esc_queue}/escalate/",                 LOGIN,   MOVED,   HIDDEN,  MOVED,   DENIED,  MOVED,   MOVED,   data=MOVE),
    post( "/queue/tickets/{other}/escalate/",                     LOGIN,   HIDDEN,  HIDDEN,  HIDDEN,  DENIED,  HIDDEN,  MOVED,   data=MOVE),
    post( "/queue/tickets/{back_queue}/send-back/",               LOGIN,   HIDDEN,  HIDDEN,  MOVED,   DENIED,  MOVED,   MOVED,   data=MOVE),
    post( "/queue/tickets/{reroute_queue}/reroute/",              LOGIN,   HIDDEN,  HIDDEN,  MOVED,   DENIED,  MOVED,   MOVED,   data=TO_LEVEL_1),
    # --- Mediation (level 3): mediators work, managers read case files, confidential notes for mediators only ---
    get(  "/mediation/",                                          LOGIN,   DENIED,  DENIED,  DENIED,  OK,      DENIED,  DENIED),
    get(  "/mediation/overview/",                                 LOGIN,   DENIED,  DENIED,  DENIED,  DENIED,  OK,      DENIED),
    get(  "/mediation/cases/new/",                                LOGIN,   DENIED,  DENIED,  DENIED,  OK,      DENIED,  DENIED),
    get(  "/mediation/cases/{case}/",                             LOGIN,   HIDDEN,  HIDDEN,  HIDDEN,  OK,      OK,      HIDDEN),
    get(  "/mediation/cases/{case5}/",                            LOGIN,   HIDDEN,  HIDDEN,  HIDDEN,  OK,      HIDDEN,  HIDDEN),
    get(  "/mediation/cases/{case}/edit/",                        LOGIN,   HIDDEN,  HIDDEN,  HIDDEN,  OK,      DENIED,  HIDDEN),
    post( "/mediation/cases/{case}/assign/",                      LOGIN,   HIDDEN,  HIDDEN,  HIDDEN,  ALLOWED, DENIED,  HIDDEN),
    post( "/mediation/cases/{case}/close/",                       LOGIN,   HIDDEN,  HIDDEN,  HIDDEN,  ALLOWED, DENIED,  HIDDEN),
    post( "/mediation/cases/{case}/reopen/",                      LOGIN,   HIDDEN,  HIDDEN,  HIDDEN,  ALLOWED, DENIED,  HIDDEN),
    get(  "/mediation/cases/{case}/tickets/",                     LOGIN,   HIDDEN,  HIDDEN,  HIDDEN,  OK,      DENIED,  HIDDEN),
    post( "/mediation/cases/{case}/tickets/{t3}/remove/",         LOGIN,   HIDDEN,  HIDDEN,  HIDDEN,  ALLOWED, DENIED,  HIDDEN),
    post( "/mediation/cases/{case}/evidence/",                    LOGIN,   HIDDEN,  HIDDEN,  HIDDEN,  ALLOWED, DENIED,  HIDDEN),
    get(  "/mediation/cases/{case}/evidence/{evidence}/",         LOGIN,   HIDDEN,  HIDDEN,  HIDDEN,  OK,      OK,      HIDDEN),
    get(  "/mediation/cases/{case2}/evidence/{evidence}/",        LOGIN,   HIDDEN,  HIDDEN,  HIDDEN,  HIDDEN,  HIDDEN,  HIDDEN),
    post( "/mediation/cases/{case}/notes/",                       LOGIN,   HIDDEN,  HIDDEN,  HIDDEN,  ALLOWED, HIDDEN,  HIDDEN),
    get(  "/mediation/cases/{case}/requests/new/",                LOGIN,   HIDDEN,  HIDDEN,  HIDDEN,  OK,      DENIED,  HIDDEN),
    post( "/mediation/requests/{request}/cancel/",                LOGIN,   HIDDEN,  HIDDEN,  HIDDEN,  ALLOWED, DENIED,  HIDDEN),
    get(  "/mediation/cases/{case}/opinion/",                     LOGIN,   HIDDEN,  HIDDEN,  HIDDEN,  OK,      DENIED,  HIDDEN),
    post( "/mediation/cases/{case}/opinion/submit/",              LOGIN,   HIDDEN,  HIDDEN,  HIDDEN,  ALLOWED, DENIED,  HIDDEN),
    get(  "/mediation/cases/{case}/opinion/review/",              LOGIN,   HIDDEN,  HIDDEN,  HIDDEN,  DENIED,  OK,      HIDDEN),
    post( "/mediation/cases/{case}/opinion/publish/",             LOGIN,   HIDDEN,  HIDDEN,  HIDDEN,  ALLOWED, DENIED,  HIDDEN),
    get(  "/mediation/cases/{case2}/opinion/reply/",              LOGIN,   HIDDEN,  HIDDEN,  HIDDEN,  OK,      DENIED,  HIDDEN),
    post( "/mediation/tickets/{t3}/open-case/",                   LOGIN,   DENIED,  DENIED,  DENIED,  ALLOWED, DENIED,  DENIED),
    get(  "/mediation/comments/",                                 LOGIN,   DENIED,  DENIED,  DENIED,  OK,      DENIED,  DENIED),
    post( "/mediation/comments/{comment}/moderate/",              LOGIN,   DENIED,  DENIED,  DENIED,  ALLOWED, DENIED,  DENIED),
    get(  "/mediation/figures/",                                  LOGIN,   DENIED,  DENIED,  DENIED,  OK,      OK,      DENIED),
    get(  "/mediation/figures.csv",                               LOGIN,   DENIED,  DENIED,  DENIED,  OK,      OK,      DENIED),
    get(  "/mediation/audit/",                                    LOGIN,   DENIED,  DENIED,  DENIED,  DENIED,  DENIED,  OK),
    # --- Dashboards and exports ----------------------------------------------------------------------
    get(  "/dashboards/",                                         LOGIN,   DENIED,  DENIED,  DENIED,  DENIED,  OK,      OK),
    get(  "/dashboards/volumes/",                                 LOGIN,   DENIED,  DENIED,  DENIED,  DENIED,  OK,      OK),
    get(  "/dashboards/service/",                                 LOGIN,   DENIED,  DENIED,  DENIED,  DENIED,  OK,      OK),
    get(  "/dashboards/satisfaction/",                            LOGIN,   DENIED,  DENIED,  DENIED,  DENIED,  OK,      OK),
    get(  "/dashboards/trends/",                                  LOGIN,   DENIED,  DENIED,  DENIED,  DENIED,  OK,      OK),
    get(  "/dashboards/cost/",                                    LOGIN,   DENIED,  DENIED,  DENIED,  DENIED,  OK,      OK),
    get(  "/dashboards/tickets/",                                 LOGIN,   DENIED,  DENIED,  DENIED,  DENIED,  OK,      OK),
    get(  "/dashboards/tickets/?brand={brand5}",                  LOGIN,   DENIED,  DENIED,  DENIED,  DENIED,  OK,      OK),
    get(  "/dashboards/export/volumes/volumes.csv",               LOGIN,   DENIED,  DENIED,  DENIED,  DENIED,  OK,      OK),
    # --- One's account: second factor, password; lock-outs; role grants (two people) -------------------
    get(  "/accounts/security/",                                  LOGIN,   OK,      OK,      OK,      OK,      OK,      OK),
    get(  "/accounts/security/enrol/",                            LOGIN,   OK,      OK,      OK,      OK,      OK,      OK),
    post( "/accounts/security/recovery-codes/",                   LOGIN,   DENIED,  DENIED,  DENIED,  OK,      OK,      OK),
    get(  "/accounts/verify/",                                    LOGIN,   ENROL,   ENROL,   ENROL,   MOVED,   MOVED,   MOVED),
    get(  "/accounts/password/",                                  LOGIN,   OK,      OK,      OK,      OK,      OK,      OK),
    get(  "/accounts/password/done/",                             LOGIN,   OK,      OK,      OK,      OK,      OK,      OK),
    get(  "/accounts/lockouts/",                                  LOGIN,   DENIED,  DENIED,  DENIED,  DENIED,  DENIED,  OK),
    post( "/accounts/lockouts/",                                  LOGIN,   DENIED,  DENIED,  DENIED,  DENIED,  DENIED,  MOVED),
    get(  "/accounts/grants/",                                    LOGIN,   DENIED,  DENIED,  DENIED,  OK,      DENIED,  OK),
    post( "/accounts/grants/{grant_mediator}/decide/",            LOGIN,   DENIED,  DENIED,  DENIED,  MOVED,   DENIED,  DENIED,  data=REJECT),
    post( "/accounts/grants/{grant_admin}/decide/",               LOGIN,   DENIED,  DENIED,  DENIED,  DENIED,  DENIED,  MOVED,   data=REJECT),
    post( "/accounts/grants/999999/decide/",                      LOGIN,   DENIED,  DENIED,  DENIED,  HIDDEN,  DENIED,  HIDDEN,  data=REJECT),
    # --- The outbox: what the product sends, for managers ------------------------------------------
    get(  "/outbox/",                                             LOGIN,   DENIED,  DENIED,  DENIED,  DENIED,  OK,      OK),
    post( "/outbox/retry/",                                       LOGIN,   DENIED,  DENIED,  DENIED,  DENIED,  MOVED,   MOVED),
    # --- Viewers' data rights (GDPR), retention, the register ------------------------------------------
    get(  "/privacy/viewers/{pviewer}/",                          LOGIN,   DENIED,  DENIED,  OK,      DENIED,  OK,      OK),
    get(  "/privacy/viewers/{pviewer5}/",                         LOGIN,   DENIED,  DENIED,  DENIED,  DENIED,  OK,      OK),
    get(  "/privacy/viewers/{pviewer}/audit.csv",                 LOGIN,   DENIED,  DENIED,  DENIED,  DENIED,  OK,      OK),
    get(  "/privacy/",                                            LOGIN,   DENIED,  DENIED,  DENIED,  DENIED,  OK,      OK),
    get(  "/privacy/retention/",                                  LOGIN,   DENIED,  DENIED,  DENIED,  DENIED,  OK,      OK),
    get(  "/privacy/retention/runs/{run}/",                       LOGIN,   DENIED,  DENIED,  DENIED,  DENIED,  OK,      OK),
    get(  "/privacy/register/",                                   LOGIN,   DENIED,  DENIED,  DENIED,  DENIED,  OK,      OK),
    get(  "/privacy/requests/{access}/",                          LOGIN,   HIDDEN,  HIDDEN,  OK,      OK,      OK,      OK),
    get(  "/privacy/requests/{erasure}/",                         LOGIN,   HIDDEN,  HIDDEN,  OK,      HIDDEN,  OK,      OK),
    get(  "/privacy/requests/{access5}/",                         LOGIN,   HIDDEN,  HIDDEN,  HIDDEN,  OK,      OK,      OK),
    post( "/privacy/viewers/{pviewer}/access/",                   LOGIN,   DENIED,  DENIED,  MOVED,   DENIED,  MOVED,   MOVED),
    post( "/privacy/viewers/{pviewer5}/access/",                  LOGIN,   DENIED,  DENIED,  DENIED,  DENIED,  MOVED,   MOVED),
    post( "/privacy/viewers/{pviewer}/erasure/",                  LOGIN,   DENIED,  DENIED,  MOVED,   DENIED,  MOVED,   MOVED),
    post( "/privacy/viewers/{pviewer}/objection/",                LOGIN,   DENIED,  DENIED,  MOVED,   DENIED,  MOVED,   MOVED),
    post( "/privacy/viewers/{pviewer}/holds/",                    LOGIN,   DENIED,  DENIED,  DENIED,  DENIED,  MOVED,   MOVED,   data=HOLD),
    post( "/privacy/holds/{hold}/lift/",                          LOGIN,   DENIED,  DENIED,  DENIED,  DENIED,  MOVED,   MOVED),
    post( "/privacy/retention/rules/{rule}/",                     LOGIN,   DENIED,  DENIED,  DENIED,  DENIED,  MOVED,   MOVED),
    post( "/privacy/retention/dry-run/",                          LOGIN,   DENIED,  DENIED,  DENIED,  DENIED,  MOVED,   MOVED),
    post( "/privacy/requests/{erasure}/confirm/",                 LOGIN,   HIDDEN,  HIDDEN,  DENIED,  HIDDEN,  MOVED,   DENIED),
    post( "/privacy/requests/{access}/confirm/",                  LOGIN,   HIDDEN,  HIDDEN,  DENIED,  DENIED,  ALLOWED, ALLOWED),
    post( "/privacy/requests/{access}/release-notes/",            LOGIN,   HIDDEN,  HIDDEN,  DENIED,  MOVED,   DENIED,  DENIED),
    post( "/privacy/requests/{erasure}/release-notes/",           LOGIN,   HIDDEN,  HIDDEN,  DENIED,  HIDDEN,  DENIED,  DENIED),
    post( "/privacy/requests/{access}/extend/",                   LOGIN,   HIDDEN,  HIDDEN,  MOVED,   DENIED,  MOVED,   MOVED,   data=EXTEND),
    post( "/privacy/requests/{erasure}/extend/",                  LOGIN,   HIDDEN,  HIDDEN,  MOVED,   HIDDEN,  MOVED,   MOVED,   data=EXTEND),
    post( "/privacy/requests/{erasure}/cancel/",                  LOGIN,   HIDDEN,  HIDDEN,  MOVED,   HIDDEN,  MOVED,   MOVED),
    post( "/privacy/requests/{access}/cancel/",                   LOGIN,   HIDDEN,  HIDDEN,  MOVED,   DENIED,  MOVED,   MOVED),
    post( "/privacy/requests/{access}/close/",                    LOGIN,   HIDDEN,  HIDDEN,  MOVED,   DENIED,  MOVED,   MOVED,   data=CLOSE),
    post( "/privacy/requests/{erasure}/close/",                   LOGIN,   HIDDEN,  HIDDEN,  MOVED,   HIDDEN,  MOVED,   MOVED,   data=CLOSE),
    # --- Response templates, signatures, the mailroom's print batches --------------------------------
    get(  "/templates/",                                          LOGIN,   DENIED,  DENIED,  OK,      DENIED,  OK,      OK),
    get(  "/templates/new/",                                      LOGIN,   DENIED,  DENIED,  OK,      DENIED,  OK,      OK),
    get(  "/templates/{template}/",                               LOGIN,   DENIED,  DENIED,  OK,      DENIED,  OK,      OK),
    get(  "/signatures/",                                         LOGIN,   OK,      DENIED,  OK,      OK,      OK,      OK),
    get(  "/letters/",                                            LOGIN,   DENIED,  OK,      DENIED,  DENIED,  OK,      OK),
    post( "/letters/batches/",                                    LOGIN,   DENIED,  ALLOWED, DENIED,  DENIED,  ALLOWED, ALLOWED),
    get(  "/letters/batches/{batch}/",                            LOGIN,   DENIED,  OK,      DENIED,  DENIED,  OK,      OK),
    get(  "/letters/batches/{batch}/pdf/",                        LOGIN,   DENIED,  OK,      DENIED,  DENIED,  OK,      OK),
    post( "/letters/batches/{batch}/posted/",                     LOGIN,   DENIED,  ALLOWED, DENIED,  DENIED,  ALLOWED, ALLOWED),
    # --- The configuration (Django admin): the site's own views --------------------------------------
    get(  "/admin/",                                              ALOGIN,  ALOGIN,  ALOGIN,  ALOGIN,  ALOGIN,  OK,      OK),
    get(  "/admin/login/",                                        OK,      OK,      OK,      OK,      OK,      MOVED,   MOVED),
    get(  "/admin/password_change/",                              ALOGIN,  ALOGIN,  ALOGIN,  ALOGIN,  ALOGIN,  OK,      OK),
    get(  "/admin/password_change/done/",                         ALOGIN,  ALOGIN,  ALOGIN,  ALOGIN,  ALOGIN,  OK,      OK),
    get(  "/admin/autocomplete/?app_label=accounts&model_name=teammembership&field_name=user",ALOGIN,  ALOGIN,  ALOGIN,  ALOGIN,  ALOGIN,  DENIED,  OK),
    get(  "/admin/jsi18n/",                                       ALOGIN,  ALOGIN,  ALOGIN,  ALOGIN,  ALOGIN,  OK,      OK),
    get(  "/admin/r/{contenttype}/{brand}/",                      ALOGIN,  ALOGIN,  ALOGIN,  ALOGIN,  ALOGIN,  HIDDEN,  HIDDEN),
    get(  "/admin/accounts/user/{user}/password/",                ALOGIN,  ALOGIN,  ALOGIN,  ALOGIN,  ALOGIN,  MOVED,   MOVED),
    get(  "/admin/accounts/",                                     ALOGIN,  ALOGIN,  ALOGIN,  ALOGIN,  ALOGIN,  OK,      OK),
    get(  "/admin/nothing-here/",                                 ALOGIN,  ALOGIN,  ALOGIN,  ALOGIN,  ALOGIN,  HIDDEN,  HIDDEN),
    get(  "/admin/routing/policyversion/{policy}/dry-run/",       ALOGIN,  ALOGIN,  ALOGIN,  ALOGIN,  ALOGIN,  OK,      OK),
    post( "/admin/routing/policyversion/{policy}/publish/",       ALOGIN,  ALOGIN,  ALOGIN,  ALOGIN,  ALOGIN,  ALLOWED, ALLOWED),
    # --- The configuration: every ModelAdmin's changelist, add, history, delete, change and short URL ---
    get(  "/admin/auth/group/",                                   ALOGIN,  ALOGIN,  ALOGIN,  ALOGIN,  ALOGIN,  DENIED,  DENIED),
    get(  "/admin/auth/group/add/",                               ALOGIN,  ALOGIN,  ALOGIN,  ALOGIN,  ALOGIN,  DENIED,  DENIED),
    get(  "/admin/auth/group/{group}/history/",                   ALOGIN,  ALOGIN,  ALOGIN,  ALOGIN,  ALOGIN,  DENIED,  DENIED),
    get(  "/admin/auth/group/{group}/delete/",                    ALOGIN,  ALOGIN,  ALOGIN,  ALOGIN,  ALOGIN,  DENIED,  DENIED),
    get(  "/admin/auth/group/{group}/change/",                    ALOGIN,  ALOGIN,  ALOGIN,  ALOGIN,  ALOGIN,  DENIED,  DENIED),
    get(  "/admin/auth/group/{group}/",                           ALOGIN,  ALOGIN,  ALOGIN,  ALOGIN,  ALOGIN,  MOVED,   MOVED),
    get(  "/admin/authtoken/tokenproxy/",                         ALOGIN,  ALOGIN,  ALOGIN,  ALOGIN,  ALOGIN,  DENIED,  DENIED),
    get(  "/admin/authtoken/tokenproxy/add/",                     ALOGIN,  ALOGIN,  ALOGIN,  ALOGIN,  ALOGIN,  DENIED,  DENIED),
    get(  "/admin/authtoken/tokenproxy/{token}/history/",         ALOGIN,  ALOGIN,  ALOGIN,  ALOGIN,  ALOGIN,  MOVED,   MOVED),
    get(  "/admin/authtoken/tokenproxy/{token}/delete/",          ALOGIN,  ALOGIN,  ALOGIN,  ALOGIN,  ALOGIN,  DENIED,  DENIED),
    get(  "/admin/authtoken/tokenproxy/{token}/change/",          ALOGIN,  ALOGIN,  ALOGIN,  ALOGIN,  ALOGIN,  DENIED,  DENIED),
    get(  "/admin/authtoken/tokenproxy/{token}/",                 ALOGIN,  ALOGIN,  ALOGIN,  ALOGIN,  ALOGIN,  MOVED,   MOVED),
    get(  "/admin/accounts/user/",                                ALOGIN,  ALOGIN,  ALOGIN,  ALOGIN,  ALOGIN,  DENIED,  OK),
    get(  "/admin/accounts/user/add/",                            ALOGIN,  ALOGIN,  ALOGIN,  ALOGIN,  ALOGIN,  DENIED,  OK),
    get(  "/admin/accounts/user/{user}/history/",                 ALOGIN,  ALOGIN,  ALOGIN,  ALOGIN,  ALOGIN,  DENIED,  OK),
    get(  "/admin/accounts/user/{user}/delete/",                  ALOGIN,  ALOGIN,  ALOGIN,  ALOGIN,  ALOGIN,  DENIED,  DENIED),
    get(  "/admin/accounts/user/{user}/change/",                  ALOGIN,  ALOGIN,  ALOGIN,  ALOGIN,  ALOGIN,  DENIED,  OK),
    get(  "/admin/accounts/user/{user}/",                         ALOGIN,  ALOGIN,  ALOGIN,  ALOGIN,  ALOGIN,  MOVED,   MOVED),
    get(  "/admin/accounts/team/",                                ALOGIN,  ALOGIN,  ALOGIN,  ALOGIN,  ALOGIN,  OK,      OK),
    get(  "/admin/accounts/team/add/",                            ALOGIN,  ALOGIN,  ALOGIN,  ALOGIN,  ALOGIN,  OK,      OK),
    get(  "/admin/accounts/team/{team}/history/",                 ALOGIN,  ALOGIN,  ALOGIN,  ALOGIN,  ALOGIN,  OK,      OK),
    get(  "/admin/accounts/team/{team}/delete/",                  ALOGIN,  ALOGIN,  ALOGIN,  ALOGIN,  ALOGIN,  OK,      OK),
    get(  "/admin/accounts/team/{team}/change/",                  ALOGIN,  ALOGIN,  ALOGIN,  ALOGIN,  ALOGIN,  OK,      OK),
    get(  "/admin/accounts/team/{team}/",                         ALOGIN,  ALOGIN,  ALOGIN,  ALOGIN,  ALOGIN,  MOVED,   MOVED),
    get(  "/admin/accounts/auditevent/",                          ALOGIN,  ALOGIN,  ALOGIN,  ALOGIN,  ALOGIN,  DENIED,  OK),
    get(  "/admin/accounts/auditevent/add/",                      ALOGIN,  ALOGIN,  ALOGIN,  ALOGIN,  ALOGIN,  DENIED,  DENIED),
    get(  "/admin/accounts/auditevent/{audit}/history/",          ALOGIN,  ALOGIN,  ALOGIN,  ALOGIN,  ALOGIN,  DENIED,  OK),
    get(  "/admin/accounts/auditevent/{audit}/delete/",           ALOGIN,  ALOGIN,  ALOGIN,  ALOGIN,  ALOGIN,  DENIED,  DENIED),
    get(  "/admin/accounts/auditevent/{audit}/change/",           ALOGIN,  ALOGIN,  ALOGIN,  ALOGIN,  ALOGIN,  DENIED,  OK),
    get(  "/admin/accounts/auditevent/{audit}/",                  ALOGIN,  ALOGIN,  ALOGIN,  ALOGIN,  ALOGIN,  MOVED,   MOVED),
    get(  "/admin/contacts/brand/",                               ALOGIN,  ALOGIN,  ALOGIN,  ALOGIN,  ALOGIN,  OK,      OK),
    get(  "/admin/contacts/brand/add/",                           ALOGIN,  ALOGIN,  ALOGIN,  ALOGIN,  ALOGIN,  OK,      OK),
    get(  "/admin/contacts/brand/{brand}/history/",               ALOGIN,  ALOGIN,  ALOGIN,  ALOGIN,  ALOGIN,  OK,      OK),
    get(  "/admin/contacts/brand/{brand}/delete/",                ALOGIN,  ALOGIN,  ALOGIN,  ALOGIN,  ALOGIN,  OK,      OK),
    get(  "/admin/contacts/brand/{brand}/change/",                ALOGIN,  ALOGIN,  ALOGIN,  ALOGIN,  ALOGIN,  OK,      OK),
    get(  "/admin/contacts/brand/{brand}/",                       ALOGIN,  ALOGIN,  ALOGIN,  ALOGIN,  ALOGIN,  MOVED,   MOVED),
    get(  "/admin/contacts/programme/",                           ALOGIN,  ALOGIN,  ALOGIN,  ALOGIN,  ALOGIN,  OK,      OK),
    get(  "/admin/contacts/programme/add/",                       ALOGIN,  ALOGIN,  ALOGIN,  ALOGIN,  ALOGIN,  OK,      OK),
    get(  "/admin/contacts/programme/{programme}/history/",       ALOGIN,  ALOGIN,  ALOGIN,  ALOGIN,  ALOGIN,  OK,      OK),
    get(  "/admin/contacts/programme/{programme}/delete/",        ALOGIN,  ALOGIN,  ALOGIN,  ALOGIN,  ALOGIN,  OK,      OK),
    get(  "/admin/contacts/programme/{programme}/change/",        ALOGIN,  ALOGIN,  ALOGIN,  ALOGIN,  ALOGIN,  OK,      OK),
    get(  "/admin/contacts/programme/{programme}/",               ALOGIN,  ALOGIN,  ALOGIN,  ALOGIN,  ALOGIN,  MOVED,   MOVED),
    get(  "/admin/contacts/mailbox/",                             ALOGIN,  ALOGIN,  ALOGIN,  ALOGIN,  ALOGIN,  OK,      OK),
    get(  "/admin/contacts/mailbox/add/",                         ALOGIN,  ALOGIN,  ALOGIN,  ALOGIN,  ALOGIN,  OK,      OK),
    get(  "/admin/contacts/mailbox/{mailbox}/history/",           ALOGIN,  ALOGIN,  ALOGIN,  ALOGIN,  ALOGIN,  OK,      OK),
    get(  "/admin/contacts/mailbox/{mailbox}/delete/",            ALOGIN,  ALOGIN,  ALOGIN,  ALOGIN,  ALOGIN,  OK,      OK),
    get(  "/admin/contacts/mailbox/{mailbox}/change/",            ALOGIN,  ALOGIN,  ALOGIN,  ALOGIN,  ALOGIN,  OK,      OK),
    get(  "/admin/contacts/mailbox/{mailbox}/",                   ALOGIN,  ALOGIN,  ALOGIN,  ALOGIN,  ALOGIN,  MOVED,   MOVED),
    get(  "/admin/contacts/phoneline/",                           ALOGIN,  ALOGIN,  ALOGIN,  ALOGIN,  ALOGIN,  OK,      OK),
    get(  "/admin/contacts/phoneline/add/",                       ALOGIN,  ALOGIN,  ALOGIN,  ALOGIN,  ALOGIN,  OK,      OK),
    get(  "/admin/contacts/phoneline/{phoneline}/history/",       ALOGIN,  ALOGIN,  ALOGIN,  ALOGIN,  ALOGIN,  OK,      OK),
    get(  "/admin/contacts/phoneline/{phoneline}/delete/",        ALOGIN,  ALOGIN,  ALOGIN,  ALOGIN,  ALOGIN,  OK,      OK),
    get(  "/admin/contacts/phoneline/{phoneline}/change/",        ALOGIN,  ALOGIN,  ALOGIN,  ALOGIN,  ALOGIN,  OK,      OK),
    get(  "/admin/contacts/phoneline/{phoneline}/",               ALOGIN,  ALOGIN,  ALOGIN,  ALOGIN,  ALOGIN,  MOVED,   MOVED),
    get(  "/admin/contacts/integrationclient/",                   ALOGIN,  ALOGIN,  ALOGIN,  ALOGIN,  ALOGIN,  OK,      OK),
    get(  "/admin/contacts/integrationclient/add/",               ALOGIN,  ALOGIN,  ALOGIN,  ALOGIN,  ALOGIN,  OK,      OK),
    get(  "/admin/contacts/integrationclient/{client}/history/",  ALOGIN,  ALOGIN,  ALOGIN,  ALOGIN,  ALOGIN,  OK,      OK),
    get(  "/admin/contacts/integrationclient/{client}/delete/",   ALOGIN,  ALOGIN,  ALOGIN,  ALOGIN,  ALOGIN,  OK,      OK),
    get(  "/admin/contacts/integrationclient/{client}/change/",   ALOGIN,  ALOGIN,  ALOGIN,  ALOGIN,  ALOGIN,  OK,      OK),
    get(  "/admin/contacts/integrationclient/{client}/",          ALOGIN,  ALOGIN,  ALOGIN,  ALOGIN,  ALOGIN,  MOVED,   MOVED),
    get(  "/admin/contacts/quarantineitem/",                      ALOGIN,  ALOGIN,  ALOGIN,  ALOGIN,  ALOGIN,  OK,      OK),
    get(  "/admin/contacts/quarantineitem/add/",                  ALOGIN,  ALOGIN,  ALOGIN,  ALOGIN,  ALOGIN,  DENIED,  DENIED),
    get(  "/admin/contacts/quarantineitem/{quarantine}/history/", ALOGIN,  ALOGIN,  ALOGIN,  ALOGIN,  ALOGIN,  OK,      OK),
    get(  "/admin/contacts/quarantineitem/{quarantine}/delete/",  ALOGIN,  ALOGIN,  ALOGIN,  ALOGIN,  ALOGIN,  DENIED,  DENIED),
    get(  "/admin/contacts/quarantineitem/{quarantine}/change/",  ALOGIN,  ALOGIN,  ALOGIN,  ALOGIN,  ALOGIN,  OK,      OK),
    get(  "/admin/contacts/quarantineitem/{quarantine5}/change/", ALOGIN,  ALOGIN,  ALOGIN,  ALOGIN,  ALOGIN,  MOVED,   OK),
    get(  "/admin/contacts/quarantineitem/{quarantine}/",         ALOGIN,  ALOGIN,  ALOGIN,  ALOGIN,  ALOGIN,  MOVED,   MOVED),
    get(  "/admin/contacts/letterscan/",                          ALOGIN,  ALOGIN,  ALOGIN,  ALOGIN,  ALOGIN,  OK,      OK),
    get(  "/admin/contacts/letterscan/add/",                      ALOGIN,  ALOGIN,  ALOGIN,  ALOGIN,  ALOGIN,  DENIED,  DENIED),
    get(  "/admin/contacts/letterscan/{scan}/history/",           ALOGIN,  ALOGIN,  ALOGIN,  ALOGIN,  ALOGIN,  OK,      OK),
    get(  "/admin/contacts/letterscan/{scan}/delete/",            ALOGIN,  ALOGIN,  ALOGIN,  ALOGIN,  ALOGIN,  DENIED,  DENIED),
    get(  "/admin/contacts/letterscan/{scan}/change/",            ALOGIN,  ALOGIN,  ALOGIN,  ALOGIN,  ALOGIN,  OK,      OK),
    get(  "/admin/contacts/letterscan/{scan5}/change/",           ALOGIN,  ALOGIN,  ALOGIN,  ALOGIN,  ALOGIN,  MOVED,   OK),
    get(  "/admin/contacts/letterscan/{scan}/",                   ALOGIN,  ALOGIN,  ALOGIN,  ALOGIN,  ALOGIN,  MOVED,   MOVED),
    get(  "/admin/routing/policyversion/",                        ALOGIN,  ALOGIN,  ALOGIN,  ALOGIN,  ALOGIN,  OK,      OK),
    get(  "/admin/routing/policyversion/add/",                    ALOGIN,  ALOGIN,  ALOGIN,  ALOGIN,  ALOGIN,  OK,      OK),
    get(  "/admin/routing/policyversion/{policy}/history/",       ALOGIN,  ALOGIN,  ALOGIN,  ALOGIN,  ALOGIN,  OK,      OK),
    get(  "/admin/routing/policyversion/{policy}/delete/",        ALOGIN,  ALOGIN,  ALOGIN,  ALOGIN,  ALOGIN,  DENIED,  DENIED),
    get(  "/admin/routing/policyversion/{policy}/change/",        ALOGIN,  ALOGIN,  ALOGIN,  ALOGIN,  ALOGIN,  OK,      OK),
    get(  "/admin/routing/policyversion/{policy}/",               ALOGIN,  ALOGIN,  ALOGIN,  ALOGIN,  ALOGIN,  MOVED,   MOVED),
    get(  "/admin/routing/triageclassifier/",                     ALOGIN,  ALOGIN,  ALOGIN,  ALOGIN,  ALOGIN,  OK,      OK),
    get(  "/admin/routing/triageclassifier/add/",                 ALOGIN,  ALOGIN,  ALOGIN,  ALOGIN,  ALOGIN,  DENIED,  DENIED),
    get(  "/admin/routing/triageclassifier/{classifier}/history/",ALOGIN,  ALOGIN,  ALOGIN,  ALOGIN,  ALOGIN,  OK,      OK),
    get(  "/admin/routing/triageclassifier/{classifier}/delete/", ALOGIN,  ALOGIN,  ALOGIN,  ALOGIN,  ALOGIN,  DENIED,  DENIED),
    get(  "/admin/routing/triageclassifier/{classifier}/change/", ALOGIN,  ALOGIN,  ALOGIN,  ALOGIN,  ALOGIN,  OK,      OK),
    get(  "/admin/routing/triageclassifier/{classifier}/",        ALOGIN,  ALOGIN,  ALOGIN,  ALOGIN,  ALOGIN,  MOVED,   MOVED),
    get(  "/admin/routing/slapolicy/",                            ALOGIN,  ALOGIN,  ALOGIN,  ALOGIN,  ALOGIN,  OK,      OK),
    get(  "/admin/routing/slapolicy/add/",                        ALOGIN,  ALOGIN,  ALOGIN,  ALOGIN,  ALOGIN,  OK,      OK),
    get(  "/admin/routing/slapolicy/{sla}/history/",              ALOGIN,  ALOGIN,  ALOGIN,  ALOGIN,  ALOGIN,  OK,      OK),
    get(  "/admin/routing/slapolicy/{sla}/delete/",               ALOGIN,  ALOGIN,  ALOGIN,  ALOGIN,  ALOGIN,  OK,      OK),
    get(  "/admin/routing/slapolicy/{sla}/change/",               ALOGIN,  ALOGIN,  ALOGIN,  ALOGIN,  ALOGIN,  OK,      OK),
    get(  "/admin/routing/slapolicy/{sla}/",                      ALOGIN,  ALOGIN,  ALOGIN,  ALOGIN,  ALOGIN,  MOVED,   MOVED),
    get(  "/admin/replies/responsetemplate/",                     ALOGIN,  ALOGIN,  ALOGIN,  ALOGIN,  ALOGIN,  OK,      OK),
    get(  "/admin/replies/responsetemplate/add/",                 ALOGIN,  ALOGIN,  ALOGIN,  ALOGIN,  ALOGIN,  OK,      OK),
    get(  "/admin/replies/responsetemplate/{template}/history/",  ALOGIN,  ALOGIN,  ALOGIN,  ALOGIN,  ALOGIN,  OK,      OK),
    get(  "/admin/replies/responsetemplate/{template}/delete/",   ALOGIN,  ALOGIN,  ALOGIN,  ALOGIN,  ALOGIN,  DENIED,  DENIED),
    get(  "/admin/replies/responsetemplate/{template}/change/",   ALOGIN,  ALOGIN,  ALOGIN,  ALOGIN,  ALOGIN,  OK,      OK),
    get(  "/admin/replies/responsetemplate/{template}/",          ALOGIN,  ALOGIN,  ALOGIN,  ALOGIN,  ALOGIN,  MOVED,   MOVED),
    get(  "/admin/replies/signature/",                            ALOGIN,  ALOGIN,  ALOGIN,  ALOGIN,  ALOGIN,  OK,      OK),
    get(  "/admin/replies/signature/add/",                        ALOGIN,  ALOGIN,  ALOGIN,  ALOGIN,  ALOGIN,  OK,      OK),
    get(  "/admin/replies/signature/{signature}/history/",        ALOGIN,  ALOGIN,  ALOGIN,  ALOGIN,  ALOGIN,  OK,      OK),
    get(  "/admin/replies/signature/{signature}/delete/",         ALOGIN,  ALOGIN,  ALOGIN,  ALOGIN,  ALOGIN,  OK,      OK),
    get(  "/admin/replies/signature/{signature}/change/",         ALOGIN,  ALOGIN,  ALOGIN,  ALOGIN,  ALOGIN,  OK,      OK),
    get(  "/admin/replies/signature/{signature}/",                ALOGIN,  ALOGIN,  ALOGIN,  ALOGIN,  ALOGIN,  MOVED,   MOVED),
    get(  "/admin/replies/printbatch/",                           ALOGIN,  ALOGIN,  ALOGIN,  ALOGIN,  ALOGIN,  OK,      OK),
    get(  "/admin/replies/printbatch/add/",                       ALOGIN,  ALOGIN,  ALOGIN,  ALOGIN,  ALOGIN,  DENIED,  DENIED),
    get(  "/admin/replies/printbatch/{batch}/history/",           ALOGIN,  ALOGIN,  ALOGIN,  ALOGIN,  ALOGIN,  OK,      OK),
    get(  "/admin/replies/printbatch/{batch}/delete/",            ALOGIN,  ALOGIN,  ALOGIN,  ALOGIN,  ALOGIN,  DENIED,  DENIED),
    get(  "/admin/replies/printbatch/{batch}/change/",            ALOGIN,  ALOGIN,  ALOGIN,  ALOGIN,  ALOGIN,  OK,      OK),
    get(  "/admin/replies/printbatch/{batch}/",                   ALOGIN,  ALOGIN,  ALOGIN,  ALOGIN,  ALOGIN,  MOVED,   MOVED),
    get(  "/admin/reporting/costrate/",                           ALOGIN,  ALOGIN,  ALOGIN,  ALOGIN,  ALOGIN,  OK,      OK),
    get(  "/admin/reporting/costrate/add/",                       ALOGIN,  ALOGIN,  ALOGIN,  ALOGIN,  ALOGIN,  DENIED,  DENIED),
    get(  "/admin/reporting/costrate/{costrate}/history/",        ALOGIN,  ALOGIN,  ALOGIN,  ALOGIN,  ALOGIN,  OK,      OK),
    get(  "/admin/reporting/costrate/{costrate}/delete/",         ALOGIN,  ALOGIN,  ALOGIN,  ALOGIN,  ALOGIN,  DENIED,  DENIED),
    get(  "/admin/reporting/costrate/{costrate}/change/",         ALOGIN,  ALOGIN,  ALOGIN,  ALOGIN,  ALOGIN,  OK,      OK),
    get(  "/admin/reporting/costrate/{costrate}/",                ALOGIN,  ALOGIN,  ALOGIN,  ALOGIN,  ALOGIN,  MOVED,   MOVED),
    get(  "/admin/reporting/rollupstate/",                        ALOGIN,  ALOGIN,  ALOGIN,  ALOGIN,  ALOGIN,  OK,      OK),
    get(  "/admin/reporting/rollupstate/add/",                    ALOGIN,  ALOGIN,  ALOGIN,  ALOGIN,  ALOGIN,  DENIED,  DENIED),
    get(  "/admin/reporting/rollupstate/{rollup}/history/",       ALOGIN,  ALOGIN,  ALOGIN,  ALOGIN,  ALOGIN,  OK,      OK),
    get(  "/admin/reporting/rollupstate/{rollup}/delete/",        ALOGIN,  ALOGIN,  ALOGIN,  ALOGIN,  ALOGIN,  DENIED,  DENIED),
    get(  "/admin/reporting/rollupstate/{rollup}/change/",        ALOGIN,  ALOGIN,  ALOGIN,  ALOGIN,  ALOGIN,  OK,      OK),
    get(  "/admin/reporting/rollupstate/{rollup}/",               ALOGIN,  ALOGIN,  ALOGIN,  ALOGIN,  ALOGIN,  MOVED,   MOVED),
    get(  "/admin/accounts/rolegrantrequest/",                    ALOGIN,  ALOGIN,  ALOGIN,  ALOGIN,  ALOGIN,  DENIED,  OK),
    get(  "/admin/accounts/rolegrantrequest/add/",                ALOGIN,  ALOGIN,  ALOGIN,  ALOGIN,  ALOGIN,  DENIED,  DENIED),
    get(  "/admin/accounts/rolegrantrequest/{grant_admin}/history/",    ALOGIN,  ALOGIN,  ALOGIN,  ALOGIN,  ALOGIN,  DENIED,  OK),
    get(  "/admin/accounts/rolegrantrequest/{grant_admin}/delete/",     ALOGIN,  ALOGIN,  ALOGIN,  ALOGIN,  ALOGIN,  DENIED,  DENIED),
    get(  "/admin/accounts/rolegrantrequest/{grant_admin}/change/",     ALOGIN,  ALOGIN,  ALOGIN,  ALOGIN,  ALOGIN,  DENIED,  OK),
    get(  "/admin/accounts/rolegrantrequest/{grant_admin}/",      ALOGIN,  ALOGIN,  ALOGIN,  ALOGIN,  ALOGIN,  MOVED,   MOVED),
    get(  "/admin/outbox/outboxmessage/",                         ALOGIN,  ALOGIN,  ALOGIN,  ALOGIN,  ALOGIN,  DENIED,  DENIED),
    get(  "/admin/outbox/outboxmessage/add/",                     ALOGIN,  ALOGIN,  ALOGIN,  ALOGIN,  ALOGIN,  DENIED,  DENIED),
    get(  "/admin/outbox/outboxmessage/{outbox}/history/",        ALOGIN,  ALOGIN,  ALOGIN,  ALOGIN,  ALOGIN,  DENIED,  DENIED),
    get(  "/admin/outbox/outboxmessage/{outbox}/delete/",         ALOGIN,  ALOGIN,  ALOGIN,  ALOGIN,  ALOGIN,  DENIED,  DENIED),
    get(  "/admin/outbox/outboxmessage/{outbox}/change/",         ALOGIN,  ALOGIN,  ALOGIN,  ALOGIN,  ALOGIN,  DENIED,  DENIED),
    get(  "/admin/outbox/outboxmessage/{outbox}/",                ALOGIN,  ALOGIN,  ALOGIN,  ALOGIN,  ALOGIN,  MOVED,   MOVED),
    get(  "/admin/otp_totp/totpdevice/",                          ALOGIN,  ALOGIN,  ALOGIN,  ALOGIN,  ALOGIN,  HIDDEN,  HIDDEN),
    get(  "/admin/otp_static/staticdevice/",                      ALOGIN,  ALOGIN,  ALOGIN,  ALOGIN,  ALOGIN,  HIDDEN,  HIDDEN),
    # --- Signing out (made last: it ends the session) ---------------------------------------------
    post( "/admin/logout/",                                       MOVED,   MOVED,   MOVED,   MOVED,   MOVED,   LOGIN,   LOGIN),
    post( "/logout/",                                             LOGIN,   LOGIN,   LOGIN,   LOGIN,   LOGIN,   LOGIN,   LOGIN),
]
# fmt: on


# Managers, administrators and mediators signed in with their password only: until they pass
# the second factor they reach nothing but these pages (accounts/middleware.py,
# `UNVERIFIED_ALLOWED`); every other row of `ROUTES` sends them to enrol an authenticator
# (none yet) or to type a code (they have one), and the API refuses them with a JSON 403.
# Columns: without an authenticator (must enrol), with one (must verify).
UNVERIFIED_ROLES = ("must-enrol", "must-verify")
# fmt: off
UNVERIFIED_REACH: dict[tuple[str, str], tuple[object, object]] = {
    #  method   url                                           must-enrol  must-verify
    ("GET",  "/accounts/security/enrol/"):                    (OK,        VERIFY),
    ("GET",  "/accounts/verify/"):                            (ENROL,     OK),
    ("POST", "/i18n/setlang/"):                               (ALLOWED,   ALLOWED),
    ("GET",  "/reset/{reset_uid}/{reset_token}/"):            (MOVED,     MOVED),
    ("GET",  "/reset/{reset_uid}/not-a-token/"):              (OK,        OK),
    ("GET",  "/reset/done/"):                                 (OK,        OK),
    ("POST", "/logout/"):                                     (LOGIN,     LOGIN),
}
# fmt: on
