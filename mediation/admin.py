"""Mediation objects are deliberately absent from the configuration back office: every read of
a case file must be audited (the admin would bypass it) and confidential notes are closed to
administrators. Managers read the mediation audit log at /mediation/audit/ (and the full log
in the admin's "audit events", filtered by object type `mediation.*`)."""
