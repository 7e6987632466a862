"""``lic token ...``: issue, inspect, verify, check, delegate and present license tokens."""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path
from typing import Any

import click

import lic
from keys import (
    KeyStoreError,
    LicError,
    MalformedError,
    TrustStore,
    b64url_encode,
    write_atomic,
)

from ._decision import decision_lines
from ._hints import sublicense_hint, with_hint
from ._keyopts import (
    keyring_option,
    load_signing_key,
    load_trust_store,
    passphrase_options,
    trust_option,
)
from ._output import emit, json_option, read_input
from ._params import LEDGER, TIME, at_option, read_public_key, time_text
from ._tokenfile import read_token
from ._useopts import UseOptions, use_options

__all__ = ["token"]

EXIT_FOR_EFFECT = {"permit": 0, "deny": 1, "indeterminate": 3}
THUMBPRINT_URI = "urn:ietf:params:oauth:jwk-thumbprint:sha-256:"  # RFC 9278


# --- helpers -------------------------------------------------------------------------------
def _duration(ctx: click.Context, param: click.Parameter, value: str | None) -> int | None:
    if value is None:
        return None
    try:
        return lic.parse_duration(value, f"--{param.name}")
    except MalformedError as e:
        raise click.BadParameter(str(e)) from None


def _read_license(path: Path) -> lic.License:
    fmt = {".toml": "toml", ".json": "json"}.get(path.suffix.lower())
    return lic.load_license(read_input(path, 64 * 1024, f"license {path}"), fmt=fmt, name=str(path))


def _bind_directory(license: lic.License, model_dir: Path) -> lic.License:
    """``license`` bound to the directory: ``model.manifest`` from its OMS manifest and
    ``model.sha256`` its root (SPEC 15.6); a different sha256 in the file is replaced, with a
    note."""
    from lic.oms import directory_binding, manifest_of

    manifest = manifest_of(model_dir)
    if license.model.sha256 != manifest.root:
        click.echo(
            f"lic: note: model.sha256 of the license file is replaced by the root of {model_dir} "
            f"(sha256:{manifest.root})",
            err=True,
        )
    model = lic.ModelBinding(license.model.name, manifest.root, directory_binding(manifest))
    claim = {**license.to_claim(), "model": model.to_claim()}
    return lic.License.from_mapping(claim, known_codes=True)


def _keep_binding(license: lic.License, parent: lic.License) -> lic.License:
    """A sublicense's license keeps the parent's directory binding when its file names the
    same model (name and sha256) without one: a sublicense must bind the same model."""
    p, m = parent.model, license.model
    if p.manifest is None or m.manifest is not None or (m.name, m.sha256) != (p.name, p.sha256):
        return license
    return lic.License.from_mapping({**license.to_claim(), "model": p.to_claim()}, known_codes=True)


def _refuse_existing(out: Path | None, force: bool) -> None:
    """Refuse to replace an existing output file (a token there may already be granted)."""
    if out is not None and not force and out.exists():
        raise KeyStoreError(f"{out} already exists; refusing to overwrite it (give --force)")


def _write_token(token: bytes, out: Path | None, force: bool) -> None:
    if out is not None:
        write_atomic(out, token, mode=0o644, overwrite=force)
    elif token[:1] == b"\xd2":
        if sys.stdout.isatty():
            raise click.UsageError("a CWT is binary: give --out FILE (or use --json)")
        sys.stdout.flush()
        sys.stdout.buffer.write(token)
    else:
        click.echo(token.decode("ascii"))


def _token_text(token: bytes) -> str:
    """JSON-safe form: the JWT itself, or the CWT in base64url."""
    return b64url_encode(token) if token[:1] == b"\xd2" else token.decode("ascii")


def _summary(t: lic.VerifiedToken | lic.UnverifiedToken) -> str:
    lines = [
        f"format   {t.format.upper()}",
        f"kid      {t.kid}",
        f"iss      {t.iss}",
        f"sub      {t.sub}",
        f"aud      {', '.join(t.aud) or '-'}",
        f"valid    {time_text(t.nbf)} .. {time_text(t.exp)}",
        f"holder   {t.holder.thumbprint}",
        f"digest   {t.digest.hex()}",
        f"model    {t.license.model.name} sha256:{t.license.model.sha256}",
        *_binding_lines(t.license.model),
        f"terms    {t.license.terms.id} {t.license.terms.version}",
        f"tier     {t.license.tier}",
    ]
    if t.license.parent:
        lines.append(f"parent   {t.license.parent}")
    return "\n".join(lines)


def _binding_lines(model: lic.ModelBinding) -> list[str]:
    """The directory binding, when the license has one."""
    b = model.manifest
    if b is None:
        return []
    return [
        f"manifest root sha256:{b.root} ({b.method}, {b.hash_type}, {b.ordering} order)",
        f"         resources sha256:{b.resources} (the file list)",
    ]


def _labelled(label: str, items: list[str], empty: str = "-") -> list[str]:
    """``label`` then one item a line, the label on the first line only."""
    return [f"{label if i == 0 else '':<9}{item}" for i, item in enumerate(items or [empty])]


def _terms_text(license: lic.License) -> str:
    """What the license allows, refuses, caps and asks, one dimension a line."""
    p, q, lim = license.permit, license.prohibit, license.limits
    permit = [f"{k} {', '.join(v) or '-'}" for k in ("actions", "purposes", "regions", "channels")
              if (v := getattr(p, k)) is not None]  # fmt: skip
    prohibit = [f"{k} {', '.join(v)}" for k in ("actions", "purposes", "regions", "platforms",
                                                 "data") if (v := getattr(q, k))]  # fmt: skip
    caps = ([f"rate {lim.rate}"] if lim.rate is not None else []) + (
        [f"mau {lim.mau}"] if lim.mau is not None else []
    )
    duties = [
        code + "".join(f" {k}={json.dumps(v, ensure_ascii=False)}" for k, v in sorted(ps.items()))
        for code, ps in sorted(license.duties.items())
    ]
    s = license.sublicense
    lines = [
        *_labelled("permit", permit, "any use not prohibited"),
        *_labelled("prohibit", prohibit),
        *_labelled("limits", ["; ".join(caps)] if caps else []),
        *_labelled("duties", duties),
        f"sublicense {f'allowed, max depth {s.max_depth}' if s.allowed else 'not allowed'}",
    ]
    return "\n".join(lines)


def _issued(token: bytes, out: Path | None, force: bool, as_json: bool) -> None:
    """Write the token to ``out`` (or standard output), then report it; with --json the
    report is JSON and the token is written all the same."""
    t = lic.decode_unverified(token)
    if as_json:
        if out is not None:
            _write_token(token, out, force)
        info = {k: v for k, v in t.describe().items() if k != "lic"}
        emit({**info, "out": str(out) if out else None, "token": _token_text(token)}, as_json=True)
        return
    _write_token(token, out, force)
    if out is not None:
        click.echo(f"wrote {t.format.upper()} {out} (digest {t.digest.hex()})", err=True)


# --- commands ------------------------------------------------------------------------------
@click.group()
def token() -> None:
    """Issue, inspect, verify and check license tokens; delegate and present them.

    A token file holds a JWT (text) or a CWT (binary COSE_Sign1). Where a command takes
    several TOKEN files they form a sublicensing chain, root first.
    """


_format_option = click.option(
    "--format", "fmt", type=click.Choice(["jwt", "cwt"]), default=None,
    help="Token encoding (issue: default jwt; delegate: default the parent's).",
)  # fmt: skip
_out_option = click.option(
    "--out", "-o", type=click.Path(dir_okay=False, path_type=Path), default=None,
    help="Write the token to FILE (default: standard output).",
)  # fmt: skip
_force_option = click.option(
    "--force", is_flag=True, help="Replace an existing --out file (refused by default).",
)  # fmt: skip


@token.command("issue")
@click.option("--key", "key_name", required=True, metavar="NAME", help="Issuer key in the keyring.")
@click.option(
    "--holder",
    required=True,
    type=click.Path(dir_okay=False, path_type=Path),
    help="The holder's public key file (PEM, JWK, verifier key or raw).",
)
@click.option(
    "--license",
    "license_file",
    required=True,
    type=click.Path(dir_okay=False, path_type=Path),
    help="License file, TOML or JSON.",
)
@_format_option
@_out_option
@_force_option
@click.option(
    "--model-dir",
    type=click.Path(file_okay=False, path_type=Path),
    default=None,
    help="Bind the license to this model directory: its OMS manifest (model.manifest) and "
    "root (model.sha256), as 'lic model digest' computes them.",
)
@click.option("--iss", default=None, help="Issuer name (default: the key's RFC 9278 URI).")
@click.option("--sub", default=None, help="Holder name (default: the holder key's RFC 9278 URI).")
@click.option("--aud", multiple=True, help="Audience (repeatable; default: none).")
@click.option(
    "--lifetime",
    callback=_duration,
    default=None,
    help="Validity as an ISO 8601 duration (default P365D; not with --not-after).",
)
@click.option(
    "--not-before",
    type=TIME,
    default=None,
    metavar="TIME",
    help="Start of validity (default: now).",
)
@click.option(
    "--not-after",
    type=TIME,
    default=None,
    metavar="TIME",
    help="End of validity, after --not-before (instead of --lifetime).",
)
@keyring_option
@passphrase_options
@json_option
def issue_cmd(
    key_name: str, holder: Path, license_file: Path, fmt: str | None, out: Path | None,
    force: bool, model_dir: Path | None, iss: str | None, sub: str | None,
    aud: tuple[str, ...], lifetime: int | None, not_before: int | None, not_after: int | None,
    keyring_dir: Path | None, passphrase_file: Path | None, passphrase_env: str | None,
    as_json: bool,
) -> None:  # fmt: skip
    """Issue a license token signed by an issuer key, bound to a holder key.

    With --model-dir the license also binds that model directory (its files by name and
    digest), which 'lic guard' checks before a model is loaded.
    """
    if lifetime is not None and not_after is not None:
        raise click.UsageError("give --not-after or --lifetime, not both")
    _refuse_existing(out, force)
    license = _read_license(license_file)
    if model_dir is not None:
        license = _bind_directory(license, model_dir)
    holder_key = read_public_key(holder)
    key = load_signing_key(keyring_dir, key_name, passphrase_file, passphrase_env)
    token_bytes = lic.issue(
        license, key, holder_key,
        iss=iss or THUMBPRINT_URI + key.public_key.thumbprint,
        sub=sub or THUMBPRINT_URI + holder_key.thumbprint,
        now=int(time.time()), lifetime=lifetime, nbf=not_before, exp=not_after, aud=aud,
        fmt="cwt" if fmt == "cwt" else "jwt",
    )  # fmt: skip
    _issued(token_bytes, out, force, as_json)


@token.command("inspect")
@click.argument("token_file", metavar="TOKEN", type=click.Path(dir_okay=False, path_type=Path))
@json_option
def inspect_cmd(token_file: Path, as_json: bool) -> None:
    """Decode a token WITHOUT verifying it (no signature, issuer or time check)."""
    t = lic.decode_unverified(read_token(token_file))
    warning = "UNVERIFIED: signature, issuer and validity were NOT checked; use 'lic token verify'"
    click.echo(f"*** {warning} ***", err=True)
    if as_json:
        emit({"verified": False, "warning": warning, **t.describe()}, as_json=True)
    else:
        text = f"UNVERIFIED\n{_summary(t)}\n{_terms_text(t.license)}"
        emit(None, as_json=False, text=text)


def _verify(tokens: tuple[Path, ...], keyring_dir: Path | None, trust_file: Path | None,
            now: int) -> lic.Chain:  # fmt: skip
    store = load_trust_store(keyring_dir, trust_file)
    return _chain([read_token(p) for p in tokens], store, now, "lic token verify")


def _chain(raw: list[bytes], store: TrustStore, now: int, command: str) -> lic.Chain:
    """The verified chain; a chain that fails and starts at a sublicense gets a hint."""
    try:
        return lic.verify_chain(raw, store, now=now)
    except LicError as e:
        hinted_error = with_hint(e, sublicense_hint(raw[0], command))
        if hinted_error is e:
            raise
        raise hinted_error from e


@token.command("verify")
@click.argument(
    "tokens",
    metavar="TOKEN...",
    nargs=-1,
    required=True,
    type=click.Path(dir_okay=False, path_type=Path),
)
@trust_option
@keyring_option
@at_option
@click.option(
    "--presentation",
    type=click.Path(dir_okay=False, path_type=Path),
    default=None,
    help="Also check the holder's presentation in FILE (needs --nonce, --audience).",
)
@click.option("--nonce", default=None, help="The nonce this verifier gave the holder.")
@click.option("--audience", default=None, help="This verifier's audience name.")
@json_option
def verify_cmd(
    tokens: tuple[Path, ...], trust_file: Path | None, keyring_dir: Path | None, at: int | None,
    presentation: Path | None, nonce: str | None, audience: str | None, as_json: bool,
) -> None:  # fmt: skip
    """Verify a token (or a chain, root first) against the trust store; exit 0 valid, 1 not."""
    if presentation is not None and (nonce is None or audience is None):
        raise click.UsageError("--presentation needs --nonce and --audience")
    now = int(time.time()) if at is None else at
    chain = _verify(tokens, keyring_dir, trust_file, now)
    result: dict[str, Any] = {
        "valid": True,
        "at": now,
        "chain": [t.describe() for t in chain.links],
    }
    text = f"VALID at {time_text(now)}\n{_summary(chain.leaf)}"
    if len(chain.links) > 1:
        text += f"\nchain    {len(chain.links)} links, root issuer {chain.root.kid}"
    if presentation is not None:
        pres = lic.verify_presentation(
            read_input(presentation, 4096, f"presentation {presentation}").strip(), chain.leaf,
            audience=audience or "", nonce=nonce or "", now=now,
        )  # fmt: skip
        result["presentation"] = {"audience": pres.audience, "nonce": pres.nonce,
                                  "iat": pres.iat, "exp": pres.exp}  # fmt: skip
        text += f"\nholder   presented for {pres.audience!r} with the expected nonce"
    emit(result, as_json=as_json, text=text)


def _revocation(
    chain: list[bytes], db: Path | None, bundle_file: Path | None, store: TrustStore,
    now: int,
) -> dict[str, Any]:  # fmt: skip
    """The chain's status by the ledger --db or the --bundle's evidence, or that neither was
    given (revocation not checked). The ledger and bundle modules load only when asked."""
    if db is not None:
        from ledger.store import Ledger, shown_location, token_status

        with Ledger.open(db) as led:
            st = token_status(led, lic.token_digest(chain[-1]), now)
            size = led.size
        where = shown_location(db)
        detail = f"{st.status} on the ledger {where} of {size} records"
        return {"checked": True, "source": f"ledger {where}", "status": st.status,
                "records": list(st.evidence), "size": size, "detail": detail}  # fmt: skip
    if bundle_file is not None:
        from ledger.bundle import MAX_BUNDLE_SIZE, bundle_status

        data = read_input(bundle_file, MAX_BUNDLE_SIZE, "bundle")
        bs = bundle_status(data, store, chain, now=now)
        return {"checked": True, "source": f"bundle {bundle_file}", "status": bs.status,
                "checkpoint_size": bs.checkpoint_size, "detail": bs.detail}  # fmt: skip
    return {"checked": False, "source": None, "status": None,
            "detail": "NOT checked: give --db LEDGER or --bundle FILE"}  # fmt: skip


@token.command("check")
@click.argument(
    "tokens",
    metavar="TOKEN...",
    nargs=-1,
    required=True,
    type=click.Path(dir_okay=False, path_type=Path),
)
@trust_option
@keyring_option
@use_options
@at_option
@click.option(
    "--db", "db", type=LEDGER, default=None,
    help="Check revocation on this ledger (the leaf's status at --at).",
)  # fmt: skip
@click.option(
    "--bundle", "bundle_file", type=click.Path(dir_okay=False, path_type=Path), default=None,
    help="Check revocation by this bundle's evidence (its log-signed checkpoint).",
)  # fmt: skip
@json_option
def check_cmd(
    tokens: tuple[Path, ...], trust_file: Path | None, keyring_dir: Path | None,
    use_opts: UseOptions, at: int | None, db: Path | None, bundle_file: Path | None,
    as_json: bool,
) -> None:  # fmt: skip
    """Verify a token (or chain) and decide a proposed use: exit 0 permit, 1 deny, 3
    indeterminate (an input the license constrains was not given). Reasons are printed.

    Revocation is checked only with --db (a ledger) or --bundle (a bundle's evidence); a
    token that is not active there is denied. Without either, the output says so."""
    if db is not None and bundle_file is not None:
        raise click.UsageError("--db and --bundle exclude each other")
    now = int(time.time()) if at is None else at
    use = use_opts.use(now)
    raw = [read_token(p) for p in tokens]
    store = load_trust_store(keyring_dir, trust_file)
    chain = _chain(raw, store, now, "lic token check")
    decision = lic.evaluate(chain.leaf, use)
    revocation = _revocation(raw, db, bundle_file, store, now)
    if revocation["checked"]:
        from ledger.state import with_status

        decision = with_status(decision, revocation["status"], revocation["source"])
    lines = [decision.effect.upper(), *decision_lines(decision)]
    lines.append(f"  revocation    {revocation['detail']}")
    emit({"at": now, "token": chain.leaf.digest.hex(), **decision.to_dict(),
          "revocation": revocation}, as_json=as_json, text="\n".join(lines))  # fmt: skip
    code = EXIT_FOR_EFFECT[decision.effect]
    if code:
        click.get_current_context().exit(code)


@token.command("delegate")
@click.option(
    "--parent",
    "parent_file",
    required=True,
    type=click.Path(dir_okay=False, path_type=Path),
    help="The token you hold.",
)
@click.option(
    "--key",
    "key_name",
    required=True,
    metavar="NAME",
    help="Your holder key in the keyring (the parent token's cnf key).",
)
@click.option(
    "--holder",
    required=True,
    type=click.Path(dir_okay=False, path_type=Path),
    help="The new holder's public key file.",
)
@click.option(
    "--license",
    "license_file",
    required=True,
    type=click.Path(dir_okay=False, path_type=Path),
    help="The narrower license for the new holder (TOML or JSON).",
)
@_format_option
@_out_option
@_force_option
@click.option("--sub", default=None, help="New holder name (default: its key's RFC 9278 URI).")
@click.option("--aud", multiple=True, help="Audience (repeatable).")
@click.option(
    "--lifetime",
    callback=_duration,
    default=None,
    help="Validity as an ISO 8601 duration (default: until the parent expires).",
)
@keyring_option
@passphrase_options
@json_option
def delegate_cmd(
    parent_file: Path, key_name: str, holder: Path, license_file: Path, fmt: str | None,
    out: Path | None, force: bool, sub: str | None, aud: tuple[str, ...], lifetime: int | None,
    keyring_dir: Path | None, passphrase_file: Path | None, passphrase_env: str | None,
    as_json: bool,
) -> None:  # fmt: skip
    """Issue a sublicense of a token you hold to a new holder; it may only narrow.

    A parent bound to a model directory passes its binding on when the license file names
    the same model (name and sha256).
    """
    _refuse_existing(out, force)
    parent = read_token(parent_file)
    license = _keep_binding(_read_license(license_file), lic.decode_unverified(parent).license)
    new_holder = read_public_key(holder)
    key = load_signing_key(keyring_dir, key_name, passphrase_file, passphrase_env)
    child = lic.delegate(
        parent, license, key, new_holder, sub=sub or THUMBPRINT_URI + new_holder.thumbprint,
        now=int(time.time()), lifetime=lifetime, aud=aud,
        fmt="cwt" if fmt == "cwt" else ("jwt" if fmt == "jwt" else None),
    )  # fmt: skip
    _issued(child, out, force, as_json)


@token.command("present")
@click.argument("token_file", metavar="TOKEN", type=click.Path(dir_okay=False, path_type=Path))
@click.option(
    "--key",
    "key_name",
    required=True,
    metavar="NAME",
    help="Your holder key in the keyring (the token's cnf key).",
)
@click.option("--audience", required=True, help="The verifier's audience name.")
@click.option("--nonce", required=True, help="The nonce the verifier gave you.")
@click.option(
    "--lifetime",
    type=click.IntRange(1, lic.MAX_PRESENTATION_LIFETIME),
    default=120,
    show_default=True,
    help="Seconds the presentation stays valid.",
)
@_out_option
@keyring_option
@passphrase_options
@json_option
def present_cmd(
    token_file: Path, key_name: str, audience: str, nonce: str, lifetime: int, out: Path | None,
    keyring_dir: Path | None, passphrase_file: Path | None, passphrase_env: str | None,
    as_json: bool,
) -> None:  # fmt: skip
    """Prove you hold the token's key: sign a short-lived presentation for a verifier."""
    token_bytes = read_token(token_file)
    if (
        lic.decode_unverified(token_bytes).holder
        != (
            pub := load_signing_key(keyring_dir, key_name, passphrase_file, passphrase_env)
        ).public_key
    ):
        raise MalformedError(f"key {key_name!r} is not the holder key of this token")
    pres = lic.present(token_bytes, pub, audience=audience, nonce=nonce, now=int(time.time()),
                       lifetime=lifetime)  # fmt: skip
    if as_json:
        emit({"presentation": pres.decode(), "out": str(out) if out else None}, as_json=True)
        if out is not None:
            write_atomic(out, pres, mode=0o644, overwrite=True)
        return
    if out is not None:
        write_atomic(out, pres, mode=0o644, overwrite=True)
        click.echo(f"wrote presentation {out}", err=True)
    else:
        click.echo(pres.decode())
