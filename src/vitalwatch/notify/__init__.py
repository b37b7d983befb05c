"""Secondary notification: an alarm nobody answered reaches a phone.

Secondary to the bedside monitor and the central station (they remain the
primary alarm): targets configured by an admin, an escalation chain, a durable
outbox written in the alarm transition's transaction, delivery with retries,
and a signed single-use acknowledge link.
"""
