"""Link previewers, crawlers and scripts are bots; people, in any browser or app, are not."""

from __future__ import annotations

import pytest

from perks.referrals.bots import classify_user_agent

BOTS = {
    "facebookexternalhit": (
        "facebookexternalhit/1.1 (+http://www.facebook.com/externalhit_uatext.php)"
    ),
    "Facebot": "Facebot",
    "iMessage preview": "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_11_1) AppleWebKit/601.2.4 "
    "(KHTML, like Gecko) Version/9.0.1 Safari/601.2.4 facebookexternalhit/1.1 Facebot "
    "Twitterbot/1.0",
    "meta-externalagent": "meta-externalagent/1.1 "
    "(+https://developers.facebook.com/docs/sharing/webmasters/crawler)",
    "Zalo link preview": "Mozilla/5.0 (compatible; ZaloBot/1.0; +https://zalo.me)",
    "Zalo crawler": "Zalo-Crawler/2.0",
    "Zalo preview fetcher": "ZaloLinkPreview/1.0",
    "Slackbot": "Slackbot-LinkExpanding 1.0 (+https://api.slack.com/robots)",
    "Slack image proxy": "Slack-ImgProxy (+https://api.slack.com/robots)",
    "WhatsApp": "WhatsApp/2.23.20.0 A",
    "WhatsApp iOS": "WhatsApp/2.24.6.77 i",
    "TelegramBot": "TelegramBot (like TwitterBot)",
    "Twitterbot": "Twitterbot/1.0",
    "LinkedInBot": "LinkedInBot/1.0 (compatible; Mozilla/5.0; Apache-HttpClient +http://www.linkedin.com)",
    "Googlebot": "Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)",
    "Googlebot smartphone": "Mozilla/5.0 (Linux; Android 6.0.1; Nexus 5X Build/MMB29P) "
    "AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.6778.69 Mobile Safari/537.36 "
    "(compatible; Googlebot/2.1; +http://www.google.com/bot.html)",
    "AdsBot-Google": "AdsBot-Google (+http://www.google.com/adsbot.html)",
    "Google-InspectionTool": "Mozilla/5.0 (compatible; Google-InspectionTool/1.0;)",
    "bingbot": "Mozilla/5.0 (compatible; bingbot/2.0; +http://www.bing.com/bingbot.htm)",
    "BingPreview": "Mozilla/5.0 (Windows NT 6.1; WOW64) AppleWebKit/534+ (KHTML, like Gecko) "
    "BingPreview/1.0b",
    "Discordbot": "Mozilla/5.0 (compatible; Discordbot/2.0; +https://discordapp.com)",
    "SkypeUriPreview": "Mozilla/5.0 (Windows NT 6.1; WOW64) SkypeUriPreview Preview/0.5 "
    "skype-url-preview@microsoft.com",
    "Applebot": "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_5) AppleWebKit/605.1.15 "
    "(KHTML, like Gecko) Version/13.1.1 Safari/605.1.15 (Applebot/0.1)",
    "Pinterestbot": "Mozilla/5.0 (compatible; Pinterestbot/1.0; +http://www.pinterest.com/bot.html)",
    "curl": "curl/8.5.0",
    "Wget": "Wget/1.21.4",
    "python-requests": "python-requests/2.32.3",
    "Python-urllib": "Python-urllib/3.11",
    "httpx": "python-httpx/0.27.0",
    "aiohttp": "Python/3.11 aiohttp/3.9.5",
    "Go-http-client": "Go-http-client/1.1",
    "Java": "Java/17.0.2",
    "Apache-HttpClient": "Apache-HttpClient/4.5.14 (Java/17.0.2)",
    "okhttp": "okhttp/4.12.0",
    "libwww-perl": "libwww-perl/6.72",
    "node-fetch": "node-fetch/1.0 (+https://github.com/bitinn/node-fetch)",
    "axios": "axios/1.7.2",
    "Scrapy": "Scrapy/2.11.2 (+https://scrapy.org)",
    "HTTPie": "HTTPie/3.2.2",
    "Postman": "PostmanRuntime/7.39.0",
    "HeadlessChrome": "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) "
    "HeadlessChrome/131.0.0.0 Safari/537.36",
    "PhantomJS": "Mozilla/5.0 (Unknown; Linux x86_64) AppleWebKit/538.1 (KHTML, like Gecko) "
    "PhantomJS/2.1.1 Safari/538.1",
    "YandexBot": "Mozilla/5.0 (compatible; YandexBot/3.0; +http://yandex.com/bots)",
    "Baiduspider": "Mozilla/5.0 (compatible; Baiduspider/2.0; +http://www.baidu.com/search/spider.html)",
    "a crawler": "SomeCompanyCrawler/1.0 (+https://example.com/crawler)",
    "a spider": "Mozilla/5.0 (compatible; tiny-spider)",
    "a previewer": "Mozilla/5.0 (compatible; Embedly-Preview)",
    "a generic bot": "Mozilla/5.0 (compatible; UptimeRobot/2.0; http://www.uptimerobot.com/)",
    "no user agent": "",
}

PEOPLE = {
    "Zalo in-app, Android": (
        "Zalo",
        "Mozilla/5.0 (Linux; Android 13; SM-A536E Build/TP1A.220624.014; wv) AppleWebKit/537.36 "
        "(KHTML, like Gecko) Version/4.0 Chrome/131.0.6778.135 Mobile Safari/537.36 "
        "Zalo android/12100654 ZaloTheme/light ZaloLanguage/vn",
    ),
    "Zalo in-app, iOS": (
        "Zalo",
        "Mozilla/5.0 (iPhone; CPU iPhone OS 17_5 like Mac OS X) AppleWebKit/605.1.15 "
        "(KHTML, like Gecko) Mobile/15E148 Zalo iOS/502 ZaloTheme/light ZaloLanguage/vn",
    ),
    "Zalo PC": ("Zalo", "ZaloPC-win32-24v294"),
    "Zalo PC (old)": ("Zalo", "Zalo-win32-24v294"),
    "Zalo, old Android": (
        "Zalo",
        "Mozilla/5.0 (Linux; Android 4.4.2;LG-F320S) AppleWebKit/537.36 (KHTML, like Gecko) "
        "Zalo/1.0 Safari/537.36",
    ),
    "Facebook in-app": (
        "Facebook",
        "Mozilla/5.0 (iPhone; CPU iPhone OS 17_5 like Mac OS X) AppleWebKit/605.1.15 "
        "(KHTML, like Gecko) Mobile/15E148 [FBAN/FBIOS;FBAV/468.0.0.48.102;FBBV/620000000]",
    ),
    "Messenger in-app": (
        "Messenger",
        "Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 (KHTML, like Gecko) "
        "Version/4.0 Chrome/131.0.0.0 Mobile Safari/537.36 [FB_IAB/MESSENGER;FBAV/470.0.0.41.106;]",
    ),
    "Instagram in-app": (
        "Instagram",
        "Mozilla/5.0 (iPhone; CPU iPhone OS 17_5 like Mac OS X) AppleWebKit/605.1.15 "
        "(KHTML, like Gecko) Mobile/15E148 Instagram 340.0.3.22.108 (iPhone14,5; iOS 17_5)",
    ),
    "TikTok in-app": (
        "TikTok",
        "Mozilla/5.0 (Linux; Android 12; SM-G991B) AppleWebKit/537.36 (KHTML, like Gecko) "
        "Chrome/120.0.0.0 Mobile Safari/537.36 musical_ly_2023405030 BytedanceWebview/d8a21c6",
    ),
    "LINE in-app": (
        "LINE",
        "Mozilla/5.0 (iPhone; CPU iPhone OS 17_5 like Mac OS X) AppleWebKit/605.1.15 "
        "(KHTML, like Gecko) Mobile/15E148 Safari Line/14.8.0",
    ),
    "Cốc Cốc": (
        "Coc Coc",
        "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) "
        "coc_coc_browser/128.0.140 Chrome/122.0.0.0 Safari/537.36",
    ),
    "Chrome, Android": (
        "Chrome",
        "Mozilla/5.0 (Linux; Android 14; SM-A546E) AppleWebKit/537.36 (KHTML, like Gecko) "
        "Chrome/131.0.0.0 Mobile Safari/537.36",
    ),
    "Chrome, iOS": (
        "Chrome",
        "Mozilla/5.0 (iPhone; CPU iPhone OS 17_5 like Mac OS X) AppleWebKit/605.1.15 "
        "(KHTML, like Gecko) CriOS/131.0.6778.73 Mobile/15E148 Safari/604.1",
    ),
    "Safari, iPhone": (
        "Safari",
        "Mozilla/5.0 (iPhone; CPU iPhone OS 17_5 like Mac OS X) AppleWebKit/605.1.15 "
        "(KHTML, like Gecko) Version/17.5 Mobile/15E148 Safari/604.1",
    ),
    "Firefox": (
        "Firefox",
        "Mozilla/5.0 (X11; Linux x86_64; rv:133.0) Gecko/20100101 Firefox/133.0",
    ),
    "Edge": (
        "Edge",
        "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) "
        "Chrome/131.0.0.0 Safari/537.36 Edg/131.0.2903.70",
    ),
    "Samsung Internet": (
        "Samsung Internet",
        "Mozilla/5.0 (Linux; Android 14; SAMSUNG SM-S918B) AppleWebKit/537.36 (KHTML, like Gecko) "
        "SamsungBrowser/26.0 Chrome/122.0.0.0 Mobile Safari/537.36",
    ),
    "a Cubot phone (not a bot)": (
        "Chrome",
        "Mozilla/5.0 (Linux; Android 10; CUBOT X30) AppleWebKit/537.36 (KHTML, like Gecko) "
        "Chrome/120.0.0.0 Mobile Safari/537.36",
    ),
}


@pytest.mark.parametrize("user_agent", BOTS.values(), ids=BOTS.keys())
def test_link_previewers_crawlers_and_scripts_are_bots(user_agent):
    assert classify_user_agent(user_agent).is_bot


@pytest.mark.parametrize(("family", "user_agent"), PEOPLE.values(), ids=PEOPLE.keys())
def test_people_in_browsers_and_in_app_browsers_are_not_bots(family, user_agent):
    agent = classify_user_agent(user_agent)
    assert not agent.is_bot
    assert agent.family == family


@pytest.mark.parametrize(
    ("user_agent", "family"),
    [
        (BOTS["facebookexternalhit"], "facebookexternalhit"),
        (BOTS["iMessage preview"], "facebookexternalhit"),
        (BOTS["Zalo link preview"], "Zalo crawler"),
        (BOTS["WhatsApp"], "WhatsApp"),
        (BOTS["Googlebot smartphone"], "Googlebot"),
        (BOTS["curl"], "curl"),
        (BOTS["a crawler"], "SomeCompanyCrawler"),
        (BOTS["no user agent"], "(none)"),
    ],
)
def test_a_bot_is_named_by_its_family(user_agent, family):
    assert classify_user_agent(user_agent).family == family


def test_families_fit_the_column():
    for user_agent in [*BOTS.values(), *(ua for _, ua in PEOPLE.values()), "x" * 5000]:
        assert len(classify_user_agent(user_agent).family) <= 40
