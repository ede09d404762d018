"""Digests and alerts to department owners, and the loop that checks their fixes.

schedule.py    what is due, and producing it: claim a run, build, draw, store, queue, deliver
cron.py        digest schedules: cron expressions in a department's time zone
content.py     what a department's digest says for one period (pure data)
numbers.py     headline numbers and trend series, many departments in one read
charts.py      Plotly figures for digests, rendered to PNG for e-mail in one batch
render.py      e-mail (HTML and text) and webhook JSON from templates/digests/
recipients.py  who receives a department's messages, and queueing a message for them
outbox.py      one row per (message, channel, recipient): delivered once, retried, or failed
resend.py      sending failed deliveries again, once
health.py      are messages getting through: /health, `scheduler --once`, the admins' alarm
channels/      e-mail over SMTP and signed JSON webhooks
alerts.py      alerts between digests (spikes, drops): one per burst
cooldowns.py   at most one message about a subject per period
links.py       signed action links: acknowledge, fix in progress, fixed
loop.py        the learning loop: acknowledged, in progress, fixed, verified or reopened
log.py         the execution log: runs, deliveries, alerts
admin.py       telling the admins that something did not go out (e-mail and a second path, a webhook)
jobs.py        its periodic jobs: digests, retries, alerts, fix checks
api.py, pages.py, cli.py   its JSON routes, the action links' pages, its commands
"""
