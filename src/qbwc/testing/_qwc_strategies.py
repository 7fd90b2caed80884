"""
Hypothesis strategies for :class:`qbwc.qwc.QWCConfig` (explicit, never inferred).

Every config drawn satisfies the strict rules, so it builds, writes and
validates against ``schemas/qwc.xsd``.  Needs Hypothesis.
"""

from __future__ import annotations

from hypothesis import strategies as st

from qbwc.qwc import (
    MAX_SCHEDULER_MINUTES,
    MAX_SCHEDULER_SECONDS,
    AuthFlags,
    PersonalDataPref,
    QBType,
    QWCConfig,
    Scheduler,
    Style,
    UnattendedModePref,
)

__all__ = ["hosts", "qwc_configs", "schedulers", "texts"]

# Any character XML allows except control characters: non-ASCII, "&", "<" and
# quotes included, so the strategies exercise escaping.
_CHARACTERS = st.characters(exclude_categories=("Cc", "Cs"), exclude_characters="\ufffe\uffff")
_LABEL = st.from_regex(r"[a-z0-9]([a-z0-9-]{0,10}[a-z0-9])?", fullmatch=True)
_TLD = st.from_regex(r"[a-z]{2,6}", fullmatch=True)
_PATH = st.from_regex(r"(/[A-Za-z0-9._~%&=+-]{0,12}){0,3}", fullmatch=True)
_QUERY = st.from_regex(
    r"(\?[a-z]{1,6}=[A-Za-z0-9]{0,6}(&[a-z]{1,6}=[A-Za-z0-9]{0,6}){0,2})?", fullmatch=True
).filter(lambda query: not any(key in query for key in ("password", "passwd", "pwd", "pass")))


def texts(
    *, max_size: int = 40, allow_empty: bool = False, exclude: str = ""
) -> st.SearchStrategy[str]:
    """Text a QWC element accepts: no control characters, no surrounding whitespace."""
    characters = _CHARACTERS
    if exclude:
        characters = st.characters(
            exclude_categories=("Cc", "Cs"), exclude_characters="\ufffe\uffff" + exclude
        )
    result = st.text(characters, max_size=max_size).map(str.strip)
    return result if allow_empty else result.filter(bool)


@st.composite
def hosts(draw: st.DrawFn) -> tuple[str, str]:
    """A (AppURL host, AppSupport host) pair on one domain."""
    if draw(st.integers(0, 9)) == 0:
        return "localhost", "localhost"
    domain = f"{draw(_LABEL)}.{draw(_TLD)}"
    prefixes = st.one_of(st.just(""), _LABEL.map(lambda label: label + "."))
    return draw(prefixes) + domain, draw(prefixes) + domain


def _url(draw: st.DrawFn, scheme: str, host: str) -> str:
    port = draw(st.one_of(st.just(""), st.integers(1, 65535).map(lambda n: f":{n}")))
    return f"{scheme}://{host}{port}{draw(_PATH)}{draw(_QUERY)}"


def schedulers() -> st.SearchStrategy[Scheduler]:
    """A Scheduler in minutes or in seconds, across the whole legal range."""
    return st.one_of(
        st.integers(1, MAX_SCHEDULER_MINUTES).map(lambda n: Scheduler(minutes=n)),
        st.integers(1, MAX_SCHEDULER_SECONDS).map(lambda n: Scheduler(seconds=n)),
    )


@st.composite
def qwc_configs(draw: st.DrawFn) -> QWCConfig:
    """A QWCConfig that follows every strict rule, with every optional element sometimes set."""
    app_host, support_host = draw(hosts())
    secure = app_host != "localhost" or draw(st.booleans())
    app_url = _url(draw, "https" if secure else "http", app_host)
    app_support = _url(draw, draw(st.sampled_from(["http", "https"])), support_host)
    cert_host = draw(_LABEL) + ".example.com"
    return QWCConfig(
        app_name=draw(texts(exclude="\\")),
        app_id=draw(texts(max_size=20, allow_empty=True)),
        app_url=app_url,
        app_description=draw(texts(max_size=100, allow_empty=True)),
        app_support=app_support,
        app_display_name=draw(st.one_of(st.none(), texts(allow_empty=True))),
        app_unique_name=draw(st.one_of(st.none(), texts(allow_empty=True))),
        cert_url=draw(st.one_of(st.none(), st.just(f"https://{cert_host}/cert"))),
        user_name=draw(texts()),
        owner_id=draw(st.uuids()),
        file_id=draw(st.uuids()),
        qb_type=draw(st.sampled_from(QBType)),
        scheduler=draw(st.one_of(st.none(), schedulers())),
        is_read_only=draw(st.one_of(st.none(), st.booleans())),
        personal_data_pref=draw(st.one_of(st.none(), st.sampled_from(PersonalDataPref))),
        unattended_mode_pref=draw(st.one_of(st.none(), st.sampled_from(UnattendedModePref))),
        style=draw(st.one_of(st.none(), st.sampled_from(Style))),
        auth_flags=draw(st.one_of(st.none(), st.integers(0, 15).map(AuthFlags))),
        notify=draw(st.one_of(st.none(), st.booleans())),
    )
