"""Files too slow to make inside a request: queued once per fingerprint, made by a worker,
kept for reuse while what they were made from is unchanged.

A fingerprint is a digest of everything the file shows, so an unchanged statement asked for
twice is one file, and any change (a new payment, a new logo) asks for a new one. Workers in
several processes (or machines) may run at once: each job is claimed by a conditional UPDATE,
and a job whose worker died is claimed again once it has gone stale.
"""
import datetime as dt
import hashlib
import json
import os
import secrets

from peewee import IntegrityError

import instance_files
import models
from billing import transaction

STALE_AFTER = dt.timedelta(minutes=5)  # longer than any PDF takes; after it the worker is gone
MAX_ATTEMPTS = 3  # a file that kills its worker three times is given up on, not retried forever
KEEP_FOR = dt.timedelta(days=7)


def fingerprint(kind, *parts):
    """A digest of what the file is made from; parts are JSON-able (dates become strings)."""
    data = json.dumps([kind, *parts], sort_keys=True, default=str, separators=(",", ":"))
    return hashlib.sha256(data.encode()).hexdigest()


def request(client, kind, digest, params, filename, folder):
    """The file for this fingerprint: ready, on its way, or queued now.

    A failed file, or a ready one whose file is gone (cleaned up, another machine's disk),
    is queued again: the person asking is the retry.
    """
    G = models.GeneratedFile
    with transaction():
        job = G.get_or_none(G.fingerprint == digest)
        if job is None:
            try:
                with models.db.atomic():
                    return G.create(client=client, kind=kind, fingerprint=digest,
                                    params=json.dumps(params, default=str), filename=filename)
            except IntegrityError:  # a racing request queued it first: share that one
                return G.get(G.fingerprint == digest)
        if job.client_id != client.id:
            raise ValueError("fingerprint reused across clients")  # the digest includes the client
        missing = job.status == "ready" and not os.path.exists(path_of(folder, job))
        if job.status == "failed" or missing:
            G.update(status="queued", attempts=0, error="", started_at=None).where(
                G.id == job.id).execute()
            job = G.get_by_id(job.id)
    return job


def _claimable(now):
    G = models.GeneratedFile
    stale = (G.status == "running") & (G.started_at < now - STALE_AFTER)
    return ((G.status == "queued") | stale) & (G.attempts < MAX_ATTEMPTS)


def claim_next(now=None):
    """Take the oldest waiting job for this worker, or None. Racing workers take one each."""
    G = models.GeneratedFile
    now = now or models.utcnow()
    given_up = (G.status == "running") & (G.started_at < now - STALE_AFTER) & (
        G.attempts >= MAX_ATTEMPTS)
    G.update(status="failed", error="Making this file stopped its worker.").where(
        given_up).execute()
    for row in G.select(G.id).where(_claimable(now)).order_by(G.id).limit(10):
        claimed = G.update(status="running", started_at=now, attempts=G.attempts + 1).where(
            (G.id == row.id) & _claimable(now)).execute()
        if claimed:
            return G.get_by_id(row.id)
    return None


def finish(job, folder, data):
    """Store the made file; if another worker took the job over meanwhile, theirs counts."""
    instance_files.private_dir(folder)
    storage_name = secrets.token_hex(16)
    path = os.path.join(folder, storage_name)
    with instance_files.open_private(path, "xb") as out:
        out.write(data)
    G = models.GeneratedFile
    done = G.update(status="ready", storage_name=storage_name, size=len(data),
                    finished_at=models.utcnow(), error="").where(
        (G.id == job.id) & (G.status == "running") & (G.started_at == job.started_at)).execute()
    if not done:
        os.remove(path)
    return bool(done)


def fail(job, message):
    G = models.GeneratedFile
    G.update(status="failed", error=message[:500], finished_at=models.utcnow()).where(
        (G.id == job.id) & (G.status == "running") & (G.started_at == job.started_at)).execute()


def path_of(folder, job):
    return os.path.join(folder, job.storage_name) if job.storage_name else ""


def waiting_before(job):
    """How many queued jobs are ahead of this one, for the progress line."""
    G = models.GeneratedFile
    return G.select().where((G.status.in_(("queued", "running"))) & (G.id < job.id)).count()


def clean_up(folder, now=None):
    """Forget files made more than KEEP_FOR ago (a new request makes them again)."""
    G = models.GeneratedFile
    cutoff = (now or models.utcnow()) - KEEP_FOR
    old = list(G.select().where(G.created_at < cutoff, G.status.in_(("ready", "failed"))))
    for job in old:
        path = path_of(folder, job)
        if path and os.path.exists(path):
            os.remove(path)
    if old:
        G.delete().where(G.id.in_([job.id for job in old])).execute()
    return len(old)
