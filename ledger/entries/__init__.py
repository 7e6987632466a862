"""ledger.entries: what the log records, pure.

Record and envelope codecs (deterministic CBOR records holding author-signed COSE_Sign1
entries) with their byte-exact fast twins, payload decoding, the schema language and the entry
catalog (entry types, author roles and every code list), payload builders, ``make_entry`` and
``open_entry``, the record-aware step of receipt verification, and OMS signature files as
``attest`` entries checked under publisher keys (``oms_attestation_payload``, ``oms_refusal``).
"""

from ._authoring import (
    DSSE_PAYLOAD_TYPE,
    IN_TOTO_STATEMENT_TYPES,
    MAX_ATTESTATION,
    attestation_payload,
    commitment,
    grant_payload,
)
from ._entry import (
    OpenedEntry,
    make_entry,
    open_entry,
)
from ._entry_types import (
    AFFECTED,
    APPEAL_OUTCOMES,
    AUTHOR_ROLES,
    CLOSE_OUTCOMES,
    CONSENT_BASES,
    DECISIONS,
    ENTRY_SCHEMAS,
    ENTRY_TYPES,
    HARM_TYPES,
    INCIDENT_KINDS,
    KEY_ROLES,
    REVOCATION_REASONS,
    SENSITIVE,
    SEVERITIES,
    TERMS_CHANGE_CLASSES,
    TIERS,
    entry_problems,
    validate_entry,
)
from ._oms import (
    OMS_PREDICATE_TYPE,
    PUBLISHER_CA_ROLE,
    PUBLISHER_ROLE,
    PUBLISHER_ROLES,
    oms_attestation_payload,
    oms_refusal,
)
from ._payload import (
    decode_payload,
    payload_json,
)
from ._receipt import (
    receipt_record,
    verify_receipt,
)
from ._record import (
    MAX_ENTRY_SIZE,
    MAX_RECORD_SIZE,
    RECORD_VERSION,
    ZERO_HASH,
    Record,
    RecordEncoder,
    check_entry,
    check_entry_type,
    check_entry_unparsed,
    decode_record,
    encode_record,
    fast_open_record,
    sign_entry,
    verify_entry,
)

__all__ = [
    "AFFECTED",
    "APPEAL_OUTCOMES",
    "AUTHOR_ROLES",
    "CLOSE_OUTCOMES",
    "CONSENT_BASES",
    "DECISIONS",
    "DSSE_PAYLOAD_TYPE",
    "ENTRY_SCHEMAS",
    "ENTRY_TYPES",
    "HARM_TYPES",
    "INCIDENT_KINDS",
    "IN_TOTO_STATEMENT_TYPES",
    "KEY_ROLES",
    "MAX_ATTESTATION",
    "MAX_ENTRY_SIZE",
    "MAX_RECORD_SIZE",
    "OMS_PREDICATE_TYPE",
    "PUBLISHER_CA_ROLE",
    "PUBLISHER_ROLE",
    "PUBLISHER_ROLES",
    "RECORD_VERSION",
    "REVOCATION_REASONS",
    "SENSITIVE",
    "SEVERITIES",
    "TERMS_CHANGE_CLASSES",
    "TIERS",
    "ZERO_HASH",
    "OpenedEntry",
    "Record",
    "RecordEncoder",
    "attestation_payload",
    "check_entry",
    "check_entry_type",
    "check_entry_unparsed",
    "commitment",
    "decode_payload",
    "decode_record",
    "encode_record",
    "entry_problems",
    "fast_open_record",
    "grant_payload",
    "make_entry",
    "oms_attestation_payload",
    "oms_refusal",
    "open_entry",
    "payload_json",
    "receipt_record",
    "sign_entry",
    "validate_entry",
    "verify_entry",
    "verify_receipt",
]
