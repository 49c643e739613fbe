"""The harness may play a different party per profile (RCPX section 5, errata 1): ``[harness] party``
is the default, ``[harness.profiles.<key>] party`` overrides it, and a profile of which the default
is no party gets its pack's default partner, so that a KH candidate claiming EFDX and RCPX needs no
table per profile. Each mistake is one ConfigError naming the key (exit 4)."""

from __future__ import annotations

import pytest

from conformance.harness.config import ConfigError, parse

BOTH = ["efdx", "rcpx"]


def config(party: str = "KH", profiles=None, harness: dict | None = None) -> dict:
    data: dict = {"candidate": {"party": party, "inbox_url": "http://127.0.0.1:8080/efdx/1/messages"}}
    if profiles is not None:
        data["candidate"]["profiles"] = profiles
    if harness is not None:
        data["harness"] = harness
    return data


def played(data: dict) -> dict[str, str]:
    parsed = parse(data)
    return {key: parsed.for_profile(key).harness_party for key in parsed.profiles}


def test_jp_as_harness_party_is_taken_for_rcpx_and_efdx_gets_its_default_partner() -> None:
    """harness.party = "JP" was refused for EFDX (JP is no EFDX party): one run could not certify both."""
    assert played(config(profiles=BOTH, harness={"party": "JP"})) == {"efdx": "SG", "rcpx": "JP"}


def test_without_a_harness_table_both_profiles_play_sg() -> None:
    assert played(config(profiles=BOTH)) == {"efdx": "SG", "rcpx": "SG"}
    assert played(config()) == {"efdx": "SG"}


def test_a_table_per_profile_overrides_the_default() -> None:
    data = config(profiles=BOTH, harness={"party": "MY", "profiles": {"rcpx": {"party": "JP"}}})
    assert played(data) == {"efdx": "MY", "rcpx": "JP"}
    by_title = config(profiles=BOTH, harness={"profiles": {"RCPX 1.0": {"party": "NZ"}}})
    assert played(by_title) == {"efdx": "SG", "rcpx": "NZ"}


def test_the_pack_default_partner_must_not_be_the_candidate() -> None:
    """A JP candidate is no EFDX party; an SG candidate claiming both with harness.party JP: EFDX's
    default partner SG is the candidate, so a table must name EFDX's."""
    data = config("SG", BOTH, {"party": "JP"})
    with pytest.raises(ConfigError, match=r"^harness\.profiles\.efdx\.party: missing"):
        parse(data)
    data["harness"]["profiles"] = {"efdx": {"party": "TH"}}
    assert played(data) == {"efdx": "TH", "rcpx": "JP"}


@pytest.mark.parametrize(
    ("harness", "key"),
    [
        ({"profiles": {"efdx": {"party": "JP"}}}, "harness.profiles.efdx.party"),  # not an EFDX party
        ({"profiles": {"rcpx": {"party": "KH"}}}, "harness.profiles.rcpx.party"),  # the candidate's
        ({"profiles": {"rcpx": {"party": 7}}}, "harness.profiles.rcpx.party"),
        ({"profiles": {"rcpx": {}}}, "harness.profiles.rcpx"),
        ({"profiles": {"rcpx": {"listen": "8444"}}}, "harness.profiles.rcpx.listen"),
        ({"profiles": {"rcpx": {"listen": "127.0.0.1:8444", "port": 1}}}, "harness.profiles.rcpx.port"),
        ({"profiles": {"rcpx": {"party": "JP", "url": "x"}}}, "harness.profiles.rcpx.url"),
        ({"profiles": {"rcpx": "JP"}}, "harness.profiles.rcpx"),
        ({"profiles": {"nope": {"party": "JP"}}}, "harness.profiles.nope"),
        ({"party": "ZZ"}, "harness.party"),
        ({"party": "KH"}, "harness.party"),
    ],
)
def test_a_wrong_harness_party_is_one_line_naming_the_key(harness: dict, key: str) -> None:
    with pytest.raises(ConfigError) as caught:
        parse(config(profiles=BOTH, harness=harness))
    assert str(caught.value).startswith(f"{key}:") and "\n" not in str(caught.value)


def test_a_table_for_a_profile_not_claimed_is_refused() -> None:
    with pytest.raises(ConfigError, match=r"^harness\.profiles\.rcpx: rcpx is not claimed"):
        parse(config(harness={"profiles": {"rcpx": {"party": "JP"}}}))


def test_jp_alone_for_an_efdx_only_candidate_is_refused() -> None:
    with pytest.raises(ConfigError, match=r"^harness\.party: 'JP' is not a party of any claimed profile"):
        parse(config(harness={"party": "JP"}))


def test_a_profile_may_have_a_harness_inbox_of_its_own() -> None:
    """``[harness.profiles.<key>] listen`` and ``url``: that profile's run listens and is reached
    there (side by side with the others, even on fixed ports); the others keep ``[harness]``'s."""
    data = config(
        profiles=BOTH,
        harness={
            "listen": "127.0.0.1:8443",
            "url": "http://127.0.0.1:8443/efdx/1/messages",
            "profiles": {
                "rcpx": {"listen": "127.0.0.1:8444", "url": "http://127.0.0.1:8444/rcpx/1/messages"}
            },
        },
    )
    loaded = parse(data)
    efdx, rcpx = loaded.for_profile("efdx"), loaded.for_profile("rcpx")
    assert (efdx.harness_listen, efdx.harness_url) == (
        "127.0.0.1:8443",
        "http://127.0.0.1:8443/efdx/1/messages",
    )
    assert (rcpx.harness_listen, rcpx.harness_url) == (
        "127.0.0.1:8444",
        "http://127.0.0.1:8444/rcpx/1/messages",
    )
    assert played(data) == {"efdx": "SG", "rcpx": "SG"}  # no party given: as without a table
