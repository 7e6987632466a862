"""ledger.follow: a monitor that follows a log served as C2SP tlog-tiles (SPEC 16.7).

``follow_log`` verifies the log's latest checkpoint under a pinned log key (and a witness
policy), checks that it extends the last checkpoint it verified with a consistency proof
computed from the log's hash tiles, fetches only the new entry bundles (and the blobs of
records over 65,535 bytes), replays them with the audit's checks into state tables kept in a
directory (``FollowStore``: one SQLite file, advanced in one transaction), and checks the
checkpoint's revoked-set line against the replay; a fork or a false statement comes back as
``Evidence`` and is written beside the state. ``HttpLog`` is its HTTP client (timeouts, size
caps); ``TileReader`` reads tree hashes from tiles. An auditing witness (``ledger.witness``)
follows the log with it before it cosigns. ``bundle_from_log`` makes a license bundle from the
service and ``online_update`` ties a bundle to the log's latest checkpoint (a verifier's online
freshness check), both after following the log.
"""

from ._follow import Evidence, FollowResult, follow_log
from ._http import DEFAULT_TIMEOUT, Fetch, HttpLog, UnreachableError, log_base_url
from ._online import OnlineUpdate, bundle_from_log, online_update
from ._store import FOLLOW_FORMAT, STATE_FILE, FollowStore, Verified
from ._tiles import TileReader

__all__ = [
    "DEFAULT_TIMEOUT",
    "FOLLOW_FORMAT",
    "STATE_FILE",
    "Evidence",
    "Fetch",
    "FollowResult",
    "FollowStore",
    "HttpLog",
    "OnlineUpdate",
    "TileReader",
    "UnreachableError",
    "Verified",
    "bundle_from_log",
    "follow_log",
    "log_base_url",
    "online_update",
]
