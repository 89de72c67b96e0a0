"""Sharing: a clip leaves the box only with consent.

Owns share destinations and the consent text, the minimised and redacted package,
pending and sent reports, the hash-chained audit log, the senders (webhook, folder)
and the optional face finder.

May import: `recording` (the clip store and file helpers), `motion` (zones) and
`sources`.
"""
