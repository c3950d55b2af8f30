"""Integrations: webhooks, GA4, the number-swap snippet and the e-mail summary (docs/webhooks.md).

They listen to what the tracker publishes once a change is durable; the tracker drives none.
"""
