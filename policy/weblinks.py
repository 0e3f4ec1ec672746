"""Web addresses people type: validated and normalised (000 §12.3, 004 §2: "record the URL").

Pure standard library. Used for the site in a concern report and for filter requests.
"""

from __future__ import annotations

import ipaddress
from urllib.parse import urlsplit, urlunsplit

MAX_URL = 2000


class BadLink(ValueError):
    """The text is not a usable web address; the message says why in plain words."""


def normalise_url(text: str, *, require_public: bool = False) -> str:
    """A typed web address as a normalised ``http(s)`` URL.

    Accepts ``example.com/page`` (https is assumed). Lower-cases the scheme and host, turns
    international names into their ASCII form, drops default ports and the ``#fragment``.

    Raises:
        BadLink: not http(s); user name or password in the address; no host; too long; or,
            with ``require_public``, a host that is not on the public internet.
    """
    text = text.strip()
    if not text:
        raise BadLink("Enter a web address, like example.com/page.")
    if len(text) > MAX_URL:
        raise BadLink("That web address is too long.")
    if any(ch.isspace() for ch in text):
        raise BadLink("A web address can't contain spaces.")
    if "://" not in text:
        if ":" in text.split("/", 1)[0] and not text.split("/", 1)[0].rsplit(":", 1)[1].isdigit():
            raise BadLink("Only web addresses (http or https) can be used.")
        text = "https://" + text
    parts = urlsplit(text)
    scheme = parts.scheme.lower()
    if scheme not in {"http", "https"}:
        raise BadLink("Only web addresses (http or https) can be used.")
    if parts.username or parts.password:
        raise BadLink("Remove the user name or password from the web address.")
    host = (parts.hostname or "").rstrip(".")
    if not host:
        raise BadLink("That web address has no site name in it.")
    try:
        port = parts.port
    except ValueError:
        raise BadLink("That web address has a broken port number.") from None
    try:
        ascii_host = host.encode("idna").decode("ascii").lower()
    except UnicodeError:
        raise BadLink("That site name isn't valid.") from None
    if require_public and not is_public_host(ascii_host):
        raise BadLink("That address is not a public website.")
    netloc = ascii_host if ":" not in ascii_host else f"[{ascii_host}]"
    if port is not None and (scheme, port) not in {("http", 80), ("https", 443)}:
        netloc += f":{port}"
    return urlunsplit((scheme, netloc, parts.path or "/", parts.query, ""))


def is_public_host(host: str) -> bool:
    """True for a public DNS name or a globally routable address; False for local names,
    private, loopback, link-local and reserved addresses."""
    try:
        return ipaddress.ip_address(host.strip("[]")).is_global
    except ValueError:
        pass
    lowered = host.lower()
    if "." not in lowered or lowered.endswith((".local", ".localhost", ".internal", ".lan")):
        return False
    return lowered != "localhost"


def host_of(url: str) -> str:
    """The host of a normalised URL."""
    return (urlsplit(url).hostname or "").lower()
