"""`lic token inspect` shows what a license allows, refuses, caps and asks in text mode, not
only who signed it (issue 14 item 18)."""

from __future__ import annotations

from pathlib import Path

COMMERCIAL = Path(__file__).resolve().parents[2] / "examples" / "commercial-geofenced.toml"


def test_inspect_shows_permit_prohibit_limits_and_duties(demo_dir, lic_cli, monkeypatch):
    d = demo_dir("inspect-terms")
    monkeypatch.chdir(d)
    run = lic_cli.with_env(LIC_HOME=d / "keys")
    run("token", "issue", "--key", "issuer", "--holder", "keys/licensee.pub",
        "--license", COMMERCIAL, "-o", "c.jwt")  # fmt: skip
    lines = run("token", "inspect", "c.jwt").stdout.splitlines()
    terms = lines[lines.index(next(x for x in lines if x.startswith("permit"))) :]
    assert terms == [
        "permit   actions run.inference, run.embed, modify.fine-tune.adapter",
        "         purposes enterprise, research.industrial",
        "         regions EEA, CH",
        "         channels api, hosted",
        "prohibit purposes manipulation, social-scoring, law-enforcement.predictive-policing,"
        " surveillance, high-risk, violence, illegal",
        "         platforms advertising.political, defense",
        "         data personal.special.biometric",
        "limits   rate 100000/PT1H; mau 1000000",
        "duties   disclose-ai-output",
        "         permit-audit",
        "         propagate-restrictions",
        '         report-incidents within="P3D"',
        '         retain-logs period="P180D"',
        "sublicense allowed, max depth 2",
    ]


def test_inspect_says_when_a_dimension_is_empty(demo_dir, lic_cli, monkeypatch):
    d = demo_dir("inspect-empty")
    monkeypatch.chdir(d)
    Path("bare.toml").write_text(
        'tier = "academic"\n[model]\nname = "m"\nsha256 = "' + "ab" * 32 + '"\n'
        '[terms]\nid = "t"\nversion = "1"\nsha256 = "' + "cd" * 32 + '"\n'
    )
    run = lic_cli.with_env(LIC_HOME=d / "keys")
    run("token", "issue", "--key", "issuer", "--holder", "keys/licensee.pub",
        "--license", "bare.toml", "-o", "b.jwt")  # fmt: skip
    out = run("token", "inspect", "b.jwt").stdout
    assert out.endswith(
        "permit   any use not prohibited\nprohibit -\nlimits   -\nduties   -\n"
        "sublicense not allowed\n"
    )
