"""`make run` as a demonstration of the real product: a local SMTP catcher that keeps what the
product sends (read on /demo/mail/), the periodic tasks run in-process without a broker, and
one command that starts them with the web server."""
