"""Who is following a referral link: a person's browser, or a bot (link preview, crawler, script).

Messaging apps and social networks fetch a shared link to draw its preview card; search engines
crawl; scripts probe. None of those is a customer, so a visit whose user agent names one is
redirected like any other but neither counted as a click nor attributed.

What counts as a bot (``BOT_FAMILIES``, matched case-insensitively, first match names it):

- link previewers: Facebook and Messenger (``facebookexternalhit``, ``Facebot``, Meta's
  ``meta-externalagent``/``meta-externalfetcher``), Zalo's crawler (a user agent saying "Zalo"
  *and* bot, crawler, spider, preview or fetcher), Slack, WhatsApp (its app fetches previews as
  ``WhatsApp/2...``; links open in the phone's browser, so that agent is never a person),
  Telegram, Twitter/X, LinkedIn, Discord, Skype and Teams (``SkypeUriPreview``), Apple, Pinterest;
- crawlers: Google (Googlebot, AdsBot, Mediapartners, APIs-Google, Feedfetcher, GoogleOther,
  Google-InspectionTool), Bing (bingbot, BingPreview, adidxbot, msnbot), and the rest through
  the generic markers below;
- scripts and HTTP libraries: curl, Wget, python-requests, Python-urllib, httpx, aiohttp,
  Go-http-client, Java, Apache-HttpClient, okhttp, libwww-perl, node-fetch, axios, undici,
  Scrapy, HTTPie, Postman;
- automated browsers: ``HeadlessChrome``, PhantomJS;
- anything else whose user agent contains ``bot``, ``crawl``, ``spider``, ``slurp``,
  ``scrape``, ``preview``, ``fetcher`` or ``archiver`` (``Cubot`` phones excepted);
- no user agent at all: every browser sends one.

People inside apps are people: Zalo's in-app browser on Android and iOS (``Zalo android/...``,
``Zalo iOS/...``, ``ZaloTheme/...``) and Zalo PC (``ZaloPC``, ``Zalo-win32-...``), Facebook's
and Messenger's in-app browsers (``FBAN``/``FBAV``/``FB_IAB``), Instagram, TikTok and LINE.
Zalo's own crawler's user agent is not documented publicly, so it is recognised by the bot
markers it carries rather than by a fixed string.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache

#: longest family name stored on a click (``Click.user_agent_family``)
FAMILY_MAX_LENGTH = 40
#: user agents longer than this are judged on their first part only
USER_AGENT_MAX_LENGTH = 512


@dataclass(frozen=True, slots=True)
class UserAgent:
    #: a short name: "Chrome", "Zalo", "facebookexternalhit", "curl"...
    family: str
    is_bot: bool


# (family, pattern): named bots first, so the family says which one it was.
BOT_FAMILIES: tuple[tuple[str, str], ...] = (
    ("facebookexternalhit", r"facebookexternalhit"),
    ("Facebot", r"facebot"),
    ("Meta crawler", r"meta-external(?:agent|fetcher)"),
    ("Zalo crawler", r"zalo.*(?:bot|crawl|spider|preview|fetch)|(?:bot|crawl|spider|fetch).*zalo"),
    ("Slackbot", r"slackbot|slack-imgproxy"),
    ("WhatsApp", r"whatsapp/"),
    ("TelegramBot", r"telegrambot"),
    ("Twitterbot", r"twitterbot"),
    ("LinkedInBot", r"linkedinbot"),
    ("Discordbot", r"discordbot"),
    ("SkypeUriPreview", r"skypeuripreview"),
    (
        "Googlebot",
        r"googlebot|adsbot-google|mediapartners-google|apis-google|feedfetcher-google"
        r"|googleother|google-inspectiontool|google-pagerenderer|google-structured-data",
    ),
    ("Bingbot", r"bingbot|bingpreview|adidxbot|msnbot"),
    ("Applebot", r"applebot"),
    ("Pinterestbot", r"pinterest(?:bot)?/"),
    ("curl", r"\bcurl/"),
    ("Wget", r"\bwget"),
    ("python-requests", r"python-requests"),
    ("Python-urllib", r"python-urllib"),
    ("httpx", r"python-httpx"),
    ("aiohttp", r"aiohttp"),
    ("Go-http-client", r"go-http-client"),
    ("Java", r"^java/|apache-httpclient|jakarta commons-httpclient"),
    ("okhttp", r"^okhttp"),
    ("libwww-perl", r"libwww-perl"),
    ("node-fetch", r"node-fetch|^axios/|^undici"),
    ("Scrapy", r"scrapy"),
    ("HTTPie", r"^httpie/"),
    ("Postman", r"postmanruntime"),
    ("HeadlessChrome", r"headlesschrome"),
    ("PhantomJS", r"phantomjs"),
)
_BOT_RULES = tuple((family, re.compile(pattern)) for family, pattern in BOT_FAMILIES)
#: generic markers of automated agents
_BOT_MARKERS = re.compile(r"bot|crawl|spider|slurp|scrape|preview|fetcher|archiver")
#: phones whose model name happens to contain "bot"
_NOT_BOTS = re.compile(r"cubot")

# People's browsers: in-app browsers first (they also say Chrome or Safari).
_HUMAN_RULES = tuple(
    (family, re.compile(pattern))
    for family, pattern in (
        ("Zalo", r"zalo"),
        ("Messenger", r"fb_iab/messenger|fban/messenger|messengerforios|messengerlitefor"),
        ("Facebook", r"fban|fbav|fb_iab|fbios"),
        ("Instagram", r"instagram"),
        ("TikTok", r"musical_ly|bytedancewebview|trill_"),
        ("LINE", r"\bline/"),
        ("Coc Coc", r"coc_coc_browser"),
        ("Edge", r"\bedg(?:e|a|ios)?/"),
        ("Opera", r"\bopr/|\bopt/|opera"),
        ("Samsung Internet", r"samsungbrowser"),
        ("UC Browser", r"ucbrowser"),
        ("Firefox", r"firefox/|fxios/"),
        ("Chrome", r"chrome/|crios/"),
        ("Safari", r"safari/|applewebkit.*mobile/"),
    )
)


@lru_cache(maxsize=2048)
def classify_user_agent(user_agent: str | None) -> UserAgent:
    """The family of ``user_agent`` and whether it is a bot (see the module's docstring)."""
    text = (user_agent or "").strip()[:USER_AGENT_MAX_LENGTH]
    if not text:
        return UserAgent("(none)", True)
    lowered = _NOT_BOTS.sub("", text.lower())
    for family, rule in _BOT_RULES:
        if rule.search(lowered):
            return UserAgent(family, True)
    if _BOT_MARKERS.search(lowered):
        return UserAgent(_first_product(text), True)
    for family, rule in _HUMAN_RULES:
        if rule.search(lowered):
            return UserAgent(family, False)
    return UserAgent("Other", False)


def _first_product(user_agent: str) -> str:
    """A generic bot's own name: the product token that carries the marker, else the first."""
    tokens = re.findall(r"[A-Za-z][\w.+-]*", user_agent)
    for token in tokens:
        if _BOT_MARKERS.search(token.lower()):
            return token[:FAMILY_MAX_LENGTH]
    return (tokens[0] if tokens else "Other bot")[:FAMILY_MAX_LENGTH]
