"""The table-driven negative suite: every attack token in tests/regressions/ is refused, with
our exception and for its own reason, by both Ed25519 backends; the files are regenerated and
compared so they stay honest."""

import pytest

import lic
from helpers.licenses import NOW, issue, trust
from helpers.token_attacks import ATTACKS, REGRESSIONS
from keys import BACKENDS, LicError


def test_regression_files_are_exactly_the_table():
    on_disk = sorted(p.name for p in REGRESSIONS.glob("*.[jc]wt"))
    assert on_disk == sorted(ATTACKS)


@pytest.mark.parametrize("name", sorted(ATTACKS))
def test_attack_file_regenerates_identically(name):
    build, _, _ = ATTACKS[name]
    assert (REGRESSIONS / name).read_bytes() == build()


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("name", sorted(ATTACKS))
def test_attack_is_refused_for_its_reason(name, backend):
    _, error, fragment = ATTACKS[name]
    token = (REGRESSIONS / name).read_bytes()
    with pytest.raises(error, match=fragment) as info:
        lic.verify(token, trust(backend=backend), now=NOW)
    assert isinstance(info.value, LicError)


@pytest.mark.parametrize("name", sorted(n for n in ATTACKS if n.endswith(".jwt")))
def test_attack_text_form_is_refused_too(name):
    token = (REGRESSIONS / name).read_bytes()
    with pytest.raises(LicError):
        lic.verify(token.decode("ascii", "replace"), trust(), now=NOW)


@pytest.mark.parametrize("fmt", ["jwt", "cwt"])
def test_the_untouched_token_verifies(fmt):
    """The attacks are built from this token: it passes, so each attack fails for its own reason."""
    assert lic.verify(issue(fmt), trust(), now=NOW).sub == "acme"
