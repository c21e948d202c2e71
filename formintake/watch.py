"""`formintake watch`: each new object version under a campaign becomes one Prefect event.

    formintake watch [--campaign 2023]

The event is ``formintake.upload.created`` (outputs.md), its resource ``s3://<bucket>/<key>`` with the
labels ``formintake.bucket``, ``formintake.key``, ``formintake.key-id``, ``formintake.version-id``,
``formintake.etag``, ``formintake.campaign``; its related resource the campaign
(``formintake.campaign.<id>``, role ``campaign``). The ingest deployment's trigger (prefect.yaml) turns a
burst of them into one run.

**What Prefect shows is masked.** File names may carry a phone or ID number, and everything in an event
(resource id, name, labels) is shown to anyone who can open Prefect's event feed. So the key appears only
masked (``mask_pii``: ``138****5678``) in the resource id, its name and ``formintake.key``; the unique,
stable id of the key is ``formintake.key-id``, an HMAC-SHA256 of the key under a random salt kept in the
watcher's state in the results bucket. A plain hash would not do: the masked key leaves only four digits
of a phone unknown, so a hash of the key could be reversed by trying ten thousand candidates. The S3
version id and ETag are shown as they are (they say nothing about a person); with the masked key they
name the version in the bucket. The flow does not read events: a triggered run lists the bucket itself.

How it learns of new versions:

* **MinIO**: the S3 extension ListenBucketNotification (a long-lived HTTP response; nothing to configure
  on the server, the pipeline user needs ``s3:ListenBucketNotification`` on the uploads bucket). Each
  notification names a key; the key's versions are then listed, so the event carries what the bucket
  holds, not what the notification said. A full listing every ``--reconcile`` seconds (default 300)
  catches anything a dropped connection missed.
* **Servers without it** (SeaweedFS answers ``NotImplemented``; AWS S3 has no such call): a listing of
  the campaign's object versions every ``--interval`` seconds (default 10), diffed by version id + ETag.

What it has announced is kept in the *results* bucket, ``state/<campaign>/watch.json`` (one entry per
object version, keyed like the pipeline's own state), so a restart announces only what is new since —
also in a container without a volume. On its first start it announces only versions the pipeline has
not processed yet (the version documents under ``state/<campaign>/versions/``, in whichever layout:
``formintake.versions.stored_vids``), not the whole history.

Events carry a deterministic id (uuid5 of bucket, key, version id, ETag): a version announced twice
(a crash between sending and saving the state) is one event to Prefect.

Stops cleanly on one Ctrl+C or SIGTERM (exit 0). Keys are masked in log lines (phones, e-mails, IDs).
"""

from __future__ import annotations

import asyncio
import datetime as dt
import hashlib
import hmac
import json
import logging
import queue
import secrets
import signal
import threading
import time
import urllib.parse
import uuid
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

from formintake.config import s3_settings
from formintake.keys import ResultKeys
from formintake.reports.masking import mask_pii
from formintake.storage.base import ObjectVersion
from formintake.storage.s3 import S3Store, make_client
from formintake.versions import stored_vids

log = logging.getLogger("formintake.watch")

EVENT = "formintake.upload.created"
MODE_LISTEN, MODE_POLL = "notifications", "listing"


def campaign_resource_id(campaign: str) -> str:
    return f"formintake.campaign.{campaign}"


def _mac(salt: str, text: str) -> bytes:
    return hmac.new(bytes.fromhex(salt), text.encode("utf-8", "surrogatepass"), hashlib.sha256).digest()


def key_id(salt: str, key: str) -> str:
    """The stable id of an S3 key as Prefect shows it: HMAC-SHA256 under the watcher's salt (16 hex)."""
    return _mac(salt, key).hex()[:16]


def event_id(salt: str, bucket: str, v: ObjectVersion) -> uuid.UUID:
    """Deterministic (a version announced twice is one event to Prefect), and not a hash of the key alone."""
    basis = f"s3://{bucket}/{v.key}?versionId={v.version_id or ''}&etag={v.etag or ''}"
    return uuid.UUID(bytes=_mac(salt, basis)[:16], version=4)


def upload_event(bucket: str, v: ObjectVersion, campaign: str, how: str, salt: str):
    """The Prefect event for one new object version (the key masked, see the module doc)."""
    from prefect.events import Event  # deferred: Prefect is heavy; the watcher's tests build no events

    shown = mask_pii(v.key)
    return Event(
        id=event_id(salt, bucket, v),
        event=EVENT,
        occurred=dt.datetime.now(dt.timezone.utc),
        resource={
            "prefect.resource.id": f"s3://{bucket}/{shown}",
            "prefect.resource.name": shown.rsplit("/", 1)[-1],
            "formintake.bucket": bucket,
            "formintake.key": shown,
            "formintake.key-id": key_id(salt, v.key),
            "formintake.version-id": v.version_id or "",
            "formintake.etag": v.etag or "",
            "formintake.campaign": campaign,
        },
        related=[{
            "prefect.resource.id": campaign_resource_id(campaign),
            "prefect.resource.role": "campaign",
            "prefect.resource.name": campaign,
        }],
        payload={"size": v.size, "last_modified": v.last_modified, "learned_by": how},
    )


def emit_to_prefect(events: list) -> None:
    """Send events over Prefect's events websocket; raises when they could not be sent (then the
    versions stay unannounced and are tried again)."""
    from prefect.events.clients import get_events_client  # deferred (Prefect)

    async def _send():
        async with get_events_client(reconnection_attempts=3) as client:
            for e in events:
                await client.emit(e)

    asyncio.run(_send())


@dataclass
class Watcher:
    uploads: object  # S3Store of the uploads bucket
    results: object  # S3Store of the results location
    campaign: str
    emit: Callable[[list], None] = emit_to_prefect
    announced: dict[str, str] = field(default_factory=dict)  # version id (pipeline.version_id_of) -> when
    mode: str = ""
    salt: str = ""  # hex; the key of the HMACs that stand for keys in events (kept in the state)

    @property
    def prefix(self) -> str:
        return f"{self.campaign}/"

    @property
    def state_key(self) -> str:
        return ResultKeys(self.campaign).watch_state

    # -- state -------------------------------------------------------------------------------------
    def load_state(self) -> str:
        """Read what was announced before; on a first start, seed it with what the pipeline processed."""
        try:
            doc = json.loads(self.results.get(self.state_key))
            self.announced = dict(doc.get("announced", {}))
            self.salt = doc.get("key_salt") or ""
            if not self.salt:  # a state from before the salt: one now, kept from here on
                self.salt = secrets.token_hex(32)
                self.save_state()
            return f"{len(self.announced)} versions announced before (s3://{self.results.bucket}/{self.state_key})"
        except KeyError:
            pass
        processed = sorted(stored_vids(self.results, ResultKeys(self.campaign)))  # every layout of the state
        self.announced = {vid: "processed before the watcher started" for vid in processed}
        self.salt = secrets.token_hex(32)
        self.save_state()  # the salt first: event ids stay the same if we stop before the first announcement
        return f"first start: {len(processed)} versions already processed by the pipeline are not announced"

    def save_state(self) -> None:
        doc = {"campaign": self.campaign, "bucket": self.uploads.bucket, "updated": dt.datetime.now(dt.timezone.utc)
               .isoformat(timespec="seconds"), "key_salt": self.salt, "announced": self.announced}
        self.results.put(self.state_key, json.dumps(doc, ensure_ascii=False, sort_keys=True).encode("utf-8"),
                         "application/json")

    # -- announcing --------------------------------------------------------------------------------
    def announce(self, versions: Iterable[ObjectVersion], how: str) -> int:
        from formintake.pipeline import version_id_of  # deferred: the pipeline loads every extractor

        fresh = [v for v in versions if version_id_of(v) not in self.announced]
        if not fresh:
            return 0
        if not self.salt:
            raise RuntimeError("load_state() first: the key salt is in the state")
        self.emit([upload_event(self.uploads.bucket, v, self.campaign, how, self.salt) for v in fresh])
        now = dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds")
        for v in fresh:
            self.announced[version_id_of(v)] = now
            log.info("announced %s %s (version %s, ETag %s), learned by %s", EVENT, mask_pii(v.key),
                     v.version_id, v.etag, how)
        self.save_state()
        return len(fresh)

    def catch_up(self) -> int:
        """List every version under the campaign and announce those not announced yet."""
        return self.announce(self.uploads.list_versions(self.prefix), MODE_POLL)

    def key_changed(self, key: str) -> int:
        """A notification named ``key``: announce its versions not announced yet."""
        return self.announce([v for v in self.uploads.list_versions(key) if v.key == key], MODE_LISTEN)

    # -- notifications -----------------------------------------------------------------------------
    def _listen(self, keys: "queue.Queue[str | BaseException]", opened: threading.Event) -> None:
        """Thread: MinIO's ListenBucketNotification; puts each created key on ``keys``; an error ends it."""
        client = self.uploads.client
        try:
            prefix = self.uploads.prefix + self.prefix if getattr(self.uploads, "prefix", "") else self.prefix
            events = client.listen_bucket_notification(self.uploads.bucket, prefix=prefix,
                                                       events=("s3:ObjectCreated:*",))
            # the SDK sends the request on the first next(); open it now, so that a server without the
            # call (SeaweedFS: NotImplemented) says so before we count on notifications
            events._response = events._func()
            opened.set()
            with events:
                for ev in events:
                    for rec in ev.get("Records") or []:
                        name = urllib.parse.unquote_plus(rec.get("s3", {}).get("object", {}).get("key", ""))
                        if name:
                            keys.put(name)
            keys.put(ConnectionError("notification stream ended"))
        except BaseException as exc:  # noqa: BLE001 - reported to the main loop
            keys.put(exc)

    def run(self, stop: threading.Event, *, interval: float = 10.0, reconcile: float = 300.0,
            listen: bool = True) -> None:
        """Until ``stop`` is set: catch up, then follow notifications (or list every ``interval`` s)."""
        while not stop.is_set():  # S3 or Prefect not up yet (a container started first): keep trying
            try:
                log.info("watching s3://%s/%s: %s", self.uploads.bucket, self.prefix, self.load_state())
                self.catch_up()
                break
            except Exception as exc:  # noqa: BLE001
                log.warning("cannot start watching yet, trying again in %.0f s: %s: %s", interval,
                            type(exc).__name__, mask_pii(str(exc)))
                stop.wait(interval)
        keys: queue.Queue = queue.Queue()
        self.mode = MODE_POLL
        if listen:
            opened = threading.Event()
            threading.Thread(target=self._listen, args=(keys, opened), daemon=True, name="s3-notifications").start()
            # the first answer decides: a stream that opens, or an error (SeaweedFS: NotImplemented)
            deadline = time.monotonic() + 10
            while not opened.is_set() and keys.empty() and time.monotonic() < deadline and not stop.is_set():
                time.sleep(0.05)
            if opened.is_set():
                self.mode = MODE_LISTEN
            else:
                err = keys.get() if not keys.empty() else TimeoutError("no answer")
                log.info("bucket notifications not available (%s: %s): listing every %.0f s instead",
                         type(err).__name__, str(err).split(",")[0][:200], interval)
        if self.mode == MODE_LISTEN:
            log.info("following MinIO bucket notifications (full listing every %.0f s)", reconcile)
        last_full = time.monotonic()
        while not stop.is_set():
            try:
                if self.mode == MODE_LISTEN:
                    try:
                        item = keys.get(timeout=0.5)
                    except queue.Empty:
                        item = None
                    if isinstance(item, BaseException):
                        log.warning("notification stream lost (%s: %s); listing every %.0f s instead",
                                    type(item).__name__, item, interval)
                        self.mode = MODE_POLL
                        continue
                    if item:
                        self.key_changed(item)
                    if time.monotonic() - last_full >= reconcile:
                        self.catch_up()
                        last_full = time.monotonic()
                else:
                    if stop.wait(interval):
                        break
                    self.catch_up()
            except Exception as exc:  # noqa: BLE001 - S3 or Prefect away for a while: keep watching
                log.warning("watch round failed, trying again in %.0f s: %s: %s", interval, type(exc).__name__,
                            mask_pii(str(exc)))
                stop.wait(interval)


def run_watch(campaign: str, *, interval: float, reconcile: float, once: bool, listen: bool = True) -> int:
    """The CLI command: stores from the environment, signals handled, exit 0 on a clean stop."""
    s = s3_settings()
    client = make_client(s, read_timeout=120)  # the notification stream is long-lived (MinIO keeps it alive)
    w = Watcher(S3Store(client, s.uploads_bucket), S3Store(client, s.results_bucket, s.results_prefix), campaign)
    if once:
        log.info("%s", w.load_state())
        n = w.catch_up()
        print(json.dumps({"campaign": campaign, "announced": n, "known": len(w.announced)}, ensure_ascii=False))
        return 0
    stop = threading.Event()

    def _stop(signum, frame):
        if stop.is_set():
            return
        log.warning("stopping (%s)", signal.Signals(signum).name)
        stop.set()

    old = {sig: signal.signal(sig, _stop) for sig in (signal.SIGINT, signal.SIGTERM)}
    try:
        w.run(stop, interval=interval, reconcile=reconcile, listen=listen)
    finally:
        for sig, h in old.items():
            signal.signal(sig, h)
    log.warning("stopped; %d versions announced in all", len(w.announced))
    return 0
