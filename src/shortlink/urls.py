"""The one place a submitted URL is checked and normalized: what is checked is what is stored."""

import ipaddress
import re
import unicodedata
from urllib.parse import quote, urlsplit

import idna

MAX_URL_LENGTH = 2048

# Characters left as they are in path, query and fragment; everything else is percent-encoded.
# The same set Starlette's redirect uses, so the Location sent is the URL stored, byte for byte.
URL_SAFE = ":/%#?=@[]!$&'()*+,;"
# A label is 1 to 63 characters.
ASCII_HOST = re.compile(r"[a-z0-9_-]{1,63}(\.[a-z0-9_-]{1,63})*\.?")

# Published in the OpenAPI document: every URL it matches is accepted as it is (apart from
# letter case in scheme and host). Non-ASCII host names are accepted too, stored as punycode.
_LABEL = "[A-Za-z0-9-]{1,63}"
_REST_CHAR = r"[A-Za-z0-9._~!$&'()*+,;=:@%/-]"
URL_PATTERN = (
    rf"^[Hh][Tt][Tt][Pp]([Ss])?://{_LABEL}(\.{_LABEL})*(:[0-9]{{1,4}})?"
    rf"(/{_REST_CHAR}*)?(\?({_REST_CHAR}|\?)*)?(#({_REST_CHAR}|\?)*)?$"
)


def normalize(url: str) -> str:
    """The URL to store for ``url``; ValueError, naming the rule broken, if it is refused."""
    if any(char.isspace() or unicodedata.category(char) in ("Cc", "Cs") for char in url):
        raise ValueError("the URL must not contain spaces, control characters or surrogates")
    try:
        parts = urlsplit(url)
    except ValueError:
        raise ValueError("the URL is not valid") from None
    scheme = parts.scheme.lower()
    if scheme not in ("http", "https"):
        raise ValueError("the URL must start with http:// or https://")
    if not parts.hostname:
        raise ValueError("the URL must name a host")
    if "@" in parts.netloc:
        raise ValueError("the URL must not contain a user name or password")
    try:
        port = parts.port
    except ValueError:
        raise ValueError("the URL's port must be a number from 0 to 65535") from None
    host = _host(parts.hostname)
    netloc = host if port is None else f"{host}:{port}"
    rest = parts.path + (f"?{parts.query}" if parts.query else "")
    rest += f"#{parts.fragment}" if parts.fragment else ""
    normalized = f"{scheme}://{netloc}{quote(rest, safe=URL_SAFE)}"
    if len(normalized) > MAX_URL_LENGTH:
        raise ValueError(f"the URL must be at most {MAX_URL_LENGTH} characters, once normalized")
    return normalized


def _host(hostname: str) -> str:
    """``hostname`` lower-cased, as punycode if it is an international domain name."""
    if ":" in hostname:
        try:
            return f"[{ipaddress.IPv6Address(hostname).compressed}]"
        except ValueError:
            raise ValueError("the URL's IPv6 address is not valid") from None
    if hostname.isascii():
        # As browsers take an ASCII name (the WHATWG URL standard): lower-cased, nothing more.
        ascii_host = hostname.lower()
    else:
        try:
            # UTS #46, nontransitional (idna's default), as browsers map a host: straße.de
            # stays itself, xn--strae-oqa.de. Python's own codec, IDNA 2003, makes it strasse.de.
            ascii_host = idna.encode(hostname, uts46=True).decode("ascii")
        except UnicodeError:  # idna.IDNAError and its kinds
            raise ValueError("the URL's host is not a valid domain name") from None
    if not ASCII_HOST.fullmatch(ascii_host):
        raise ValueError("the URL's host is not a valid domain name")
    return ascii_host
