"""Officers on the ground: the field service (docs/field.md).

An HTTPS web application on the console's own event loop (aiohttp, through qasync), on
while a deployment is open under a site policy that ties the cameras to the ground team
(``officers_present = checked_in``): phones paired by a one-time code, checked in while
their page is open, engaged incidents sent to them, their steps and outcomes recorded.

- ``certs``: the force's certificate, or one made per install (its fingerprint shown);
- ``pairing``: one-time codes, tokens, guessing limits;
- ``images``: what a phone is shown of an incident (the clothing crop);
- ``service``: presence, dispatch, the record (the session's GroundTeam);
- ``server``: the HTTPS front, every request read as hostile;
- ``page/``: the phone's page (HTML, CSS, JavaScript; nothing kept on the phone).
"""
